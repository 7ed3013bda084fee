// Package keys makes and checks Secure Keys and keeps the server's secrets.
//
// A Secure Key is 256 bits from crypto/rand, written as "aisk_" + base62 + a CRC32
// checksum (shared.FormatKey), so secret scanners and typo checks recognise it. The
// server never stores a key in plain text: it keeps an HMAC-SHA256 of the key under a
// server secret (the lookup hash) and a copy sealed with AES-256-GCM under the
// server's master key, bound to the account, so a logged-in holder can view the key
// again. Session cookies are signed with a key derived from the same secret.
//
// The secrets are created on first start in the data directory (mode 0600) unless
// given by flag or environment; instances that share a database must share them.
package keys
