// Package graph builds the service dependency graph of owl traces: nodes
// are services, load balancers and external dependencies (hosts that only
// their callers log, such as DynamoDB), edges are caller → callee with
// calls, calls per request, error rate, latency and size quantiles, the
// share of uncompressed responses and the network time between caller and
// callee.
//
// The builder streams: feed it one trace at a time and memory depends on
// the number of edges, not of spans. Quantiles come from logarithmic
// sketches with a relative error of SketchError (1%); counts, sums and
// means are exact.
//
//	b := graph.NewBuilder(graph.Options{SplitBy: "side"})
//	for each trace t { b.Add(t) }
//	g := b.Build().Filter(graph.Filter{MinCalls: 10})
//	g.WriteJSON(w) // or g.WriteDOT(w), or graphsvg.NewRenderer(0).SVG(ctx, g.DOT())
//
// Options select the traces and calls that count (time window, access-log
// attributes) and how nodes are named (split by an attribute); a Filter
// then trims the built graph (traffic, sizes, errors, latency, one
// service's neighbourhood) and can be applied many times to one build.
package graph

import (
	"cmp"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/owlstack/owl/internal/tracing"
)

// Options choose what a Builder counts.
type Options struct {
	// From and To keep the traces whose first span starts in [From, To);
	// a zero bound is open.
	From, To time.Time
	// Attrs keeps only the calls whose spans (caller's or callee's) carry
	// every one of these access-log attributes with these values.
	Attrs map[string]string
	// SplitBy names service nodes service@value by the value of this
	// access-log attribute (e.g. "side": api@old, api@new).
	SplitBy string
}

// Builder accumulates traces into a graph; it is not safe for concurrent use.
type Builder struct {
	opts     Options
	edges    map[edgeKey]*edgeAcc
	nodes    map[string]*nodeAcc
	requests int64
	seq      int64
	first    time.Time
	last     time.Time
}

type edgeKey struct{ caller, callee string }

type edgeAcc struct {
	calls, requests, errors int64
	lastSeq                 int64
	uncompressed, answered  int64
	latency, req, resp, net Sketch
	via                     map[string]bool
}

type nodeAcc struct {
	kind              string
	service, attr     string
	callsIn, callsOut int64
	errorsIn          int64
}

// NewBuilder returns an empty Builder.
func NewBuilder(opts Options) *Builder {
	return &Builder{opts: opts, edges: map[edgeKey]*edgeAcc{}, nodes: map[string]*nodeAcc{}}
}

// Add counts the calls of one trace; traces outside the time window are
// skipped. It reports whether the trace was counted.
func (b *Builder) Add(t *tracing.Trace) bool {
	if len(t.Spans) == 0 {
		return false
	}
	start := t.Spans[0].Start
	if !b.opts.From.IsZero() && start.Before(b.opts.From) || !b.opts.To.IsZero() && !start.Before(b.opts.To) {
		return false
	}
	b.seq++
	b.requests++
	if b.first.IsZero() || start.Before(b.first) {
		b.first = start
	}
	if start.After(b.last) {
		b.last = start
	}
	for _, c := range Calls(t, b.opts.SplitBy) {
		if !matchAttrs(c.Attrs, b.opts.Attrs) {
			continue
		}
		b.add(&c)
	}
	// A load balancer in front is a node even when nothing answered it.
	if s := &t.Spans[0]; s.Kind == tracing.KindLB {
		b.node(s.Service, KindLB)
	}
	return true
}

