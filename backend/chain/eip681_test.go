package chain

import (
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
)

func TestEIP681WritesAChecksummedAddressAndAPlainInteger(t *testing.T) {
	to := common.HexToAddress("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed")
	big2014, _ := new(big.Int).SetString("2014000000000000000", 10)
	for _, tc := range []struct {
		name    string
		chainID uint64
		wei     *big.Int
		want    string
	}{
		{"Base", 8453, big2014, "ethereum:0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed@8453?value=2014000000000000000"},
		{"OneWei", 8453, big.NewInt(1), "ethereum:0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed@8453?value=1"},
		{"NoChain", 0, big.NewInt(5), "ethereum:0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed?value=5"},
		{"NoValue", 8453, nil, "ethereum:0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed@8453"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := EIP681(to, tc.chainID, tc.wei); got != tc.want {
				t.Errorf("EIP681 = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestParseEIP681AcceptsPlainTransfersOnly(t *testing.T) {
	addr := "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
	to := common.HexToAddress(addr)
	n := func(s string) *big.Int { v, _ := new(big.Int).SetString(s, 10); return v }
	for _, tc := range []struct {
		in   string
		want *PaymentRequest // nil: refused
	}{
		{"ethereum:" + addr + "@8453?value=2014000000000000000", &PaymentRequest{To: to, ChainID: 8453, Value: n("2014000000000000000")}},
		{"ethereum:" + addr + "@8453?value=2.014e18", &PaymentRequest{To: to, ChainID: 8453, Value: n("2014000000000000000")}},
		{"ethereum:" + addr + "?value=2.014E18", &PaymentRequest{To: to, Value: n("2014000000000000000")}},
		{"ethereum:pay-" + addr + "@1?value=1e18&gas=21000&gasPrice=1e9", &PaymentRequest{To: to, ChainID: 1, Value: n("1000000000000000000"), GasLimit: n("21000"), GasPrice: n("1000000000")}},
		{"ethereum:" + addr + "?gasLimit=2.1e4", &PaymentRequest{To: to, GasLimit: n("21000")}},
		{"ethereum:" + strings.ToLower(addr), &PaymentRequest{To: to}},
		{"ethereum:0x" + strings.ToUpper(addr[2:]), &PaymentRequest{To: to}},
		{"ETHEREUM:" + addr + "?value=1.50e1", &PaymentRequest{To: to, Value: n("15")}},
		{"ethereum:" + addr + "?value=.5e1", &PaymentRequest{To: to, Value: n("5")}},
		{"ethereum:" + addr + "?value=0", &PaymentRequest{To: to, Value: n("0")}},

		{"", nil},
		{"ethereum:", nil},
		{"bitcoin:" + addr, nil},
		{"ethereum:" + addr[:41], nil}, // 39 hex digits
		{"ethereum:0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD", nil}, // bad checksum
		{"ethereum:vitalik.eth?value=1", nil},                        // ENS
		{"ethereum:" + addr + "/transfer?address=" + addr + "&uint256=1", nil},
		{"ethereum:" + addr + "@0?value=1", nil},
		{"ethereum:" + addr + "@08453?value=1", nil},
		{"ethereum:" + addr + "@base?value=1", nil},
		{"ethereum:" + addr + "@99999999999999999999999?value=1", nil},
		{"ethereum:" + addr + "?value=1.5", nil}, // half a wei
		{"ethereum:" + addr + "?value=-1", nil},
		{"ethereum:" + addr + "?value=+1", nil},
		{"ethereum:" + addr + "?value=1e", nil},
		{"ethereum:" + addr + "?value=1e100", nil}, // 3-digit exponent
		{"ethereum:" + addr + "?value=1e78", nil},  // above 2^256 - 1
		{"ethereum:" + addr + "?value=", nil},
		{"ethereum:" + addr + "?value=0x10", nil},
		{"ethereum:" + addr + "?value=1&value=2", nil},
		{"ethereum:" + addr + "?value=1&gas=1&gasLimit=2", nil},
		{"ethereum:" + addr + "?value", nil},
		{"ethereum:" + addr + "?amount=1", nil},
		{"ethereum:" + addr + "?value=1%30", nil},
		{"ethereum:" + addr + "?value=1#x", nil},
		{"ethereum:" + addr + "?value=1 ", nil},
	} {
		got, err := ParseEIP681(tc.in)
		switch {
		case tc.want == nil && (err == nil || !errors.Is(err, ErrEIP681)):
			t.Errorf("ParseEIP681(%q) = %+v, %v; want ErrEIP681", tc.in, got, err)
		case tc.want != nil && err != nil:
			t.Errorf("ParseEIP681(%q): %v", tc.in, err)
		case tc.want != nil && !samePaymentRequest(got, *tc.want):
			t.Errorf("ParseEIP681(%q) = %+v, want %+v", tc.in, got, *tc.want)
		}
	}
}

func samePaymentRequest(a, b PaymentRequest) bool {
	same := func(x, y *big.Int) bool { return (x == nil) == (y == nil) && (x == nil || x.Cmp(y) == 0) }
	return a.To == b.To && a.ChainID == b.ChainID && same(a.Value, b.Value) && same(a.GasLimit, b.GasLimit) && same(a.GasPrice, b.GasPrice)
}

func FuzzParseEIP681(f *testing.F) {
	for _, s := range []string{
		"ethereum:0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed@8453?value=2014000000000000000",
		"ethereum:0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed@8453?value=2.014e18",
		"ethereum:pay-0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed?value=1e18&gas=21000&gasPrice=1e9",
		"ethereum:0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed/transfer?address=0x1&uint256=1",
		"ethereum:vitalik.eth",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		req, err := ParseEIP681(s)
		if err != nil {
			return
		}
		// What parses writes back, in our canonical form, to the same request.
		back, err := ParseEIP681(EIP681(req.To, req.ChainID, req.Value))
		if err != nil {
			t.Fatalf("ParseEIP681(EIP681(%+v)): %v", req, err)
		}
		req.GasLimit, req.GasPrice = nil, nil
		if !samePaymentRequest(back, req) {
			t.Fatalf("round trip of %q: %+v, want %+v", s, back, req)
		}
	})
}

func TestMetaMaskDappLinkOpensThePageInMetaMask(t *testing.T) {
	for _, tc := range []struct {
		name, base, path, want string
	}{
		{"Root", "https://credits.example.com", "/buy", "https://metamask.app.link/dapp/credits.example.com/buy"},
		{"BasePath", "https://example.com/credits/", "/purchase/p_123", "https://metamask.app.link/dapp/example.com/credits/purchase/p_123"},
		{"Query", "https://credits.example.com", "/buy?usd=12.34", "https://metamask.app.link/dapp/credits.example.com/buy?usd=12.34"},
		{"Port", "http://localhost:8080", "/buy", "https://metamask.app.link/dapp/localhost:8080/buy"},
		{"EmptyPath", "https://credits.example.com", "", "https://metamask.app.link/dapp/credits.example.com"},
		{"EscapedPath", "https://credits.example.com", "/a b", "https://metamask.app.link/dapp/credits.example.com/a%20b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := MetaMaskDappLink(tc.base, tc.path)
			if err != nil || got != tc.want {
				t.Errorf("MetaMaskDappLink(%q, %q) = %q, %v; want %q", tc.base, tc.path, got, err, tc.want)
			}
		})
	}
	for _, tc := range []struct{ base, path string }{
		{"credits.example.com", "/buy"},
		{"ftp://credits.example.com", "/buy"},
		{"https://user:pw@credits.example.com", "/buy"},
		{"https://credits.example.com?x=1", "/buy"},
		{"https://credits.example.com", "buy"},
		{"https://credits.example.com", "https://evil.example/buy"},
		{"https://credits.example.com", "//evil.example/buy"},
	} {
		if got, err := MetaMaskDappLink(tc.base, tc.path); err == nil {
			t.Errorf("MetaMaskDappLink(%q, %q) = %q, want an error", tc.base, tc.path, got)
		}
	}
}
