package server

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/ethereum/go-ethereum/accounts"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/aispace/credits/backend/credits"
	"github.com/aispace/credits/shared"
)

// FuzzDecodeRequestBodies feeds arbitrary bodies to the one JSON decoder every API
// route uses, for every request type: it must never panic, refuse with a stable
// "invalid" code, and accept only what re-encodes to something it accepts again.
func FuzzDecodeRequestBodies(f *testing.F) {
	for _, seed := range []string{
		`{"key":"aisk_x","idempotency_key":"a","service":"chat:small","units":{"input_tokens":12}}`,
		`{"key":"aisk_x","idempotency_key":"a","credits":250}`,
		`{"usd":"12.34","method":"crypto","wallet":"0x0000000000000000000000000000000000000001"}`,
		`{"usd":"5.00","method":"card"}`,
		`{"tx_hash":"0x00"}`,
		`{"key":"","idempotency_key":"","credits":1,"ttl_seconds":60}`,
		`{"credits":-1}`, `{"daily_cap":null}`, `{}`, `[]`, `null`, `{"a":1}{}`, `{"credits":1e400}`,
		"\xff\xfe", `{"units":{"input_tokens":9223372036854775808}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, newV := range []func() any{
			func() any { return &shared.ChargeRequest{} },
			func() any { return &shared.HoldRequest{} },
			func() any { return &shared.CreatePurchaseRequest{} },
			func() any { return &shared.SubmitTxRequest{} },
			func() any { return &shared.SessionRequest{} },
			func() any { return &shared.RecoverRequest{} },
			func() any { return &shared.DailyCapRequest{} },
			func() any { return &AdminRequest{} },
		} {
			v := newV()
			r := httptest.NewRequest("POST", "/", bytes.NewReader(body))
			r.Header.Set("Content-Type", "application/json")
			err := decode(httptest.NewRecorder(), r, v)
			if err != nil {
				if credits.ErrorCode(err) != shared.CodeInvalid {
					t.Fatalf("decode error with code %q: %v", credits.ErrorCode(err), err)
				}
				continue
			}
			again, _ := json.Marshal(v)
			r = httptest.NewRequest("POST", "/", bytes.NewReader(again))
			if err := decode(httptest.NewRecorder(), r, newV()); err != nil {
				t.Fatalf("accepted %q, but not its re-encoding %q: %v", body, again, err)
			}
		}
	})
}

// FuzzPrice feeds arbitrary usage to the pricing of every service: a price is
// positive or the answer is a stable "invalid", and never overflows.
func FuzzPrice(f *testing.F) {
	f.Add("chat:standard", "input_tokens", int64(1200), "output_tokens", int64(300))
	f.Add("image:standard", "image_1024x1024", int64(2), "", int64(0))
	f.Add("tool:web-search", "requests", int64(1_000_000_000), "requests", int64(-1))
	p, err := credits.ParsePricing(credits.DefaultPricing)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, service, u1 string, n1 int64, u2 string, n2 int64) {
		units := map[string]int64{}
		if u1 != "" {
			units[u1] = n1
		}
		if u2 != "" {
			units[u2] = n2
		}
		c, err := p.Price(service, units)
		if err != nil {
			if credits.ErrorCode(err) != shared.CodeInvalid {
				t.Fatalf("price error with code %q", credits.ErrorCode(err))
			}
			return
		}
		if c <= 0 || c > 1<<62 {
			t.Fatalf("price %d for %s %v", c, service, units)
		}
	})
}

// FuzzRecoverSigner feeds arbitrary messages and signatures to the recovery's
// signature check: it never panics, and what it accepts is a signature the signer it
// names really made (re-signing with a known key round-trips).
func FuzzRecoverSigner(f *testing.F) {
	key, _ := crypto.GenerateKey()
	msg := "credits.example.com wants you to sign in with your Ethereum account"
	sig, _ := crypto.Sign(accounts.TextHash([]byte(msg)), key)
	f.Add(msg, sig)
	f.Add("", make([]byte, 65))
	f.Add("x", []byte{1, 2, 3})
	withV := append([]byte(nil), sig...)
	withV[64] += 27
	f.Add(msg, withV)
	f.Fuzz(func(t *testing.T, message string, sig []byte) {
		addr, err := recoverSigner(message, sig)
		if err != nil {
			return
		}
		if addr == (common.Address{}) {
			t.Fatal("accepted a signature of no one")
		}
		// A signature by our key over the message always recovers our address.
		own, _ := crypto.Sign(accounts.TextHash([]byte(message)), key)
		if got, err := recoverSigner(message, own); err != nil || got != crypto.PubkeyToAddress(key.PublicKey) {
			t.Fatalf("own signature: %v %v", got, err)
		}
	})
}
