package rca

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/owlstack/owl/internal/tracing"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// chain builds a trace: lb → api → (call) → cart → (call) → payment, and
// cart → DynamoDB. Self times are in µs; payStatus is payment's answer.
func chain(n int, apiSelf, cartSelf, paySelf, dynUS int64, payStatus int) *tracing.Trace {
	root := fmt.Sprintf("1-00000000-%024x", n)
	at := func(us int64) time.Time {
		return t0.Add(time.Duration(n)*time.Second + time.Duration(us)*time.Microsecond)
	}
	status := func(s int) int {
		if s >= 500 {
			return 502
		}
		return 200
	}
	payStart := int64(300)
	payEnd := payStart + paySelf
	dynStart := payEnd + 50
	dynEnd := dynStart + dynUS
	cartEnd := dynEnd + cartSelf
	apiEnd := cartEnd + 100 + apiSelf
	sp := []tracing.Span{
		{SpanID: "lb", Kind: tracing.KindLB, Service: "app/lb/1", Start: at(0), DurationUS: apiEnd + 100, Status: status(payStatus)},
		{SpanID: "api", ParentID: "lb", Kind: tracing.KindServer, Service: "api", Route: "POST /v1/sessions/{id}", Start: at(50), DurationUS: apiEnd - 50, Status: status(payStatus)},
		{SpanID: "c1", ParentID: "api", Kind: tracing.KindClient, Service: "api", Peer: "cart.internal:8080", Method: "GET", Path: "/v1/cart/1", Start: at(100), DurationUS: cartEnd + 50 - 100, Status: status(payStatus)},
		{SpanID: "cart", ParentID: "c1", Kind: tracing.KindServer, Service: "cart", Route: "GET /v1/cart/{id}", Start: at(150), DurationUS: cartEnd - 150, Status: status(payStatus)},
		{SpanID: "c2", ParentID: "cart", Kind: tracing.KindClient, Service: "cart", Peer: "payment.internal:8080", Method: "GET", Path: "/v1/payment/1", Start: at(200), DurationUS: payEnd + 50 - 200, Status: payStatus},
		{SpanID: "pay", ParentID: "c2", Kind: tracing.KindServer, Service: "payment", Route: "GET /v1/payment/{id}", Start: at(payStart), DurationUS: paySelf, Status: payStatus},
		{SpanID: "c3", ParentID: "cart", Kind: tracing.KindClient, Service: "cart", Peer: "dynamodb.us-east-1.amazonaws.com", Method: "POST", Path: "/", Start: at(dynStart), DurationUS: dynUS, Status: 200},
	}
	t := &tracing.Trace{Root: root, Spans: sp}
	tracing.Order(t)
	return t
}

func TestObserveSelfTimeAndOwnErrors(t *testing.T) {
	tr := chain(1, 1000, 2000, 3000, 700, 500)
	got := map[string]Observation{}
	Observe(tr, Symptom{}, func(o Observation) { got[o.Node] = o })
	if len(got) != 4 {
		t.Fatalf("observed %v, want api, cart, payment and DynamoDB", got)
	}
	for node, want := range map[string]struct {
		self          int64
		caller        string
		err, ownError bool
	}{
		"api":                              {1000 + 50 + 50, "", true, false},
		"cart":                             {2000 + 50, "api", true, false},
		"payment":                          {3000, "cart", true, true},
		"dynamodb.us-east-1.amazonaws.com": {700, "cart", false, false},
	} {
		o := got[node]
		if o.SelfUS != want.self || o.Caller != want.caller || o.Error != want.err || o.OwnError != want.ownError {
			t.Errorf("%s: self %d caller %q error %v own %v; want %+v", node, o.SelfUS, o.Caller, o.Error, o.OwnError, want)
		}
	}
	// With a symptom, only the symptom's subtree, and no caller above it.
	got = map[string]Observation{}
	Observe(tr, Symptom{Service: "cart"}, func(o Observation) { got[o.Node] = o })
	if _, ok := got["api"]; ok || len(got) != 3 || got["cart"].Caller != "" {
		t.Errorf("symptom cart: observed %v", got)
	}
	got = map[string]Observation{}
	Observe(tr, Symptom{Service: "cart", Route: "GET /nope"}, func(o Observation) { got[o.Node] = o })
	if len(got) != 0 {
		t.Errorf("unknown route: observed %v", got)
	}
}

