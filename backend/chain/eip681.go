package chain

import (
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"strconv"
	"strings"

	"github.com/ethereum/go-ethereum/common"
)

// EIP681 writes a payment request URI (EIP-681) for wei to address to on chainID:
// ethereum:0xAbC…@8453?value=3174600000000000. The address is EIP-55 checksummed and
// the value a plain integer, which every wallet reads; a chainID of 0 or a nil wei is
// left out.
func EIP681(to common.Address, chainID uint64, wei *big.Int) string {
	var b strings.Builder
	b.WriteString("ethereum:")
	b.WriteString(to.Hex())
	if chainID != 0 {
		b.WriteString("@")
		b.WriteString(strconv.FormatUint(chainID, 10))
	}
	if wei != nil {
		b.WriteString("?value=")
		b.WriteString(wei.String())
	}
	return b.String()
}

// PaymentRequest is a parsed EIP-681 URI for a plain ETH transfer.
type PaymentRequest struct {
	To       common.Address
	ChainID  uint64   // 0 when the URI names none
	Value    *big.Int // wei; nil when the URI names none
	GasLimit *big.Int // from "gas" or "gasLimit"; nil when absent
	GasPrice *big.Int // nil when absent
}

// ErrEIP681 is wrapped by every error of ParseEIP681.
var ErrEIP681 = errors.New("chain: not an EIP-681 ETH payment request")

// maxUint256 bounds every number of a payment request.
var maxUint256 = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1))

// ParseEIP681 parses an EIP-681 URI that requests a plain ETH transfer:
// "ethereum:" or "ethereum:pay-", a 0x address (EIP-55 checksummed if mixed case),
// an optional "@chainid", and optional value, gas, gasLimit and gasPrice parameters.
// Numbers may use the EIP's scientific notation ("2.014e18") but must come out as
// whole numbers no larger than 2^256 - 1. It refuses function calls (token
// transfers), ENS names, unknown or repeated parameters, signs and percent-escapes.
func ParseEIP681(s string) (PaymentRequest, error) {
	fail := func(format string, args ...any) (PaymentRequest, error) {
		return PaymentRequest{}, fmt.Errorf("%w: %s", ErrEIP681, fmt.Sprintf(format, args...))
	}
	const scheme = "ethereum:"
	if len(s) < len(scheme) || !strings.EqualFold(s[:len(scheme)], scheme) {
		return fail("it must start with %q", scheme)
	}
	rest := strings.TrimPrefix(s[len(scheme):], "pay-")
	if strings.ContainsAny(rest, "%#") {
		return fail("percent-escapes and fragments are not accepted")
	}
	target, query, hasQuery := strings.Cut(rest, "?")
	if strings.Contains(target, "/") {
		return fail("it calls a function; only plain ETH transfers are accepted")
	}
	addr, chain, hasChain := strings.Cut(target, "@")

	var req PaymentRequest
	if len(addr) != 42 || !strings.HasPrefix(addr, "0x") || !common.IsHexAddress(addr) {
		return fail("the target must be a 0x address of 40 hex digits")
	}
	req.To = common.HexToAddress(addr)
	if hex := addr[2:]; hex != strings.ToLower(hex) && hex != strings.ToUpper(hex) && req.To.Hex() != addr {
		return fail("the address's EIP-55 checksum is wrong")
	}
	if hasChain {
		id, err := strconv.ParseUint(chain, 10, 64)
		if err != nil || id == 0 || chain[0] == '0' || !isDigits(chain) {
			return fail("the chain id must be a positive decimal integer")
		}
		req.ChainID = id
	}
	if !hasQuery {
		return req, nil
	}
	seen := map[string]bool{}
	for _, param := range strings.Split(query, "&") {
		key, val, ok := strings.Cut(param, "=")
		if !ok {
			return fail("parameter %q has no value", param)
		}
		name := key
		if key == "gas" {
			name = "gasLimit" // the EIP's two names for one thing
		}
		if seen[name] {
			return fail("parameter %q is repeated", key)
		}
		seen[name] = true
		n, err := parseEIP681Number(val)
		if err != nil {
			return fail("parameter %s: %v", key, err)
		}
		switch name {
		case "value":
			req.Value = n
		case "gasLimit":
			req.GasLimit = n
		case "gasPrice":
			req.GasPrice = n
		default:
			return fail("parameter %q is not accepted", key)
		}
	}
	return req, nil
}

// parseEIP681Number reads the EIP's number = *DIGIT [ "." 1*DIGIT ] [ "e" 1*DIGIT ],
// without a sign, as a whole number up to 2^256 - 1.
func parseEIP681Number(s string) (*big.Int, error) {
	mant, exp, hasExp := strings.Cut(strings.ToLower(s), "e")
	whole, frac, hasDot := strings.Cut(mant, ".")
	switch {
	case whole == "" && frac == "":
		return nil, errors.New("no digits")
	case !isDigits(whole) || (hasDot && (frac == "" || !isDigits(frac))):
		return nil, errors.New("not a number")
	case hasExp && (exp == "" || !isDigits(exp) || len(exp) > 2):
		return nil, errors.New("the exponent must be 1 or 2 digits")
	case len(whole)+len(frac) > 80:
		return nil, errors.New("too many digits")
	}
	e := 0
	if hasExp {
		e, _ = strconv.Atoi(exp)
	}
	// whole.frac × 10^e is an integer only if the exponent absorbs every nonzero
	// decimal.
	frac = strings.TrimRight(frac, "0")
	if len(frac) > e {
		return nil, errors.New("not a whole number of units")
	}
	digits := whole + frac + strings.Repeat("0", e-len(frac))
	n, ok := new(big.Int).SetString(digits, 10)
	if !ok || n.Cmp(maxUint256) > 0 {
		return nil, errors.New("larger than 2^256 - 1")
	}
	return n, nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// MetaMaskDappLink returns MetaMask's deep link that opens publicURL joined with path
// inside MetaMask's own browser, where the page finds the wallet injected:
// https://metamask.app.link/dapp/credits.example.com/buy. MetaMask always loads the
// page over https, so publicURL's scheme is dropped. path may carry a query.
func MetaMaskDappLink(publicURL, path string) (string, error) {
	base, err := url.Parse(publicURL)
	if err != nil || (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" ||
		base.User != nil || base.RawQuery != "" || base.Fragment != "" {
		return "", fmt.Errorf("chain: public URL %q must be an http(s) URL with a host and no query", publicURL)
	}
	p, err := url.Parse(path)
	if err != nil || p.Scheme != "" || p.Host != "" || p.User != nil || (p.Path != "" && !strings.HasPrefix(p.Path, "/")) {
		return "", fmt.Errorf("chain: path %q must be absolute, like /buy", path)
	}
	p.Path = strings.TrimSuffix(base.Path, "/") + p.Path
	p.RawPath = ""
	return "https://metamask.app.link/dapp/" + base.Host + p.String(), nil
}
