package main

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binary is the aispace-credits binary the process tests run: $AISPACE_BIN (make test
// builds it) or one built once for this test run.
var binary struct {
	once sync.Once
	path string
	err  error
}

func MustBinary(t *testing.T) string {
	t.Helper()
	binary.once.Do(func() {
		if p := os.Getenv("AISPACE_BIN"); p != "" {
			if _, err := os.Stat(p); err == nil {
				binary.path = p
				return
			}
		}
		dir, err := os.MkdirTemp("", "aispace-bin-")
		if err != nil {
			binary.err = err
			return
		}
		binary.path = filepath.Join(dir, "aispace-credits")
		out, err := exec.Command("go", "build", "-o", binary.path, ".").CombinedOutput()
		if err != nil {
			binary.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binary.err != nil {
		t.Fatal(binary.err)
	}
	return binary.path
}

// Proc is the binary running as a process of its own, so it can be killed.
type Proc struct {
	URL  string
	cmd  *exec.Cmd
	log  *os.File
	done chan struct{}
	err  error
}

// sharedSecrets are the secrets of instances that share one database.
func sharedSecrets() []string {
	a := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	b := base64.StdEncoding.EncodeToString([]byte("fedcba9876543210fedcba9876543210"))
	return []string{"AISPACE_KEY_HMAC_SECRET=" + a, "AISPACE_MASTER_KEY=" + b}
}

// StartProc runs `aispace-credits serve` with the args and waits until /readyz is 200.
func StartProc(t *testing.T, dataDir string, env []string, args ...string) *Proc {
	t.Helper()
	logf, err := os.CreateTemp(t.TempDir(), "serve-*.log")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(MustBinary(t), append([]string{"serve", "-addr", "127.0.0.1:0", "-data", dataDir}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout = io.Discard
	pr, pw := io.Pipe()
	cmd.Stderr = io.MultiWriter(logf, pw)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &Proc{cmd: cmd, log: logf, done: make(chan struct{})}
	go func() { p.err = cmd.Wait(); pw.Close(); close(p.done) }()
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		sent := false
		for sc.Scan() {
			var line struct{ Msg, Addr string }
			if !sent && json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "serving" {
				addr <- line.Addr
				sent = true
			}
		}
	}()
	t.Cleanup(func() { p.Kill() })
	select {
	case a := <-addr:
		p.URL = "http://" + a
	case <-p.done:
		t.Fatalf("serve exited: %v\n%s", p.err, p.Log())
	case <-time.After(90 * time.Second):
		t.Fatalf("serve did not start within 90s:\n%s", p.Log())
	}
	waitReady(t, p.URL)
	return p
}

// Kill ends the process with SIGKILL: no shutdown, no last snapshot, nothing flushed.
func (p *Proc) Kill() {
	select {
	case <-p.done:
	default:
		p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
	}
}

// Stop ends the process with SIGTERM and waits for its clean shutdown.
func (p *Proc) Stop(t *testing.T) {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		if p.err != nil {
			t.Errorf("serve after SIGTERM: %v\n%s", p.err, p.Log())
		}
	case <-time.After(60 * time.Second):
		t.Errorf("serve did not stop within 60s of SIGTERM")
		p.Kill()
	}
}

// Log is everything the process logged.
func (p *Proc) Log() string {
	b, _ := os.ReadFile(p.log.Name())
	return string(b)
}

// StartDB runs `aispace-credits db`, a database for several instances to share, and
// returns its URI.
func StartDB(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "aispace-db-") // short: unix socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(MustBinary(t), "db", "-data", dir)
	out, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		os.RemoveAll(dir)
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "mongodb://") {
		t.Fatalf("db did not start: %q %v", line, err)
	}
	return strings.TrimSpace(line)
}
