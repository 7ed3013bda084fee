package app

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aispace/credits/shared"
)

func TestDecimalToHexConvertsWeiOfAnySize(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"0", "0x0"},
		{"000", "0x0"},
		{"15", "0xf"},
		{"16", "0x10"},
		{"1000000000000000000", "0xde0b6b3a7640000"},                                                                       // 1 ETH
		{"9223372036854775808", "0x8000000000000000"},                                                                      // 2^63: past int64
		{"100000000000000000000000", "0x152d02c7e14af6800000"},                                                             // 100,000 ETH
		{"115792089237316195423570985008687907853269984665640564039457584007913129639935", "0x" + strings.Repeat("f", 64)}, // 2^256-1
	} {
		got, err := decimalToHex(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("decimalToHex(%q): got %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "-1", "1.5", "0x10", "1e18", " 1", strings.Repeat("9", 79)} {
		if got, err := decimalToHex(bad); err == nil {
			t.Errorf("decimalToHex(%q): got %q, want an error", bad, got)
		}
	}
}

func TestHexQuantityRoundTrips(t *testing.T) {
	if got := hexQuantity(8453); got != "0x2105" {
		t.Errorf("hexQuantity(8453): got %q, want 0x2105", got)
	}
	if got, err := parseHexQuantity("0x2105"); err != nil || got != 8453 {
		t.Errorf("parseHexQuantity(0x2105): got %d, %v", got, err)
	}
	if _, err := parseHexQuantity("8453"); err == nil {
		t.Error("parseHexQuantity(8453): want an error without 0x")
	}
}

func TestEthEstimateUsesIntegersOnly(t *testing.T) {
	for _, tc := range []struct {
		cents  shared.Cents
		price  string
		want   string
		wantOK bool
	}{
		{1000, "3150.12", "0.003174", true}, // $10 / $3150.12 = 0.0031744…
		{315012, "3150.12", "1.000000", true},
		{1000, "3150.129", "0.003174", true}, // extra decimals are cut to cents
		{1000, "2000", "0.005000", true},
		{1, "3000", "0.000003", true},
		{1000, "", "", false},
		{1000, "abc", "", false},
		{1000, "0", "", false},
	} {
		got, ok := ethEstimate(tc.cents, tc.price)
		if got != tc.want || ok != tc.wantOK {
			t.Errorf("ethEstimate(%d, %q): got %q, %v; want %q, %v", tc.cents, tc.price, got, ok, tc.want, tc.wantOK)
		}
	}
}

func TestPurchaseIDComesFromTheURL(t *testing.T) {
	for path, want := range map[string]string{
		"/purchase/pur_123": "pur_123",
		"/purchase/":        "",
		"/buy":              "",
	} {
		if got := purchaseIDFrom(&url.URL{Path: path}); got != want {
			t.Errorf("purchaseIDFrom(%q): got %q, want %q", path, got, want)
		}
	}
	if got := PurchasePath("pur_123"); got != "/purchase/pur_123" {
		t.Errorf("PurchasePath: got %q", got)
	}
}

func TestRenewalInCountsDownToMidnightUTC(t *testing.T) {
	now := time.Date(2026, 3, 1, 18, 47, 0, 0, time.UTC)
	if got, want := renewalIn("2026-03-02T00:00:00Z", now), "in 5 h 13 min (0:00 UTC)"; got != want {
		t.Errorf("renewalIn: got %q, want %q", got, want)
	}
	if got, want := renewalIn("not a time", now), "every day at 0:00 UTC"; got != want {
		t.Errorf("renewalIn(bad): got %q, want %q", got, want)
	}
}

func TestWalletErrorsAreTyped(t *testing.T) {
	for code, want := range map[int]error{
		codeUserRejected:   errUserRejected,
		codeUnauthorized:   errUnauthorized,
		codeRequestPending: errRequestPending,
	} {
		if got := walletError(&jsError{Code: code, Message: "x"}); got != want {
			t.Errorf("walletError(code %d): got %v, want %v", code, got, want)
		}
	}
	other := &jsError{Code: -32603, Message: "internal"}
	if got := walletError(other); got != other {
		t.Errorf("walletError(other): got %v, want the wallet's own error", got)
	}
}