func TestSelfTimeCountsRetryBackoffAsWaiting(t *testing.T) {
	at := func(us int64) time.Time { return t0.Add(time.Duration(us) * time.Microsecond) }
	srv := &tracing.Span{Start: at(0), DurationUS: 10000, Status: 200}
	fail := &tracing.Span{Peer: "p", Method: "GET", Path: "/a", Start: at(1000), DurationUS: 1000, Status: 503}
	retry := &tracing.Span{Peer: "p", Method: "GET", Path: "/a", Start: at(6000), DurationUS: 1000, Status: 200}
	other := &tracing.Span{Peer: "p", Method: "GET", Path: "/b", Start: at(6500), DurationUS: 3000, Status: 200}
	self, failed := selfTime(srv, []*tracing.Span{fail, retry})
	if self != 10000-6000 || failed {
		t.Errorf("retried call: self %d failed %v; want 4000, false", self, failed)
	}
	// Another path is not a retry: the backoff is the service's own time
	// and the failure stands. Overlapping calls are counted once.
	self, failed = selfTime(srv, []*tracing.Span{fail, other})
	if self != 10000-1000-3000 || !failed {
		t.Errorf("no retry: self %d failed %v; want 6000, true", self, failed)
	}
	self, _ = selfTime(srv, []*tracing.Span{fail, retry, other})
	if self != 10000-(9500-1000) {
		t.Errorf("overlap: self %d, want 1500", self)
	}
}

func profiles(sym Symptom, base, inc func(n int) *tracing.Trace) (*Profile, *Profile) {
	b, i := NewProfile(sym), NewProfile(sym)
	for n := range 60 {
		b.Add(base(n))
		i.Add(inc(1000 + n))
	}
	return b, i
}

// jitter makes reproducible noise of ±10%.
func jitter(n int, us int64) int64 { return us + us*int64((n*7919)%21-10)/100 }

func TestRankFindsTheCauseNotItsCallers(t *testing.T) {
	normal := func(n int) *tracing.Trace {
		return chain(n, jitter(n, 1000), jitter(n+3, 2000), jitter(n+5, 3000), jitter(n+11, 800), 200)
	}
	for _, c := range []struct {
		name  string
		inc   func(n int) *tracing.Trace
		cause string
	}{
		{"slow payment", func(n int) *tracing.Trace {
			return chain(n, jitter(n, 1000), jitter(n+3, 2000), jitter(n+5, 3000)+20000, jitter(n+11, 800), 200)
		}, "payment"},
		{"failing payment", func(n int) *tracing.Trace {
			status := 200
			if n%4 == 0 {
				status = 500
			}
			return chain(n, jitter(n, 1000), jitter(n+3, 2000), jitter(n+5, 3000), jitter(n+11, 800), status)
		}, "payment"},
		{"slow DynamoDB", func(n int) *tracing.Trace {
			return chain(n, jitter(n, 1000), jitter(n+3, 2000), jitter(n+5, 3000), jitter(n+11, 800)+15000, 200)
		}, "dynamodb.us-east-1.amazonaws.com"},
		{"slow cart", func(n int) *tracing.Trace {
			return chain(n, jitter(n, 1000), jitter(n+3, 2000)+9000, jitter(n+5, 3000), jitter(n+11, 800), 200)
		}, "cart"},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, i := profiles(Symptom{}, normal, c.inc)
			sus, err := Rank(b, i, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if sus[0].Node != c.cause {
				t.Fatalf("first suspect %s, want %s: %+v", sus[0].Node, c.cause, sus)
			}
			sum := 0.0
			for _, s := range sus {
				sum += s.Score
			}
			if sum < 0.999 || sum > 1.001 {
				t.Errorf("scores sum to %v", sum)
			}
			top := sus[0]
			if top.Anomaly < 0.5 || top.Evidence.IncidentCalls != 60 || top.Evidence.BaselineCalls != 60 || len(top.Evidence.Examples) != maxExamples {
				t.Errorf("evidence: %+v", top)
			}
			// api suffers everything but is never the cause here.
			for _, s := range sus {
				if s.Node == "api" && s.Anomaly > 0.1 {
					t.Errorf("api's own anomaly %v", s.Anomaly)
				}
			}
		})
	}
}

func TestRankErrorsAndTop(t *testing.T) {
	normal := func(n int) *tracing.Trace { return chain(n, 1000, 2000, 3000, 800, 200) }
	b, i := profiles(Symptom{}, normal, normal)
	sus, err := Rank(b, i, Options{Top: 2})
	if err != nil || len(sus) != 2 {
		t.Fatalf("Rank top 2 = %v, %v", sus, err)
	}
	if _, err := Rank(NewProfile(Symptom{}), i, Options{}); !errors.Is(err, ErrNoTraces) || err.Error() != "baseline window: no traces" {
		t.Errorf("empty baseline: %v", err)
	}
	b, i = profiles(Symptom{Service: "nope"}, normal, normal)
	if _, err := Rank(b, i, Options{}); err == nil || err.Error() != "incident window: no traces through nope" {
		t.Errorf("unknown symptom: %v", err)
	}
}
