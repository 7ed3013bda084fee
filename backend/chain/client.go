package chain

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum/common/hexutil"
	gethrpc "github.com/ethereum/go-ethereum/rpc"
)

// ClientOptions tune a Client. The zero value of each field means its default.
type ClientOptions struct {
	// HTTPClient sends the requests. Default: a client with keep-alive connections.
	HTTPClient *http.Client
	// AttemptTimeout bounds one request to one URL, so that a URL that hangs is
	// left for the next one instead of eating the caller's whole deadline. Default 30 s.
	AttemptTimeout time.Duration
	// MinBackoff and MaxBackoff bound how long a URL that failed is skipped: the
	// first failure skips it for MinBackoff, each further one for twice as long, up to
	// MaxBackoff. Defaults 1 s and 2 min.
	MinBackoff, MaxBackoff time.Duration
	// MaxBatch is the largest batch sent in one request; larger batches are split.
	// Default 100. Public Base endpoints often allow fewer.
	MaxBatch int
	// MaxResponseBytes bounds one answer. Default 256 MiB (a batch of 100 full Base
	// mainnet blocks is tens of MB).
	MaxResponseBytes int64
	// Now is the clock for backoff. Default time.Now.
	Now func() time.Time
}

// Client is a JSON-RPC client over several node URLs. Calls go over HTTP to the first
// URL that is not backing off; a URL that fails (unreachable, timeout, HTTP error,
// malformed answer, HTTP 429 or JSON-RPC "limit exceeded") is skipped for a while, with exponential backoff, and
// tried again only when its time is up or every other URL failed too. A JSON-RPC
// error answer is the node speaking, not failing, and is returned as it is.
// Subscriptions go over the websocket URLs, with the same failover.
//
// URLs often carry API keys, so errors name a URL by scheme and host only.
type Client struct {
	opts ClientOptions
	http []*endpoint
	ws   []*endpoint
	ids  atomic.Uint64

	mu sync.Mutex // guards the endpoints' backoff state
}

type endpoint struct {
	url       string
	name      string // scheme://host: safe to log
	failures  int
	downUntil time.Time
}

var _ RPC = (*Client)(nil)

// codeLimitExceeded is EIP-1474's "limit exceeded", which hosted nodes send when a
// key's rate or quota is used up: the URL's failure, not the node's answer.
const codeLimitExceeded = -32005

// ErrUnavailable is wrapped by the errors of calls that no URL answered.
var ErrUnavailable = errors.New("chain: no RPC endpoint answered")

// NewClient returns a client for urls: http(s) URLs for calls, ws(s) URLs for
// subscriptions. At least one http(s) URL is required; without a ws(s) URL,
// SubscribeNewHeads returns ErrNoSubscriptions and Heads polls.
func NewClient(urls []string, opts ClientOptions) (*Client, error) {
	if opts.HTTPClient == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 16
		opts.HTTPClient = &http.Client{Transport: t}
	}
	if opts.AttemptTimeout <= 0 {
		opts.AttemptTimeout = 30 * time.Second
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = time.Second
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 2 * time.Minute
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 100
	}
	if opts.MaxResponseBytes <= 0 {
		opts.MaxResponseBytes = 256 << 20
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	c := &Client{opts: opts}
	for i, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("chain: RPC URL #%d is not an absolute URL", i+1)
		}
		e := &endpoint{url: raw, name: u.Scheme + "://" + u.Host}
		switch u.Scheme {
		case "http", "https":
			c.http = append(c.http, e)
		case "ws", "wss":
			c.ws = append(c.ws, e)
		default:
			return nil, fmt.Errorf("chain: RPC URL #%d (%s): scheme must be http, https, ws or wss", i+1, e.name)
		}
	}
	if len(c.http) == 0 {
		return nil, errors.New("chain: at least one http(s) RPC URL is required")
	}
	return c, nil
}

type request struct {
	JSONRPC string `json:"jsonrpc"`
	ID      uint64 `json:"id"`
	Method  string `json:"method"`
	Params  []any  `json:"params"`
}

