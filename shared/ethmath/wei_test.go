package ethmath

import (
	"errors"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

func wei(t testing.TB, s string) *big.Int {
	t.Helper()
	v, ok := new(big.Int).SetString(s, 10)
	if !ok {
		t.Fatalf("bad test value %q", s)
	}
	return v
}

func TestWeiForCreditsRoundsUp(t *testing.T) {
	for _, tc := range []struct {
		credits int64
		price   PriceE8
		want    string
	}{
		{10_000, 315_012_000_000, "317448224194634"},                    // $1 at 3150.12: 0.000317448224194634 ETH
		{1, 315_012_000_000, "31744822420"},                             // one credit, rounded up from ...419.4
		{100, 300_000_000_000, "3333333333334"},                         // 1 cent at 3000: ...333.3 rounds up
		{10_000, 100_000_000_000, "1000000000000000"},                   // $1 at 1000: exactly 0.001 ETH
		{1, 1, "10000000000000000000000"},                               // the smallest price
		{1, math.MaxInt64, "1085"},                                      // the largest price
		{math.MaxInt64, 1, "92233720368547758070000000000000000000000"}, // no overflow
		{0, 315_012_000_000, "0"},
	} {
		if got := WeiForCredits(tc.credits, tc.price); got.String() != tc.want {
			t.Errorf("WeiForCredits(%d, %d) = %s, want %s", tc.credits, tc.price, got, tc.want)
		}
	}
}

func TestWeiForCreditsPanicsOnANonPositivePrice(t *testing.T) {
	for _, p := range []PriceE8{0, -1} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("WeiForCredits(1, %d) did not panic", p)
				}
			}()
			WeiForCredits(1, p)
		}()
	}
}

// logUniform draws from [lo, hi] so that every order of magnitude is as likely as
// any other: small and huge values both get tested.
func logUniform(r *rand.Rand, lo, hi int64) int64 {
	lg := math.Log(float64(lo)) + r.Float64()*(math.Log(float64(hi))-math.Log(float64(lo)))
	v := int64(math.Exp(lg)) // test input only; no money path sees this float
	// Jitter the low digits so the draws are not all near powers.
	v += r.Int64N(1000) - 500
	return min(max(v, lo), hi)
}

// The must-show rule: paying exactly the quoted wei buys exactly the quoted credits,
// never one less and never one more, over wide ranges of credits and prices.
func TestQuotedWeiBuysExactlyQuotedCredits(t *testing.T) {
	seed := uint64(20240801)
	r := rand.New(rand.NewPCG(seed, seed))
	check := func(c int64, p PriceE8) {
		t.Helper()
		w := WeiForCredits(c, p)
		if got := CreditsForWei(w, p); got != c {
			t.Fatalf("seed %d: WeiForCredits(%d, %d) = %s wei, which buys %d credits; want exactly %d", seed, c, p, w, got, c)
		}
		// One wei less must buy one credit less: the quote is the least that buys c.
		if c > 0 {
			less := new(big.Int).Sub(w, big.NewInt(1))
			if got := CreditsForWei(less, p); got != c-1 {
				t.Fatalf("seed %d: %s wei (one less than the quote for %d credits at %d) buys %d credits; want %d", seed, less, c, p, got, c-1)
			}
		}
	}
	// Edges first, then a wide random sweep.
	for _, c := range []int64{0, 1, 2, 99, 100, 10_000, 1_000_000_000_000, math.MaxInt64 / 2, math.MaxInt64} {
		for _, p := range []PriceE8{1, 2, 3, 7, 99_999_999, 100_000_000, 315_012_000_000, 315_012_345_678, 999_999_999_999_999_999, math.MaxInt64} {
			check(c, p)
		}
	}
	for range 200_000 {
		c := logUniform(r, 1, math.MaxInt64)
		p := PriceE8(logUniform(r, 1, math.MaxInt64))
		check(c, p)
	}
	// The product's realistic range, densely: 1 credit to $10M, $1 to $1M per ETH.
	for range 200_000 {
		c := logUniform(r, 1, 100_000_000_000)
		p := PriceE8(logUniform(r, 100_000_000, 100_000_000_000_000))
		check(c, p)
	}
}

// Underpaying buys proportionally fewer credits and overpaying more; never an
// "underpaid" dead end, and more wei never buys fewer credits.
func TestCreditsForWeiIsProportional(t *testing.T) {
	p := PriceE8(315_012_000_000)
	quote := WeiForCredits(10_000, p) // $1
	for _, tc := range []struct {
		name string
		num  int64 // the payment is quote × num / den
		den  int64
		want int64
	}{
		{"Half", 1, 2, 5_000}, // half of the rounded-up quote still holds 5000 credits' worth
		{"Exact", 1, 1, 10_000},
		{"Double", 2, 1, 20_000},
		{"Tenfold", 10, 1, 100_000},
		{"Third", 1, 3, 3_333},
		{"Nothing", 0, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			paid := new(big.Int).Mul(quote, big.NewInt(tc.num))
			paid.Quo(paid, big.NewInt(tc.den))
			if got := CreditsForWei(paid, p); got != tc.want {
				t.Errorf("CreditsForWei(%s, %d) = %d, want %d", paid, p, got, tc.want)
			}
		})
	}

	r := rand.New(rand.NewPCG(7, 7))
	for range 50_000 {
		a := big.NewInt(r.Int64())
		b := new(big.Int).Add(a, big.NewInt(r.Int64N(1_000_000_000_000)))
		pp := PriceE8(logUniform(r, 1, math.MaxInt64))
		if ca, cb := CreditsForWei(a, pp), CreditsForWei(b, pp); ca > cb {
			t.Fatalf("CreditsForWei(%s, %d) = %d > CreditsForWei(%s, %d) = %d: more wei bought fewer credits", a, pp, ca, b, pp, cb)
		}
	}
}

