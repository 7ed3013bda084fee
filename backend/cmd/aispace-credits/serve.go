package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/aispace/credits/backend/credits"
	"github.com/aispace/credits/backend/devchain"
	"github.com/aispace/credits/backend/keys"
	"github.com/aispace/credits/backend/ledger"
	"github.com/aispace/credits/backend/server"
	"github.com/aispace/credits/backend/store"
	"github.com/aispace/credits/backend/web"
	"github.com/aispace/credits/shared"
)

// serveConfig is every setting of `serve`; each flag also reads AISPACE_<NAME>.
type serveConfig struct {
	Addr           string
	Data           string
	Dev            bool
	DevBlockTime   time.Duration
	PublicURL      string
	AdvertiseURL   string
	ServiceToken   string
	MongoURI       string
	PricingFile    string
	DailyAllowance int64
	HMACSecret     string
	MasterKey      string
	LeaseTTL       time.Duration
	SnapshotEvery  int
	LogFormat      string
	MaxUSD         string
	AdminToken     string
	AdminAddr      string
	MetricsAddr    string
	CORSOrigins    string
	TrustProxy     bool
	AccessLog      bool
	Crypto         cryptoConfig
	Card           cardConfig
}

func parseServe(args []string, getenv func(string) string, stderr io.Writer) (serveConfig, error) {
	var c serveConfig
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.Addr, "addr", "127.0.0.1:8080", "address to listen on")
	fs.StringVar(&c.Data, "data", "./data", "data directory: the embedded database, secrets, dev chain")
	fs.BoolVar(&c.Dev, "dev", false, "dev mode: in-process chain at /dev/rpc, funded dev wallet, offline (loopback only)")
	blockTime := fs.String("dev-block-time", "2s", "dev chain: time between blocks (0: a block as soon as a transaction arrives)")
	fs.StringVar(&c.PublicURL, "public-url", "", "the URL buyers open (default http://localhost:<port>); cookies are Secure when https")
	fs.StringVar(&c.AdvertiseURL, "advertise-url", "", "where other instances forward requests to this one (default http://<addr>)")
	fs.StringVar(&c.ServiceToken, "service-token", "", "bearer token of the operator's AI services (dev default: dev-service-token)")
	fs.StringVar(&c.MongoURI, "mongodb-uri", "", "external MongoDB URI (also MONGODB_URI); empty: the embedded database")
	fs.StringVar(&c.PricingFile, "pricing", "", "pricing table (JSON); empty: the built-in default")
	fs.Int64Var(&c.DailyAllowance, "daily-allowance", 0, "credits every account gets each day at 0:00 UTC, valid that day")
	fs.StringVar(&c.HMACSecret, "key-hmac-secret", "", "32 bytes, base64: keyed hash of Secure Keys (default: created in the data dir)")
	fs.StringVar(&c.MasterKey, "master-key", "", "32 bytes, base64: seals copies of Secure Keys (default: created in the data dir)")
	leaseTTL := fs.String("lease-ttl", "10s", "writer lease: a standby takes over after the writer is silent this long")
	fs.IntVar(&c.SnapshotEvery, "snapshot-every", 200_000, "operations between snapshots of the state")
	fs.StringVar(&c.LogFormat, "log-format", "json", "json or text")
	fs.StringVar(&c.MaxUSD, "max-usd", "10000.00", "the most one purchase may be, in USD")
	fs.StringVar(&c.AdminToken, "admin-token", "", "token of the admin API (default: created in the data dir, file admin-token)")
	fs.StringVar(&c.AdminAddr, "admin-addr", "", "also serve the admin API on this loopback address (it is always on a unix socket in the data dir)")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", "", "serve Prometheus /metrics on this address (also on the admin API)")
	fs.StringVar(&c.CORSOrigins, "cors-origins", "", "comma-separated origins allowed to call the API from browsers (default: none)")
	fs.BoolVar(&c.TrustProxy, "trust-proxy", false, "take clients' addresses from X-Forwarded-For (only behind your own proxy)")
	fs.BoolVar(&c.AccessLog, "access-log", true, "log a line per request (never bodies or keys)")
	cryptoFlags(fs, &c.Crypto)
	cardFlags(fs, &c.Card)
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if err := envFlags(fs, getenv, map[string]string{"mongodb-uri": "MONGODB_URI"}); err != nil {
		return c, err
	}
	var err error
	if c.DevBlockTime, err = durationOrSeconds(*blockTime); err != nil {
		return c, fmt.Errorf("-dev-block-time: %w", err)
	}
	if c.LeaseTTL, err = durationOrSeconds(*leaseTTL); err != nil || c.LeaseTTL < 100*time.Millisecond {
		return c, fmt.Errorf("-lease-ttl must be a duration of at least 100ms")
	}
	for _, a := range []string{c.AdminAddr, c.MetricsAddr} {
		if a != "" && !loopback(a) {
			return c, fmt.Errorf("the admin and metrics addresses must be loopback, not %q", a)
		}
	}
	if c.Dev {
		if !loopback(c.Addr) {
			return c, fmt.Errorf("dev mode serves a funded wallet's key: it listens on loopback only, not %q", c.Addr)
		}
		if c.ServiceToken == "" {
			c.ServiceToken = "dev-service-token"
		}
	}
	if _, err := shared.ParseUSD(c.MaxUSD); err != nil {
		return c, fmt.Errorf("-max-usd: %w", err)
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		return c, fmt.Errorf("-log-format must be json or text")
	}
	return c, nil
}

