package graph

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/owlstack/owl/internal/tracing"
	"github.com/owlstack/owl/internal/tracing/synth"
)

func TestSketchQuantilesWithinError(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, dist := range []struct {
		name string
		gen  func() float64
	}{
		{"lognormal", func() float64 { return math.Exp(8 + 1.5*rng.NormFloat64()) }},
		{"uniform", func() float64 { return 1 + 1e6*rng.Float64() }},
		{"with zeros", func() float64 {
			if rng.IntN(3) == 0 {
				return 0
			}
			return float64(rng.IntN(5000))
		}},
	} {
		var s, a, b Sketch
		vals := make([]float64, 20000)
		for i := range vals {
			vals[i] = dist.gen()
			s.Add(vals[i])
			if i%2 == 0 {
				a.Add(vals[i])
			} else {
				b.Add(vals[i])
			}
		}
		a.Merge(&b)
		slices.Sort(vals)
		for _, q := range []float64{0, 0.01, 0.5, 0.9, 0.99, 1} {
			want := vals[int(q*float64(len(vals)-1))]
			for name, sk := range map[string]*Sketch{"added": &s, "merged": &a} {
				got := sk.Quantile(q)
				if math.Abs(got-want) > SketchError*want+1e-9 {
					t.Errorf("%s %s: q%.2f = %.2f, want %.2f within %.0f%%", dist.name, name, q, got, want, 100*SketchError)
				}
			}
		}
		if s.Count() != uint64(len(vals)) || a.Count() != s.Count() || math.Abs(s.Mean()-a.Mean()) > 1e-6*s.Mean() {
			t.Errorf("%s: count %d/%d, mean %v/%v", dist.name, s.Count(), a.Count(), s.Mean(), a.Mean())
		}
	}
	var empty Sketch
	if empty.Quantile(0.5) != 0 || empty.Mean() != 0 {
		t.Error("empty sketch is not zero")
	}
}

