package otlp

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/owlstack/owl/internal/tracing"
)

func TestOTLPJSONRoundTrip(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tr := &tracing.Trace{Root: "1-67891233-abcdef012345678912345678", TraceID: "67891233abcdef012345678912345678", Spans: []tracing.Span{
		{SpanID: "aaaaaaaaaaaaaaaa", Kind: "server", Service: "api", Route: "GET /x", Status: 500, Error: "server_error", Start: t0, DurationUS: 900},
		{SpanID: "bbbbbbbbbbbbbbbb", ParentID: "aaaaaaaaaaaaaaaa", Kind: "client", Service: "api", Peer: "db", Method: "POST", Path: "/", Status: 200, Start: t0.Add(time.Microsecond), DurationUS: 100},
		{SpanID: "cccccccccccccccc", ParentID: "aaaaaaaaaaaaaaaa", Kind: "server", Service: "db", Route: "POST /", Status: 200, Start: t0.Add(2 * time.Microsecond), DurationUS: 50},
	}}
	var buf bytes.Buffer
	w := NewWriter(&buf)
	if err := w.WriteTrace(tr); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	line := strings.TrimSuffix(buf.String(), "\n")
	if strings.Contains(line, "\n") {
		t.Fatal("more than one line for one trace")
	}
	// The OTLP JSON encoding: hex ids, integer enums, string nanoseconds.
	for _, want := range []string{`"traceId":"67891233abcdef012345678912345678"`, `"spanId":"bbbbbbbbbbbbbbbb"`, `"parentSpanId":"aaaaaaaaaaaaaaaa"`, `"kind":3`, `"kind":2`, `"startTimeUnixNano":"1767225600000000000"`, `"status":{"message":"server_error","code":2}`} {
		if !strings.Contains(line, want) {
			t.Errorf("missing %s in %s", want, line)
		}
	}
	var u ptrace.JSONUnmarshaler
	td, err := u.UnmarshalTraces([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if td.SpanCount() != 3 || td.ResourceSpans().Len() != 2 {
		t.Fatalf("%d spans in %d resources", td.SpanCount(), td.ResourceSpans().Len())
	}
	rs := td.ResourceSpans().At(0)
	if v, _ := rs.Resource().Attributes().Get("service.name"); v.Str() != "api" {
		t.Errorf("service.name = %v", v.Str())
	}
	sp := rs.ScopeSpans().At(0).Spans().At(1)
	if sp.Kind() != ptrace.SpanKindClient || sp.ParentSpanID().String() != "aaaaaaaaaaaaaaaa" || sp.EndTimestamp().AsTime().Sub(sp.StartTimestamp().AsTime()) != 100*time.Microsecond {
		t.Errorf("client span: kind %v parent %s", sp.Kind(), sp.ParentSpanID())
	}
}
