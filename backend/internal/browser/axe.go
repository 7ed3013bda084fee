package browser

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"
)

// axeJS is axe-core, Deque's accessibility engine (MPL-2.0), as published on npm:
// see testdata/axe/README.md.
//
//go:embed testdata/axe/axe.min.js
var axeJS string

// AxeViolation is one rule axe-core found broken, with the elements that break it.
type AxeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"` // CSS selectors, with axe's summary of what to fix
}

func (v AxeViolation) String() string {
	return fmt.Sprintf("%s (%s): %s\n    %s", v.ID, v.Impact, v.Help, strings.Join(v.Nodes, "\n    "))
}

// Accessibility runs axe-core on the page as it is now, with the WCAG 2.0/2.1 A
// and AA rules (labels, names, alt text, heading order, colour contrast, ARIA...)
// and best practices, and returns what it found broken.
func (b *Browser) Accessibility() ([]AxeViolation, error) {
	if _, err := Eval[bool](b, `typeof axe !== "undefined" || (function(){ `+axeJS+`
	; return true })()`); err != nil {
		return nil, fmt.Errorf("injecting axe-core: %w", err)
	}
	const run = `(async () => {
		const r = await axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] }, resultTypes: ["violations"] });
		return JSON.stringify(r.violations.map(v => ({
			id: v.id, impact: v.impact || "", help: v.help,
			nodes: v.nodes.map(n => n.target.join(" ") + " — " + (n.failureSummary || "").replace(/\s+/g, " ")),
		})));
	})()`
	s, err := Eval[string](b, run)
	if err != nil {
		return nil, fmt.Errorf("running axe-core: %w", err)
	}
	var out []AxeViolation
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		return nil, err
	}
	return out, nil
}

// MustBeAccessible fails the test (without stopping it) for each violation axe-core
// finds on the page; where names the page in the messages.
func (b *Browser) MustBeAccessible(where string) {
	b.tb.Helper()
	vs, err := b.Accessibility()
	if err != nil {
		b.tb.Fatalf("browser: accessibility check of %s: %v", where, err)
	}
	for _, v := range vs {
		b.tb.Errorf("accessibility of %s: %s", where, v)
	}
}
