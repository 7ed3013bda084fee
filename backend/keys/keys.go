package keys

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/aispace/credits/shared"
)

// Hash is the lookup hash of a Secure Key: HMAC-SHA256 under the server secret.
type Hash [32]byte

// String is the hash in hex, as it appears in the journal.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// ParseHash reads a hash written by String.
func ParseHash(s string) (Hash, error) {
	var h Hash
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(h) {
		return h, errors.New("keys: not a key hash")
	}
	copy(h[:], b)
	return h, nil
}

// Equal compares two hashes in constant time.
func (h Hash) Equal(o Hash) bool { return hmac.Equal(h[:], o[:]) }

// Secrets are the server's two secrets: the HMAC key for lookup hashes and session
// cookies, and the AES-256 master key for sealed copies of keys.
type Secrets struct {
	HMAC   []byte `json:"hmac"`
	Master []byte `json:"master"`
}

// Keyring makes, hashes, seals and opens Secure Keys.
type Keyring struct {
	hmacKey []byte
	session []byte
	aead    cipher.AEAD
}

// New returns a keyring for the secrets, each of which must be 32 bytes.
func New(s Secrets) (*Keyring, error) {
	if len(s.HMAC) != 32 || len(s.Master) != 32 {
		return nil, errors.New("keys: each secret must be 32 bytes")
	}
	block, err := aes.NewCipher(s.Master)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Keyring{hmacKey: s.HMAC, session: derive(s.HMAC, "session cookie v1"), aead: aead}, nil
}

// LoadSecrets returns the secrets given as base64 strings (flags or environment), or
// else the ones in dir/secrets.json, creating that file (mode 0600) on first start.
func LoadSecrets(dir, hmacB64, masterB64 string) (Secrets, error) {
	if hmacB64 != "" || masterB64 != "" {
		h, err1 := base64.StdEncoding.DecodeString(hmacB64)
		m, err2 := base64.StdEncoding.DecodeString(masterB64)
		if err1 != nil || err2 != nil || len(h) != 32 || len(m) != 32 {
			return Secrets{}, errors.New("keys: the HMAC secret and the master key must both be given, each 32 bytes in base64")
		}
		return Secrets{HMAC: h, Master: m}, nil
	}
	path := filepath.Join(dir, "secrets.json")
	b, err := os.ReadFile(path)
	if err == nil {
		var s Secrets
		if err := json.Unmarshal(b, &s); err != nil || len(s.HMAC) != 32 || len(s.Master) != 32 {
			return Secrets{}, fmt.Errorf("keys: %s is damaged", path)
		}
		return s, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return Secrets{}, fmt.Errorf("keys: %w", err)
	}
	s := Secrets{HMAC: random(32), Master: random(32)}
	b, _ = json.Marshal(s)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Secrets{}, fmt.Errorf("keys: %w", err)
	}
	// O_EXCL: two processes starting on one data dir must not both write a secret.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return LoadSecrets(dir, "", "")
	}
	if err != nil {
		return Secrets{}, fmt.Errorf("keys: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return Secrets{}, fmt.Errorf("keys: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return Secrets{}, err
	}
	return s, f.Close()
}

// NewKey returns a fresh Secure Key.
func (k *Keyring) NewKey() string {
	var secret [32]byte
	rand.Read(secret[:]) // never fails (crypto/rand panics rather than return short)
	return shared.FormatKey(secret)
}

// Hash returns the lookup hash of key.
func (k *Keyring) Hash(key string) Hash {
	m := hmac.New(sha256.New, k.hmacKey)
	m.Write([]byte(key))
	var h Hash
	m.Sum(h[:0])
	return h
}

// Seal encrypts key for the account, so it can only be opened for that account.
func (k *Keyring) Seal(key, account string) []byte {
	nonce := random(k.aead.NonceSize())
	return k.aead.Seal(nonce, nonce, []byte(key), []byte(account))
}

// Open decrypts a key sealed for the account.
func (k *Keyring) Open(sealed []byte, account string) (string, error) {
	n := k.aead.NonceSize()
	if len(sealed) < n {
		return "", errors.New("keys: sealed key too short")
	}
	b, err := k.aead.Open(nil, sealed[:n], sealed[n:], []byte(account))
	if err != nil {
		return "", errors.New("keys: sealed key does not open")
	}
	return string(b), nil
}

// MAC signs data with the session key; Verify checks such a signature in constant time.
func (k *Keyring) MAC(data []byte) []byte {
	m := hmac.New(sha256.New, k.session)
	m.Write(data)
	return m.Sum(nil)
}

// Verify reports whether mac is MAC(data).
func (k *Keyring) Verify(data, mac []byte) bool { return hmac.Equal(k.MAC(data), mac) }

// HashSecret is the stored form of a purchase secret: like a key, only its keyed hash
// is kept, under a key of its own.
func (k *Keyring) HashSecret(secret string) Hash {
	m := hmac.New(sha256.New, derive(k.hmacKey, "purchase secret v1"))
	m.Write([]byte(secret))
	var h Hash
	m.Sum(h[:0])
	return h
}

// NewSecret returns a random token for purchase secrets and ids: 32 bytes, base64url.
func NewSecret() string { return base64.RawURLEncoding.EncodeToString(random(32)) }

// NewID returns a random id with a prefix, for accounts, purchases, holds, charges.
func NewID(prefix string) string { return prefix + hex.EncodeToString(random(12)) }

func derive(key []byte, label string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(label))
	return m.Sum(nil)
}

func random(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// MarshalText writes the hash in hex, so it can key JSON objects.
func (h Hash) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText reads a hash written by MarshalText.
func (h *Hash) UnmarshalText(b []byte) error {
	v, err := ParseHash(string(b))
	if err != nil {
		return err
	}
	*h = v
	return nil
}
