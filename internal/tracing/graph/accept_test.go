package graph

import (
	"testing"
	"time"

	"github.com/owlstack/owl/internal/tracing"
)

// TestCallsAcceptEncoding checks where a call's Accept-Encoding comes
// from: the callee's span, else the caller's, else an attribute; a call
// without one in a trace whose logs record it had none ("identity"), and
// only logs that never record it leave it unknown.
func TestCallsAcceptEncoding(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	trace := func(apiAE, callAE, cartAE string, attrs map[string]string) *tracing.Trace {
		return &tracing.Trace{Root: "r", Spans: []tracing.Span{
			{SpanID: "a", Kind: tracing.KindServer, Service: "api", Start: t0, DurationUS: 100, AcceptEncoding: apiAE},
			{SpanID: "b", ParentID: "a", Kind: tracing.KindClient, Service: "api", Peer: "cart:80", Start: t0, DurationUS: 50, AcceptEncoding: callAE},
			{SpanID: "c", ParentID: "b", Kind: tracing.KindServer, Service: "cart", Start: t0, DurationUS: 40, AcceptEncoding: cartAE, Attrs: attrs},
		}}
	}
	for _, tc := range []struct {
		name                string
		apiAE, callAE, cart string
		attrs               map[string]string
		want                string
	}{
		{"callee's log", "gzip", "br", "zstd", nil, "zstd"},
		{"caller's log", "gzip", "br", "", nil, "br"},
		{"attribute", "", "", "", map[string]string{"accept_encoding": "deflate"}, "deflate"},
		{"recorded elsewhere: none sent", "gzip", "", "", nil, "identity"},
		{"never recorded: unknown", "", "", "", nil, ""},
	} {
		calls := Calls(trace(tc.apiAE, tc.callAE, tc.cart, tc.attrs), "")
		var got *Call
		for i := range calls {
			if calls[i].Callee == "cart" {
				got = &calls[i]
			}
		}
		if got == nil {
			t.Fatalf("%s: no call to cart in %+v", tc.name, calls)
		}
		if got.AcceptEncoding != tc.want {
			t.Errorf("%s: AcceptEncoding %q, want %q", tc.name, got.AcceptEncoding, tc.want)
		}
	}
}
