package shared

import (
	"errors"
	"hash/crc32"
	"strings"
)

// KeyPrefix starts every Secure Key, so secret scanners and people recognise one.
const KeyPrefix = "aisk_"

const (
	keyBodyLen     = 43 // base62 digits of 256 bits
	keyChecksumLen = 6  // base62 digits of a CRC32
	// KeyLen is the length of a well-formed Secure Key.
	KeyLen = len(KeyPrefix) + keyBodyLen + keyChecksumLen
)

const base62Digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// Errors of CheckKeyFormat. They never include the key itself.
var (
	ErrKeyFormat   = errors.New("not a Secure Key: it starts with aisk_ and has 54 letters and digits")
	ErrKeyChecksum = errors.New("this Secure Key has a typo: its checksum does not match")
)

// FormatKey turns 32 secret bytes into a Secure Key: the prefix, the bytes in base62,
// and a CRC32 checksum of both in base62.
func FormatKey(secret [32]byte) string {
	body := base62(secret[:], keyBodyLen)
	return KeyPrefix + body + checksum(body)
}

// CheckKeyFormat reports whether s looks like a Secure Key and its checksum matches.
// It catches typos before any lookup; it does not say whether the key exists.
func CheckKeyFormat(s string) error {
	if len(s) != KeyLen || !strings.HasPrefix(s, KeyPrefix) {
		return ErrKeyFormat
	}
	rest := s[len(KeyPrefix):]
	for i := 0; i < len(rest); i++ {
		if strings.IndexByte(base62Digits, rest[i]) < 0 {
			return ErrKeyFormat
		}
	}
	body, sum := rest[:keyBodyLen], rest[keyBodyLen:]
	if checksum(body) != sum {
		return ErrKeyChecksum
	}
	return nil
}

// KeyHint is the part of a key safe to show and log: the prefix and the last four
// characters of its checksum ("aisk_…x7Qz").
func KeyHint(key string) string {
	if len(key) < 4 {
		return KeyPrefix + "…"
	}
	return KeyPrefix + "…" + key[len(key)-4:]
}

func checksum(body string) string {
	return base62(crc32Bytes(crc32.ChecksumIEEE([]byte(KeyPrefix+body))), keyChecksumLen)
}

func crc32Bytes(v uint32) []byte {
	return []byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}
}

// base62 writes the big-endian number in b with exactly n base62 digits (left-padded
// with zeros), by repeated division of the byte string; no big-number package.
func base62(b []byte, n int) string {
	num := append([]byte(nil), b...)
	out := make([]byte, n)
	for i := n - 1; i >= 0; i-- {
		var rem int
		for j := range num {
			acc := rem<<8 | int(num[j])
			num[j] = byte(acc / 62)
			rem = acc % 62
		}
		out[i] = base62Digits[rem]
	}
	return string(out)
}
