// Command bench measures the product's speed goals in one run, each against a
// baseline measured in the same run, and prints tables (make bench).
//
//   - Charges over HTTP, 64 concurrent clients, embedded database with durable
//     commits: (a) 100,000 accounts, uniform; (b) one hot account; (c) a no-op JSON
//     handler on the same server (the floor); (d) the naive design, one conditional
//     findOneAndUpdate per charge on 10,000 account documents.
//   - Journal layout: one document per operation against one per group commit.
//   - Start-up after 1,000,000 journaled operations, from a snapshot and the tail,
//     and from the journal alone.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/aispace/credits/backend/credits"
	"github.com/aispace/credits/backend/keys"
	"github.com/aispace/credits/backend/ledger"
	"github.com/aispace/credits/backend/server"
	"github.com/aispace/credits/backend/store"
	"github.com/aispace/credits/shared"
)

func main() {
	duration := flag.Duration("duration", 10*time.Second, "how long each HTTP load runs")
	clients := flag.Int("clients", 64, "concurrent HTTP clients")
	accounts := flag.Int("accounts", 100_000, "accounts for the uniform load")
	startupOps := flag.Int("startup-ops", 1_000_000, "journaled operations before the start-up measurement")
	only := flag.String("only", "charges,layout,startup,crypto", "which parts to run")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole run")
	flag.StringVar(&loads, "loads", "abcd", "which HTTP loads of the charges part to run (a, b, c, d)")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		must(err)
		must(pprof.StartCPUProfile(f))
		defer pprof.StopCPUProfile()
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400) // as serve does
	}
	fmt.Printf("aispace-credits bench — %s, GOMAXPROCS=%d\n\n", time.Now().UTC().Format(time.RFC3339), runtime.GOMAXPROCS(0))
	if strings.Contains(*only, "charges") {
		benchCharges(*duration, *clients, *accounts)
	}
	if strings.Contains(*only, "layout") {
		benchLayout(*clients, 5*time.Second)
	}
	if strings.Contains(*only, "startup") {
		benchStartup(*startupOps)
	}
	if strings.Contains(*only, "crypto") {
		benchCrypto(cryptoSizes())
	}
}

// loads are the HTTP loads to run, by letter.
var loads string

// result is one load's figures.
type result struct {
	name    string
	n       int
	errs    int
	elapsed time.Duration
	lat     []time.Duration
}

func (r result) rate() float64 { return float64(r.n) / r.elapsed.Seconds() }
func (r result) pct(p float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	return r.lat[min(len(r.lat)-1, int(float64(len(r.lat))*p))]
}

