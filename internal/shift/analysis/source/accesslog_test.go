package source

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/owlstack/owl/internal/shift/analysis"
	"github.com/owlstack/owl/internal/tracectx"
)

var t0 = time.Date(2026, 4, 9, 12, 0, 0, 0, time.UTC)

// writeLog writes records as the access-log writer does.
func writeLog(t *testing.T, path string, recs []tracectx.Record, extra ...string) {
	t.Helper()
	var b []byte
	for _, r := range recs {
		b = r.AppendJSON(b)
		b = append(b, '\n')
	}
	for _, e := range extra {
		b = append(b, e...)
		b = append(b, '\n')
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func rec(at time.Duration, side string, status int, ms int64) tracectx.Record {
	return tracectx.Record{
		Time: t0.Add(at), Kind: tracectx.KindServer, Service: "owl", TraceRoot: "1-00000000-000000000000000000000000",
		Span: "0000000000000001", Method: "GET", Path: "/", Status: status, DurationUS: ms * 1000,
		Attrs: map[string]string{"side": side},
	}
}

func TestAccessLog(t *testing.T) {
	dir := t.TempDir()
	writeLog(t, filepath.Join(dir, "access.jsonl"), []tracectx.Record{
		rec(-time.Second, "ecs", 200, 999), // before the window
		rec(1*time.Second, "ecs", 200, 100),
		rec(2*time.Second, "ecs", 500, 300),
		rec(3*time.Second, "eks", 200, 50),
		rec(12*time.Second, "ecs", 200, 100),
		rec(13*time.Second, "eks", 0, 250),
		rec(14*time.Second, "eks", 499, 150),
		rec(15*time.Second, "other", 500, 1),
		rec(25*time.Second, "eks", 200, 10),
		rec(30*time.Second, "ecs", 500, 999), // at the end: outside
	})
	client := rec(5*time.Second, "ecs", 500, 999)
	client.Kind = tracectx.KindClient
	writeLog(t, filepath.Join(dir, "access.jsonl.1"), []tracectx.Record{client, rec(21*time.Second, "ecs", 200, 200)})

	src := &AccessLog{Paths: []string{filepath.Join(dir, "access.jsonl*")}, Sides: Sides{From: "ecs", To: "eks"}, Interval: 10 * time.Second}
	w, err := src.Observe(context.Background(), t0, t0.Add(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	want := analysis.Window{
		Start: t0, End: t0.Add(30 * time.Second),
		From: analysis.Observation{Requests: 4, Errors: 1, Latency: []float64{0.2, 0.1, 0.2}},
		To:   analysis.Observation{Requests: 4, Errors: 1, Latency: []float64{0.05, 0.2, 0.01}},
	}
	if diff := cmp.Diff(want, w, cmpopts.EquateApprox(0, 1e-12)); diff != "" {
		t.Errorf("window (-want +got):\n%s", diff)
	}
}

func TestAccessLogErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "access.jsonl")
	writeLog(t, path, []tracectx.Record{rec(time.Second, "from", 200, 1), rec(2*time.Second, "to", 200, 1)}, `{"time":"2026-04-09T12:00:03Z","kind":"server","status":"200"}`)
	ctx := context.Background()
	src := &AccessLog{Paths: []string{path}, Interval: time.Second}
	_, err := src.Observe(ctx, t0, t0.Add(10*time.Second))
	if err == nil || !strings.Contains(err.Error(), "access.jsonl:3: not a JSON access-log record") {
		t.Errorf("malformed line: %v", err)
	}
	src.MaxMalformed = 0.5
	w, err := src.Observe(ctx, t0, t0.Add(10*time.Second))
	if err != nil || w.From.Requests != 1 || w.To.Requests != 1 {
		t.Errorf("tolerated malformed line: %+v, %v", w, err)
	}
	src.Paths = []string{filepath.Join(dir, "missing*.jsonl")}
	if _, err := src.Observe(ctx, t0, t0.Add(10*time.Second)); err == nil || !strings.Contains(err.Error(), "no file matches") {
		t.Errorf("missing logs: %v", err)
	}
	src.Paths = []string{path}
	if _, err := src.Observe(ctx, t0, t0); err == nil || !strings.Contains(err.Error(), "end must be after start") {
		t.Errorf("empty window: %v", err)
	}
}

func TestParseLine(t *testing.T) {
	for _, tc := range []struct{ line, err string }{
		{`{"time":"2026-04-09T12:00:00Z","status":200,"duration_us":5}`, ""},
		{`{"status":200,"duration_us":5}`, `missing "time"`},
		{`{"time":"2026-04-09T12:00:00Z","duration_us":5}`, `missing "status"`},
		{`{"time":"2026-04-09T12:00:00Z","status":200}`, `missing "duration_us"`},
		{`{"time":"2026-04-09T12:00:00Z","status":200,"duration_us":-1}`, `"duration_us" -1`},
		{`{"time":"2026-04-09T12:00:00Z","status":1000,"duration_us":1}`, `"status" 1000`},
		{`nope`, "not a JSON access-log record"},
	} {
		_, _, _, _, _, _, err := ParseLine([]byte(tc.line))
		if (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("ParseLine(%s) = %v, want %q", tc.line, err, tc.err)
		}
	}
}

func FuzzParseLine(f *testing.F) {
	r := rec(time.Second, "eks", 503, 12)
	f.Add(string(r.AppendJSON(nil)))
	f.Add(`{"time":"2026-04-09T12:00:00Z","status":200,"duration_us":5,"attrs":{"side":"from"}}`)
	f.Add(`{"time":1}`)
	f.Fuzz(func(t *testing.T, line string) {
		ts, _, _, _, status, d, err := ParseLine([]byte(line))
		if err != nil {
			return
		}
		if ts.IsZero() || status < 0 || status > 999 || d < 0 {
			t.Errorf("ParseLine(%q) accepted time %v status %d duration %v", line, ts, status, d)
		}
	})
}
