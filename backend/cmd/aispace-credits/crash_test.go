package main

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aispace/credits/shared"
)

const devToken = "dev-service-token"

// acked is what the server acknowledged: idempotency key → charge id and credits.
type acked struct {
	mu sync.Mutex
	m  map[string]ackedCharge
}

type ackedCharge struct {
	shared.ChargeResult
	credits int
}

// chargeStream sends charges from n clients until stop closes, recording every
// charge the server acknowledged with a 200.
func chargeStream(url, key string, n int, stop <-chan struct{}, prefix string, a *acked) *sync.WaitGroup {
	var wg sync.WaitGroup
	var seq atomic.Int64
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(i), uint64(time.Now().UnixNano())))
			for {
				select {
				case <-stop:
					return
				default:
				}
				idem := fmt.Sprintf("%s-%d", prefix, seq.Add(1))
				var res shared.ChargeResult
				n := 1 + r.IntN(100)
				code, err := post(url+"/api/v1/charges", devToken, map[string]any{"key": key, "idempotency_key": idem, "credits": n}, &res)
				if err == nil && code == 200 {
					a.mu.Lock()
					a.m[idem] = ackedCharge{res, n}
					a.mu.Unlock()
				}
			}
		}()
	}
	return &wg
}

// allUsage reads every usage item of the key holder.
func allUsage(t *testing.T, url, key string) []shared.UsageItem {
	t.Helper()
	var items []shared.UsageItem
	cursor := ""
	for {
		var u shared.Usage
		if code := get(t, url+"/api/v1/account/usage?limit=500&cursor="+cursor, key, &u); code != 200 {
			t.Fatalf("usage: %d", code)
		}
		items = append(items, u.Items...)
		if u.NextCursor == "" {
			return items
		}
		cursor = u.NextCursor
	}
}

