package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/aispace/credits/backend/server"
)

// The admin API listens on a unix socket in the data dir (mode 0600), and optionally on
// a loopback address; `aispace-credits admin` finds both from the data dir.

func adminSocket(dataDir string) string {
	abs, _ := filepath.Abs(dataDir)
	return filepath.Join(abs, "admin.sock")
}

// loadAdminToken returns the admin token given, or the one in the data dir, creating
// it (mode 0600) on first start.
func loadAdminToken(dataDir, given string) (string, error) {
	if given != "" {
		return given, nil
	}
	path := filepath.Join(dataDir, "admin-token")
	if b, err := os.ReadFile(path); err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	var b [24]byte
	rand.Read(b[:])
	tok := hex.EncodeToString(b[:])
	return tok, os.WriteFile(path, []byte(tok+"\n"), 0o600)
}

func serveAdmin(c serveConfig, api *server.Server, token string, log *slog.Logger) (func(), error) {
	var servers []*http.Server
	listen := func(network, addr string) error {
		ln, err := net.Listen(network, addr)
		if err != nil {
			return err
		}
		if network == "unix" {
			os.Chmod(addr, 0o600)
		}
		srv := &http.Server{Handler: api.Admin(token), ReadHeaderTimeout: 10 * time.Second}
		servers = append(servers, srv)
		go srv.Serve(ln)
		return nil
	}
	sock := adminSocket(c.Data)
	os.Remove(sock)
	if len(sock) < 100 {
		if err := listen("unix", sock); err != nil {
			return nil, fmt.Errorf("admin socket: %w", err)
		}
	} else {
		log.Warn("the data dir is too deep for the admin socket; use -admin-addr", "path", sock)
	}
	if c.AdminAddr != "" {
		if err := listen("tcp", c.AdminAddr); err != nil {
			return nil, fmt.Errorf("admin address: %w", err)
		}
	}
	if c.MetricsAddr != "" {
		ln, err := net.Listen("tcp", c.MetricsAddr)
		if err != nil {
			return nil, fmt.Errorf("metrics address: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", api.Metrics())
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		servers = append(servers, srv)
		go srv.Serve(ln)
	}
	return func() {
		for _, s := range servers {
			s.Close()
		}
		os.Remove(sock)
	}, nil
}

const adminUsage = `aispace-credits admin — support's tools, against the running server

Usage: aispace-credits admin [flags] <command> [arguments]

Lookups:
  lookup purchase <id> | tx <hash> | session <cs_…> | hint <aisk_…abcd> | account <id> | wallet <0x…>
  unclaimed                          crypto payments nobody has claimed
  ledger <account>                   an account's lots, usage and purchases (export)
  audit [account]                    admin actions and automatic clawbacks

Actions (each needs -why; -who defaults to your user name; all are journaled):
  revoke <account>                   the key stops working for good
  suspend <account> | unsuspend <account>
  reissue <account>                  a new key (printed once); also reactivates a revoked account
  grant <account> <credits>
  clawback <account> <credits> [lot]

Flags:
`

// runAdmin is `aispace-credits admin`.
func runAdmin(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("admin", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, adminUsage); fs.PrintDefaults() }
	data := fs.String("data", "./data", "the server's data directory (for the socket and the token)")
	addr := fs.String("addr", "", "the admin API's loopback address, instead of the socket (http://127.0.0.1:9090)")
	token := fs.String("token", "", "the admin token (default: read from the data dir)")
	who := fs.String("who", "", "who you are, for the audit trail (default: your user name)")
	why := fs.String("why", "", "why, for the audit trail (required for actions)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := envFlags(fs, getenv, nil); err != nil {
		return err
	}
	rest := fs.Args()
	if len(rest) == 0 {
		fs.Usage()
		return errors.New("a command is needed")
	}
	if *token == "" {
		b, err := os.ReadFile(filepath.Join(*data, "admin-token"))
		if err != nil {
			return fmt.Errorf("no admin token: give -token or -data of the server (%v)", err)
		}
		*token = strings.TrimSpace(string(b))
	}
	if *who == "" {
		if u, err := user.Current(); err == nil {
			*who = u.Username
		}
	}
	c := &adminClient{token: *token, base: "http://admin", client: http.DefaultClient}
	if *addr != "" {
		c.base = strings.TrimRight(*addr, "/")
	} else {
		sock := adminSocket(*data)
		c.client = &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		}}}
	}
	cmd, a := rest[0], rest[1:]
	need := func(n int, what string) error {
		if len(a) < n {
			return fmt.Errorf("%s needs %s", cmd, what)
		}
		return nil
	}
	action := func(name string, credits int64, lot string) error {
		if *why == "" {
			return fmt.Errorf("%s needs -why: it goes into the audit trail", name)
		}
		return c.do(ctx, stdout, "POST", "/admin/v1/accounts/"+url.PathEscape(a[0])+"/"+name,
			server.AdminRequest{Who: *who, Why: *why, Credits: credits, Lot: lot})
	}
	switch cmd {
	case "lookup":
		if err := need(2, "what to look up by and its value"); err != nil {
			return err
		}
		return c.do(ctx, stdout, "GET", "/admin/v1/lookup?"+url.Values{a[0]: {a[1]}}.Encode(), nil)
	case "unclaimed":
		return c.do(ctx, stdout, "GET", "/admin/v1/unclaimed", nil)
	case "ledger":
		if err := need(1, "an account"); err != nil {
			return err
		}
		return c.do(ctx, stdout, "GET", "/admin/v1/lookup?account="+url.QueryEscape(a[0]), nil)
	case "audit":
		q := ""
		if len(a) > 0 {
			q = "?account=" + url.QueryEscape(a[0])
		}
		return c.do(ctx, stdout, "GET", "/admin/v1/audit"+q, nil)
	case "revoke", "suspend", "unsuspend", "reissue":
		if err := need(1, "an account"); err != nil {
			return err
		}
		return action(cmd, 0, "")
	case "grant", "clawback":
		if err := need(2, "an account and credits"); err != nil {
			return err
		}
		n, err := strconv.ParseInt(a[1], 10, 64)
		if err != nil || n <= 0 {
			return fmt.Errorf("credits must be a positive whole number, not %q", a[1])
		}
		lot := ""
		if len(a) > 2 {
			lot = a[2]
		}
		return action(cmd, n, lot)
	default:
		fs.Usage()
		return fmt.Errorf("unknown admin command %q", cmd)
	}
}

type adminClient struct {
	token, base string
	client      *http.Client
}

// do sends one admin request and prints the answer as indented JSON.
func (c *adminClient) do(ctx context.Context, out io.Writer, method, path string, body any) error {
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return fmt.Errorf("the server's admin API does not answer (is the server running on this data dir?): %w", err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		var e struct {
			Error struct{ Code, Message string }
		}
		json.Unmarshal(data, &e)
		return fmt.Errorf("%s: %s", e.Error.Code, e.Error.Message)
	}
	var v any
	if json.Unmarshal(data, &v) == nil {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	_, err = out.Write(data)
	return err
}
