package server

import (
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/accounts"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/aispace/credits/shared"
)

// Recovery by wallet signature (SPEC §3): a crypto buyer who lost the key, or whose
// payment came from a wallet with no open quote, asks for a challenge, signs it with
// the wallet (personal_sign: EIP-191), and gets the key of the account that wallet
// paid into, after its unclaimed payments are credited there. The challenge is an
// EIP-4361 ("Sign-In with Ethereum") message, which wallets show as a sign-in for this
// site rather than as opaque text. Challenges live in the writer's memory: they are
// single-use and short-lived, so a restart only costs a buyer a new one. Both routes
// are rate-limited per client (routes.go).

const (
	challengeTTL = 10 * time.Minute
	maxChallenge = 100_000 // challenges kept at once; each is under 1 KB
)

// challenge is one issued message, waiting for its signature.
type challenge struct {
	message string
	expires time.Time
}

// challenges are the open ones, one per wallet: a new request replaces the old.
type challenges struct {
	mu sync.Mutex
	m  map[string]challenge
}

func newChallenges() *challenges { return &challenges{m: map[string]challenge{}} }

func (c *challenges) put(wallet string, ch challenge, now time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxChallenge {
		for w, old := range c.m {
			if now.After(old.expires) {
				delete(c.m, w)
			}
		}
		if len(c.m) >= maxChallenge {
			return errorf(shared.CodeUnavailable, "too many recoveries under way; try again in a few minutes")
		}
	}
	c.m[wallet] = ch
	return nil
}

// take removes and returns the wallet's challenge: one attempt per challenge, right or
// wrong, so a signature cannot be guessed against it.
func (c *challenges) take(wallet string, now time.Time) (challenge, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch, ok := c.m[wallet]
	delete(c.m, wallet)
	return ch, ok && !now.After(ch.expires)
}

// recoverChallenge: POST /api/v1/recover/challenge {"wallet"} → {"message"}.
func (s *Server) recoverChallenge() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		if s.Crypto == nil {
			return errorf(shared.CodeNotFound, "recovery by wallet is not set up on this server")
		}
		var req shared.RecoverChallengeRequest
		if err := decode(w, r, &req); err != nil {
			return err
		}
		wallet, err := parseAddress(req.Wallet)
		if err != nil {
			return errorf(shared.CodeInvalid, "wallet: %s", err.Error())
		}
		_, chs := s.cryptoParts()
		now := time.Now().UTC().Truncate(time.Second)
		msg, err := s.siweMessage(common.HexToAddress(wallet), newNonce(), now, now.Add(challengeTTL))
		if err != nil {
			return err
		}
		if err := chs.put(wallet, challenge{message: msg, expires: now.Add(challengeTTL)}, now); err != nil {
			return err
		}
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusOK, struct {
			shared.RecoverChallenge
			ExpiresAt string `json:"expires_at"`
		}{shared.RecoverChallenge{Message: msg}, now.Add(challengeTTL).Format(time.RFC3339)})
		return nil
	}
}

// siweMessage is the EIP-4361 message for wallet to sign: this site's domain and URL,
// the chain, a random nonce, when it was issued and when it expires.
func (s *Server) siweMessage(wallet common.Address, nonce string, issued, expires time.Time) (string, error) {
	u, err := url.Parse(s.Config.PublicURL)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("server: the public URL %q has no host", s.Config.PublicURL)
	}
	return u.Host + " wants you to sign in with your Ethereum account:\n" +
		wallet.Hex() + "\n\n" +
		"Recover your AiSpace Secure Key. Signing proves you own this wallet; it sends no transaction and costs nothing.\n\n" +
		"URI: " + s.Config.PublicURL + "\n" +
		"Version: 1\n" +
		fmt.Sprintf("Chain ID: %d\n", s.Crypto.ChainID) +
		"Nonce: " + nonce + "\n" +
		"Issued At: " + issued.Format(time.RFC3339) + "\n" +
		"Expiration Time: " + expires.Format(time.RFC3339), nil
}

// newNonce is 96 random bits in EIP-4361's alphabet (letters and digits).
func newNonce() string {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	var b strings.Builder
	for range 17 { // 62^17 > 2^96
		n, _ := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		b.WriteByte(alphabet[n.Int64()])
	}
	return b.String()
}

