package source

import (
	"context"
	"fmt"
	"math"
	"strings"
	"text/template"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/owlstack/owl/internal/shift/analysis"
)

// Queries are PromQL templates for one side, each evaluated at every
// interval of the window (a range query with step = interval). They see
// {{.Shift}}, {{.Side}} (the side's label value) and {{.Interval}} (the
// interval as a PromQL duration, e.g. 10s).
type Queries struct {
	// Requests is the number of requests served in each interval.
	Requests string `yaml:"requests" json:"requests"`
	// Errors is the number of failed requests in each interval.
	Errors string `yaml:"errors" json:"errors"`
	// Latency is the latency in seconds of each interval.
	Latency string `yaml:"latency" json:"latency"`
}

// ProxyQueries are the queries over owl's shift-proxy metrics.
var ProxyQueries = Queries{
	Requests: `sum(increase(owl_shift_proxy_requests_total{shift="{{.Shift}}",side="{{.Side}}"}[{{.Interval}}]))`,
	Errors:   `sum(increase(owl_shift_proxy_requests_total{shift="{{.Shift}}",side="{{.Side}}",code=~"5..|0"}[{{.Interval}}])) or vector(0)`,
	Latency: `sum(rate(owl_shift_proxy_request_duration_seconds_sum{shift="{{.Shift}}",side="{{.Side}}"}[{{.Interval}}]))` +
		` / sum(rate(owl_shift_proxy_request_duration_seconds_count{shift="{{.Shift}}",side="{{.Side}}"}[{{.Interval}}]))`,
}

// Prometheus queries a Prometheus server's HTTP API (/api/v1/query_range).
type Prometheus struct {
	api      v1.API
	shift    string
	sides    Sides
	interval time.Duration
	tmpl     [3]*template.Template // requests, errors, latency
}

// NewPrometheus returns a source that queries the Prometheus at address
// (e.g. http://prometheus:9090) with client options cfg.
func NewPrometheus(cfg api.Config, shift string, sides Sides, interval time.Duration, q Queries) (*Prometheus, error) {
	if interval < time.Second || interval%time.Second != 0 {
		return nil, fmt.Errorf("prometheus source: interval %v: want whole seconds, at least 1s", interval)
	}
	c, err := api.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("prometheus source: %w", err)
	}
	p := &Prometheus{api: v1.NewAPI(c), shift: shift, sides: sides.withDefaults(), interval: interval}
	for i, text := range []string{q.Requests, q.Errors, q.Latency} {
		name := [...]string{"requests", "errors", "latency"}[i]
		if strings.TrimSpace(text) == "" {
			return nil, fmt.Errorf("prometheus source: queries.%s is empty", name)
		}
		t, err := template.New(name).Option("missingkey=error").Parse(text)
		if err != nil {
			return nil, fmt.Errorf("prometheus source: queries.%s: %w", name, err)
		}
		p.tmpl[i] = t
	}
	return p, nil
}

// Observe runs the three queries for both sides over [start, end).
func (p *Prometheus) Observe(ctx context.Context, start, end time.Time) (analysis.Window, error) {
	w := analysis.Window{Start: start, End: end}
	n, err := intervals(start, end, p.interval)
	if err != nil {
		return w, fmt.Errorf("prometheus source: %w", err)
	}
	// The value at t covers (t-interval, t]: evaluate at the end of each
	// interval.
	r := v1.Range{Start: start.Add(p.interval), End: start.Add(time.Duration(n) * p.interval), Step: p.interval}
	var obs [2]analysis.Observation
	for i, side := range []string{p.sides.From, p.sides.To} {
		var vals [3][]float64
		for q, t := range p.tmpl {
			var b strings.Builder
			if err := t.Execute(&b, map[string]string{"Shift": p.shift, "Side": side, "Interval": model.Duration(p.interval).String()}); err != nil {
				return w, fmt.Errorf("prometheus source: query %s: %w", t.Name(), err)
			}
			v, _, _, err := p.api.QueryRange(ctx, b.String(), r)
			if err != nil {
				return w, fmt.Errorf("prometheus source: query %s for side %s: %w", t.Name(), side, err)
			}
			vals[q], err = points(v, r, n)
			if err != nil {
				return w, fmt.Errorf("prometheus source: query %s for side %s: %w", t.Name(), side, err)
			}
		}
		var req, errs float64
		for k := range n {
			if x := vals[0][k]; !math.IsNaN(x) {
				req += x
			}
			if x := vals[1][k]; !math.IsNaN(x) {
				errs += x
			}
			if x := vals[2][k]; !math.IsNaN(x) && !math.IsInf(x, 0) && x >= 0 && vals[0][k] > 0 {
				obs[i].Latency = append(obs[i].Latency, x)
			}
		}
		obs[i].Requests = int64(math.Round(req))
		obs[i].Errors = min(int64(math.Round(errs)), obs[i].Requests)
	}
	if obs[0].Requests == 0 && obs[1].Requests == 0 {
		return w, fmt.Errorf("prometheus source: no requests on either side of shift %q between %s and %s", p.shift, start.Format(time.RFC3339), end.Format(time.RFC3339))
	}
	w.From, w.To = obs[0], obs[1]
	return w, nil
}

// points lays one range-query answer out as n values, one per step (NaN
// where the answer has none). The answer must be a matrix of at most one
// series: a query that returns several has lost its sum().
func points(v model.Value, r v1.Range, n int) ([]float64, error) {
	out := make([]float64, n)
	for i := range out {
		out[i] = math.NaN()
	}
	m, ok := v.(model.Matrix)
	if !ok {
		return nil, fmt.Errorf("answer is a %s, want a matrix", typeName(v))
	}
	if len(m) > 1 {
		return nil, fmt.Errorf("answer has %d series, want one (aggregate with sum)", len(m))
	}
	if len(m) == 0 {
		return out, nil
	}
	for _, s := range m[0].Values {
		t := s.Timestamp.Time()
		k := int(math.Round(float64(t.Sub(r.Start)) / float64(r.Step)))
		if k < 0 || k >= n {
			continue
		}
		x := float64(s.Value)
		if x < 0 || math.IsInf(x, 0) {
			return nil, fmt.Errorf("value %v at %s: want a finite value >= 0", x, t.UTC().Format(time.RFC3339))
		}
		out[k] = x
	}
	return out, nil
}

func typeName(v model.Value) string {
	if v == nil {
		return "nothing"
	}
	return v.Type().String()
}
