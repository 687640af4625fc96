package tracestore

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/owlstack/owl/internal/tracectx"
)

// clock is a settable clock for the follower.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }
func appendLine(t *testing.T, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
}

// records returns a three-hop trace as the middleware logs it: the
// gateway's call to profile, profile's server record, and the gateway's
// own server record (written last, when its request ends).
func records(root string, t0 time.Time) (call, callee, server []byte) {
	rec := func(r tracectx.Record) []byte { return append(r.AppendJSON(nil), '\n') }
	call = rec(tracectx.Record{Time: t0.Add(time.Millisecond), Kind: "client", Service: "gateway", TraceRoot: root, Span: "00000000000000c1", Parent: "00000000000000a1", Peer: "profile", Method: "GET", Path: "/v1/profile/1", Status: 200, DurationUS: 5000, Fingerprint: "f1"})
	callee = rec(tracectx.Record{Time: t0.Add(2 * time.Millisecond), Kind: "server", Service: "profile", TraceRoot: root, Span: "00000000000000b1", Parent: "00000000000000c1", Caller: "gateway", Method: "GET", Route: "GET /v1/profile/{id}", Path: "/v1/profile/1", Status: 200, DurationUS: 3000, Fingerprint: "f2"})
	server = rec(tracectx.Record{Time: t0, Kind: "server", Service: "gateway", TraceRoot: root, Span: "00000000000000a1", Method: "GET", Route: "GET /api/home", Path: "/api/home", Status: 200, DurationUS: 8000, Fingerprint: "f3"})
	return call, callee, server
}

func TestFollowerStitchesSettledTracesAndMergesLateLines(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "logs", "access.jsonl")
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := New(Options{})
	f := NewFollower(s, FollowOptions{App: []string{filepath.Join(dir, "logs")}, Settle: 3 * time.Second, Keep: time.Minute, Now: clk.now, TempDir: t.TempDir()})
	ctx := t.Context()

	// The folder does not exist yet: nothing to do, no error.
	if err := f.Poll(ctx); err != nil {
		t.Fatalf("poll before the log exists: %v", err)
	}
	const root = "1-67891233-abcdef012345678912345678"
	call, callee, server := records(root, clk.t)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	appendLine(t, path, call)
	appendLine(t, path, callee[:len(callee)/2]) // half a line: not read yet
	if err := f.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if st := f.Stats(); st.Lines != 1 || st.Pending != 1 {
		t.Fatalf("after one whole line and a half: %+v", st)
	}
	appendLine(t, path, callee[len(callee)/2:])
	clk.advance(time.Second)
	if err := f.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Get(root); ok {
		t.Fatal("trace stitched before it settled")
	}
	clk.advance(3 * time.Second)
	if err := f.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	tr, ok := s.Get(root)
	if !ok || len(tr.Spans) != 2 {
		t.Fatalf("settled trace: %v %v, want 2 spans", tr, ok)
	}
	if !tr.Spans[0].Orphan {
		t.Errorf("without the gateway's own line, the call is an orphan: %+v", tr.Spans[0])
	}

	// The gateway's line arrives late: the whole trace is rebuilt.
	clk.advance(10 * time.Second)
	appendLine(t, path, server)
	if err := f.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	clk.advance(4 * time.Second)
	if err := f.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	tr, _ = s.Get(root)
	if len(tr.Spans) != 3 || tr.Spans[0].Service != "gateway" || tr.Spans[0].Kind != "server" {
		t.Fatalf("after the late line: %d spans, root %+v", len(tr.Spans), tr.Spans[0])
	}
	for _, sp := range tr.Spans {
		if sp.Orphan {
			t.Errorf("span %s still an orphan", sp.SpanID)
		}
	}
	if st := s.Stats(); st.Traces != 1 {
		t.Errorf("store holds %d traces, want 1", st.Traces)
	}

	// Kept lines are forgotten after Keep.
	clk.advance(2 * time.Minute)
	if err := f.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if st := f.Stats(); st.Pending != 0 || st.PendingBytes != 0 {
		t.Errorf("after Keep: %+v, want nothing pending", st)
	}

	// A truncated log is read again from its start.
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := f.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	const root2 = "1-67891234-abcdef012345678912345678"
	c2, s2, g2 := records(root2, clk.t)
	appendLine(t, path, append(append(c2, s2...), g2...))
	appendLine(t, path, []byte("not json\n"))
	if err := f.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	clk.advance(5 * time.Second)
	if err := f.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if tr, ok := s.Get(root2); !ok || len(tr.Spans) != 3 {
		t.Errorf("trace after truncation: %v %v", tr, ok)
	}
	if st := f.Stats(); st.Malformed != 1 {
		t.Errorf("malformed = %d, want 1", st.Malformed)
	}
}

func TestFollowerStaysUnderItsMemoryBound(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "access.jsonl")
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := New(Options{})
	f := NewFollower(s, FollowOptions{App: []string{path}, MaxPendingBytes: 8 << 10, Now: clk.now, TempDir: t.TempDir()})
	for i := range 40 {
		root := "1-67891233-" + hex24(i)
		c, sv, g := records(root, clk.t)
		appendLine(t, path, append(append(c, sv...), g...))
		clk.advance(10 * time.Millisecond)
		if err := f.Poll(t.Context()); err != nil {
			t.Fatal(err)
		}
		if st := f.Stats(); st.PendingBytes > 8<<10 {
			t.Fatalf("pending %d bytes, over the 8 KiB bound", st.PendingBytes)
		}
	}
	st := f.Stats()
	if st.Forced == 0 || s.Stats().Traces < 20 {
		t.Errorf("forced %d, stored %d: want early stitching, not lost traces", st.Forced, s.Stats().Traces)
	}
}

func hex24(i int) string {
	const digits = "0123456789abcdef"
	b := []byte("abcdef012345678912340000")
	for j := len(b) - 1; i > 0; j-- {
		b[j] = digits[i%16]
		i /= 16
	}
	return string(b)
}