// recoverSigner is the address whose key made sig over message with personal_sign
// (EIP-191: "\x19Ethereum Signed Message:\n" + length + message, Keccak-256). Wallets
// give v as 27/28, some libraries as 0/1: both are accepted.
func recoverSigner(message string, sig []byte) (common.Address, error) {
	if len(sig) != crypto.SignatureLength {
		return common.Address{}, errors.New("a signature is 65 bytes")
	}
	sig = append([]byte(nil), sig...)
	if sig[crypto.RecoveryIDOffset] >= 27 {
		sig[crypto.RecoveryIDOffset] -= 27
	}
	if sig[crypto.RecoveryIDOffset] > 1 {
		return common.Address{}, errors.New("the signature's v must be 27, 28, 0 or 1")
	}
	pub, err := crypto.SigToPub(accounts.TextHash([]byte(message)), sig)
	if err != nil {
		return common.Address{}, err
	}
	return crypto.PubkeyToAddress(*pub), nil
}

// recoverBody is the answer of POST /api/v1/recover.
type recoverBody struct {
	Key             string `json:"key"`
	CreditsClaimed  int64  `json:"credits_claimed"`  // added: what unclaimed payments brought now
	PaymentsClaimed int    `json:"payments_claimed"` // added
}

// recoverKey: POST /api/v1/recover {"wallet", "signature"} → {"key"}: 401 for a
// signature that is not the wallet's (or no open challenge), 404 when the wallet
// never paid.
func (s *Server) recoverKey() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		if s.Crypto == nil {
			return errorf(shared.CodeNotFound, "recovery by wallet is not set up on this server")
		}
		var req shared.RecoverRequest
		if err := decode(w, r, &req); err != nil {
			return err
		}
		wallet, err := parseAddress(req.Wallet)
		if err != nil {
			return errorf(shared.CodeInvalid, "wallet: %s", err.Error())
		}
		sig, err := hexutil.Decode(strings.TrimSpace(req.Signature))
		if err != nil || len(sig) != crypto.SignatureLength {
			return errorf(shared.CodeInvalid, "signature must be the wallet's personal_sign signature: 0x and 130 hex digits")
		}
		_, chs := s.cryptoParts()
		ch, ok := chs.take(wallet, time.Now())
		if !ok {
			return errorf(shared.CodeUnauthorized, "no open challenge for this wallet: ask for one (POST /api/v1/recover/challenge) and sign it within %d minutes", int(challengeTTL/time.Minute))
		}
		signer, err := recoverSigner(ch.message, sig)
		if err != nil || !strings.EqualFold(signer.Hex(), wallet) {
			return errorf(shared.CodeUnauthorized, "this signature is not the wallet's signature of the challenge; ask for a new challenge and sign it with that wallet")
		}
		claim, err := s.Ledger.ClaimPayments(r.Context(), s.Crypto.ChainID, wallet, s.newKeyMaker())
		if err != nil {
			return err
		}
		// The account the wallet paid into last (where a claim goes), or an earlier
		// one if support revoked that one's key.
		accounts := s.Ledger.WalletAccounts(wallet)
		account := ""
		for i := len(accounts) - 1; i >= 0; i-- {
			if s.Ledger.AccountActive(accounts[i]) {
				account = accounts[i]
				break
			}
		}
		if account == "" {
			if len(accounts) > 0 {
				return errorf(shared.CodeForbidden, "the key of the account this wallet paid into was revoked; contact support")
			}
			return errorf(shared.CodeNotFound, "nothing to recover: no confirmed payment from this wallet was found")
		}
		sealed, err := s.Ledger.SealedKey(account)
		if err != nil {
			return err
		}
		key, err := s.Keys.Open(sealed, account)
		if err != nil {
			return err
		}
		s.log.InfoContext(r.Context(), "key recovered by wallet signature", "account", account, "credits_claimed", claim.Credited)
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusOK, recoverBody{Key: key, CreditsClaimed: claim.Credited, PaymentsClaimed: len(claim.Payments)})
		return nil
	}
}
