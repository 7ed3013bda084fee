package ethmath

import (
	"errors"
	"testing"
)

func TestParsePriceIsExact(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want PriceE8
		err  error
	}{
		{"3150.12", 315_012_000_000, nil},
		{"3150", 315_000_000_000, nil},
		{"0.00000001", 1, nil},
		{"1.5", 150_000_000, nil},
		{"3150.12345678", 315_012_345_678, nil},
		{"9999999999.99999999", 999_999_999_999_999_999, nil},
		{"0", 0, ErrPriceFormat},
		{"0.00000000", 0, ErrPriceFormat},
		{"3150.123456789", 0, ErrPriceFormat}, // never rounded
		{"10000000000", 0, ErrPriceFormat},
		{"", 0, ErrPriceFormat},
		{"-3150.12", 0, ErrPriceFormat},
		{"+3150.12", 0, ErrPriceFormat},
		{"3.15e3", 0, ErrPriceFormat},
		{" 3150", 0, ErrPriceFormat},
		{"3,150.12", 0, ErrPriceFormat},
		{".5", 0, ErrPriceFormat},
		{"5.", 0, ErrPriceFormat},
		{"NaN", 0, ErrPriceFormat},
	} {
		got, err := ParsePrice(tc.in)
		if !errors.Is(err, tc.err) || got != tc.want {
			t.Errorf("ParsePrice(%q) = %d, %v; want %d, %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestFormatPriceKeepsTwoPlacesAndTrimsTheRest(t *testing.T) {
	for _, tc := range []struct {
		in   PriceE8
		want string
	}{
		{315_012_000_000, "3150.12"},
		{315_000_000_000, "3150.00"},
		{315_012_345_678, "3150.12345678"},
		{315_010_000_000, "3150.10"},
		{1, "0.00000001"},
		{0, "0.00"},
		{-150_000_000, "-1.50"},
		{-9223372036854775808, "-92233720368.54775808"},
	} {
		if got := FormatPrice(tc.in); got != tc.want {
			t.Errorf("FormatPrice(%d) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func FuzzParsePrice(f *testing.F) {
	for _, s := range []string{"3150.12", "0.00000001", "9999999999.99999999", "1e3", "-1", "", "3150.123456789"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePrice(s)
		if err != nil {
			return
		}
		if p <= 0 {
			t.Fatalf("ParsePrice(%q) = %d, a price that is not positive", s, p)
		}
		back, err := ParsePrice(FormatPrice(p))
		if err != nil || back != p {
			t.Fatalf("ParsePrice(FormatPrice(%d)) = %d, %v; want the same price", p, back, err)
		}
	})
}
