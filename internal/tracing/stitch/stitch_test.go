package stitch

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/owlstack/owl/internal/tracing"
	"github.com/owlstack/owl/internal/tracing/synth"
	"github.com/owlstack/owl/internal/tracing/tracingalb"
)

// collect is a Sink that keeps the traces in memory.
type collect struct{ traces []*tracing.Trace }

func (c *collect) WriteTrace(t *tracing.Trace) error { c.traces = append(c.traces, t); return nil }

func synthesize(t testing.TB, cfg synth.Config) (dir string, alb, app []string) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "synth")
	if _, err := synth.Write(dir, cfg); err != nil {
		t.Fatal(err)
	}
	alb, _ = filepath.Glob(filepath.Join(dir, "alb", "*.log.gz"))
	app, _ = filepath.Glob(filepath.Join(dir, "app", "*.jsonl"))
	if len(alb) == 0 || len(app) == 0 {
		t.Fatalf("synth wrote %d ALB and %d app files", len(alb), len(app))
	}
	return dir, alb, app
}

func stitchBytes(t testing.TB, alb, app []string, opts Options) ([]byte, *Summary) {
	t.Helper()
	var buf bytes.Buffer
	w := tracing.NewWriter(&buf)
	sum, err := Stitch(context.Background(), alb, app, w, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), sum
}

func diffLines(t *testing.T, want, got []byte) {
	t.Helper()
	if bytes.Equal(want, got) {
		return
	}
	wl := strings.Split(string(want), "\n")
	gl := strings.Split(string(got), "\n")
	t.Errorf("stitched %d lines, truth %d", len(gl), len(wl))
	for i := 0; i < len(wl) && i < len(gl); i++ {
		if wl[i] != gl[i] {
			var wt, gt tracing.Trace
			if r, err := tracing.NewReader(strings.NewReader(wl[i]), "truth").Next(); err == nil {
				wt = *r
			}
			if r, err := tracing.NewReader(strings.NewReader(gl[i]), "got").Next(); err == nil {
				gt = *r
			}
			t.Fatalf("line %d differs (-truth +stitched):\n%s", i+1, cmp.Diff(wt, gt))
		}
	}
}

func TestStitchEqualsTruth(t *testing.T) {
	dir, alb, app := synthesize(t, synth.Config{Services: 9, Requests: 300, Seed: 7,
		Faults: []synth.Fault{{Kind: synth.FaultErrors, Service: "course", Rate: 0.3}, {Kind: synth.FaultLatency, Service: "user", MS: 40}}})
	truth, err := os.ReadFile(filepath.Join(dir, "truth.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	got, sum := stitchBytes(t, alb, app, Options{})
	diffLines(t, truth, got)
	if sum.Malformed != 0 || sum.Unmatched != 0 || sum.Skewed != 0 || sum.Duplicates != 0 || sum.Traces != 300 || sum.NoTrace != 3 || sum.Runs != 0 {
		t.Errorf("summary = %+v", sum)
	}

	t.Run("spilled to disk", func(t *testing.T) {
		got, sum := stitchBytes(t, alb, app, Options{MemBytes: 64 << 10, TempDir: t.TempDir()})
		diffLines(t, truth, got)
		if sum.Runs < 5 {
			t.Errorf("only %d runs spilled with a 64 KiB budget", sum.Runs)
		}
	})

	t.Run("more runs than files open at once", func(t *testing.T) {
		got, sum := stitchBytes(t, alb, app, Options{MemBytes: 8 << 10, TempDir: t.TempDir()})
		diffLines(t, truth, got)
		if sum.Runs <= maxFanIn {
			t.Errorf("only %d runs spilled with an 8 KiB budget: no merge pass", sum.Runs)
		}
	})

	t.Run("shuffled and duplicated lines", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, 2))
		tmp := t.TempDir()
		shuffle := func(files []string, name string, dup int) []string {
			var lines []string
			for _, f := range files {
				lines = append(lines, readLines(t, f)...)
			}
			n := len(lines)
			for range dup {
				lines = append(lines, lines[rng.IntN(n)])
			}
			rng.Shuffle(len(lines), func(i, j int) { lines[i], lines[j] = lines[j], lines[i] })
			// Split over three files, as if from three nodes or hosts.
			var out []string
			for k := range 3 {
				p := filepath.Join(tmp, name+string(rune('a'+k)))
				var b strings.Builder
				for i := k; i < len(lines); i += 3 {
					b.WriteString(lines[i] + "\n")
				}
				if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
				out = append(out, p)
			}
			return out
		}
		salb := shuffle(alb, "alb", 200)
		sapp := shuffle(app, "app", 1000)
		got, sum := stitchBytes(t, salb, sapp, Options{MemBytes: 256 << 10, TempDir: t.TempDir()})
		diffLines(t, truth, got)
		if sum.Duplicates < 1000 { // some random picks repeat: at least 1000 extra, at most 1200
			t.Errorf("duplicates = %d", sum.Duplicates)
		}
	})
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := tracingalb.Open(f)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines
}

