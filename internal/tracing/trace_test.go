package tracing

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func TestOrderAndCriticalPath(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(us int) time.Time { return t0.Add(time.Duration(us) * time.Microsecond) }
	tr := &Trace{Root: "r", Spans: []Span{
		{SpanID: "c2", ParentID: "s", Start: at(50), DurationUS: 40},
		{SpanID: "s", ParentID: "lb", Start: at(5), DurationUS: 90},
		{SpanID: "c1", ParentID: "s", Start: at(10), DurationUS: 60}, // ends at 70: c2 ends at 90
		{SpanID: "x", ParentID: "c1", Start: at(12), DurationUS: 50},
		{SpanID: "lb", Start: at(0), DurationUS: 100},
		{SpanID: "lost", ParentID: "nowhere", Start: at(1), DurationUS: 1},
	}}
	Order(tr)
	var ids []string
	for _, s := range tr.Spans {
		ids = append(ids, s.SpanID)
	}
	if got := strings.Join(ids, " "); got != "lb s c1 x c2 lost" {
		t.Errorf("order = %s", got)
	}
	crit := CriticalPath(tr)
	if !crit["lb"] || !crit["s"] || !crit["c2"] || crit["c1"] || crit["x"] || len(crit) != 3 {
		t.Errorf("critical path = %v", crit)
	}
}

func TestReaderReportsFileLine(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	if err := w.WriteTrace(&Trace{Root: "1-a-b", TraceID: "x", Spans: []Span{{SpanID: "s"}}}); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	buf.WriteString("\n{\"root\":\"\"}\n")
	r := NewReader(&buf, "t.jsonl")
	if tr, err := r.Next(); err != nil || tr.Root != "1-a-b" {
		t.Fatalf("first = %v, %v", tr, err)
	}
	if _, err := r.Next(); err == nil || !strings.HasPrefix(err.Error(), "t.jsonl:3: ") {
		t.Errorf("err = %v, want t.jsonl:3", err)
	}
	if _, err := r.Next(); !errors.Is(err, io.EOF) {
		t.Errorf("err = %v, want EOF", err)
	}
}

func TestLBSpanID(t *testing.T) {
	a, b := LBSpanID("1-67891233-abcdef012345678912345678", ""), LBSpanID("1-67891233-abcdef012345678912345678", "1-67891233-aa")
	if len(a) != 16 || a == b || a != LBSpanID("1-67891233-abcdef012345678912345678", "") {
		t.Errorf("LBSpanID: %s %s", a, b)
	}
}
