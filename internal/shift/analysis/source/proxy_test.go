package source

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"

	"github.com/owlstack/owl/internal/shift/analysis"
)

// proxyRegistry mimics the shift proxy's metrics.
type proxyRegistry struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newProxyRegistry() *proxyRegistry {
	p := &proxyRegistry{reg: prometheus.NewRegistry()}
	p.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: requestsMetric, Help: "requests"}, []string{"shift", "side", "code"})
	p.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: durationMetric, Help: "latency"}, []string{"shift", "side"})
	p.reg.MustRegister(p.requests, p.duration)
	return p
}

// serve records n requests of side with status code and latency secs.
func (p *proxyRegistry) serve(shift, side string, code string, n int, secs float64) {
	for range n {
		p.requests.WithLabelValues(shift, side, code).Inc()
		p.duration.WithLabelValues(shift, side).Observe(secs)
	}
}

func TestProxyMetrics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pr := newProxyRegistry()
		pr.serve("other", "from", "500", 100, 9) // another shift: ignored
		pr.serve("web", "from", "200", 1, 0.1)
		src := &ProxyMetrics{Gatherer: pr.reg, Shift: "web", Interval: 10 * time.Second}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- src.Run(ctx) }()
		start := time.Now()
		synctest.Wait() // first scrape
		if _, err := src.Observe(ctx, start, start.Add(time.Minute)); err == nil || !strings.Contains(err.Error(), "1 scrapes") {
			t.Errorf("one scrape: %v", err)
		}
		// Interval 1: from 10 x 100 ms with 1 error, to 5 x 200 ms.
		pr.serve("web", "from", "200", 9, 0.1)
		pr.serve("web", "from", "503", 1, 0.1)
		pr.serve("web", "to", "200", 5, 0.2)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		// Interval 2: from 4 x 300 ms, to 2 x 400 ms with a 499 (not an error).
		pr.serve("web", "from", "200", 4, 0.3)
		pr.serve("web", "to", "200", 1, 0.4)
		pr.serve("web", "to", "499", 1, 0.4)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		w, err := src.Observe(ctx, start, start.Add(20*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		want := analysis.Window{
			Start: start, End: start.Add(20 * time.Second),
			From: analysis.Observation{Requests: 14, Errors: 1, Latency: []float64{0.1, 0.3}},
			To:   analysis.Observation{Requests: 7, Errors: 0, Latency: []float64{0.2, 0.4}},
		}
		if diff := cmp.Diff(want, w, cmpopts.EquateApprox(0, 1e-9)); diff != "" {
			t.Errorf("window (-want +got):\n%s", diff)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

func TestProxyMetricsDownAndReset(t *testing.T) {
	now := t0
	fail := false
	pr := newProxyRegistry()
	g := prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		if fail {
			return nil, errors.New("connection refused")
		}
		return pr.reg.Gather()
	})
	src := &ProxyMetrics{Gatherer: g, Shift: "web", Interval: 10 * time.Second, Now: func() time.Time { return now }}
	pr.serve("web", "from", "200", 50, 0.1)
	pr.serve("web", "to", "200", 50, 0.1)
	src.Scrape()
	// The proxy restarts: its counters begin again from zero.
	pr = newProxyRegistry()
	pr.serve("web", "from", "200", 20, 0.1)
	pr.serve("web", "to", "500", 3, 0.1)
	now = now.Add(10 * time.Second)
	src.Scrape()
	w, err := src.Observe(context.Background(), t0, now)
	if err != nil || w.From.Requests != 20 || w.To.Requests != 3 || w.To.Errors != 3 {
		t.Errorf("after a reset: %+v, %v", w, err)
	}
	fail = true
	now = now.Add(10 * time.Second)
	src.Scrape()
	if _, err := src.Observe(context.Background(), t0, now); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("source down: %v, want an error", err)
	}
}

func TestScrapeURL(t *testing.T) {
	pr := newProxyRegistry()
	srv := httptest.NewServer(promhttp.HandlerFor(pr.reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	now := t0
	src := &ProxyMetrics{Gatherer: Scrape(srv.Client(), srv.URL), Shift: "web", Sides: Sides{From: "ecs", To: "eks"}, Interval: 10 * time.Second, Now: func() time.Time { return now }}
	pr.serve("web", "ecs", "200", 1, 0.1)
	pr.serve("web", "eks", "200", 1, 0.1)
	src.Scrape()
	pr.serve("web", "ecs", "200", 30, 0.25)
	pr.serve("web", "eks", "502", 10, 0.5)
	now = now.Add(10 * time.Second)
	src.Scrape()
	w, err := src.Observe(context.Background(), t0, now)
	if err != nil {
		t.Fatal(err)
	}
	if w.From.Requests != 30 || w.To.Requests != 10 || w.To.Errors != 10 || !cmp.Equal(w.From.Latency, []float64{0.25}, cmpopts.EquateApprox(0, 1e-9)) || !cmp.Equal(w.To.Latency, []float64{0.5}, cmpopts.EquateApprox(0, 1e-9)) {
		t.Errorf("scraped window %+v", w)
	}
	missing := httptest.NewServer(http.NotFoundHandler())
	defer missing.Close()
	bad := &ProxyMetrics{Gatherer: Scrape(missing.Client(), missing.URL), Shift: "web", Interval: time.Second}
	bad.Scrape()
	if _, err := bad.Observe(context.Background(), t0, now); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("404 scrape: %v", err)
	}
}
