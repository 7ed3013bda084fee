// Package storetest starts MongoDB-compatible servers for tests: the embedded one
// through store.Open, and a standalone FerretDB in a separate process (the test
// binary run again in a serving mode), so the path through an external URI is
// exercised by every test run, not only when MONGODB_URI is set.
package storetest

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

const childEnv = "AISPACE_STORETEST_FERRETDB_DIR"

// Main runs the tests of a package that uses StartExternal. Call it from TestMain:
//
//	func TestMain(m *testing.M) { storetest.Main(m) }
//
// It also keeps the package's tests quiet: only errors are logged (go test -v shows
// what the tests themselves log).
func Main(m *testing.M) {
	if dir := os.Getenv(childEnv); dir != "" {
		serve(dir)
		return
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
	os.Exit(m.Run())
}

// serve runs FerretDB on SQLite files in dir with a unix socket, prints the URI on
// stdout, and runs until stdin closes (so it never outlives its test).
func serve(dir string) {
	sock := filepath.Join(dir, "s.sock")
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{Unix: sock},
		Handler:   "sqlite",
		SQLiteURL: "file:" + dir + "/?_pragma=synchronous(full)",
		Logger:    slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		bufio.NewReader(os.Stdin).ReadString('\n')
		cancel()
	}()
	go func() {
		for i := 0; i < 100; i++ {
			if _, err := os.Stat(sock); err == nil {
				fmt.Println("mongodb://" + url.PathEscape(sock) + "/")
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	f.Run(ctx)
}

// StartExternal starts a standalone FerretDB process for the test and returns its
// URI. The process is stopped when the test ends.
func StartExternal(tb testing.TB) string {
	tb.Helper()
	dir, err := os.MkdirTemp("", "aispace-ext-") // short: unix socket paths are limited
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), childEnv+"="+dir)
	cmd.Stderr = os.Stderr
	stdin, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(out).ReadString('\n')
		line <- strings.TrimSpace(s)
	}()
	select {
	case uri := <-line:
		if !strings.HasPrefix(uri, "mongodb://") {
			tb.Fatalf("standalone FerretDB did not start (printed %q)", uri)
		}
		return uri
	case <-time.After(20 * time.Second):
		tb.Fatal("standalone FerretDB did not start within 20s")
		return ""
	}
}