func TestCreditsForWeiBuysNothingForNothing(t *testing.T) {
	for _, tc := range []struct {
		name string
		wei  *big.Int
		p    PriceE8
	}{
		{"NilWei", nil, 315_012_000_000},
		{"NegativeWei", big.NewInt(-1), 315_012_000_000},
		{"ZeroPrice", big.NewInt(1e18), 0},
		{"NegativePrice", big.NewInt(1e18), -1},
		{"DustBelowOneCredit", big.NewInt(31_744_822_419), 315_012_000_000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := CreditsForWei(tc.wei, tc.p); got != 0 {
				t.Errorf("CreditsForWei(%v, %d) = %d, want 0", tc.wei, tc.p, got)
			}
		})
	}
}

func TestCreditsForWeiCapsInsteadOfOverflowing(t *testing.T) {
	huge := new(big.Int).Lsh(big.NewInt(1), 255)
	if got := CreditsForWei(huge, math.MaxInt64); got != math.MaxInt64 {
		t.Errorf("CreditsForWei(2^255, max price) = %d, want math.MaxInt64", got)
	}
	// Just past the cap and just below it.
	p := PriceE8(1)
	atCap := WeiForCredits(math.MaxInt64, p)
	if got := CreditsForWei(atCap, p); got != math.MaxInt64 {
		t.Errorf("CreditsForWei(quote for MaxInt64) = %d, want math.MaxInt64", got)
	}
	past := new(big.Int).Add(atCap, weiCreditScale)
	if got := CreditsForWei(past, p); got != math.MaxInt64 {
		t.Errorf("CreditsForWei(past the cap) = %d, want math.MaxInt64", got)
	}
}

func TestFormatETHIsExactWithoutTrailingZeros(t *testing.T) {
	for _, tc := range []struct {
		wei  *big.Int
		want string
	}{
		{big.NewInt(3_174_600_000_000_000), "0.0031746"},
		{new(big.Int).Set(weiPerETH), "1"},
		{big.NewInt(1), "0.000000000000000001"},
		{big.NewInt(0), "0"},
		{nil, "0"},
		{big.NewInt(1_500_000_000_000_000_000), "1.5"},
		{big.NewInt(-1_500_000_000_000_000_000), "-1.5"},
		{new(big.Int).Mul(big.NewInt(123_456_789), weiPerETH), "123456789"},
	} {
		if got := FormatETH(tc.wei); got != tc.want {
			t.Errorf("FormatETH(%v) = %q, want %q", tc.wei, got, tc.want)
		}
	}
}

func TestParseWeiTakesPlainIntegersOnly(t *testing.T) {
	max := "115792089237316195423570985008687907853269984665640564039457584007913129639935"
	for _, tc := range []struct {
		in   string
		want string
		err  error
	}{
		{"3174600000000000", "3174600000000000", nil},
		{"0", "0", nil},
		{max, max, nil},
		{"115792089237316195423570985008687907853269984665640564039457584007913129639936", "", ErrWeiFormat}, // 2^256
		{"", "", ErrWeiFormat},
		{"-1", "", ErrWeiFormat},
		{"+1", "", ErrWeiFormat},
		{"1e18", "", ErrWeiFormat},
		{"1.0", "", ErrWeiFormat},
		{"0x10", "", ErrWeiFormat},
		{"01", "", ErrWeiFormat},
		{" 1", "", ErrWeiFormat},
	} {
		got, err := ParseWei(tc.in)
		if !errors.Is(err, tc.err) || (err == nil && got.String() != tc.want) {
			t.Errorf("ParseWei(%q) = %v, %v; want %s, %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestParseETHReadsWhatFormatETHWrites(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
		err  error
	}{
		{"0.0031746", "3174600000000000", nil},
		{"1", "1000000000000000000", nil},
		{"0.000000000000000001", "1", nil},
		{"1.5", "1500000000000000000", nil},
		{"0.0000000000000000001", "", ErrWeiFormat}, // 19 places: below one wei
		{"", "", ErrWeiFormat},
		{"-1", "", ErrWeiFormat},
		{"1e18", "", ErrWeiFormat},
		{".5", "", ErrWeiFormat},
		{"00.5", "", ErrWeiFormat},
	} {
		got, err := ParseETH(tc.in)
		if !errors.Is(err, tc.err) || (err == nil && got.String() != tc.want) {
			t.Errorf("ParseETH(%q) = %v, %v; want %s, %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func FuzzParseWei(f *testing.F) {
	for _, s := range []string{"0", "3174600000000000", "1e18", "-1", "01", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseWei(s)
		if err != nil {
			return
		}
		if v.Sign() < 0 || v.Cmp(maxWei) > 0 || v.String() != s {
			t.Fatalf("ParseWei(%q) = %s: out of range or not canonical", s, v)
		}
	})
}

func FuzzParseETH(f *testing.F) {
	for _, s := range []string{"0.0031746", "1", "0.000000000000000001", "1.50", "1e18", "-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseETH(s)
		if err != nil {
			return
		}
		back, err := ParseETH(FormatETH(v))
		if err != nil || back.Cmp(v) != 0 {
			t.Fatalf("ParseETH(FormatETH(%s)) = %v, %v; want the same amount", v, back, err)
		}
	})
}
