package keys

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aispace/credits/shared"
)

func MustKeyring(t *testing.T) *Keyring {
	t.Helper()
	s, err := LoadSecrets(t.TempDir(), "", "")
	if err != nil {
		t.Fatal(err)
	}
	k, err := New(s)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestNewKeysAreWellFormedAndDistinct(t *testing.T) {
	k := MustKeyring(t)
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		key := k.NewKey()
		if err := shared.CheckKeyFormat(key); err != nil {
			t.Fatalf("key %d: %v", i, err)
		}
		if !strings.HasPrefix(key, "aisk_") || seen[key] {
			t.Fatalf("key %d repeated or unprefixed", i)
		}
		seen[key] = true
	}
}

func TestHashIsKeyedAndStable(t *testing.T) {
	a, b := MustKeyring(t), MustKeyring(t)
	key := a.NewKey()
	if a.Hash(key) != a.Hash(key) {
		t.Fatal("hash not stable")
	}
	if a.Hash(key) == b.Hash(key) {
		t.Fatal("two servers with different secrets gave the same hash")
	}
	h, err := ParseHash(a.Hash(key).String())
	if err != nil || !h.Equal(a.Hash(key)) {
		t.Fatalf("ParseHash round trip: %v", err)
	}
}

func TestSealedKeyOpensOnlyForItsAccount(t *testing.T) {
	k := MustKeyring(t)
	key := k.NewKey()
	sealed := k.Seal(key, "acct_1")
	if strings.Contains(string(sealed), key) {
		t.Fatal("sealed copy contains the key")
	}
	got, err := k.Open(sealed, "acct_1")
	if err != nil || got != key {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := k.Open(sealed, "acct_2"); err == nil {
		t.Fatal("opened for another account")
	}
	sealed[len(sealed)-1] ^= 1
	if _, err := k.Open(sealed, "acct_1"); err == nil {
		t.Fatal("opened a tampered copy")
	}
}

func TestSecretsAreCreatedOnceWithMode0600(t *testing.T) {
	dir := t.TempDir()
	s1, err := LoadSecrets(dir, "", "")
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, "secrets.json"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("secrets file: %v mode %v", err, fi.Mode().Perm())
	}
	s2, _ := LoadSecrets(dir, "", "")
	if string(s1.HMAC) != string(s2.HMAC) || string(s1.Master) != string(s2.Master) {
		t.Fatal("secrets changed on second start")
	}
}

func TestSecretsFromFlagsWinAndAreChecked(t *testing.T) {
	h := base64.StdEncoding.EncodeToString(make([]byte, 32))
	if _, err := LoadSecrets(t.TempDir(), h, h); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadSecrets(t.TempDir(), h, ""); err == nil {
		t.Fatal("accepted a master key missing")
	}
	if _, err := LoadSecrets(t.TempDir(), "c2hvcnQ=", h); err == nil {
		t.Fatal("accepted a short secret")
	}
}

func TestSessionMACVerifies(t *testing.T) {
	k := MustKeyring(t)
	mac := k.MAC([]byte("acct_1|3|1700000000"))
	if !k.Verify([]byte("acct_1|3|1700000000"), mac) || k.Verify([]byte("acct_1|4|1700000000"), mac) {
		t.Fatal("MAC verify wrong")
	}
}
