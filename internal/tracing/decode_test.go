package tracing

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// agree checks that decodeTrace accepts what encoding/json accepts and
// decodes it to the same value, exactly (nil and empty told apart).
func agree(t *testing.T, line string) {
	t.Helper()
	var want, got Trace
	werr := json.Unmarshal([]byte(line), &want)
	gerr := decodeTrace(line, &got, &interner{})
	if (werr == nil) != (gerr == nil) {
		t.Fatalf("%q: encoding/json says %v, decodeTrace says %v", line, werr, gerr)
	}
	if werr == nil && !reflect.DeepEqual(want, got) {
		t.Fatalf("%q: decoded differently (-encoding/json +decodeTrace):\n%s", line, cmp.Diff(want, got))
	}
}

func richTrace() *Trace {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return &Trace{Root: "1-67891233-abcdef012345678912345678", TraceID: "67891233abcdef012345678912345678", Spans: []Span{
		{SpanID: "a", Kind: KindLB, Service: "app/x/y", Status: 200, Start: t0, DurationUS: 100, Attrs: map[string]string{"error_reason": "x"}},
		{SpanID: "b", ParentID: "a", Kind: KindServer, Service: "svc", Caller: "api", Peer: "p:80", Method: "GET", Route: "GET /x/{id}", Path: "/x/é\"\\\n\u2028",
			Status: -1, Start: t0.Add(123456789), DurationUS: -5, ReqBytes: 1 << 50, RespBytes: 7, ContentType: "text/plain", Encoding: "gzip", AcceptEncoding: "gzip, br",
			Fingerprint: "f", Error: "server_error", Attrs: map[string]string{"z": "1", "a": "\x00\x1f<>&", "m": ""}, Orphan: true, MissingParent: "q", SkewUS: -3},
		{SpanID: "c", Kind: KindClient, Service: "s", Start: t0.Add(100 * time.Millisecond), Attrs: map[string]string{}},
		{SpanID: "d", Start: time.Date(1999, 12, 31, 23, 59, 59, 1, time.FixedZone("CET", 3600))},
		{SpanID: "e", Start: time.Date(2026, 6, 1, 0, 0, 0, 120000000, time.UTC)},
		{SpanID: "f"},
	}}
}

func TestDecodeTraceReadsWhatTheWriterWrites(t *testing.T) {
	line := strings.TrimSuffix(writeOne(t, richTrace()), "\n")
	agree(t, line)
	var got Trace
	if err := decodeTrace(line, &got, nil); err != nil {
		t.Fatal(err)
	}
	if again := strings.TrimSuffix(writeOne(t, &got), "\n"); again != line {
		t.Errorf("decoded and written again:\n%s\nwant\n%s", again, line)
	}
}

// decodeCases are lines where encoding/json's rules are easy to miss.
var decodeCases = []string{
	`null`, ` {} `, `{"root":"r","spans":[]}`, `{"root":"r","spans":null}`, `{"root":"r","spans":[null,{}]}`,
	`{"ROOT":"r","Trace_ID":"x","SPANS":[{"SPAN_ID":"a","Status":3,"ORPHAN":true}]}`,
	`{"root":"r","spans":[{"ſpan_id":"long s folds to s","\u212aind":"kelvin folds to k"}]}`,
	`{"root":"a","root":"b","root":null}`,
	`{"root":"r","spans":[{"span_id":"a","status":1},{"span_id":"b"}],"spans":[{"status":2}]}`,
	`{"root":"r","spans":[{"span_id":"a"},{"span_id":"b"}],"spans":[{"status":2}],"spans":[{},{"status":3}]}`,
	`{"root":"r","spans":[{"attrs":{"a":"1"},"attrs":{"b":null}}]}`,
	`{"root":"r","spans":[{"attrs":{"a":"1"},"attrs":null}]}`,
	`{"root":"r","spans":[{"attrs":{"a":1}}]}`, `{"root":"r","spans":[{"attrs":[]}]}`,
	`{"root":"r","unknown":{"a":[1,2.5e-3,true,false,null,"x",{}]},"spans":[{"more":[[]]}]}`,
	`{"root":"\u0072\ud83d\ude00\ud800x\udc00\\\/\b\f\n\r\t","spans":[{}]}`,
	"{\"root\":\"\xff\xfe invalid utf-8\",\"spans\":[{}]}",
	"{\"root\":\"a\x01b\"}", `{"root":"\x"}`, `{"root":"\u12"}`, `{"root":"unterminated`,
	`{"root":"r","spans":[{"status":1.0}]}`, `{"root":"r","spans":[{"status":1e2}]}`, `{"root":"r","spans":[{"status":-0}]}`,
	`{"root":"r","spans":[{"status":9223372036854775808}]}`, `{"root":"r","spans":[{"duration_us":-9223372036854775808}]}`,
	`{"root":"r","spans":[{"status":"200"}]}`, `{"root":"r","spans":[{"status":01}]}`, `{"root":"r","spans":[{"status":-}]}`,
	`{"root":"r","spans":[{"orphan":"true"}]}`, `{"root":"r","spans":[{"orphan":false,"orphan":null}]}`,
	`{"root":"r","spans":[{"start":"2026-01-01T00:00:00Z"}]}`, `{"root":"r","spans":[{"start":"2026-01-01T00:00:00.123456789Z"}]}`,
	`{"root":"r","spans":[{"start":"2026-01-01T00:00:00.1234567891Z"}]}`, `{"root":"r","spans":[{"start":"2026-01-01T00:00:00.Z"}]}`,
	`{"root":"r","spans":[{"start":"2026-01-01T00:00:00+01:00"}]}`, `{"root":"r","spans":[{"start":"2026-02-30T00:00:00Z"}]}`,
	`{"root":"r","spans":[{"start":"2026-01-01T24:00:00Z"}]}`, `{"root":"r","spans":[{"start":"2026\u002d01-01T00:00:00Z"}]}`,
	`{"root":"r","spans":[{"start":null}]}`, `{"root":"r","spans":[{"start":1}]}`, `{"root":"r","spans":[{"start":"2026-01-01t00:00:00z"}]}`,
	`{"root":"r","spans":[{"start":"0000-01-01T00:00:00Z"}]}`, `{"root":"r","spans":[{"start":"10000-01-01T00:00:00Z"}]}`,
	`{"root":"r"} x`, `{"root":"r",}`, `{"root" "r"}`, `{"root":"r"`, `[]`, `"r"`, `1`, ``, `{"root":"r","spans":[{}],}`,
	`{"root":"r","spans":[{},]}`, `{"root":"r","spans":{}}`, `{"root":5}`, `{"spans":[1]}`, `{"x":tru}`, `{"x":nul}`,
	`{"root":"r","spans":[{"kind":"server"},{"kind":"weird"}]}`,
}

