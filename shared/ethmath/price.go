package ethmath

import (
	"errors"
	"strconv"
	"strings"
)

// PriceDecimals is the number of decimals of a PriceE8, the same as Chainlink's
// ETH/USD feeds.
const PriceDecimals = 8

// PriceE8 is the price of one ETH in US dollars times 10^8: 3150.12 USD is
// 315_012_000_000. It is an integer so that money never meets a float.
type PriceE8 int64

// maxPriceWholeDigits bounds ParsePrice to below 10^10 USD per ETH, so that the
// price times 10^8 always fits an int64 (whose limit is about 9.2 × 10^18).
const maxPriceWholeDigits = 10

// ErrPriceFormat is returned by ParsePrice for anything but a positive plain decimal
// with at most 8 places below 10^10.
var ErrPriceFormat = errors.New(`price must be a positive decimal with at most 8 places, like "3150.12"`)

// ParsePrice parses a USD price such as "3150.12" exactly. Signs, exponents, spaces,
// separators, more than 8 decimals and zero are refused: a price is never rounded.
func ParsePrice(s string) (PriceE8, error) {
	whole, frac, dot := strings.Cut(s, ".")
	if whole == "" || len(whole) > maxPriceWholeDigits || !allDigits(whole) ||
		(dot && (frac == "" || len(frac) > PriceDecimals || !allDigits(frac))) {
		return 0, ErrPriceFormat
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, ErrPriceFormat
	}
	f := int64(0)
	if frac != "" {
		f, _ = strconv.ParseInt(frac+strings.Repeat("0", PriceDecimals-len(frac)), 10, 64)
	}
	p := w*1e8 + f
	if p <= 0 {
		return 0, ErrPriceFormat
	}
	return PriceE8(p), nil
}

// FormatPrice writes p as a decimal with at least 2 places and no trailing zeros
// beyond them: 315012000000 → "3150.12", 315000000000 → "3150.00",
// 315012345678 → "3150.12345678". ParsePrice reads it back exactly.
func FormatPrice(p PriceE8) string {
	sign := ""
	u := uint64(p)
	if p < 0 {
		sign, u = "-", uint64(-p) // two's complement: right even for the int64 minimum
	}
	frac := strconv.FormatUint(u%1e8, 10)
	frac = strings.Repeat("0", PriceDecimals-len(frac)) + frac
	frac = strings.TrimRight(frac, "0")
	for len(frac) < 2 {
		frac += "0"
	}
	return sign + strconv.FormatUint(u/1e8, 10) + "." + frac
}

// String is FormatPrice.
func (p PriceE8) String() string { return FormatPrice(p) }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
