package shared

import (
	"errors"
	"strconv"
	"strings"
)

// CreditsPerUSD is the fixed rate of the product: $1 buys 10,000 credits.
const CreditsPerUSD = 10_000

// CreditsPerCent follows from CreditsPerUSD: one cent buys 100 credits.
const CreditsPerCent = CreditsPerUSD / 100

// MaxCents bounds any USD amount the product parses ($10,000,000), far below the
// point where cents × CreditsPerCent could overflow an int64.
const MaxCents Cents = 1_000_000_000

// Cents is an exact amount of US dollars in cents. Money is never a float.
type Cents int64

// ErrUSDFormat is returned by ParseUSD for anything but a plain decimal with at most
// two places.
var ErrUSDFormat = errors.New(`usd must be a decimal string with at most 2 places, like "12.34"`)

// ErrUSDRange is returned by ParseUSD for zero or for amounts above MaxCents.
var ErrUSDRange = errors.New("usd must be more than 0 and at most 10000000.00")

// ParseUSD parses a USD amount such as "12.34", "5" or "0.5" into cents. Signs,
// exponents, spaces, thousands separators and more than two decimals are refused.
func ParseUSD(s string) (Cents, error) {
	whole, frac, dot := strings.Cut(s, ".")
	if whole == "" || len(whole) > 8 || !allDigits(whole) || (dot && (frac == "" || len(frac) > 2 || !allDigits(frac))) {
		return 0, ErrUSDFormat
	}
	w, _ := strconv.ParseInt(whole, 10, 64)
	c := w * 100
	switch len(frac) {
	case 1:
		c += int64(frac[0]-'0') * 10
	case 2:
		c += int64(frac[0]-'0')*10 + int64(frac[1]-'0')
	}
	if c <= 0 || Cents(c) > MaxCents {
		return 0, ErrUSDRange
	}
	return Cents(c), nil
}

// String formats cents as a decimal with exactly two places: 1234 → "12.34".
func (c Cents) String() string {
	sign := ""
	if c < 0 {
		sign, c = "-", -c
	}
	cents := strconv.FormatInt(int64(c%100), 10)
	if len(cents) == 1 {
		cents = "0" + cents
	}
	return sign + strconv.FormatInt(int64(c/100), 10) + "." + cents
}

// Credits is what the amount buys at the fixed rate.
func (c Cents) Credits() int64 { return int64(c) * CreditsPerCent }

// FormatCredits writes credits with thousands separators for people: 1234567 → "1,234,567".
func FormatCredits(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
