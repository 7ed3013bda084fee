package browser_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aispace/credits/backend/internal/browser"
)

const formPage = `<!doctype html><html><head><meta name="viewport" content="width=device-width, initial-scale=1"><title>Form</title></head>
<body><h1>Harness</h1><input id="name" aria-label="name"><button id="go">Go</button><p id="out"></p>
<script>
document.getElementById("go").addEventListener("click", () => {
  const v = document.getElementById("name").value;
  document.getElementById("out").textContent = "hello " + v;
  console.log("clicked with", v);
});
</script></body></html>`

// TestMustStartEmulatesAPhone guards the harness's promise: a 390×844 touch viewport
// with a mobile user agent, and helpers that type, click, read, evaluate, take
// screenshots and collect the console.
func TestMustStartEmulatesAPhone(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(formPage))
	}))
	defer srv.Close()

	b := browser.MustStart(t)
	b.MustNavigate(srv.URL)

	if got := browser.MustEval[int](b, "window.innerWidth"); got != 390 {
		t.Errorf("innerWidth: got %d, want 390", got)
	}
	if got := browser.MustEval[int](b, "window.innerHeight"); got != 844 {
		t.Errorf("innerHeight: got %d, want 844", got)
	}
	if !browser.MustEval[bool](b, "navigator.maxTouchPoints > 0 && matchMedia('(pointer: coarse)').matches") {
		t.Error("touch: want a touch screen with a coarse pointer")
	}
	if ua := browser.MustEval[string](b, "navigator.userAgent"); !strings.Contains(ua, "Mobile") {
		t.Errorf("user agent: got %q, want a mobile one", ua)
	}

	b.MustType("#name", "Ada")
	b.MustClick("#go")
	if got := b.MustText("#out"); got != "hello Ada" {
		t.Errorf("text after click: got %q, want %q", got, "hello Ada")
	}
	if got := browser.MustEval[string](b, "Promise.resolve(document.title)"); got != "Form" {
		t.Errorf("awaited evaluation: got %q, want %q", got, "Form")
	}

	path := b.MustScreenshot("form")
	if data, err := os.ReadFile(path); err != nil || !strings.HasPrefix(string(data), "\x89PNG") {
		t.Errorf("screenshot %s: want a PNG file (err %v)", path, err)
	}

	// The console arrives asynchronously: give it a few seconds.
	deadline := time.Now().Add(5 * time.Second)
	for !hasLine(b.ConsoleLog(), "clicked with Ada") {
		if time.Now().After(deadline) {
			t.Fatalf("console log: got %q, want a line with %q", b.ConsoleLog(), "clicked with Ada")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func hasLine(lines []string, s string) bool {
	for _, l := range lines {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}
