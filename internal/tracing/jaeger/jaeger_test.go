package jaeger

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/owlstack/owl/internal/tracing"
)

// The Jaeger UI's model (packages/jaeger-ui/src/types/trace.tsx), mirrored:
// decoding what we write strictly into it proves we write no field it
// does not know, and checking the fields proves we fill the ones it needs.
type uiDoc struct {
	Data []uiTrace `json:"data"`
}
type uiTrace struct {
	TraceID   string               `json:"traceID"`
	Spans     []uiSpan             `json:"spans"`
	Processes map[string]uiProcess `json:"processes"`
	Warnings  []string             `json:"warnings"`
}
type uiSpan struct {
	TraceID       string `json:"traceID"`
	SpanID        string `json:"spanID"`
	OperationName string `json:"operationName"`
	References    []struct {
		RefType string `json:"refType"`
		TraceID string `json:"traceID"`
		SpanID  string `json:"spanID"`
	} `json:"references"`
	StartTime int64   `json:"startTime"`
	Duration  int64   `json:"duration"`
	Tags      []uiKV  `json:"tags"`
	Logs      []uiLog `json:"logs"`
	ProcessID string  `json:"processID"`
	Warnings  []string
}
type uiKV struct {
	Key   string `json:"key"`
	Type  string `json:"type"`
	Value any    `json:"value"`
}
type uiLog struct {
	Timestamp int64  `json:"timestamp"`
	Fields    []uiKV `json:"fields"`
}
type uiProcess struct {
	ServiceName string `json:"serviceName"`
	Tags        []uiKV `json:"tags"`
}

func sample() *tracing.Trace {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return &tracing.Trace{Root: "1-67891233-abcdef012345678912345678", TraceID: "67891233abcdef012345678912345678", Spans: []tracing.Span{
		{SpanID: "aaaaaaaaaaaaaaaa", Kind: "lb", Service: "app/pub/1", Method: "GET", Path: "/x", Status: 200, Start: t0, DurationUS: 900},
		{SpanID: "bbbbbbbbbbbbbbbb", ParentID: "aaaaaaaaaaaaaaaa", Kind: "server", Service: "api", Route: "GET /x", Status: 503, Error: "server_error", Start: t0.Add(100 * time.Microsecond), DurationUS: 700, Attrs: map[string]string{"side": "new"}},
		{SpanID: "cccccccccccccccc", ParentID: "aaaaaaaaaaaaaaaa", Kind: "server", Service: "api", Route: "GET /y", Status: 200, Orphan: true, MissingParent: "dddddddddddddddd", Start: t0.Add(200 * time.Microsecond), DurationUS: 100},
	}}
}

func TestDocumentLoadsInJaegerModel(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for range 2 {
		if err := w.WriteTrace(sample()); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(&buf)
	dec.DisallowUnknownFields()
	var doc uiDoc
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("strict decode: %v\n%s", err, buf.String())
	}
	if len(doc.Data) != 2 {
		t.Fatalf("%d traces", len(doc.Data))
	}
	tr := doc.Data[0]
	if tr.TraceID != "67891233abcdef012345678912345678" || len(tr.Spans) != 3 || len(tr.Processes) != 2 {
		t.Fatalf("trace = %+v", tr)
	}
	root, srv, orphan := tr.Spans[0], tr.Spans[1], tr.Spans[2]
	if len(root.References) != 0 || root.StartTime != 1767225600000000 || root.Duration != 900 || tr.Processes[root.ProcessID].ServiceName != "app/pub/1" {
		t.Errorf("root = %+v", root)
	}
	if len(srv.References) != 1 || srv.References[0].RefType != "CHILD_OF" || srv.References[0].SpanID != root.SpanID || srv.OperationName != "GET /x" {
		t.Errorf("server = %+v", srv)
	}
	tags := map[string]any{}
	for _, kv := range srv.Tags {
		tags[kv.Key] = kv.Value
	}
	if tags["error"] != true || tags["http.status_code"] != float64(503) || tags["owl.attr.side"] != "new" || tags["span.kind"] != "server" {
		t.Errorf("server tags = %v", tags)
	}
	if len(orphan.Warnings) != 1 {
		t.Errorf("orphan warnings = %v", orphan.Warnings)
	}
}

func TestEmptyDocument(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	var doc uiDoc
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil || doc.Data == nil || len(doc.Data) != 0 {
		t.Errorf("%q: %v", buf.String(), err)
	}
}