// load runs clients that each send requests made by next until d has passed.
func load(name string, d time.Duration, clients int, url string, next func(client, i int) []byte, ok func(status int) bool) result {
	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}
	c := &http.Client{Transport: tr}
	var mu sync.Mutex
	res := result{name: name}
	start := time.Now()
	var wg sync.WaitGroup
	for cl := 0; cl < clients; cl++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat := make([]time.Duration, 0, 4096)
			var n, errs int
			for i := 0; time.Since(start) < d; i++ {
				body := next(cl, i)
				t0 := time.Now()
				req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer bench-token")
				resp, err := c.Do(req)
				if err != nil {
					errs++
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if !ok(resp.StatusCode) {
					errs++
					continue
				}
				lat = append(lat, time.Since(t0))
				n++
			}
			mu.Lock()
			res.n += n
			res.errs += errs
			res.lat = append(res.lat, lat...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	slices.Sort(res.lat)
	tr.CloseIdleConnections()
	return res
}

func benchCharges(d time.Duration, clients, nAccounts int) {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "aispace-bench-")
	defer os.RemoveAll(dir)
	db, kr, l := newLedger(dir)
	defer db.Close(ctx)
	defer l.Close(ctx)
	pricing, _ := credits.ParsePricing(credits.DefaultPricing)
	srv := server.New(server.Deps{Config: server.Config{ServiceToken: "bench-token"}, Ledger: l, Keys: kr, Pricing: pricing, DB: db})

	// The floor and the naive design live on the same HTTP server.
	naive := db.Client().Database("bench").Collection("accounts")
	mux := http.NewServeMux()
	mux.Handle("/", srv)
	mux.HandleFunc("POST /bench/noop", func(w http.ResponseWriter, r *http.Request) {
		var req shared.ChargeRequest
		json.NewDecoder(r.Body).Decode(&req)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(shared.ChargeResult{ID: "ch_noop", Charged: 1, Balance: 1})
	})
	mux.HandleFunc("POST /bench/naive", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Account int   `json:"account"`
			Credits int64 `json:"credits"`
		}
		json.NewDecoder(r.Body).Decode(&req)
		var doc bson.M
		err := naive.FindOneAndUpdate(r.Context(),
			bson.D{{Key: "_id", Value: req.Account}, {Key: "balance", Value: bson.D{{Key: "$gte", Value: req.Credits}}}},
			bson.D{{Key: "$inc", Value: bson.D{{Key: "balance", Value: -req.Credits}}}},
			options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&doc)
		if err != nil {
			http.Error(w, err.Error(), http.StatusPaymentRequired)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(shared.ChargeResult{ID: "naive", Charged: req.Credits, Balance: doc["balance"].(int64)})
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(err)
	go http.Serve(ln, mux)
	base := "http://" + ln.Addr().String()

	fmt.Printf("Setting up %d accounts and 10,000 naive account documents…\n", nAccounts)
	t0 := time.Now()
	keysOf := make([]string, nAccounts)
	var wg sync.WaitGroup
	var next atomic.Int64
	for w := 0; w < 64; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= nAccounts {
					return
				}
				key := kr.NewKey()
				id := fmt.Sprintf("acct_bench_%06d", i)
				must(l.OpenAccount(ctx, id, ledger.KeyOp{Hash: kr.Hash(key), Hint: shared.KeyHint(key)}, "", nil))
				_, err := l.Grant(ctx, id, 1_000_000_000, credits.SourceGrant, "", nil)
				must(err)
				keysOf[i] = key
			}
		}()
	}
	wg.Wait()
	docs := make([]any, 0, 10_000)
	for i := 0; i < 10_000; i++ {
		docs = append(docs, bson.D{{Key: "_id", Value: i}, {Key: "balance", Value: int64(1_000_000_000)}})
	}
	for i := 0; i < len(docs); i += 1000 {
		_, err := naive.InsertMany(ctx, docs[i:i+1000])
		must(err)
	}
	fmt.Printf("  set up in %v\n", time.Since(t0).Round(time.Millisecond))
	// The set-up journaled 2 operations an account: snapshot now, as the server would
	// have by then, so no snapshot of the set-up lands inside a measurement. (Under
	// this load the next one is due 30 s later, the minimum interval.)
	t0 = time.Now()
	must(l.Snapshot(ctx))
	fmt.Printf("  snapshot of %d accounts written in %v\n\n", nAccounts, time.Since(t0).Round(time.Millisecond))

	okCharge := func(s int) bool { return s == 200 }
	var seq atomic.Int64
	charge := func(key string) []byte {
		b, _ := json.Marshal(shared.ChargeRequest{Key: key, IdempotencyKey: fmt.Sprint("b", seq.Add(1)), Credits: ptr(int64(1))})
		return b
	}
	results := map[string]result{}
	run := func(letter, name, path string, next func(c, i int) []byte) {
		if strings.Contains(loads, letter) {
			results[letter] = load(name, d, clients, base+path, next, okCharge)
		}
	}
	hot := keysOf[0]
	run("a", fmt.Sprintf("(a) charges, %d accounts, uniform", nAccounts), "/api/v1/charges",
		func(c, i int) []byte { return charge(keysOf[rand.IntN(len(keysOf))]) })
	run("b", "(b) charges, one hot account", "/api/v1/charges", func(c, i int) []byte { return charge(hot) })
	if strings.Contains(loads, "A") { // (a) again, to see whether a grown journal slows it
		results["A"] = load("(a) again", d, clients, base+"/api/v1/charges", func(c, i int) []byte { return charge(keysOf[rand.IntN(len(keysOf))]) }, okCharge)
		fmt.Printf("  (a) again: %.0f/s p99 %s\n", results["A"].rate(), round(results["A"].pct(0.99)))
	}
	run("c", "(c) floor: no-op JSON handler", "/bench/noop", func(c, i int) []byte { return charge(hot) })
	run("d", "(d) naive: findOneAndUpdate per charge", "/bench/naive", func(c, i int) []byte {
		b, _ := json.Marshal(map[string]int64{"account": int64(rand.IntN(10_000)), "credits": 1})
		return b
	})
	floor, naiveR := results["c"], results["d"]
	fmt.Printf("Charges over HTTP: %d clients, %v each, embedded FerretDB (SQLite, synchronous=full)\n\n", clients, d)
	fmt.Printf("| %-42s | %10s | %8s | %8s | %8s | %9s | %8s |\n", "load", "per second", "p50", "p99", "errors", "vs floor", "vs naive")
	fmt.Printf("|%s|%s|%s|%s|%s|%s|%s|\n", strings.Repeat("-", 44), strings.Repeat("-", 12), strings.Repeat("-", 10), strings.Repeat("-", 10), strings.Repeat("-", 10), strings.Repeat("-", 11), strings.Repeat("-", 10))
	for _, letter := range []string{"a", "b", "c", "d"} {
		r, ok := results[letter]
		if !ok {
			continue
		}
		fmt.Printf("| %-42s | %10.0f | %8s | %8s | %8d | %8.2f× | %7.1f× |\n", r.name, r.rate(),
			round(r.pct(0.50)), round(r.pct(0.99)), r.errs, r.rate()/floor.rate(), r.rate()/naiveR.rate())
	}
	fmt.Println()
	// Every acknowledged charge is in the journal: check the state against the counts.
	var spent int64
	l.Read(func(s *ledger.State) {
		for _, a := range s.Accounts {
			spent += a.Credits.Used
		}
	})
	fmt.Printf("  check: %d charges acknowledged in (a) and (b), %d credits spent in the ledger\n\n", results["a"].n+results["b"].n, spent)
}

