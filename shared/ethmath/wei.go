package ethmath

import (
	"errors"
	"math"
	"math/big"
	"strings"
)

// weiPerETH is 10^18: one ETH in wei.
var weiPerETH = new(big.Int).Exp(big.NewInt(10), big.NewInt(18), nil)

// weiCreditScale is the wei-per-credit factor before the price: a credit is 10^-4 USD
// and a price is in 10^-8 USD per ETH, so credits × 10^-4 / (p × 10^-8) ETH is
// credits × 10^4 / p ETH, which is credits × 10^22 / p wei.
var weiCreditScale = new(big.Int).Exp(big.NewInt(10), big.NewInt(22), nil)

// maxWei is 2^256 - 1, the largest amount an EVM value can hold.
var maxWei = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1))

var maxInt64 = big.NewInt(math.MaxInt64)

// WeiForCredits is the wei that buys credits at price p, rounded up:
// ceil(credits × 10^22 / p). Rounding up is what lets CreditsForWei give back exactly
// credits for exactly this amount. It panics if credits is negative or p is not
// positive, as a division by zero would: both are checked where they enter.
func WeiForCredits(credits int64, p PriceE8) *big.Int {
	if credits < 0 || p <= 0 {
		panic("ethmath: WeiForCredits needs credits >= 0 and a positive price")
	}
	num := new(big.Int).Mul(big.NewInt(credits), weiCreditScale)
	den := big.NewInt(int64(p))
	q, r := new(big.Int).QuoRem(num, den, new(big.Int))
	if r.Sign() != 0 {
		q.Add(q, big.NewInt(1))
	}
	return q
}

// CreditsForWei is the credits that wei buys at price p, rounded down:
// floor(wei × p / 10^22). A nil or negative wei, or a price that is not positive, buys
// nothing; an amount whose credits would overflow an int64 (more than about 2.9 × 10^12
// ETH at 3,000 USD) is capped at math.MaxInt64 rather than wrapped.
//
// Exactness: if wei = WeiForCredits(c, p), then wei × p lies in [c × 10^22,
// c × 10^22 + p), and p < 10^22 for every int64, so the floor is exactly c.
func CreditsForWei(wei *big.Int, p PriceE8) int64 {
	if wei == nil || wei.Sign() <= 0 || p <= 0 {
		return 0
	}
	c := new(big.Int).Mul(wei, big.NewInt(int64(p)))
	c.Quo(c, weiCreditScale) // both positive: truncation is the floor
	if c.Cmp(maxInt64) > 0 {
		return math.MaxInt64
	}
	return c.Int64()
}

// FormatETH writes wei as an exact decimal number of ETH with no trailing zeros:
// 3174600000000000 → "0.0031746", 10^18 → "1", nil → "0".
func FormatETH(wei *big.Int) string {
	if wei == nil {
		return "0"
	}
	sign := ""
	abs := new(big.Int).Set(wei)
	if abs.Sign() < 0 {
		sign = "-"
		abs.Neg(abs)
	}
	whole, frac := new(big.Int).QuoRem(abs, weiPerETH, new(big.Int))
	if frac.Sign() == 0 {
		return sign + whole.String()
	}
	f := frac.String()
	f = strings.Repeat("0", 18-len(f)) + f
	return sign + whole.String() + "." + strings.TrimRight(f, "0")
}

// ErrWeiFormat is returned by ParseWei and ParseETH for anything but an unsigned plain
// decimal that fits an EVM value (at most 2^256 - 1 wei).
var ErrWeiFormat = errors.New("wei must be an unsigned decimal integer below 2^256")

// ParseWei parses a wei amount written as a plain decimal integer, the way API.md and
// storage carry it: "3174600000000000". Signs, exponents, spaces, leading zeros and
// values above 2^256 - 1 are refused.
func ParseWei(s string) (*big.Int, error) {
	if s == "" || len(s) > 78 || !allDigits(s) || (len(s) > 1 && s[0] == '0') {
		return nil, ErrWeiFormat
	}
	v, ok := new(big.Int).SetString(s, 10)
	if !ok || v.Cmp(maxWei) > 0 {
		return nil, ErrWeiFormat
	}
	return v, nil
}

// ParseETH parses an amount of ETH with at most 18 decimals, "0.0031746", into wei
// exactly. It reads what FormatETH writes.
func ParseETH(s string) (*big.Int, error) {
	whole, frac, dot := strings.Cut(s, ".")
	if whole == "" || len(whole) > 60 || !allDigits(whole) || (len(whole) > 1 && whole[0] == '0') ||
		(dot && (frac == "" || len(frac) > 18 || !allDigits(frac))) {
		return nil, ErrWeiFormat
	}
	v, _ := new(big.Int).SetString(whole+frac+strings.Repeat("0", 18-len(frac)), 10)
	if v.Cmp(maxWei) > 0 {
		return nil, ErrWeiFormat
	}
	return v, nil
}