type response struct {
	ID     *uint64         `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *RPCError       `json:"error"`
}

// endpointFailure marks an error as the URL's fault, so the call moves on to the next.
type endpointFailure struct {
	name string
	err  error
}

func (f *endpointFailure) Error() string { return f.name + ": " + f.err.Error() }
func (f *endpointFailure) Unwrap() error { return f.err }

func failure(format string, args ...any) error {
	return &endpointFailure{err: fmt.Errorf(format, args...)}
}

// Call implements RPC.
func (c *Client) Call(ctx context.Context, result any, method string, args ...any) error {
	if args == nil {
		args = []any{}
	}
	id := c.ids.Add(1)
	body, err := json.Marshal(request{"2.0", id, method, args})
	if err != nil {
		return fmt.Errorf("chain: %s: encoding params: %w", method, err)
	}
	return c.do(ctx, body, func(data []byte) error {
		raw, err := decodeAnswer(data, id)
		if err != nil || result == nil {
			return err
		}
		if err := json.Unmarshal(raw, result); err != nil {
			return fmt.Errorf("chain: %s: %w", method, err)
		}
		return nil
	})
}

// decodeAnswer reads the answer to the call with id: its result, or the node's
// *RPCError, or an endpoint failure for anything malformed.
func decodeAnswer(data []byte, id uint64) (json.RawMessage, error) {
	var r response
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, failure("malformed answer: %v", err)
	}
	if r.ID == nil || *r.ID != id {
		return nil, failure("answer with the wrong id")
	}
	if r.Error != nil && r.Error.Code == codeLimitExceeded {
		return nil, failure("rate limited: %v", r.Error)
	}
	if r.Error != nil {
		return nil, r.Error
	}
	if r.Result == nil {
		return nil, failure("answer with neither result nor error")
	}
	return r.Result, nil
}

// errNoAnswer is set on batch elements the node's answer left out.
var errNoAnswer = errors.New("chain: the node's batch answer left this call out")

// BatchCall implements RPC, in requests of at most MaxBatch calls.
func (c *Client) BatchCall(ctx context.Context, batch []BatchElem) error {
	for start := 0; start < len(batch); start += c.opts.MaxBatch {
		if err := c.batch(ctx, batch[start:min(start+c.opts.MaxBatch, len(batch))]); err != nil {
			return err
		}
	}
	return nil
}

func (c *Client) batch(ctx context.Context, elems []BatchElem) error {
	if len(elems) == 0 {
		return nil
	}
	first := c.ids.Add(uint64(len(elems))) - uint64(len(elems)) + 1
	reqs := make([]request, len(elems))
	for i, el := range elems {
		args := el.Args
		if args == nil {
			args = []any{}
		}
		reqs[i] = request{"2.0", first + uint64(i), el.Method, args}
	}
	body, err := json.Marshal(reqs)
	if err != nil {
		return fmt.Errorf("chain: encoding batch params: %w", err)
	}
	return c.do(ctx, body, func(data []byte) error {
		answers, err := decodeBatchAnswer(data, first, len(elems))
		if err != nil {
			return err
		}
		for i, r := range answers {
			el := &elems[i]
			el.Error = nil
			switch {
			case r == nil:
				el.Error = errNoAnswer
			case r.Error != nil:
				el.Error = r.Error
			case el.Result != nil:
				if err := json.Unmarshal(r.Result, el.Result); err != nil {
					el.Error = fmt.Errorf("chain: %s: %w", el.Method, err)
				}
			}
		}
		return nil
	})
}

// decodeBatchAnswer reads the answer to a batch of n calls with ids first…first+n-1
// and returns the answers in call order (nil where the node left one out). The whole
// answer is checked before any is used, so a malformed one from a failing URL leaves
// nothing behind for the next URL's answer to mix with.
func decodeBatchAnswer(data []byte, first uint64, n int) ([]*response, error) {
	var rs []response
	if err := json.Unmarshal(data, &rs); err != nil {
		// A node that refuses a batch as a whole (too large, not supported, rate
		// limited) answers with one error object instead of an array.
		var r response
		if json.Unmarshal(data, &r) == nil && r.Error != nil {
			return nil, failure("batch refused: %v", r.Error)
		}
		return nil, failure("malformed batch answer: %v", err)
	}
	answers := make([]*response, n)
	for i := range rs {
		r := &rs[i]
		if r.ID == nil || *r.ID < first || *r.ID-first >= uint64(n) || answers[*r.ID-first] != nil {
			return nil, failure("batch answer with an unknown or repeated id")
		}
		if r.Error == nil && r.Result == nil {
			return nil, failure("batch answer with neither result nor error")
		}
		answers[*r.ID-first] = r
	}
	return answers, nil
}

// do sends body to the URLs in failover order until one answers in a way handle
// accepts. Errors handle marks with failure() move on to the next URL.
func (c *Client) do(ctx context.Context, body []byte, handle func([]byte) error) error {
	var failures []error
	for _, e := range c.order(c.http) {
		data, err := c.post(ctx, e, body)
		if err == nil {
			err = handle(data)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var f *endpointFailure
		if errors.As(err, &f) {
			f.name = e.name
			c.markDown(e)
			failures = append(failures, f)
			continue
		}
		c.markUp(e)
		return err
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, errors.Join(failures...))
}

func (c *Client) post(ctx context.Context, e *endpoint, body []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.AttemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url, bytes.NewReader(body))
	if err != nil {
		return nil, failure("%v", redact(err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := c.opts.HTTPClient.Do(req)
	if err != nil {
		return nil, failure("%v", redact(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, c.opts.MaxResponseBytes+1))
	switch {
	case err != nil:
		return nil, failure("reading answer: %v", redact(err))
	case resp.StatusCode != http.StatusOK:
		return nil, failure("HTTP status %d", resp.StatusCode)
	case int64(len(data)) > c.opts.MaxResponseBytes:
		return nil, failure("answer larger than %d bytes", c.opts.MaxResponseBytes)
	}
	return data, nil
}

// redact drops the URL from a *url.Error: URLs often carry API keys.
func redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// order lists eps as they should be tried: those not backing off in the configured
// order, then those backing off, the soonest due first.
func (c *Client) order(eps []*endpoint) []*endpoint {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.opts.Now()
	var up, down []*endpoint
	for _, e := range eps {
		if now.Before(e.downUntil) {
			down = append(down, e)
		} else {
			up = append(up, e)
		}
	}
	slices.SortStableFunc(down, func(a, b *endpoint) int { return a.downUntil.Compare(b.downUntil) })
	return append(up, down...)
}

func (c *Client) markDown(e *endpoint) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e.failures++
	backoff := c.opts.MaxBackoff
	if e.failures <= 30 {
		backoff = min(c.opts.MinBackoff<<(e.failures-1), c.opts.MaxBackoff)
	}
	e.downUntil = c.opts.Now().Add(backoff)
}

func (c *Client) markUp(e *endpoint) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e.failures, e.downUntil = 0, time.Time{}
}

// EndpointStatus is the health of one URL, for readiness checks and metrics.
type EndpointStatus struct {
	Name      string    // scheme://host, safe to log
	Up        bool      // false while the URL is skipped after failures
	Failures  int       // consecutive failures
	DownUntil time.Time // when a skipped URL is tried again
}

// Status reports the health of every URL, http(s) first, in configured order.
func (c *Client) Status() []EndpointStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.opts.Now()
	var out []EndpointStatus
	for _, e := range append(slices.Clip(c.http), c.ws...) {
		out = append(out, EndpointStatus{e.name, !now.Before(e.downUntil), e.failures, e.downUntil})
	}
	return out
}

type headNotice struct {
	Number hexutil.Uint64 `json:"number"`
}

// SubscribeNewHeads implements RPC with eth_subscribe("newHeads") over the first
// websocket URL that accepts it.
func (c *Client) SubscribeNewHeads(ctx context.Context) (<-chan uint64, error) {
	if len(c.ws) == 0 {
		return nil, ErrNoSubscriptions
	}
	var failures []error
	for _, e := range c.order(c.ws) {
		cl, sub, notices, err := c.subscribe(ctx, e)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if err != nil {
			c.markDown(e)
			failures = append(failures, &endpointFailure{e.name, redact(err)})
			continue
		}
		c.markUp(e)
		out := make(chan uint64)
		go func() {
			defer close(out)
			defer cl.Close()
			defer sub.Unsubscribe()
			for {
				select {
				case <-ctx.Done():
					return
				case <-sub.Err(): // the connection broke
					return
				case h := <-notices:
					select {
					case out <- uint64(h.Number):
					case <-ctx.Done():
						return
					}
				}
			}
		}()
		return out, nil
	}
	return nil, fmt.Errorf("%w: %w", ErrUnavailable, errors.Join(failures...))
}

func (c *Client) subscribe(ctx context.Context, e *endpoint) (*gethrpc.Client, *gethrpc.ClientSubscription, chan headNotice, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.AttemptTimeout)
	defer cancel()
	cl, err := gethrpc.DialWebsocket(ctx, e.url, "")
	if err != nil {
		return nil, nil, nil, err
	}
	notices := make(chan headNotice, 64)
	sub, err := cl.EthSubscribe(ctx, notices, "newHeads")
	if err != nil {
		cl.Close()
		return nil, nil, nil, err
	}
	return cl, sub, notices, nil
}

func hexNumber(n uint64) string { return "0x" + strconv.FormatUint(n, 16) }
