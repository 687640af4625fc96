package findings

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/owlstack/owl/internal/tracing"
	"github.com/owlstack/owl/internal/tracing/graph"
	"github.com/owlstack/owl/internal/tracing/rca"
	"github.com/owlstack/owl/internal/tracing/synth"
)

// benchInput returns an owl trace file of about 1M spans from 100
// simulated services, with findings injected; it is generated once and
// kept in the temporary folder (the name carries the parameters).
func benchInput(b *testing.B) (path string, spans int64) {
	b.Helper()
	const services = 100
	wantSpans := int64(1_000_000)
	if testing.Short() {
		wantSpans = 50_000 // make check runs every benchmark once: keep it quick
	}
	cfg := synth.Config{Services: services, Seed: 7,
		Faults: []synth.Fault{{Kind: synth.FaultErrors, Service: "svc40", Rate: 0.1}, {Kind: synth.FaultUncompressed, Service: "svc20"}},
		// An incident halfway through, for the ranking.
		IncidentFaults: []synth.Fault{{Kind: synth.FaultLatency, Service: "svc45", MS: 40}},
		IncidentAt:     benchIncidentAt(),
		Patterns: []synth.Pattern{
			{Kind: synth.PatternRepeat, Service: "svc30", To: "svc60", N: 3},
			{Kind: synth.PatternNPlusOne, Service: "svc50", To: "svc90", N: 6},
			{Kind: synth.PatternNetDelay, Service: "svc16", To: "svc70", MS: 15},
		}}
	// Spans per request of this topology, from a sample.
	var sample int64
	cfg.Requests = 20
	if _, err := synth.Generate(cfg, func(t *tracing.Trace) error { sample += int64(len(t.Spans)); return nil }); err != nil {
		b.Fatal(err)
	}
	cfg.Requests = int(wantSpans * 20 / sample)
	path = filepath.Join(os.TempDir(), fmt.Sprintf("owl-findings-bench-%dsvc-%dreq-v2.jsonl", services, cfg.Requests))
	if _, err := os.Stat(path); err == nil {
		return path, countSpans(b, path)
	}
	f, err := os.CreateTemp(os.TempDir(), "owl-findings-bench-*.tmp")
	if err != nil {
		b.Fatal(err)
	}
	defer os.Remove(f.Name())
	w := tracing.NewWriter(f)
	if _, err := synth.Generate(cfg, func(t *tracing.Trace) error { spans += int64(len(t.Spans)); return w.WriteTrace(t) }); err != nil {
		b.Fatal(err)
	}
	if err := errors.Join(w.Flush(), f.Close()); err != nil {
		b.Fatal(err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		b.Fatal(err)
	}
	return path, spans
}

func countSpans(b *testing.B, path string) int64 {
	var n int64
	if err := analyze(path, func(t *tracing.Trace) { n += int64(len(t.Spans)) }); err != nil {
		b.Fatal(err)
	}
	return n
}

// analyze decodes every trace of path and hands it to each.
func analyze(path string, each func(*tracing.Trace)) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := tracing.NewReader(f, path)
	for {
		t, err := r.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		each(t)
	}
}

// benchIncidentAt splits the benchmark's traces (about 30 s of requests
// from synth's default start, 1.5 s under -short) into a baseline and an
// incident.
func benchIncidentAt() time.Time {
	if testing.Short() {
		return synth.DefaultStart().Add(700 * time.Millisecond)
	}
	return synth.DefaultStart().Add(15 * time.Second)
}

// fullPass is what `owl trace graph`, `owl trace findings` and `owl trace
// rca` (baseline before benchIncidentAt, incident after) do, in one pass.
func fullPass(path string) (int, error) {
	gb := graph.NewBuilder(graph.Options{})
	d := NewDetector(Options{})
	base, inc := rca.NewProfile(rca.Symptom{}), rca.NewProfile(rca.Symptom{})
	at := benchIncidentAt()
	err := analyze(path, func(t *tracing.Trace) {
		gb.Add(t)
		d.Add(t)
		if len(t.Spans) > 0 && t.Spans[0].Start.Before(at) {
			base.Add(t)
		} else {
			inc.Add(t)
		}
	})
	if err != nil {
		return 0, err
	}
	suspects, err := rca.Rank(base, inc, rca.Options{})
	return len(d.Findings()) + len(gb.Build().Edges) + len(suspects), err
}

// BenchmarkGraphFindingsRanking1MSpans times decode + graph + findings +
// root-cause ranking on 100 services and 1M spans against a decode-only pass over the same file in
// the same run (x-decode is the ratio), and measures the peak RSS of each
// in a child process.
func BenchmarkGraphFindingsRanking1MSpans(b *testing.B) {
	path, spans := benchInput(b)
	var decode, full time.Duration
	for b.Loop() {
		t0 := time.Now()
		if err := analyze(path, func(*tracing.Trace) {}); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if _, err := fullPass(path); err != nil {
			b.Fatal(err)
		}
		decode += t1.Sub(t0)
		full += time.Since(t1)
	}
	b.ReportMetric(float64(full)/float64(decode), "x-decode")
	b.ReportMetric(float64(spans)*float64(b.N)/full.Seconds(), "spans/s")
	b.ReportMetric(float64(spans), "spans")
	b.ReportMetric(peakRSS(b, path, "decode"), "decode-peak-MB")
	b.ReportMetric(peakRSS(b, path, "full"), "peak-MB")
}

// peakRSS runs one pass in a child process (this test binary, running
// TestBenchChild) and returns its peak resident set (VmHWM) in MiB.
func peakRSS(b *testing.B, path, mode string) float64 {
	cmd := exec.Command(os.Args[0], "-test.run=^TestBenchChild$", "-test.count=1", "-test.v", "-test.short="+strconv.FormatBool(testing.Short()))
	cmd.Env = append(os.Environ(), "OWL_FINDINGS_BENCH_CHILD="+mode+":"+path)
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("child: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`peak-rss-kb (\d+)`).FindSubmatch(out)
	if m == nil {
		b.Fatalf("child reported no peak RSS:\n%s", out)
	}
	kb, _ := strconv.ParseFloat(string(m[1]), 64)
	return kb / 1024
}

// TestBenchChild is the child of peakRSS; it does nothing in a normal run.
func TestBenchChild(t *testing.T) {
	mode, path, ok := strings.Cut(os.Getenv("OWL_FINDINGS_BENCH_CHILD"), ":")
	if !ok {
		t.Skip("only run by BenchmarkGraphFindingsRanking1MSpans")
	}
	var err error
	if mode == "decode" {
		err = analyze(path, func(*tracing.Trace) {})
	} else {
		_, err = fullPass(path)
	}
	if err != nil {
		t.Fatal(err)
	}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc: peak RSS unknown")
	}
	if m := regexp.MustCompile(`VmHWM:\s+(\d+) kB`).FindSubmatch(status); m != nil {
		t.Logf("peak-rss-kb %s", m[1])
	}
}
