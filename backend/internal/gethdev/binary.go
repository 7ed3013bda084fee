package gethdev

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/version"
)

const gethPackage = "github.com/ethereum/go-ethereum/cmd/geth"

var (
	binaryOnce sync.Once
	binaryPath string
	binaryErr  error
)

// Binary returns the path of a geth binary: $AISPACE_GETH if set (built there if
// missing), else one built once per go-ethereum version into the user's cache
// directory. The build holds a file lock, so parallel test binaries build it once.
func Binary(tb testing.TB) string {
	tb.Helper()
	binaryOnce.Do(func() { binaryPath, binaryErr = findOrBuild(tb) })
	if binaryErr != nil {
		tb.Fatalf("gethdev: no geth binary: %v", binaryErr)
	}
	return binaryPath
}

func findOrBuild(tb testing.TB) (string, error) {
	path := os.Getenv("AISPACE_GETH")
	if path == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			return "", err
		}
		path = filepath.Join(cache, "aispace-credits", "geth-"+gethVersion(), "geth")
	}
	if isExecutable(path) {
		return path, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", err
	}
	unlock, err := lockFile(path + ".lock")
	if err != nil {
		return "", err
	}
	defer unlock()
	if isExecutable(path) { // another process built it while we waited for the lock
		return path, nil
	}
	tb.Logf("gethdev: building %s into %s (once; about 2 minutes on a cold build cache)", gethPackage, path)
	start := time.Now()
	tmp := path + ".tmp"
	cmd := exec.Command("go", "build", "-o", tmp, gethPackage)
	cmd.Dir = moduleDir()
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %v\n%s", gethPackage, err, out)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", err
	}
	tb.Logf("gethdev: built geth in %s", time.Since(start).Round(time.Second))
	return path, nil
}

// gethVersion is the go-ethereum version this package was compiled with, so a
// version bump in go.mod builds a new geth instead of reusing an old one.
func gethVersion() string {
	return fmt.Sprintf("v%d.%d.%d", version.Major, version.Minor, version.Patch)
}

// moduleDir is the directory of the main module's go.mod, so that go build uses the
// versions pinned there; tests run inside the module, so the current directory works
// when go cannot tell.
func moduleDir() string {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if gomod := strings.TrimSpace(string(out)); err == nil && gomod != "" && gomod != os.DevNull {
		return filepath.Dir(gomod)
	}
	return "."
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}
