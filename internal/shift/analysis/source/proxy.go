package source

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/owlstack/owl/internal/shift/analysis"
)

// The metrics owl's shift proxy exposes.
const (
	requestsMetric = "owl_shift_proxy_requests_total"
	durationMetric = "owl_shift_proxy_request_duration_seconds"
)

// ProxyMetrics scrapes owl's shift-proxy metrics at every Interval and
// differences the counters between scrapes into per-interval series.
// Run must be running for Observe to have data.
type ProxyMetrics struct {
	// Gatherer is the proxy's registry (in-process), or Scrape(url).
	Gatherer prometheus.Gatherer
	// Shift is the value of the shift label to read.
	Shift string
	// Sides are the side label values.
	Sides Sides
	// Interval is the time between scrapes.
	Interval time.Duration
	// Retention is how long scrapes are kept (default 2 h).
	Retention time.Duration
	// Now is the clock (time.Now when nil).
	Now func() time.Time

	mu      sync.Mutex
	snaps   []snapshot
	lastErr error
}

// snapshot is one scrape of the cumulative counters of both sides.
type snapshot struct {
	at    time.Time
	sides [2]counters
}

// counters are one side's cumulative values.
type counters struct{ requests, errors, sum, count float64 }

// Run scrapes at once and then every Interval until ctx ends.
func (p *ProxyMetrics) Run(ctx context.Context) error {
	if p.Interval <= 0 {
		return fmt.Errorf("proxy metrics: interval %v: want a positive duration", p.Interval)
	}
	t := time.NewTicker(p.Interval)
	defer t.Stop()
	for {
		p.Scrape()
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (p *ProxyMetrics) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

// Scrape gathers the metrics once and keeps the snapshot; a failure is
// kept too, so that Observe reports the source down.
func (p *ProxyMetrics) Scrape() {
	now := p.now()
	mfs, err := p.Gatherer.Gather()
	var s snapshot
	if err == nil {
		s, err = p.read(now, mfs)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		p.lastErr = fmt.Errorf("proxy metrics: scrape at %s: %w", now.Format(time.RFC3339), err)
		return
	}
	p.lastErr = nil
	p.snaps = append(p.snaps, s)
	keep := p.Retention
	if keep <= 0 {
		keep = 2 * time.Hour
	}
	i := 0
	for i < len(p.snaps) && now.Sub(p.snaps[i].at) > keep {
		i++
	}
	p.snaps = p.snaps[i:]
}

// read sums the two sides' counters of this shift.
func (p *ProxyMetrics) read(now time.Time, mfs []*dto.MetricFamily) (snapshot, error) {
	s := snapshot{at: now}
	sides := p.Sides.withDefaults()
	found := false
	for _, mf := range mfs {
		name := mf.GetName()
		if name != requestsMetric && name != durationMetric {
			continue
		}
		for _, m := range mf.GetMetric() {
			lab := map[string]string{}
			for _, l := range m.GetLabel() {
				lab[l.GetName()] = l.GetValue()
			}
			if lab["shift"] != p.Shift {
				continue
			}
			var c *counters
			switch lab["side"] {
			case sides.From:
				c = &s.sides[0]
			case sides.To:
				c = &s.sides[1]
			default:
				continue
			}
			found = true
			switch name {
			case requestsMetric:
				v := m.GetCounter().GetValue()
				code, err := strconv.Atoi(lab["code"])
				if err != nil {
					return s, fmt.Errorf("%s{side=%q}: code label %q is not a status code", name, lab["side"], lab["code"])
				}
				c.requests += v
				if isError(code) {
					c.errors += v
				}
			case durationMetric:
				h := m.GetHistogram()
				c.sum += h.GetSampleSum()
				c.count += float64(h.GetSampleCount())
			}
		}
	}
	if !found {
		return s, fmt.Errorf("no %s series for shift %q and sides %q/%q", requestsMetric, p.Shift, sides.From, sides.To)
	}
	return s, nil
}

// Observe differences the scrapes taken within [start, end]: each pair
// of consecutive scrapes is one interval. A counter that went down (the
// proxy restarted) counts from zero, as Prometheus's rate does.
func (p *ProxyMetrics) Observe(_ context.Context, start, end time.Time) (analysis.Window, error) {
	w := analysis.Window{Start: start, End: end}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.lastErr != nil {
		return w, p.lastErr
	}
	var in []snapshot
	for _, s := range p.snaps {
		if !s.at.Before(start) && !s.at.After(end) {
			in = append(in, s)
		}
	}
	if len(in) < 2 {
		return w, fmt.Errorf("proxy metrics: %d scrapes between %s and %s, need 2", len(in), start.Format(time.RFC3339), end.Format(time.RFC3339))
	}
	var ser [2]*series
	for side := range ser {
		ser[side] = newSeries(len(in) - 1)
		for i := 1; i < len(in); i++ {
			a, b := in[i-1].sides[side], in[i].sides[side]
			ser[side].requests += int64(delta(a.requests, b.requests) + 0.5)
			ser[side].errors += int64(delta(a.errors, b.errors) + 0.5)
			ser[side].sum[i-1] = delta(a.sum, b.sum)
			ser[side].count[i-1] = delta(a.count, b.count)
		}
		ser[side].errors = min(ser[side].errors, ser[side].requests)
	}
	w.From, w.To = ser[0].observation(), ser[1].observation()
	return w, nil
}

// delta is the increase of a counter from a to b, allowing for a reset.
func delta(a, b float64) float64 {
	if b < a {
		return b
	}
	return b - a
}

// Scrape returns a Gatherer that fetches and parses a Prometheus text
// exposition from url (a /metrics endpoint) with client.
func Scrape(client *http.Client, url string) prometheus.Gatherer {
	return prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		resp, err := client.Get(url)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		p := expfmt.NewTextParser(model.UTF8Validation)
		mfs, err := p.TextToMetricFamilies(resp.Body)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", url, err)
		}
		out := make([]*dto.MetricFamily, 0, len(mfs))
		for _, mf := range mfs {
			out = append(out, mf)
		}
		return out, nil
	})
}