// benchLayout compares two journal layouts on the embedded server, 64 writers in a
// closed loop with one insert in flight, as the ledger runs: a document per operation
// (with a batch header for fencing) against a document per group commit.
func benchLayout(clients int, d time.Duration) {
	ctx := context.Background()
	fmt.Printf("Journal layout: %d clients, one group commit in flight, %v each\n\n", clients, d)
	fmt.Printf("| %-40s | %10s | %8s | %8s |\n", "layout", "ops/s", "p50", "p99")
	fmt.Printf("|%s|%s|%s|%s|\n", strings.Repeat("-", 42), strings.Repeat("-", 12), strings.Repeat("-", 10), strings.Repeat("-", 10))
	var rates []float64
	for _, perOp := range []bool{true, false} {
		dir, _ := os.MkdirTemp("", "aispace-layout-")
		db, err := store.Open(ctx, store.Config{DataDir: dir})
		must(err)
		coll := db.Client().Database("layout").Collection("journal")
		type req struct{ done chan struct{} }
		in := make(chan *req, 1024)
		go func() {
			var seq int64
			var pending []*req
			done := make(chan []*req, 1)
			busy := false
			for {
				select {
				case r := <-in:
					pending = append(pending, r)
				case b := <-done:
					for _, r := range b {
						close(r.done)
					}
					busy = false
				}
				if !busy && len(pending) > 0 {
					b := pending
					pending = nil
					busy = true
					seq++
					go func(seq int64) {
						op := `{"t":"charge","at":"2026-11-25T12:00:00Z","acct":"acct_0123456789abcdef01234567","charge":{"id":"ch_0123456789abcdef01234567","idem":"bench-123456","fp":"0123456789abcdef||1","credits":1}}`
						var docs []any
						if perOp {
							docs = append(docs, bson.D{{Key: "_id", Value: fmt.Sprint("b:", seq)}, {Key: "n", Value: len(b)}})
							for i := range b {
								docs = append(docs, bson.D{{Key: "_id", Value: fmt.Sprintf("op:%d:%d", seq, i)}, {Key: "b", Value: seq}, {Key: "op", Value: op}})
							}
						} else {
							ops := "[" + strings.TrimSuffix(strings.Repeat(op+",", len(b)), ",") + "]"
							docs = []any{bson.D{{Key: "_id", Value: seq}, {Key: "n", Value: len(b)}, {Key: "ops", Value: ops}}}
						}
						_, err := coll.InsertMany(ctx, docs)
						must(err)
						done <- b
					}(seq)
				}
			}
		}()
		res := result{}
		var mu sync.Mutex
		var wg sync.WaitGroup
		start := time.Now()
		for c := 0; c < clients; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var lat []time.Duration
				for time.Since(start) < d {
					t0 := time.Now()
					r := &req{done: make(chan struct{})}
					in <- r
					<-r.done
					lat = append(lat, time.Since(t0))
				}
				mu.Lock()
				res.n += len(lat)
				res.lat = append(res.lat, lat...)
				mu.Unlock()
			}()
		}
		wg.Wait()
		res.elapsed = time.Since(start)
		slices.Sort(res.lat)
		name := "one document per group commit (ours)"
		if perOp {
			name = "one document per operation"
		}
		fmt.Printf("| %-40s | %10.0f | %8s | %8s |\n", name, res.rate(), round(res.pct(0.5)), round(res.pct(0.99)))
		rates = append(rates, res.rate())
		db.Close(ctx)
		os.RemoveAll(dir)
	}
	fmt.Printf("\n  a document per group commit: %.2f× the operations per second\n\n", rates[1]/rates[0])
}