// TestEdgesMatchSyntheticTopology checks the graph of simulated fleets
// against their true topology: every edge, nothing else, right counts.
func TestEdgesMatchSyntheticTopology(t *testing.T) {
	for _, cfg := range []synth.Config{
		{Services: 6, Requests: 80, Seed: 1},
		{Services: 15, Requests: 60, Seed: 2, Patterns: []synth.Pattern{{Kind: synth.PatternNPlusOne, Service: "session", To: "streak", N: 6}}},
		{Services: 40, Requests: 20, Seed: 3, Faults: []synth.Fault{{Kind: synth.FaultErrors, Service: "course", Rate: 0.3}}},
	} {
		gt, err := synth.Truth(cfg)
		if err != nil {
			t.Fatal(err)
		}
		b := NewBuilder(Options{})
		if _, err := synth.Generate(cfg, func(tr *tracing.Trace) error { b.Add(tr); return nil }); err != nil {
			t.Fatal(err)
		}
		g := b.Build()
		var want, got []string
		for _, e := range gt.Edges {
			want = append(want, e.Caller+" -> "+e.Callee+" via "+e.Via)
		}
		for _, e := range g.Edges {
			got = append(got, e.Caller+" -> "+e.Callee+" via "+strings.Join(e.Via, ","))
			if e.Requests != int64(cfg.Requests) {
				t.Errorf("%d services: %s -> %s in %d requests, want all %d", cfg.Services, e.Caller, e.Callee, e.Requests, cfg.Requests)
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%d services: edges (-truth +graph):\n%s", cfg.Services, diff)
		}
		failing := map[string]bool{}
		for _, f := range gt.Failing {
			failing[f.Caller+" -> "+f.Callee] = true
		}
		for _, e := range g.Edges {
			if k := e.Caller + " -> " + e.Callee; failing[k] != (e.Errors > 0) {
				t.Errorf("%d services: %s has %d errors; truth says failing=%v", cfg.Services, k, e.Errors, failing[k])
			}
		}
		if g.Requests != int64(cfg.Requests) || g.Node(gt.Entry) == nil || g.Node(gt.Entry).Kind != KindLB {
			t.Errorf("%d services: %d requests, entry node %+v", cfg.Services, g.Requests, g.Node(gt.Entry))
		}
		if n := g.Node(synth.Dynamo); n != nil && n.Kind != KindExternal {
			t.Errorf("dynamo node kind %q", n.Kind)
		}
	}
}

// trace builds a small trace: lb -> api (side attr) -> cart (direct) and
// -> user (through an internal lb) and dynamo (external), plus an orphan.
func testTrace(root string, start time.Time, side string, userStatus int) *tracing.Trace {
	at := func(ms float64) time.Time { return start.Add(time.Duration(ms * float64(time.Millisecond))) }
	attrs := map[string]string{"side": side}
	return &tracing.Trace{Root: root, TraceID: root, Spans: []tracing.Span{
		{SpanID: "lb", Kind: tracing.KindLB, Service: "app/pub/1", Status: 200, Start: at(0), DurationUS: 20000, ReqBytes: 100, RespBytes: 5000},
		{SpanID: "api", ParentID: "lb", Kind: tracing.KindServer, Service: "api", Route: "POST /v1/x", Method: "POST", Status: 200, Start: at(0.5), DurationUS: 19000, RespBytes: 5000, Attrs: attrs},
		{SpanID: "c1", ParentID: "api", Kind: tracing.KindClient, Service: "api", Peer: "cart:80", Method: "GET", Status: 200, Start: at(1), DurationUS: 3000, ReqBytes: 10, RespBytes: 2000, Fingerprint: "f1"},
		{SpanID: "cart", ParentID: "c1", Kind: tracing.KindServer, Service: "cart", Route: "GET /cart/{id}", Method: "GET", Status: 200, Start: at(2), DurationUS: 1000, RespBytes: 2000, Encoding: "gzip"},
		{SpanID: "c2", ParentID: "api", Kind: tracing.KindClient, Service: "api", Peer: "internal-lb", Method: "GET", Status: userStatus, Start: at(5), DurationUS: 5000, RespBytes: 300},
		{SpanID: "ilb", ParentID: "c2", Kind: tracing.KindLB, Service: "app/int/2", Caller: "api", Status: userStatus, Start: at(5.2), DurationUS: 4500},
		{SpanID: "user", ParentID: "ilb", Kind: tracing.KindServer, Service: "user", Route: "GET /user/{id}", Status: userStatus, Start: at(5.5), DurationUS: 4000, RespBytes: 300, Attrs: map[string]string{"side": side}},
		{SpanID: "c3", ParentID: "user", Kind: tracing.KindClient, Service: "user", Peer: "dynamodb", Method: "POST", Path: "/", Status: 200, Start: at(6), DurationUS: 1000, RespBytes: 512},
		{SpanID: "orph", ParentID: "lb", Kind: tracing.KindServer, Service: "audit", Caller: "api", Status: 200, Start: at(12), DurationUS: 100, Orphan: true, MissingParent: "gone"},
	}}
}

func buildTest(opts Options) *Graph {
	b := NewBuilder(opts)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 10 {
		side, status := "old", 200
		if i%2 == 1 {
			side = "new"
			if i%4 == 1 {
				status = 503
			}
		}
		b.Add(testTrace("r"+string(rune('0'+i)), t0.Add(time.Duration(i)*time.Minute), side, status))
	}
	return b.Build()
}

func edgeNames(g *Graph) []string {
	var out []string
	for _, e := range g.Edges {
		out = append(out, e.Caller+">"+e.Callee)
	}
	return out
}

func TestBuildAndFilter(t *testing.T) {
	g := buildTest(Options{})
	if diff := cmp.Diff([]string{"api>audit", "api>cart", "api>user", "app/pub/1>api", "user>dynamodb"}, edgeNames(g)); diff != "" {
		t.Fatalf("edges (-want +got):\n%s", diff)
	}
	user := g.Edges[2]
	if user.Calls != 10 || user.Errors != 3 || math.Abs(user.ErrorRate-0.3) > 1e-9 || !slices.Equal(user.Via, []string{"app/int/2"}) {
		t.Errorf("api>user = %+v", user)
	}
	if user.NetworkP50US < 490 || user.NetworkP50US > 510 {
		t.Errorf("api>user network p50 = %v, want 500µs", user.NetworkP50US)
	}
	cart := g.Edges[1]
	if cart.Uncompressed != 0 || cart.LatencyP50US < 2970 || cart.LatencyP50US > 3030 || cart.RespBytesMean != 2000 || cart.Bytes != 10*2010 {
		t.Errorf("api>cart = %+v", cart)
	}
	if lb := g.Edges[3]; lb.Uncompressed != 1 || lb.Calls != 10 || lb.CallsPerRequest != 1 {
		t.Errorf("lb>api = %+v", lb)
	}
	if n := g.Node("audit"); n == nil || n.CallsIn != 10 {
		t.Errorf("orphan's callee: %+v", n)
	}
	if n := g.Node("dynamodb"); n == nil || n.Kind != KindExternal {
		t.Errorf("dynamodb: %+v", n)
	}

	for _, tc := range []struct {
		name string
		f    Filter
		want []string
	}{
		{"errors only", Filter{ErrorsOnly: true}, []string{"api>user"}},
		{"min resp bytes", Filter{MinRespBytes: 1000}, []string{"api>cart", "app/pub/1>api"}},
		{"min req bytes", Filter{MinReqBytes: 50}, []string{"app/pub/1>api"}},
		{"min traffic", Filter{MinBytes: 20100}, []string{"api>cart", "app/pub/1>api"}},
		{"latency above", Filter{LatencyAbove: 4 * time.Millisecond}, []string{"api>user", "app/pub/1>api"}},
		{"min calls", Filter{MinCalls: 11}, nil},
		{"neighbourhood 1", Filter{Service: "cart"}, []string{"api>cart"}},
		{"neighbourhood 2", Filter{Service: "cart", Depth: 2}, []string{"api>audit", "api>cart", "api>user", "app/pub/1>api"}},
		{"neighbourhood after edge filter", Filter{Service: "dynamodb", Depth: 3, ErrorsOnly: true}, nil},
	} {
		if diff := cmp.Diff(tc.want, edgeNames(g.Filter(tc.f))); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
	if f := g.Filter(Filter{Service: "dynamodb", ErrorsOnly: true}); len(f.Nodes) != 1 || f.Nodes[0].Name != "dynamodb" {
		t.Errorf("a focused service stays without edges: %+v", f.Nodes)
	}
	if f := g.Filter(Filter{ErrorsOnly: true}); len(f.Nodes) != 2 || len(g.Edges) != 5 {
		t.Errorf("filter changed the graph or kept idle nodes: %d nodes", len(f.Nodes))
	}
}

func TestSplitAttrsAndWindow(t *testing.T) {
	g := buildTest(Options{SplitBy: "side"})
	want := []string{"api>audit", "api@new>cart", "api@new>user@new", "api@old>cart", "api@old>user@old", "app/pub/1>api@new", "app/pub/1>api@old", "user@new>dynamodb", "user@old>dynamodb"}
	if diff := cmp.Diff(want, edgeNames(g)); diff != "" {
		t.Errorf("split (-want +got):\n%s", diff)
	}
	if n := g.Node("api@new"); n == nil || n.Service != "api" || n.Attr != "new" {
		t.Errorf("api@new = %+v", n)
	}
	if f := g.Filter(Filter{Service: "user"}); len(f.Edges) != 4 {
		t.Errorf("focus on a split service takes all its nodes: %v", edgeNames(f))
	}
	g = buildTest(Options{Attrs: map[string]string{"side": "new"}})
	for _, e := range g.Edges {
		if e.Caller == "app/pub/1" && e.Calls != 5 || e.Callee == "user" && (e.Calls != 5 || e.Errors != 3) {
			t.Errorf("side=new: %+v", e)
		}
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	g = buildTest(Options{From: t0.Add(2 * time.Minute), To: t0.Add(5 * time.Minute)})
	if g.Requests != 3 || !g.From.Equal(t0.Add(2*time.Minute)) || !g.To.Equal(t0.Add(4*time.Minute)) || g.Edges[0].Calls != 3 {
		t.Errorf("window: %d requests from %v to %v", g.Requests, g.From, g.To)
	}
}

func TestJSONAndDOT(t *testing.T) {
	g := buildTest(Options{})
	var buf bytes.Buffer
	if err := g.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var back Graph
	dec := json.NewDecoder(&buf)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(g, &back); diff != "" {
		t.Errorf("JSON round trip (-want +got):\n%s", diff)
	}
	dot := string(g.DOT())
	for _, want := range []string{
		`"app/pub/1" [label="app/pub/1", shape=diamond`,
		`"dynamodb" [label="dynamodb", shape=cylinder`,
		`"api" -> "user" [label="10 calls (1/req)\np99 5.0ms\n30.0% errors", penwidth=4.00, color="#c0392b"`,
		`"app/pub/1" -> "api" [label="10 calls (1/req)\np99 20.0ms", penwidth=4.00, style=dashed];`,
	} {
		if !strings.Contains(dot, want) {
			t.Errorf("DOT lacks %s:\n%s", want, dot)
		}
	}
	if string(buildTest(Options{}).DOT()) != dot {
		t.Error("DOT is not deterministic")
	}
	if got := dotID("a\"b\\c\\nd\x01"); got != `"a\"b\\c\nd"` {
		t.Errorf("dotID = %s", got)
	}
}
