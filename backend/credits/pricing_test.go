package credits

import (
	"strings"
	"testing"
)

func TestDefaultPricingParses(t *testing.T) {
	p, err := ParsePricing(DefaultPricing)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(p.Table().Services); n < 6 {
		t.Fatalf("default table has %d lines", n)
	}
}

func TestPrice(t *testing.T) {
	p, err := ParsePricing(DefaultPricing)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		service string
		units   map[string]int64
		want    int64
		err     string
	}{
		{"chat:standard", map[string]int64{"input_tokens": 1200, "output_tokens": 300}, 54, ""}, // 36 + 18
		{"chat:standard", map[string]int64{"input_tokens": 1}, 1, ""},                           // rounded up to a whole credit
		{"chat:small", map[string]int64{"input_tokens": 1000, "output_tokens": 1000}, 20, ""},
		{"image:standard", map[string]int64{"image_1024x1024": 2}, 800, ""},
		{"tool:web-search", nil, 50, ""},
		{"tool:web-search", map[string]int64{"requests": 3}, 150, ""},
		{"chat:standard", map[string]int64{"images": 1}, 0, "not images"},
		{"image:standard", map[string]int64{"image_64x64": 1}, 0, "no price"},
		{"chat:standard", map[string]int64{}, 0, "costs nothing"},
		{"chat:standard", map[string]int64{"input_tokens": -5}, 0, "between"},
		{"chat:standard", map[string]int64{"input_tokens": 1 << 40}, 0, "between"},
		{"nope", nil, 0, "unknown service"},
	} {
		got, err := p.Price(tc.service, tc.units)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || ErrorCode(err) != "invalid" {
				t.Errorf("Price(%s, %v) = %d, %v; want error %q", tc.service, tc.units, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Price(%s, %v) = %d, %v; want %d", tc.service, tc.units, got, err, tc.want)
		}
	}
}

func TestParsePricingRefusesBadTables(t *testing.T) {
	for name, src := range map[string]string{
		"unknown field": `{"services":[{"id":"a","flat":1,"colour":"red"}]}`,
		"two ways":      `{"services":[{"id":"a","flat":1,"per_1k_input_tokens":2}]}`,
		"no way":        `{"services":[{"id":"a"}]}`,
		"duplicate":     `{"services":[{"id":"a","flat":1},{"id":"a","flat":2}]}`,
		"bad id":        `{"services":[{"id":"A B","flat":1}]}`,
		"negative":      `{"services":[{"id":"a","flat":-1}]}`,
		"bad size":      `{"services":[{"id":"a","per_image":{"big":3}}]}`,
		"rate changed":  `{"credits_per_usd":100,"services":[]}`,
		"huge price":    `{"services":[{"id":"a","flat":1000000000000}]}`,
		"not json":      `services: []`,
	} {
		if _, err := ParsePricing([]byte(src)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
