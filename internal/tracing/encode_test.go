package tracing

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// encodingJSON is what the Writer wrote before it encoded by hand.
func encodingJSON(t *testing.T, tr *Trace) string {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(tr); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func writeOne(t *testing.T, tr *Trace) string {
	t.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf)
	if err := w.WriteTrace(tr); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestWriterWritesWhatEncodingJSONWrites(t *testing.T) {
	var every strings.Builder
	for c := range 256 {
		every.WriteByte(byte(c))
	}
	every.WriteString("é\u2028\u2029😀<>&")
	paris := time.FixedZone("CET", 3600)
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tr := range []*Trace{
		{Root: "r"},
		{Root: "r", TraceID: "x", Spans: []Span{}},
		{Root: "1-67891233-abcdef012345678912345678", TraceID: "67891233abcdef012345678912345678", Spans: []Span{
			{SpanID: "a", Kind: KindLB, Service: "app/x/y", Status: 200, Start: t0, DurationUS: 100},
			{SpanID: "b", ParentID: "a", Kind: KindServer, Service: "svc", Caller: "api", Peer: "p:80", Method: "GET", Route: "GET /x/{id}", Path: "/x/1",
				Status: -1, Start: t0.Add(123456789), DurationUS: -5, ReqBytes: 1 << 50, RespBytes: 7, ContentType: "text/plain", Encoding: "gzip", AcceptEncoding: "gzip, br",
				Fingerprint: "f", Error: "server_error", Attrs: map[string]string{"z": "1", "a": every.String(), "m": ""}, Orphan: true, MissingParent: "q", SkewUS: -3},
			{SpanID: every.String(), Kind: KindClient, Service: "s", Start: t0.Add(100 * time.Millisecond)},
			{SpanID: "c", Start: time.Date(1999, 12, 31, 23, 59, 59, 1, paris), Attrs: map[string]string{}},
			{SpanID: "d", Start: time.Date(2026, 6, 1, 0, 0, 0, 120000000, time.UTC)},
			{SpanID: "e"},
		}},
	} {
		if got, want := writeOne(t, tr), encodingJSON(t, tr); got != want {
			t.Errorf("got\n%s\nwant\n%s", got, want)
		}
	}
}

func TestWriterRejectsWhatEncodingJSONRejects(t *testing.T) {
	tr := &Trace{Root: "r", Spans: []Span{{SpanID: "a", Start: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}}}
	if err := NewWriter(&bytes.Buffer{}).WriteTrace(tr); err == nil {
		t.Error("a year past 9999 was written")
	}
}