func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// serve runs the server until ctx ends, then shuts down without losing anything:
// in-flight requests finish, the ledger commits what it accepted, a snapshot is
// written, the lease is handed over.
func serve(ctx context.Context, c serveConfig, stdout, stderr io.Writer) error {
	log := newLogger(c.LogFormat, stderr)
	tuneGC()
	if err := mkdirPrivate(c.Data); err != nil {
		return err
	}
	unlock, err := lockDataDir(c.Data)
	if err != nil {
		return err
	}
	defer unlock()
	instance, err := instanceID(c.Data)
	if err != nil {
		return err
	}
	secrets, err := keys.LoadSecrets(c.Data, c.HMACSecret, c.MasterKey)
	if err != nil {
		return err
	}
	keyring, err := keys.New(secrets)
	if err != nil {
		return err
	}
	pricing, err := loadPricing(c.PricingFile)
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	if c.PublicURL == "" {
		c.PublicURL = fmt.Sprintf("http://localhost:%d", port)
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	if c.AdvertiseURL == "" {
		c.AdvertiseURL = "http://" + ln.Addr().String()
	}

	db, err := store.Open(ctx, store.Config{URI: c.MongoURI, DataDir: c.Data, Logger: log})
	if err != nil {
		return err
	}
	defer db.Close(context.Background())

	var dev *devchain.Chain
	if c.Dev {
		dev, err = devchain.Start(ctx, devchain.Options{BlockTime: c.DevBlockTime, DataDir: filepath.Join(c.Data, "devchain"), Logger: log})
		if err != nil {
			return fmt.Errorf("dev chain: %w", err)
		}
		defer dev.Close()
	}

	led, err := ledger.Open(ctx, ledger.Config{
		Journal: db, Leases: db, Instance: instance, Addr: c.AdvertiseURL, LeaseTTL: c.LeaseTTL,
		Logger: log, SnapshotEvery: c.SnapshotEvery, Tiers: map[string]int64{ledger.DefaultTier: c.DailyAllowance},
	})
	if err != nil {
		return err
	}

	crypto, stopCrypto, err := startCrypto(ctx, c, led, keyring, dev, log)
	if err != nil {
		led.Close(context.Background())
		return fmt.Errorf("crypto payments: %w", err)
	}
	defer stopCrypto()
	cardPart, err := startCard(ctx, c, led, keyring, log)
	if err != nil {
		led.Close(context.Background())
		return fmt.Errorf("card payments: %w", err)
	}
	maxCents, _ := shared.ParseUSD(c.MaxUSD)
	deps := server.Deps{
		Config: server.Config{PublicURL: c.PublicURL, ServiceToken: c.ServiceToken, Dev: c.Dev, MaxCents: maxCents,
			CORSOrigins: splitList(c.CORSOrigins), TrustProxy: c.TrustProxy, AccessLog: c.AccessLog},
		Crypto:  crypto,
		Card:    cardPart,
		Ledger:  led,
		Keys:    keyring,
		Pricing: pricing,
		DB:      db,
		Web:     web.NewHandler(web.Options{PublicURL: c.PublicURL, Dev: c.Dev, Version: version, Logger: log}),
		Logger:  log,
	}
	if dev != nil {
		deps.Dev = devAdapter{dev}
		deps.Chain = devAdapter{dev}
	}
	if crypto != nil {
		deps.Chain, deps.Gauges = crypto.Chain, crypto // readiness: the RPC the watcher reads
	}
	api := server.New(deps)
	adminToken, err := loadAdminToken(c.Data, c.AdminToken)
	if err != nil {
		return err
	}
	stopAdmin, err := serveAdmin(c, api, adminToken, log)
	if err != nil {
		return err
	}
	defer stopAdmin()
	srv := &http.Server{
		Handler:           api,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if crypto != nil {
		// Websockets are not requests Shutdown waits for: tell the pages first that
		// the server is going away (they reconnect), then finish the requests.
		srv.RegisterOnShutdown(crypto.Close)
	}
	// The socket is bound: say so before the first request is answered, so that
	// whoever waits for /readyz finds the banner printed already.
	log.Info("serving", "addr", ln.Addr().String(), "public_url", c.PublicURL, "dev", c.Dev, "writer", led.Writing(), "version", version)
	if dev != nil {
		printDevBanner(stdout, c, dev)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	select {
	case err = <-errc:
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv.Shutdown(sctx) // in-flight requests (charges among them) finish first
	led.Close(sctx)
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// tuneGC trades memory for CPU unless the operator set GOGC: the state lives in memory
// and changes little per request, while every request allocates; collecting at 400%
// growth instead of 100% gave ~35% more charges per second on 2 cores (make bench).
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
}

func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func newLogger(format string, w io.Writer) *slog.Logger {
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, nil))
	}
	return slog.New(slog.NewJSONHandler(w, nil))
}

func loadPricing(path string) (*credits.Pricing, error) {
	if path == "" {
		return credits.ParsePricing(credits.DefaultPricing)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return credits.ParsePricing(b)
}

// lockDataDir makes sure one process at a time runs on a data dir; it is what makes
// it safe for a restarted instance to take its own lease back at once.
func lockDataDir(dir string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("another aispace-credits process is running on %s", dir)
	}
	return func() { f.Close() }, nil
}

// instanceID names this data dir's process in the writer lease, the same across
// restarts.
func instanceID(dir string) (string, error) {
	path := filepath.Join(dir, "instance-id")
	if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
		return strings.TrimSpace(string(b)), nil
	}
	var b [8]byte
	rand.Read(b[:])
	host, _ := os.Hostname()
	id := host + "-" + hex.EncodeToString(b[:])
	return id, os.WriteFile(path, []byte(id+"\n"), 0o600)
}

