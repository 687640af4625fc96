// Package rca ranks the likely root causes of a latency or error incident:
// it compares each service's behaviour in incident traces with a baseline
// window (latency of its own work, its own errors, what its callers see),
// then runs a personalised PageRank over the incident's call graph, in the
// manner of MicroRCA and MonitorRank, so that anomaly flows from the
// callers that suffer to the callees that cause it.
package rca

import (
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/owlstack/owl/internal/tracing"
)

// Node kinds.
const (
	KindService    = "service"    // a service that logs its own spans
	KindDependency = "dependency" // an untraced dependency (DynamoDB, ...) seen through its callers' client spans
)

// Symptom names where the incident is felt: a service, optionally one of
// its routes; the zero Symptom is every trace, from its entry.
type Symptom struct {
	Service string
	Route   string
}

// ParseSymptom reads "service" or "service/route", e.g. "api" or
// "api/POST /v1/sessions/{id}" (the route is what access logs record).
func ParseSymptom(s string) (Symptom, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Symptom{}, nil
	}
	svc, route, _ := strings.Cut(s, "/")
	sym := Symptom{Service: strings.TrimSpace(svc), Route: strings.TrimSpace(route)}
	if sym.Service == "" {
		return Symptom{}, fmt.Errorf("symptom %q: want service or service/route, e.g. api/POST /v1/sessions/{id}", s)
	}
	return sym, nil
}

// String formats the symptom as ParseSymptom reads it.
func (s Symptom) String() string {
	if s.Route == "" {
		return s.Service
	}
	return s.Service + "/" + s.Route
}

func (s Symptom) matches(sp *tracing.Span) bool {
	return sp.Kind == tracing.KindServer && sp.Service == s.Service && (s.Route == "" || sp.Route == s.Route)
}

// Observation is what one span says about one node: a server span about
// its service, or a call to an untraced dependency about that dependency.
type Observation struct {
	Node string
	Kind string // KindService or KindDependency
	// Route is the service's route, or for a dependency the calling
	// service and method ("cart POST").
	Route string
	// Caller is the calling node, "" at the entry (or at the symptom).
	Caller string
	Root   string // the trace root
	Start  time.Time
	// DurationUS is the span's duration; SelfUS is the part not spent
	// waiting for its own calls (nor in backoff between retries of a
	// failed call), which separates a slow service from its slow callers.
	DurationUS int64
	SelfUS     int64
	// Error is an answer of 500 or more; OwnError is one that no failed
	// call of the span's own explains.
	Error    bool
	OwnError bool
}

// Observe calls fn for every server span of t and every call from it to an
// untraced dependency; with a symptom, only for those at or below the
// symptom's spans. t's spans must be in owl's order (root first), as the
// stitcher and synth write them.
func Observe(t *tracing.Trace, sym Symptom, fn func(Observation)) {
	if len(t.Spans) == 0 {
		return
	}
	byID := make(map[string]int, len(t.Spans))
	for i := range t.Spans {
		byID[t.Spans[i].SpanID] = i
	}
	kids := make(map[int][]int, len(t.Spans))
	var tops []int
	for i := range t.Spans {
		p, ok := byID[t.Spans[i].ParentID]
		if t.Spans[i].ParentID == "" || !ok || p == i {
			tops = append(tops, i)
			continue
		}
		kids[p] = append(kids[p], i)
	}
	starts := tops
	if sym.Service != "" {
		starts = nil
		for i := range t.Spans {
			if sym.matches(&t.Spans[i]) {
				starts = append(starts, i)
			}
		}
	}
	o := observer{t: t, byID: byID, kids: kids, seen: make([]bool, len(t.Spans)), fn: fn}
	for _, i := range starts {
		o.walk(i, sym.Service == "")
	}
}

type observer struct {
	t    *tracing.Trace
	byID map[string]int
	kids map[int][]int
	seen []bool
	fn   func(Observation)
}

// walk visits span i and its subtree; entryCaller says whether the span's
// caller (when it is a server span) may be named: not at a symptom.
func (o *observer) walk(i int, entryCaller bool) {
	if o.seen[i] {
		return
	}
	o.seen[i] = true
	sp := &o.t.Spans[i]
	if sp.Kind == tracing.KindServer {
		o.server(i, entryCaller)
	}
	for _, k := range o.kids[i] {
		o.walk(k, true)
	}
}