func TestClockSkewCorrected(t *testing.T) {
	dir, alb, app := synthesize(t, synth.Config{Services: 6, Requests: 100, Seed: 3,
		Faults: []synth.Fault{{Kind: synth.FaultSkew, Service: "session", MS: 250}, {Kind: synth.FaultSkew, Service: "course", MS: -90}}})
	truth := readTraces(t, filepath.Join(dir, "truth.jsonl"))
	var c collect
	sum, err := Stitch(context.Background(), alb, app, &c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Skewed == 0 {
		t.Fatal("no skew corrected")
	}
	if len(c.traces) != len(truth) {
		t.Fatalf("%d traces, truth %d", len(c.traces), len(truth))
	}
	for i, got := range c.traces {
		want := truth[i]
		// The tree and everything but the times must be the truth.
		strip := func(tr *tracing.Trace) map[string]tracing.Span {
			m := map[string]tracing.Span{}
			for _, s := range tr.Spans {
				s.Start, s.SkewUS = time.Time{}, 0 // times differ; compare the rest
				m[s.SpanID] = s
			}
			return m
		}
		if diff := cmp.Diff(strip(want), strip(got)); diff != "" {
			t.Fatalf("trace %s (-truth +stitched):\n%s", want.Root, diff)
		}
		// And every child lies within its parent.
		by := map[string]tracing.Span{}
		for _, s := range got.Spans {
			by[s.SpanID] = s
		}
		for _, s := range got.Spans {
			if p, ok := by[s.ParentID]; ok && (s.Start.Before(p.Start) || s.End().After(p.End())) {
				t.Fatalf("trace %s: span %s (%s) outside its parent %s (%s)", got.Root, s.SpanID, s.Service, p.SpanID, p.Service)
			}
		}
	}
}

func readTraces(t *testing.T, path string) []*tracing.Trace {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := tracing.NewReader(f, path)
	var out []*tracing.Trace
	for {
		tr, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, tr)
	}
}

