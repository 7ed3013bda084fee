package shared

import (
	"errors"
	"testing"
)

func TestFormatKeyIsCheckable(t *testing.T) {
	var secret [32]byte
	for i := range secret {
		secret[i] = 0xff
	}
	k := FormatKey(secret)
	if len(k) != KeyLen {
		t.Fatalf("len = %d, want %d", len(k), KeyLen)
	}
	if err := CheckKeyFormat(k); err != nil {
		t.Fatalf("CheckKeyFormat(max key) = %v", err)
	}
	secret = [32]byte{}
	if err := CheckKeyFormat(FormatKey(secret)); err != nil {
		t.Fatalf("CheckKeyFormat(zero key) = %v", err)
	}
}

func TestCheckKeyFormatCatchesTypos(t *testing.T) {
	var secret [32]byte
	copy(secret[:], "0123456789abcdef0123456789abcdef")
	k := FormatKey(secret)
	for i := len(KeyPrefix); i < len(k); i++ {
		b := []byte(k)
		if b[i] == 'a' {
			b[i] = 'b'
		} else {
			b[i] = 'a'
		}
		if err := CheckKeyFormat(string(b)); !errors.Is(err, ErrKeyChecksum) {
			t.Fatalf("typo at %d: got %v, want ErrKeyChecksum", i, err)
		}
	}
	for _, bad := range []string{"", "aisk_", "sk_live_x", k + "0", "AISK" + k[4:], k[:20] + "!" + k[21:]} {
		if err := CheckKeyFormat(bad); !errors.Is(err, ErrKeyFormat) {
			t.Errorf("CheckKeyFormat(%q) = %v, want ErrKeyFormat", bad, err)
		}
	}
}

func FuzzCheckKeyFormat(f *testing.F) {
	f.Add(FormatKey([32]byte{1, 2, 3}))
	f.Add("aisk_")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		if CheckKeyFormat(s) == nil && len(s) != KeyLen {
			t.Fatalf("accepted %q of length %d", s, len(s))
		}
		_ = KeyHint(s)
	})
}