func (o *observer) server(i int, nameCaller bool) {
	sp := &o.t.Spans[i]
	var calls []*tracing.Span
	for _, k := range o.kids[i] {
		if c := &o.t.Spans[k]; c.Kind == tracing.KindClient {
			calls = append(calls, c)
		}
	}
	slices.SortFunc(calls, func(a, b *tracing.Span) int { return a.Start.Compare(b.Start) })
	self, failedCall := selfTime(sp, calls)
	route := sp.Route
	if route == "" {
		route = strings.TrimSpace(sp.Method + " " + sp.Path)
	}
	ob := Observation{
		Node: sp.Service, Kind: KindService, Route: route, Root: o.t.Root, Start: sp.Start,
		DurationUS: sp.DurationUS, SelfUS: self, Error: sp.Status >= 500,
	}
	ob.OwnError = ob.Error && !failedCall
	if nameCaller {
		ob.Caller = o.callerOf(sp)
	}
	o.fn(ob)
	for _, c := range calls {
		if o.hasServer(c) {
			continue
		}
		o.fn(Observation{
			Node: peerNode(c), Kind: KindDependency, Route: strings.TrimSpace(sp.Service + " " + c.Method), Caller: sp.Service,
			Root: o.t.Root, Start: c.Start, DurationUS: c.DurationUS, SelfUS: c.DurationUS,
			Error: c.Status >= 500, OwnError: c.Status >= 500,
		})
	}
}

// callerOf names the service whose client span called server span sp,
// directly or through a load balancer.
func (o *observer) callerOf(sp *tracing.Span) string {
	for range 3 {
		p, ok := o.byID[sp.ParentID]
		if !ok || sp.ParentID == "" {
			return ""
		}
		sp = &o.t.Spans[p]
		switch sp.Kind {
		case tracing.KindClient:
			return sp.Service
		case tracing.KindServer:
			return "" // an orphan attached to another server span
		}
	}
	return ""
}

// hasServer reports whether client span c reached a traced service.
func (o *observer) hasServer(c *tracing.Span) bool {
	i := o.byID[c.SpanID]
	for _, k := range o.kids[i] {
		switch o.t.Spans[k].Kind {
		case tracing.KindServer:
			return true
		case tracing.KindLB:
			for _, kk := range o.kids[k] {
				if o.t.Spans[kk].Kind == tracing.KindServer {
					return true
				}
			}
		}
	}
	return false
}

// peerNode names the dependency a client span called: its host.
func peerNode(c *tracing.Span) string {
	p := c.Peer
	if h, _, err := net.SplitHostPort(p); err == nil {
		p = h
	}
	if p == "" {
		return "unknown-peer"
	}
	return p
}

// selfTime is sp's duration less the time it waited for calls (which must
// be sorted by start), counting the backoff between a failed call and its
// retry (a later call to the same peer, method and path) as waiting;
// failed says whether a call failed for good.
func selfTime(sp *tracing.Span, calls []*tracing.Span) (self int64, failed bool) {
	start, end := sp.Start, sp.End()
	type iv struct{ a, b time.Time }
	var ivs []iv
	add := func(a, b time.Time) {
		a, b = maxTime(a, start), minTime(b, end)
		if b.After(a) {
			ivs = append(ivs, iv{a, b})
		}
	}
	for i, c := range calls {
		add(c.Start, c.End())
		if c.Status < 500 {
			continue
		}
		retried := false
		for _, n := range calls[i+1:] {
			if n.Peer == c.Peer && n.Method == c.Method && n.Path == c.Path {
				add(c.End(), n.Start) // backoff before the retry
				retried = true
				break
			}
		}
		if !retried {
			failed = true
		}
	}
	slices.SortFunc(ivs, func(x, y iv) int { return x.a.Compare(y.a) })
	var waited time.Duration
	var cur iv
	for i, v := range ivs {
		switch {
		case i == 0:
			cur = v
		case !v.a.After(cur.b):
			cur.b = maxTime(cur.b, v.b)
		default:
			waited += cur.b.Sub(cur.a)
			cur = v
		}
	}
	if len(ivs) > 0 {
		waited += cur.b.Sub(cur.a)
	}
	return max(sp.DurationUS-waited.Microseconds(), 0), failed
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
