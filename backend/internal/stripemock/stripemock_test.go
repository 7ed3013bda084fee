package stripemock

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestStartAnswersValidatesAndStopsInCleanup(t *testing.T) {
	var m *Mock
	t.Run("Running", func(t *testing.T) {
		m = Start(t)
		if !strings.HasPrefix(m.URL, "http://127.0.0.1:") {
			t.Fatalf("URL = %q, want a loopback http URL", m.URL)
		}
		if !strings.HasPrefix(m.HTTPSURL, "https://127.0.0.1:") {
			t.Fatalf("HTTPSURL = %q, want a loopback https URL", m.HTTPSURL)
		}

		// stripe-mock validates parameters against the OpenAPI spec: an unknown
		// parameter is refused, a well-formed request accepted.
		for _, tc := range []struct {
			name string
			form url.Values
			want int
		}{
			{"OK", url.Values{"email": {"buyer@example.com"}}, http.StatusOK},
			{"ErrUnknownParameter", url.Values{"no_such_parameter": {"1"}}, http.StatusBadRequest},
		} {
			t.Run(tc.name, func(t *testing.T) {
				req, _ := http.NewRequest(http.MethodPost, m.URL+"/v1/customers", strings.NewReader(tc.form.Encode()))
				req.Header.Set("Authorization", "Bearer "+TestKey)
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != tc.want {
					t.Fatalf("status = %d, want %d: %s", res.StatusCode, tc.want, body)
				}
			})
		}
	})
	if m == nil {
		t.Fatal("no mock started")
	}

	// The subtest's cleanup has run: the process is gone and the port is closed.
	if err := syscall.Kill(m.PID, 0); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("signal 0 to stripe-mock pid %d after cleanup: %v, want ESRCH", m.PID, err)
	}
	client := &http.Client{Timeout: 2 * time.Second}
	if res, err := client.Get(m.URL + "/v1/balance"); err == nil {
		res.Body.Close()
		t.Fatalf("stripe-mock still answers at %s after cleanup", m.URL)
	}
}

func TestBinaryIsFoundOrBuilt(t *testing.T) {
	for _, tc := range []struct {
		name string
		path func(t *testing.T) string // the value of AISPACE_STRIPE_MOCK
	}{
		{"CachedWhenUnset", func(t *testing.T) string { return "" }},
		{"BuiltWhereTheEnvironmentSaysWhenMissing", func(t *testing.T) string {
			return filepath.Join(t.TempDir(), "bin", "stripe-mock")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.path(t)
			got, err := findOrBuild(want)
			if err != nil {
				t.Fatal(err)
			}
			if want != "" && got != want {
				t.Fatalf("built at %q, want %q", got, want)
			}
			if out, err := exec.Command(got, "-version").CombinedOutput(); err != nil || !strings.Contains(string(out), "stripe-mock") {
				t.Fatalf("%s -version: %v %s", got, err, out)
			}
			again, err := findOrBuild(want)
			if err != nil || again != got {
				t.Fatalf("second lookup: %q, %v; want the same %q", again, err, got)
			}
		})
	}
}
