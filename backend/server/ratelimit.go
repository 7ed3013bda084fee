package server

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// limiter is a token bucket per client: rate tokens per period, at most burst saved.
type limiter struct {
	mu      sync.Mutex
	rate    float64 // tokens per second
	burst   float64
	buckets map[string]*bucket
	last    time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newLimiter(n int, per time.Duration, burst int) *limiter {
	return &limiter{rate: float64(n) / per.Seconds(), burst: float64(burst), buckets: map[string]*bucket{}}
}

// allow takes a token for the client; when there is none it says how long to wait.
func (l *limiter) allow(client string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.last) > time.Minute { // forget full buckets now and then
		for k, b := range l.buckets {
			if b.tokens+now.Sub(b.at).Seconds()*l.rate >= l.burst {
				delete(l.buckets, k)
			}
		}
		l.last = now
	}
	b := l.buckets[client]
	if b == nil {
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[client] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.at).Seconds()*l.rate)
	b.at = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
}

// clientIP is the address the request came from.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// limits are the rate limits of the routes that cost or guess: per client, and in all.
type limits struct {
	login, loginAll       *limiter
	purchase, purchaseAll *limiter
	tx                    *limiter
	recovery, recoveryAll *limiter
}

func newLimits() limits {
	return limits{
		login:       newLimiter(10, time.Minute, 10), // a person types a key a few times
		loginAll:    newLimiter(600, time.Minute, 100),
		purchase:    newLimiter(30, time.Minute, 10),
		purchaseAll: newLimiter(3000, time.Minute, 300),
		tx:          newLimiter(60, time.Minute, 20),
		recovery:    newLimiter(10, time.Minute, 5),
		recoveryAll: newLimiter(600, time.Minute, 60),
	}
}