func TestMissingHopsAndBadLines(t *testing.T) {
	_, alb, app := synthesize(t, synth.Config{Services: 6, Requests: 50, Seed: 11})
	// Lose one service's logs, as if it were not instrumented, and add junk.
	var kept []string
	for _, f := range app {
		if filepath.Base(f) != "api.jsonl" {
			kept = append(kept, f)
		}
	}
	junk := filepath.Join(t.TempDir(), "junk.jsonl")
	if err := os.WriteFile(junk, []byte("{not json\n{\"trace_root\":\"1-zz\"}\n\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var c collect
	sum, err := Stitch(context.Background(), alb, append(kept, junk), &c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Malformed != 2 || len(sum.Problems) != 2 || !strings.HasPrefix(sum.Problems[0], junk+":1: ") || !strings.HasPrefix(sum.Problems[1], junk+":2: ") {
		t.Errorf("problems = %q (malformed %d)", sum.Problems, sum.Malformed)
	}
	orphans := 0
	for _, tr := range c.traces {
		root := tr.Spans[0]
		for _, s := range tr.Spans[1:] {
			if s.Orphan {
				orphans++
				if s.ParentID != root.SpanID || s.MissingParent == "" {
					t.Errorf("orphan %+v not attached to root %s", s, root.SpanID)
				}
			}
		}
	}
	if orphans == 0 || int64(orphans) != sum.Unmatched {
		t.Errorf("orphans %d, unmatched %d", orphans, sum.Unmatched)
	}
}

func TestCyclesInBadDataDoNotLoseSpans(t *testing.T) {
	dir := t.TempDir()
	rec := func(span, parent string) string {
		return `{"time":"2026-01-01T00:00:00.000001Z","kind":"server","service":"s","trace_root":"1-67891233-abcdef012345678912345678","span":"` + span + `","parent":"` + parent + `","method":"GET","path":"/","status":200,"duration_us":5,"ttfb_us":1,"req_bytes":0,"resp_bytes":0,"fingerprint":"x"}` + "\n"
	}
	p := filepath.Join(dir, "a.jsonl")
	if err := os.WriteFile(p, []byte(rec("1111111111111111", "")+rec("2222222222222222", "3333333333333333")+rec("3333333333333333", "2222222222222222")), 0o644); err != nil {
		t.Fatal(err)
	}
	var c collect
	if _, err := Stitch(context.Background(), nil, []string{p}, &c, Options{}); err != nil {
		t.Fatal(err)
	}
	if len(c.traces) != 1 || len(c.traces[0].Spans) != 3 {
		t.Fatalf("traces = %+v", c.traces)
	}
	ids := []string{}
	for _, s := range c.traces[0].Spans {
		ids = append(ids, s.SpanID)
	}
	slices.Sort(ids)
	if ids[0] != "1111111111111111" || c.traces[0].Spans[0].SpanID != "1111111111111111" {
		t.Errorf("spans %v", ids)
	}
}

// TestDuplicatesKeepTheFirstLine checks that of two lines with the same
// trace root and span id the one read first is kept, whether both are in
// memory or in different runs.
func TestDuplicatesKeepTheFirstLine(t *testing.T) {
	dir := t.TempDir()
	rec := func(path string) string {
		return `{"time":"2026-01-01T00:00:00.000001Z","kind":"server","service":"s","trace_root":"1-67891233-abcdef012345678912345678","span":"1111111111111111","method":"GET","path":"` + path + `","status":200,"duration_us":5}` + "\n"
	}
	first := filepath.Join(dir, "a.jsonl")
	second := filepath.Join(dir, "b.jsonl")
	var filler strings.Builder
	for i := range 2000 { // other traces, so that a small budget spills between the two
		filler.WriteString(strings.Replace(rec("/filler"), "abcdef0123", fmt.Sprintf("%010d", i), 1))
	}
	if err := os.WriteFile(first, []byte(rec("/first")+filler.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(second, []byte(filler.String()+rec("/second")), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, mem := range []int64{0, 16 << 10} {
		var c collect
		sum, err := Stitch(context.Background(), nil, []string{first, second}, &c, Options{MemBytes: mem, TempDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		if sum.Duplicates != 2001 || sum.Malformed != 0 {
			t.Errorf("mem %d: summary %+v", mem, sum)
		}
		for _, tr := range c.traces {
			if tr.Root == "1-67891233-abcdef012345678912345678" && tr.Spans[0].Path != "/first" {
				t.Errorf("mem %d: kept %q, want the first line's", mem, tr.Spans[0].Path)
			}
		}
	}
}

// failAfter is an io.Writer that fails once n bytes are written.
type failAfter struct{ n int }

var errDiskFull = errors.New("disk full")

func (f *failAfter) Write(p []byte) (int, error) {
	if len(p) > f.n {
		f.n = 0
		return 0, errDiskFull
	}
	f.n -= len(p)
	return len(p), nil
}

// TestSinksAgree stitches with a sink that takes traces and with one that
// lets the builders encode the lines (tracing.Writer): the bytes must be
// the same, and a failing write must end the run with its error.
func TestSinksAgree(t *testing.T) {
	_, alb, app := synthesize(t, synth.Config{Services: 5, Requests: 400, Seed: 9})
	// A small budget: runs are spilled and merged.
	opts := Options{TempDir: t.TempDir(), MemBytes: 256 << 10}
	encoded, sum := stitchBytes(t, alb, app, opts)
	var c collect
	if _, err := Stitch(context.Background(), alb, app, &c, opts); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w := tracing.NewWriter(&buf)
	for _, tr := range c.traces {
		if err := w.WriteTrace(tr); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if int64(len(c.traces)) != sum.Traces || sum.Runs == 0 {
		t.Fatalf("%d traces, summary %d, %d runs", len(c.traces), sum.Traces, sum.Runs)
	}
	diffLines(t, buf.Bytes(), encoded)

	w = tracing.NewWriter(&failAfter{n: len(encoded) / 2})
	if _, err := Stitch(context.Background(), alb, app, w, opts); !errors.Is(err, errDiskFull) {
		t.Fatalf("writing to a full disk: %v, want %v", err, errDiskFull)
	}
}
