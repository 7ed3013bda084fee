package app

import (
	"errors"
	"image"
	"image/color"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"github.com/aispace/credits/shared"
)

// The SVG of a QR code, drawn back as pixels, decodes to what it encodes.
func TestQRSVGDecodesToItsData(t *testing.T) {
	const uri = "ethereum:0xA7f3Ad0E69F61864092FAbBa6Cee00AF6e584689@8453?value=3917311086561782"
	svg, err := qrSVG(uri, "payment request")
	if err != nil {
		t.Fatal(err)
	}
	size, _ := strconv.Atoi(regexp.MustCompile(`viewBox="0 0 (\d+) `).FindStringSubmatch(svg)[1])
	const scale = 6
	img := image.NewGray(image.Rect(0, 0, size*scale, size*scale))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	for _, m := range regexp.MustCompile(`M(\d+) (\d+)h(\d+)v1h-\d+z`).FindAllStringSubmatch(svg, -1) {
		x, _ := strconv.Atoi(m[1])
		y, _ := strconv.Atoi(m[2])
		w, _ := strconv.Atoi(m[3])
		for px := x * scale; px < (x+w)*scale; px++ {
			for py := y * scale; py < (y+1)*scale; py++ {
				img.Set(px, py, color.Gray{})
			}
		}
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if res.GetText() != uri {
		t.Errorf("decoded %q, want %q", res.GetText(), uri)
	}
	if !strings.Contains(svg, `aria-label="payment request"`) {
		t.Error("the SVG has no accessible name")
	}
}

func TestChainFromConfigMakesTheDevRPCAbsolute(t *testing.T) {
	got := chainFromConfig(shared.Config{ChainID: 8453, ChainName: "Base (dev chain)", RPCURL: "/dev/rpc"}, "http://127.0.0.1:8080")
	if got.ID != 8453 || got.Name != "Base (dev chain)" || got.RPCURL != "http://127.0.0.1:8080/dev/rpc" || got.ExplorerURL != "" {
		t.Errorf("dev: got %+v", got)
	}
	if got := chainFromConfig(shared.Config{}, "https://x"); got != baseMainnet {
		t.Errorf("no config: got %+v, want Base mainnet", got)
	}
	got = chainFromConfig(shared.Config{ChainID: 8453, RPCURL: "https://mainnet.base.org", ExplorerURL: "https://basescan.org/"}, "https://x")
	if got.Name != "Base" || got.ExplorerURL != "https://basescan.org" {
		t.Errorf("mainnet: got %+v", got)
	}
}

func TestWrongChainIsSaidInWords(t *testing.T) {
	err := &wrongChainError{Want: chain{ID: 8453, Name: "Base"}, Got: 1, Refused: true}
	if got := explainPay(err, paySwitch); !strings.HasPrefix(got, "Your wallet is on Ethereum (chain 1), not Base (chain 8453), and the switch was declined.") {
		t.Errorf("got %q", got)
	}
	if got := chainLabel(999); got != "network 999" {
		t.Errorf("unknown chain: got %q", got)
	}
	if got := explainPay(errUserRejected, payConfirm); !strings.Contains(got, "Nothing was sent") {
		t.Errorf("rejected payment: got %q", got)
	}
	if got := explainPay(&apiError{Status: 409, Code: shared.CodeConflict}, paySubmit); !strings.Contains(got, "already paid another purchase") {
		t.Errorf("conflict: got %q", got)
	}
	if got := explain(errors.New("boom")); got != "Boom." {
		t.Errorf("explain: got %q", got)
	}
}

func TestMetaMaskLinkCarriesTheSecretInTheFragment(t *testing.T) {
	p := &purchasePage{secret: "s3cr3t", st: shared.PurchaseStatus{Crypto: &shared.CryptoQuote{MetaMaskLink: "https://metamask.app.link/dapp/x.example/purchase/pur_1"}}}
	if got := p.metaMaskLink(); got != "https://metamask.app.link/dapp/x.example/purchase/pur_1#s=s3cr3t" {
		t.Errorf("got %q", got)
	}
	p.st.Crypto.MetaMaskLink += "#s=other"
	if got := p.metaMaskLink(); !strings.HasSuffix(got, "#s=other") {
		t.Errorf("a link with a fragment is kept: got %q", got)
	}
}

func TestSmallFormatters(t *testing.T) {
	for d, want := range map[time.Duration]string{
		42 * time.Second:                   "42 s",
		14*time.Minute + 5*time.Second:     "14 min 05 s",
		5*time.Hour + 12*time.Minute + 3e9: "5 h 12 min 03 s",
	} {
		if got := durationText(d); got != want {
			t.Errorf("durationText(%v): got %q, want %q", d, got, want)
		}
	}
	if got := usdOf(999_696); got != "99.96" {
		t.Errorf("usdOf: got %q", got)
	}
	if got := unitsText(map[string]int64{"output_tokens": 300, "input_tokens": 1200}); got != "1,200 input tokens, 300 output tokens" {
		t.Errorf("unitsText: got %q", got)
	}
	if !isTxHash("0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060") || isTxHash("0x1234") {
		t.Error("isTxHash")
	}
	if got := shortAddress("0x71c7656ec7ab88b098defb751b7401b5f6d8976f"); got != "0x71c7…976f" {
		t.Errorf("shortAddress: got %q", got)
	}
	if got := dayTime("2026-03-01T18:47:00Z"); got != "2026-03-01 18:47 UTC" {
		t.Errorf("dayTime: got %q", got)
	}
}