func TestDecodeTraceAgreesWithEncodingJSON(t *testing.T) {
	for _, line := range decodeCases {
		agree(t, line)
	}
	deep := `{"x":` + strings.Repeat("[", 9999) + strings.Repeat("]", 9999) + `}`
	agree(t, deep)
	agree(t, `{"x":`+strings.Repeat("[", 10000)+strings.Repeat("]", 10000)+`}`)
}

func TestReaderErrorsSayWhereAndWhy(t *testing.T) {
	in := writeOne(t, richTrace()) + `{"root":"r","spans":[{"span_id":"a","status":"ok"}]}` + "\n"
	r := NewReader(strings.NewReader(in), "t.jsonl")
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	_, err := r.Next()
	if err == nil || !strings.HasPrefix(err.Error(), "t.jsonl:2: not an owl trace: span 0: offset ") || !strings.Contains(err.Error(), "status: want an integer") {
		t.Errorf("err = %v", err)
	}
}

// FuzzDecodeTrace checks that decodeTrace accepts and rejects what
// encoding/json does and decodes the same values.
func FuzzDecodeTrace(f *testing.F) {
	f.Add(strings.TrimSuffix(writeOneF(f, richTrace()), "\n"))
	for _, c := range decodeCases {
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, line string) {
		agree(t, line)
	})
}

func writeOneF(f *testing.F, tr *Trace) string {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	if err := errors.Join(w.WriteTrace(tr), w.Flush()); err != nil {
		f.Fatal(err)
	}
	return buf.String()
}

// BenchmarkReader reads owl traces (20 spans each) with the Reader and,
// in the same run, with encoding/json line by line; x-json is the
// Reader's time relative to encoding/json's (below 1 is faster).
func BenchmarkReader(b *testing.B) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	base := richTrace()
	for i := range 2000 {
		tr := &Trace{Root: fmt.Sprintf("1-67891233-%024x", i), TraceID: "x"}
		for j := range 20 {
			s := base.Spans[1]
			s.SpanID = fmt.Sprintf("%016x", i*20+j)
			s.Attrs = nil
			tr.Spans = append(tr.Spans, s)
		}
		if err := w.WriteTrace(tr); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	var ours, std time.Duration
	var spans int64
	for b.Loop() {
		t0 := time.Now()
		r := NewReader(bytes.NewReader(data), "bench")
		for {
			tr, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			spans += int64(len(tr.Spans))
		}
		t1 := time.Now()
		for line := range bytes.Lines(data) {
			var tr Trace
			if err := json.Unmarshal(line, &tr); err != nil {
				b.Fatal(err)
			}
		}
		ours += t1.Sub(t0)
		std += time.Since(t1)
	}
	b.ReportMetric(float64(spans)/ours.Seconds(), "spans/s")
	b.ReportMetric(float64(ours)/float64(std), "x-json")
}

// TestReaderTracesOutliveTheLine keeps traces while the Reader reuses its
// line buffer: no decoded string may alias it.
func TestReaderTracesOutliveTheLine(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	var want []*Trace
	for i := range 50 {
		tr := richTrace()
		tr.Root = fmt.Sprintf("1-67891233-%024x", i)
		for j := range tr.Spans {
			tr.Spans[j].SpanID = fmt.Sprintf("%016x", i*100+j)
			tr.Spans[j].Start = tr.Spans[j].Start.UTC()
			tr.Spans[j].Service = fmt.Sprintf("svc%d", i%7)
			if len(tr.Spans[j].Attrs) == 0 {
				tr.Spans[j].Attrs = nil // the Writer leaves an empty map out
			}
		}
		want = append(want, tr)
		if err := w.WriteTrace(tr); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	r := NewReader(bytes.NewReader(buf.Bytes()), "t")
	var got []*Trace
	for {
		tr, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, tr)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("traces read (-want +got):\n%s", diff)
	}
}