// checkLedger: every acknowledged charge is present exactly once with its answer, and
// the balance is what was granted minus the sum of the usage.
func checkLedger(t *testing.T, url, key string, granted int64, a *acked) {
	t.Helper()
	items := allUsage(t, url, key)
	seen := map[string]int{}
	var sum int64
	for _, it := range items {
		seen[it.IdempotencyKey]++
		sum += it.Credits
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for idem, res := range a.m {
		if seen[idem] != 1 {
			t.Fatalf("acknowledged charge %s (%s) is present %d times after the restart", idem, res.ID, seen[idem])
		}
	}
	for idem, n := range seen {
		if n != 1 {
			t.Fatalf("charge %s is in the ledger %d times", idem, n)
		}
	}
	var acct shared.Account
	get(t, url+"/api/v1/account", key, &acct)
	if acct.Balance != granted-sum || acct.Used != sum {
		t.Fatalf("balance %d used %d; granted %d minus the ledger's %d charges = %d", acct.Balance, acct.Used, granted, len(items), granted-sum)
	}
	t.Logf("%d charges in the ledger, %d acknowledged before the kills, balance %d", len(items), len(a.m), acct.Balance)
}

// TestKilledWhileChargingLosesNothingAcknowledged kills the server with SIGKILL in the
// middle of a stream of charges, several times, and restarts it on the same data.
func TestKilledWhileChargingLosesNothingAcknowledged(t *testing.T) {
	dir := t.TempDir()
	p := StartProc(t, dir, nil, "-dev", "-dev-block-time", "0")
	const granted = 50_000_000
	acct := mustDevAccount(t, p.URL, granted)
	a := &acked{m: map[string]ackedCharge{}}
	for round := 0; round < 3; round++ {
		stop := make(chan struct{})
		wg := chargeStream(p.URL, acct.Key, 16, stop, fmt.Sprint("r", round), a)
		time.Sleep(time.Duration(300+rand.IntN(700)) * time.Millisecond)
		p.Kill()
		close(stop)
		wg.Wait()
		p = StartProc(t, dir, nil, "-dev", "-dev-block-time", "0")
		checkLedger(t, p.URL, acct.Key, granted, a)
	}
	// A retried acknowledged charge gets its first answer, not a second debit.
	a.mu.Lock()
	defer a.mu.Unlock()
	for idem, first := range a.m {
		var again shared.ChargeResult
		code, err := post(p.URL+"/api/v1/charges", devToken, map[string]any{"key": acct.Key, "idempotency_key": idem, "credits": first.credits}, &again)
		if code != 200 || err != nil || again.ID != first.ID || again.Balance != first.Balance {
			t.Fatalf("retry of %s after restarts: %d %+v, want the first answer %+v", idem, code, again, first.ChargeResult)
		}
	}
}

// TestTwoProcessesOnOneDatabase: two server processes share a standalone database.
// Exactly one writes; charges sent to either never overspend; when the writer is
// killed the other takes over within the lease period and has everything.
func TestTwoProcessesOnOneDatabase(t *testing.T) {
	uri := StartDB(t)
	env := append(sharedSecrets(), "MONGODB_URI="+uri)
	const ttl = 2 * time.Second
	args := []string{"-dev", "-dev-block-time", "0", "-lease-ttl", ttl.String()}
	a := StartProc(t, t.TempDir(), env, args...)
	b := StartProc(t, t.TempDir(), env, args...)
	writer, standby := a, b
	var ra, rb map[string]string
	get(t, a.URL+"/readyz", "", &ra)
	get(t, b.URL+"/readyz", "", &rb)
	if ra["role"] == rb["role"] {
		t.Fatalf("roles %q and %q: want one writer and one standby", ra["role"], rb["role"])
	}
	if rb["role"] == "writer" {
		writer, standby = b, a
	}

	// 2N concurrent charges, half through each process, against a balance of N.
	const n = 40
	acct := mustDevAccount(t, standby.URL, n*10) // forwarded to the writer
	var okN, refused atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < 2*n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := []*Proc{writer, standby}[i%2]
			code, err := post(p.URL+"/api/v1/charges", devToken, map[string]any{"key": acct.Key, "idempotency_key": fmt.Sprint("two-", i), "credits": 10}, nil)
			switch {
			case err != nil:
				t.Error(err)
			case code == http.StatusOK:
				okN.Add(1)
			case code == http.StatusPaymentRequired:
				refused.Add(1)
			default:
				t.Errorf("charge: status %d", code)
			}
		}()
	}
	wg.Wait()
	if okN.Load() != n || refused.Load() != n {
		t.Fatalf("%d charges succeeded and %d were refused across two processes; want %d and %d", okN.Load(), refused.Load(), n, n)
	}

	// Kill the writer: the standby takes over within the lease period.
	writer.Kill()
	start := time.Now()
	for {
		var r map[string]string
		get(t, standby.URL+"/readyz", "", &r)
		if r["role"] == "writer" {
			break
		}
		if time.Since(start) > 3*ttl {
			t.Fatalf("the standby did not take over within %v", 3*ttl)
		}
		time.Sleep(20 * time.Millisecond)
	}
	took := time.Since(start)
	t.Logf("the standby took over %v after the writer was killed (lease TTL %v)", took.Round(time.Millisecond), ttl)
	// The lease is taken within the TTL; then the new writer loads the state.
	if took > ttl+time.Second {
		t.Fatalf("takeover took %v, longer than the lease period %v and a second to load", took, ttl)
	}
	var acctView shared.Account
	if code := get(t, standby.URL+"/api/v1/account", acct.Key, &acctView); code != 200 || acctView.Balance != 0 || acctView.Used != n*10 {
		t.Fatalf("on the new writer: %d %+v, want everything spent once", code, acctView)
	}
	if code, _ := post(standby.URL+"/api/v1/charges", devToken, map[string]any{"key": acct.Key, "idempotency_key": "two-0", "credits": 10}, nil); code != 200 && code != 402 {
		t.Fatalf("repeat on the new writer: %d", code)
	}
}
