// Package source reads what the two sides of a shift served, as
// analysis.Window values, from three places: owl's proxy metrics (a
// Prometheus registry in-process or a /metrics URL, scraped and
// differenced), a Prometheus server's HTTP API (PromQL range queries), and
// owl access logs (JSON lines whose attrs.side names the side).
//
// Every source fills the latency series with the mean latency of each
// interval (histogram sum over count, or the mean of logged durations):
// the mean of a small interval is unbiased, where quantiles of a few
// requests or of coarse histogram buckets are not, and the analysis
// compares the two series with a rank test, which copes with its heavy
// tail. A source that cannot answer returns an error; the controller
// then holds the shift.
package source

import (
	"fmt"
	"math"
	"time"

	"github.com/owlstack/owl/internal/shift/analysis"
)

// Sides names the two sides as the data labels them (the proxy's
// Upstream labels, e.g. "ecs" and "eks"; "from" and "to" by default).
type Sides struct {
	From string `yaml:"from" json:"from"`
	To   string `yaml:"to" json:"to"`
}

// withDefaults fills empty labels with "from" and "to".
func (s Sides) withDefaults() Sides {
	if s.From == "" {
		s.From = "from"
	}
	if s.To == "" {
		s.To = "to"
	}
	return s
}

// series accumulates one side's intervals of a window.
type series struct {
	requests, errors int64
	sum              []float64 // latency seconds summed per interval
	count            []float64 // latency observations per interval
}

func newSeries(n int) *series {
	return &series{sum: make([]float64, n), count: make([]float64, n)}
}

// observation is the side's totals with one mean latency per interval
// that saw requests.
func (s *series) observation() analysis.Observation {
	o := analysis.Observation{Requests: s.requests, Errors: s.errors}
	for i, c := range s.count {
		if c > 0 {
			if m := s.sum[i] / c; !math.IsNaN(m) && !math.IsInf(m, 0) && m >= 0 {
				o.Latency = append(o.Latency, m)
			}
		}
	}
	return o
}

// intervals is how many whole intervals of length d fit in [start, end).
func intervals(start, end time.Time, d time.Duration) (int, error) {
	if d <= 0 {
		return 0, fmt.Errorf("interval %v: want a positive duration", d)
	}
	if !end.After(start) {
		return 0, fmt.Errorf("window %s..%s: end must be after start", start.Format(time.RFC3339), end.Format(time.RFC3339))
	}
	n := int(end.Sub(start) / d)
	if n < 1 {
		return 0, fmt.Errorf("window %s is shorter than one interval (%s)", end.Sub(start), d)
	}
	return n, nil
}

// isError reports whether an HTTP status counts against a side: a server
// error (5xx) or no response at all (0). 499 (the client went away) is not
// the side's fault.
func isError(status int) bool { return status >= 500 || status == 0 }
