package shared

import (
	"errors"
	"testing"
)

func TestParseUSD(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Cents
		err  error
	}{
		{"12.34", 1234, nil},
		{"5", 500, nil},
		{"5.5", 550, nil},
		{"0.01", 1, nil},
		{"0.5", 50, nil},
		{"10000000", 1_000_000_000, nil},
		{"10000000.01", 0, ErrUSDRange},
		{"0", 0, ErrUSDRange},
		{"0.00", 0, ErrUSDRange},
		{"", 0, ErrUSDFormat},
		{"1.234", 0, ErrUSDFormat},
		{"-1", 0, ErrUSDFormat},
		{"+1", 0, ErrUSDFormat},
		{"1e3", 0, ErrUSDFormat},
		{" 1", 0, ErrUSDFormat},
		{"1,000", 0, ErrUSDFormat},
		{".5", 0, ErrUSDFormat},
		{"5.", 0, ErrUSDFormat},
		{"123456789", 0, ErrUSDFormat},
	} {
		got, err := ParseUSD(tc.in)
		if !errors.Is(err, tc.err) || got != tc.want {
			t.Errorf("ParseUSD(%q) = %d, %v; want %d, %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestCentsStringRoundTrips(t *testing.T) {
	for _, c := range []Cents{1, 9, 10, 99, 100, 1234, 1_000_000_000} {
		got, err := ParseUSD(c.String())
		if err != nil || got != c {
			t.Errorf("ParseUSD(%q) = %d, %v; want %d", c.String(), got, err, c)
		}
	}
	if got := Cents(-1234).String(); got != "-12.34" {
		t.Errorf("Cents(-1234) = %q", got)
	}
}

func TestOneDollarBuysTenThousandCredits(t *testing.T) {
	if got := Cents(100).Credits(); got != 10_000 {
		t.Fatalf("$1 = %d credits, want 10000", got)
	}
	if got := Cents(1).Credits(); got != 100 {
		t.Fatalf("1 cent = %d credits, want 100", got)
	}
}

func FuzzParseUSD(f *testing.F) {
	for _, s := range []string{"12.34", "0.01", "1e5", "-3", "9999999.99"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseUSD(s)
		if err != nil {
			return
		}
		if c <= 0 || c > MaxCents {
			t.Fatalf("ParseUSD(%q) = %d out of range", s, c)
		}
		back, err := ParseUSD(c.String())
		if err != nil || back != c {
			t.Fatalf("round trip of %q: %d → %q → %d, %v", s, c, c.String(), back, err)
		}
	})
}