// benchStartup journals n charges (group-committed like live traffic), with the
// default snapshot interval, then measures rebuilding the state.
func benchStartup(n int) {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "aispace-startup-")
	defer os.RemoveAll(dir)
	db, kr, l := newLedger(dir)
	defer db.Close(ctx)
	const nAccounts = 10_000
	hashes := make([]keys.Hash, nAccounts)
	for i := range hashes {
		key := kr.NewKey()
		hashes[i] = kr.Hash(key)
		id := fmt.Sprintf("acct_%05d", i)
		must(l.OpenAccount(ctx, id, ledger.KeyOp{Hash: hashes[i], Hint: shared.KeyHint(key)}, "", nil))
		_, err := l.Grant(ctx, id, 1_000_000_000, credits.SourceGrant, "", nil)
		must(err)
	}
	fmt.Printf("Start-up after %d journaled operations (%d accounts; a snapshot every 200,000 operations)\n\n", n, nAccounts)
	t0 := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < 256; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(n-2*nAccounts) {
					return
				}
				_, err := l.Charge(ctx, ledger.ChargeRequest{Key: hashes[i%nAccounts], Idem: fmt.Sprint("s", i), Service: "chat:small",
					Units: map[string]int64{"input_tokens": 1000}, Credits: 5})
				must(err)
			}
		}()
	}
	wg.Wait()
	fmt.Printf("  journaled in %v (%.0f ops/s without HTTP), %d journal entries\n", time.Since(t0).Round(time.Millisecond),
		float64(n)/time.Since(t0).Seconds(), l.Committed())
	// Let the shadow finish its periodic snapshots, as a running server would have.
	time.Sleep(2 * time.Second)
	l.Snapshot(ctx)
	seq := l.Committed()
	// A tail after the snapshot, as after a crash between snapshots: live traffic,
	// group-committed by many clients.
	next.Store(0)
	for w := 0; w < 256; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1); i <= 100_000; i = next.Add(1) {
				_, err := l.Charge(ctx, ledger.ChargeRequest{Key: hashes[i%nAccounts], Idem: fmt.Sprint("t", i), Credits: 5})
				must(err)
			}
		}()
	}
	wg.Wait()
	fmt.Printf("| %-62s | %8s | %9s | %9s |\n", "rebuild of the state", "took", "snapshot", "tail")
	fmt.Printf("|%s|%s|%s|%s|\n", strings.Repeat("-", 64), strings.Repeat("-", 10), strings.Repeat("-", 11), strings.Repeat("-", 11))
	measure := func(name string, useSnapshot bool) {
		st, info, err := ledger.RebuildMeasured(ctx, db, useSnapshot)
		must(err)
		fmt.Printf("| %-62s | %8s | %9s | %9s |\n", fmt.Sprintf(name, st.Seq, info.TailEntries, info.TailOps),
			round(info.Took), round(info.SnapshotTook), round(info.Took-info.SnapshotTook))
	}
	measure("after a crash: snapshot + tail (entry %d; tail %d entries, %d ops)", true)
	l.Close(ctx) // writes a final snapshot
	measure("after a clean shutdown: final snapshot (entry %d; tail %d, %d ops)", true)
	measure("no snapshot: the whole journal (%d entries; %d, %d ops)", false)
	fmt.Printf("\n  (a server's start adds the database start-up; the mid snapshot was at entry %d)\n\n", seq)
}

func round(d time.Duration) string {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond).String()
	default:
		return d.Round(time.Microsecond).String()
	}
}

func ptr[T any](v T) *T { return &v }

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}
