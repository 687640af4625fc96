package analysis

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// BenchmarkEvaluate measures one check with 30 latency intervals a side
// (the exact Mann-Whitney distribution) and reports its cost as a
// multiple of sorting the same 60 values, the least any rank test does,
// measured in the same run.
func BenchmarkEvaluate(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	w := Window{
		From: Observation{Requests: 20000, Errors: 40, Latency: lognormals(rng, 30, 0.3)},
		To:   Observation{Requests: 20000, Errors: 45, Latency: lognormals(rng, 30, 0.3)},
	}
	cfg := DefaultConfig()
	all := append(slices.Clone(w.From.Latency), w.To.Latency...)
	buf := make([]float64, len(all))
	const baseN = 20000
	t0 := time.Now()
	for range baseN {
		copy(buf, all)
		slices.Sort(buf)
	}
	sortNs := float64(time.Since(t0).Nanoseconds()) / baseN
	for b.Loop() {
		Evaluate(cfg, State{Looks: 3}, w)
	}
	perOp := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(perOp/max(sortNs, 1), "x_sort")
	b.ReportMetric(1e9/perOp, "checks/s")
}
