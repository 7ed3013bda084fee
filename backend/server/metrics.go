package server

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/aispace/credits/backend/ledger"
)

// metrics are the server's Prometheus metrics. Counts that the ledger knows (purchases
// by status, credits granted and spent, the watcher's lag) are read from it at scrape
// time, so they are right after a restart and on any instance that writes.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	charge   prometheus.Histogram
}

// Gauges that other parts of the server report through Deps.Gauges.
type Gauges interface {
	OpenSockets() int
	PriceAge() (time.Duration, bool)
}

func newMetrics(s *Server) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aispace_http_requests_total", Help: "HTTP requests by route and status.",
		}, []string{"route", "code"}),
		charge: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "aispace_charge_duration_seconds",
			Help:    "Time to answer POST /api/v1/charges, durable commit included.",
			Buckets: []float64{.0005, .001, .002, .004, .006, .008, .01, .015, .025, .05, .1, .25, .5, 1},
		}),
	}
	m.reg.MustRegister(m.requests, m.charge, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&ledgerCollector{s: s})
	return m
}

// observe counts a request by its route pattern (never its raw path: ids would make
// endless series).
func (s *Server) observe(r *http.Request, status int, took time.Duration) {
	route := r.Pattern
	if route == "" {
		route = "other"
	}
	if status == 0 {
		status = http.StatusOK
	}
	s.metrics.requests.WithLabelValues(route, http.StatusText(status)).Inc()
	if route == "POST /api/v1/charges" {
		s.metrics.charge.Observe(took.Seconds())
	}
}

// Metrics is the /metrics handler, served where the operator chose (not publicly by
// default: purchase counts are business data).
func (s *Server) Metrics() http.Handler {
	return promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{})
}

// ledgerCollector reads the ledger's numbers at scrape time.
type ledgerCollector struct{ s *Server }

var (
	descPurchases = prometheus.NewDesc("aispace_purchases", "Purchases by method and status.", []string{"method", "status"}, nil)
	descGranted   = prometheus.NewDesc("aispace_credits_granted_total", "Credits added to accounts, by source.", []string{"source"}, nil)
	descSpent     = prometheus.NewDesc("aispace_credits_spent_total", "Credits spent by services (charges and captures).", nil, nil)
	descAccounts  = prometheus.NewDesc("aispace_accounts", "Accounts.", nil, nil)
	descJournal   = prometheus.NewDesc("aispace_journal_entries", "The last durable journal entry.", nil, nil)
	descWriter    = prometheus.NewDesc("aispace_writer", "1 when this instance holds the writer lease.", nil, nil)
	descHeadLag   = prometheus.NewDesc("aispace_watcher_head_lag_blocks", "Blocks between the chain's head and the watcher's cursor.", nil, nil)
	descPriceAge  = prometheus.NewDesc("aispace_price_age_seconds", "Age of the ETH/USD price in use.", nil, nil)
	descSockets   = prometheus.NewDesc("aispace_open_sockets", "Open purchase websockets.", nil, nil)
	descUnclaimed = prometheus.NewDesc("aispace_unclaimed_payments", "Payments on chain nobody has claimed.", nil, nil)
)

func (c *ledgerCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descPurchases, descGranted, descSpent, descAccounts, descJournal, descWriter, descHeadLag, descPriceAge, descSockets, descUnclaimed} {
		ch <- d
	}
}

func (c *ledgerCollector) Collect(ch chan<- prometheus.Metric) {
	l := c.s.Ledger
	writing := 0.0
	if l.Writing() {
		writing = 1
	}
	ch <- prometheus.MustNewConstMetric(descWriter, prometheus.GaugeValue, writing)
	ch <- prometheus.MustNewConstMetric(descJournal, prometheus.GaugeValue, float64(l.Committed()))
	type key struct{ method, status string }
	purchases := map[key]int{}
	granted := map[string]int64{}
	var spent int64
	var accounts, unclaimed int
	var lag uint64
	l.Read(func(s *ledger.State) {
		accounts = len(s.Accounts)
		for _, a := range s.Accounts {
			spent += a.Credits.Used
			for _, lot := range a.Credits.Lots {
				granted[string(lot.Source)] += lot.Credits
			}
		}
		for _, p := range s.Purchases {
			purchases[key{p.Method, p.Status}]++
		}
		for _, p := range s.Payments {
			if p.Purchase == "" && !p.Credited {
				unclaimed++
			}
		}
		if s.Chain.Head > s.Chain.Number {
			lag = s.Chain.Head - s.Chain.Number
		}
	})
	for k, n := range purchases {
		ch <- prometheus.MustNewConstMetric(descPurchases, prometheus.GaugeValue, float64(n), k.method, k.status)
	}
	for src, n := range granted {
		ch <- prometheus.MustNewConstMetric(descGranted, prometheus.CounterValue, float64(n), src)
	}
	ch <- prometheus.MustNewConstMetric(descSpent, prometheus.CounterValue, float64(spent))
	ch <- prometheus.MustNewConstMetric(descAccounts, prometheus.GaugeValue, float64(accounts))
	ch <- prometheus.MustNewConstMetric(descUnclaimed, prometheus.GaugeValue, float64(unclaimed))
	ch <- prometheus.MustNewConstMetric(descHeadLag, prometheus.GaugeValue, float64(lag))
	if g := c.s.Gauges; g != nil {
		ch <- prometheus.MustNewConstMetric(descSockets, prometheus.GaugeValue, float64(g.OpenSockets()))
		if age, ok := g.PriceAge(); ok {
			ch <- prometheus.MustNewConstMetric(descPriceAge, prometheus.GaugeValue, age.Seconds())
		}
	}
}