func matchAttrs(have, want map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

func (b *Builder) node(name, kind string) *nodeAcc {
	n := b.nodes[name]
	if n == nil {
		n = &nodeAcc{kind: kind, service: name}
		if kind == KindService && b.opts.SplitBy != "" {
			if s, v, ok := strings.Cut(name, "@"); ok {
				n.service, n.attr = s, v
			}
		}
		b.nodes[name] = n
	}
	return n
}

func (b *Builder) add(c *Call) {
	k := edgeKey{c.Caller, c.Callee}
	e := b.edges[k]
	if e == nil {
		e = &edgeAcc{}
		b.edges[k] = e
	}
	e.calls++
	if e.lastSeq != b.seq {
		e.lastSeq = b.seq
		e.requests++
	}
	b.node(c.Caller, c.CallerKind).callsOut++
	callee := b.node(c.Callee, c.CalleeKind)
	callee.callsIn++
	if c.Failed {
		e.errors++
		callee.errorsIn++
	}
	e.latency.Add(float64(c.DurationUS))
	e.req.Add(float64(c.ReqBytes))
	e.resp.Add(float64(c.RespBytes))
	if c.NetworkUS >= 0 {
		e.net.Add(float64(c.NetworkUS))
	}
	if c.RespBytes > 0 && !c.Failed {
		e.answered++
		if c.Encoding == "" || c.Encoding == "identity" {
			e.uncompressed++
		}
	}
	if c.Via != "" && len(e.via) < 8 {
		if e.via == nil {
			e.via = map[string]bool{}
		}
		e.via[c.Via] = true
	}
}

// Graph is a built dependency graph. Its JSON form (WriteJSON) is stable:
// fields are only ever added.
type Graph struct {
	// Requests is the number of traces counted.
	Requests int64 `json:"requests"`
	// From and To are the start times of the first and last trace counted.
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// SplitBy is the attribute service nodes are split by, if any.
	SplitBy string `json:"split_by,omitempty"`
	// Nodes are sorted by name, Edges by caller then callee.
	Nodes []Node `json:"nodes"`
	Edges []Edge `json:"edges"`
}

// Node is a service, a load balancer or an external dependency.
type Node struct {
	// Name identifies the node: the service (service@value when split),
	// the load balancer as its logs name it, or the dependency's host.
	Name string `json:"name"`
	// Kind is KindService, KindLB, KindExternal or KindUnknown.
	Kind string `json:"kind"`
	// Service and Attr are Name's two parts when the graph is split.
	Service string `json:"service"`
	Attr    string `json:"attr,omitempty"`
	// CallsIn and CallsOut count the calls the node received and made.
	CallsIn  int64 `json:"calls_in"`
	CallsOut int64 `json:"calls_out"`
	// ErrorsIn counts the calls to the node that failed.
	ErrorsIn int64 `json:"errors_in"`
}

// Edge is the calls from one node to another.
type Edge struct {
	Caller string `json:"caller"`
	Callee string `json:"callee"`
	// Via lists the internal load balancers the calls went through.
	Via []string `json:"via,omitempty"`
	// Calls counts the calls; Requests the traces with at least one.
	Calls    int64 `json:"calls"`
	Requests int64 `json:"requests"`
	// CallsPerRequest is Calls / Requests: above 1 when a request calls
	// the callee several times.
	CallsPerRequest float64 `json:"calls_per_request"`
	// Errors counts failed calls (5xx or no answer); ErrorRate is Errors / Calls.
	Errors    int64   `json:"errors"`
	ErrorRate float64 `json:"error_rate"`
	// Latency as the caller waited, in µs (quantiles within 1%, rounded to
	// whole units like the size quantiles).
	LatencyMeanUS float64 `json:"latency_mean_us"`
	LatencyP50US  float64 `json:"latency_p50_us"`
	LatencyP99US  float64 `json:"latency_p99_us"`
	// Request and response body sizes in bytes.
	ReqBytesMean  float64 `json:"req_bytes_mean"`
	ReqBytesP99   float64 `json:"req_bytes_p99"`
	RespBytesMean float64 `json:"resp_bytes_mean"`
	RespBytesP99  float64 `json:"resp_bytes_p99"`
	// Bytes is the traffic: request plus response bytes of all calls.
	Bytes int64 `json:"bytes"`
	// Uncompressed is the share of successful non-empty responses sent
	// without a Content-Encoding.
	Uncompressed float64 `json:"uncompressed"`
	// NetworkP50US and NetworkP99US are the time between the caller's
	// send and the callee's receive, over the calls where both logged
	// (0 when none did).
	NetworkP50US float64 `json:"network_p50_us"`
	NetworkP99US float64 `json:"network_p99_us"`
}

// Build returns the graph of the traces added so far; the Builder can go
// on accumulating.
func (b *Builder) Build() *Graph {
	g := &Graph{Requests: b.requests, From: b.first, To: b.last, SplitBy: b.opts.SplitBy, Nodes: []Node{}, Edges: []Edge{}}
	for name, n := range b.nodes {
		g.Nodes = append(g.Nodes, Node{Name: name, Kind: n.kind, Service: n.service, Attr: n.attr, CallsIn: n.callsIn, CallsOut: n.callsOut, ErrorsIn: n.errorsIn})
	}
	slices.SortFunc(g.Nodes, func(a, b Node) int { return strings.Compare(a.Name, b.Name) })
	for k, e := range b.edges {
		ed := Edge{
			Caller: k.caller, Callee: k.callee, Calls: e.calls, Requests: e.requests,
			CallsPerRequest: float64(e.calls) / float64(max(e.requests, 1)),
			Errors:          e.errors, ErrorRate: float64(e.errors) / float64(max(e.calls, 1)),
			LatencyMeanUS: round3(e.latency.Mean()), LatencyP50US: math.Round(e.latency.Quantile(0.5)), LatencyP99US: math.Round(e.latency.Quantile(0.99)),
			ReqBytesMean: round3(e.req.Mean()), ReqBytesP99: math.Round(e.req.Quantile(0.99)),
			RespBytesMean: round3(e.resp.Mean()), RespBytesP99: math.Round(e.resp.Quantile(0.99)),
			Bytes:        int64(e.req.sum + e.resp.sum),
			NetworkP50US: math.Round(e.net.Quantile(0.5)), NetworkP99US: math.Round(e.net.Quantile(0.99)),
		}
		if e.answered > 0 {
			ed.Uncompressed = float64(e.uncompressed) / float64(e.answered)
		}
		ed.Via = slices.Sorted(maps.Keys(e.via))
		g.Edges = append(g.Edges, ed)
	}
	slices.SortFunc(g.Edges, func(a, b Edge) int {
		return cmp.Or(strings.Compare(a.Caller, b.Caller), strings.Compare(a.Callee, b.Callee))
	})
	return g
}

// round3 rounds to three decimals: quantiles are whole units (they are
// within 1% anyway) and means need no more digits to be read.
func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

// Filter trims a graph; the zero Filter keeps everything.
type Filter struct {
	// MinCalls keeps edges with at least this many calls.
	MinCalls int64
	// MinBytes keeps edges with at least this much traffic (request plus
	// response bytes).
	MinBytes int64
	// MinReqBytes and MinRespBytes keep edges whose mean request or
	// response body is at least this big.
	MinReqBytes  float64
	MinRespBytes float64
	// ErrorsOnly keeps edges with at least one failed call.
	ErrorsOnly bool
	// LatencyAbove keeps edges whose p99 latency is above it.
	LatencyAbove time.Duration
	// Service keeps only this service (all its split nodes) and the nodes
	// within Depth edges of it, in either direction, after the edge
	// filters above.
	Service string
	// Depth is the neighbourhood's radius; 0 with a Service is 1.
	Depth int
}

// Filter returns the edges of g that pass f and the nodes they touch (a
// focused service is kept even without edges). g is not changed.
func (g *Graph) Filter(f Filter) *Graph {
	out := *g
	out.Edges = nil
	for _, e := range g.Edges {
		if e.Calls < f.MinCalls || e.Bytes < f.MinBytes || e.ReqBytesMean < f.MinReqBytes || e.RespBytesMean < f.MinRespBytes ||
			f.ErrorsOnly && e.Errors == 0 || f.LatencyAbove > 0 && e.LatencyP99US <= float64(f.LatencyAbove.Microseconds()) {
			continue
		}
		out.Edges = append(out.Edges, e)
	}
	keep := map[string]bool{}
	if f.Service != "" {
		depth := max(f.Depth, 1)
		for _, n := range g.Nodes {
			if n.Name == f.Service || n.Service == f.Service {
				keep[n.Name] = true
			}
		}
		frontier := maps.Clone(keep)
		for range depth {
			next := map[string]bool{}
			for _, e := range out.Edges {
				if frontier[e.Caller] && !keep[e.Callee] {
					next[e.Callee] = true
				}
				if frontier[e.Callee] && !keep[e.Caller] {
					next[e.Caller] = true
				}
			}
			maps.Copy(keep, next)
			frontier = next
		}
		out.Edges = slices.DeleteFunc(out.Edges, func(e Edge) bool { return !keep[e.Caller] || !keep[e.Callee] })
	} else if f == (Filter{}) {
		out.Edges = slices.Clone(g.Edges)
		out.Nodes = slices.Clone(g.Nodes)
		return &out
	}
	for _, e := range out.Edges {
		keep[e.Caller], keep[e.Callee] = true, true
	}
	out.Nodes = nil
	for _, n := range g.Nodes {
		if keep[n.Name] {
			out.Nodes = append(out.Nodes, n)
		}
	}
	if out.Edges == nil {
		out.Edges = []Edge{}
	}
	if out.Nodes == nil {
		out.Nodes = []Node{}
	}
	return &out
}

// Node returns the node named name, or nil.
func (g *Graph) Node(name string) *Node {
	i, ok := slices.BinarySearchFunc(g.Nodes, name, func(n Node, name string) int { return strings.Compare(n.Name, name) })
	if !ok {
		return nil
	}
	return &g.Nodes[i]
}
