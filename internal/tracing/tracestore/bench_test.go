package tracestore

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/owlstack/owl/internal/tracing/stitch"
	"github.com/owlstack/owl/internal/tracing/synth"
)

// BenchmarkFollower measures the live path (tail the access logs, group
// lines by trace, stitch the settled traces, index them) against stitching
// the same logs in one batch, measured in the same run: x_batch is the
// ratio of the two times (1 = no overhead for following).
func BenchmarkFollower(b *testing.B) {
	dir := filepath.Join(b.TempDir(), "synth")
	sum, err := synth.Write(dir, synth.Config{Services: 8, Requests: 2000, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	app, err := expand(filepath.Join(dir, "app"))
	if err != nil {
		b.Fatal(err)
	}
	tmp := b.TempDir()
	// Baseline: one batch stitch into a store, a few times.
	const rounds = 3
	start := time.Now()
	for range rounds {
		s := New(Options{})
		if _, err := stitch.Stitch(b.Context(), nil, app, storeSink{s}, stitch.Options{TempDir: tmp}); err != nil {
			b.Fatal(err)
		}
	}
	batch := time.Since(start) / rounds

	var follow time.Duration
	n := 0
	for b.Loop() {
		clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
		s := New(Options{})
		f := NewFollower(s, FollowOptions{App: app, Now: clk.now, TempDir: tmp, MaxPendingBytes: 1 << 30})
		t0 := time.Now()
		if err := f.Poll(b.Context()); err != nil {
			b.Fatal(err)
		}
		clk.advance(time.Minute)
		if err := f.Poll(b.Context()); err != nil {
			b.Fatal(err)
		}
		follow += time.Since(t0)
		n++
		if got := s.Stats().Traces; got != sum.Requests {
			b.Fatalf("%d traces, want %d", got, sum.Requests)
		}
	}
	b.ReportMetric(float64(sum.AppLines)*float64(n)/follow.Seconds(), "lines/s")
	b.ReportMetric(float64(follow)/float64(n)/float64(batch), "x_batch")
}

// BenchmarkSearch measures a filtered search of a full store against
// listing its traces (Window), the scan every search makes: x_window.
func BenchmarkSearch(b *testing.B) {
	traces := synthTraces(b, 4000)
	s := New(Options{})
	for _, tr := range traces {
		s.Put(tr)
	}
	q := Query{Service: "cart", MinDuration: 100 * time.Millisecond, Route: "/v1/cart"}
	const rounds = 20
	start := time.Now()
	for range rounds {
		s.Window(time.Time{}, time.Time{})
	}
	window := time.Since(start) / rounds
	start = time.Now()
	n := 0
	for b.Loop() {
		if res := s.Search(q); res.Matched == 0 {
			b.Fatal("no match")
		}
		n++
	}
	per := time.Since(start) / time.Duration(n)
	b.ReportMetric(float64(per)/float64(window), "x_window")
	b.ReportMetric(float64(len(traces))/per.Seconds(), "traces/s")
}