// devAdapter shows the dev chain to the server.
type devAdapter struct{ c *devchain.Chain }

func (d devAdapter) Handler() http.Handler    { return d.c.Handler() }
func (d devAdapter) ChainID() uint64          { return d.c.ChainID() }
func (d devAdapter) WalletAddress() string    { return d.c.Wallet().Address }
func (d devAdapter) WalletPrivateKey() string { return d.c.Wallet().PrivateKey }
func (d devAdapter) Ping(ctx context.Context) error {
	_, err := d.c.Client().BlockNumber(ctx)
	return err
}

func printDevBanner(w io.Writer, c serveConfig, dev *devchain.Chain) {
	wallet := dev.Wallet()
	fmt.Fprintf(w, `
AiSpace Credits — dev mode, offline, on %[1]s

  Dev chain      %[1]s/dev/rpc   (chain id %[2]d, a block every %[3]v)
  Dev wallet     %[4]s
  Private key    %[5]s   (dev funds only; also at %[1]s/dev/wallet)
  Service token  %[6]s

How to try it:
  1. In MetaMask, add a network: RPC URL %[1]s/dev/rpc, chain id %[2]d, currency ETH;
     then import the private key above as an account.
  2. Open %[1]s, enter an amount, Pay with Crypto, approve in MetaMask.
  3. Your Secure Key appears on screen once the block confirms. Spend from it:
       curl -H 'Authorization: Bearer %[6]s' -H 'Content-Type: application/json' \
            -d '{"key":"<your key>","idempotency_key":"try-1","credits":250}' %[1]s/api/v1/charges

`, c.PublicURL, dev.ChainID(), c.DevBlockTime, wallet.Address, wallet.PrivateKey, c.ServiceToken)
}
