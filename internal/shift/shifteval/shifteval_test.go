package shifteval

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/owlstack/owl/internal/shift/analysis"
)

// outcomes counts results by regression and outcome, for logs.
func outcomes(r Report) map[string]map[Outcome]int {
	m := map[string]map[Outcome]int{}
	for _, c := range r.Results {
		name := c.Regression
		if name == "" {
			name = "healthy"
		}
		if m[name] == nil {
			m[name] = map[Outcome]int{}
		}
		m[name][c.Outcome]++
	}
	return m
}

// TestGoals runs a fixed-seed evaluation of the default analysis and
// checks the goals of issue 9: at most 1% of healthy shifts rolled back,
// at most 5% of x2 latency regressions promoted.
func TestGoals(t *testing.T) {
	cases := 1000
	if testing.Short() {
		cases = 300
	}
	r, err := Run(context.Background(), Options{Cases: cases, Seed: 1, Analysis: analysis.DefaultConfig(), Schedule: DefaultSchedule()})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("false rollbacks %.4f, missed %v, median decision %.0fs", r.FalseRollbackRate, r.MissedRegressionRate, r.MedianDecisionSeconds)
	t.Logf("outcomes %v", outcomes(r))
	if r.FalseRollbackRate > 0.01 {
		t.Errorf("false rollback rate %.4f, goal <= 0.01", r.FalseRollbackRate)
	}
	if m := r.MissedRegressionRate["latency_x2"]; m > 0.05 {
		t.Errorf("missed x2 latency regressions %.4f, goal <= 0.05", m)
	}
	if m := r.MissedRegressionRate["errors_+5%"]; m > 0.05 {
		t.Errorf("missed +5%% error regressions %.4f, want <= 0.05", m)
	}
}

// TestDeterministic checks that a seed fixes the report, whatever the
// parallelism, and that another seed changes it.
func TestDeterministic(t *testing.T) {
	opt := Options{Cases: 100, Seed: 5, Analysis: analysis.DefaultConfig(), Schedule: DefaultSchedule(), Workers: 1}
	a, err := Run(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	opt.Workers = 4
	b, _ := Run(context.Background(), opt)
	if diff := cmp.Diff(a.Results, b.Results); diff != "" {
		t.Errorf("1 vs 4 workers (-1 +4):\n%s", diff)
	}
	opt.Seed = 6
	c, _ := Run(context.Background(), opt)
	if cmp.Equal(a.Results, c.Results) {
		t.Error("seeds 5 and 6 gave the same results")
	}
}

func TestRunErrors(t *testing.T) {
	ok := Options{Cases: 1, Analysis: analysis.DefaultConfig(), Schedule: DefaultSchedule()}
	bad := ok
	bad.Cases = 0
	if _, err := Run(context.Background(), bad); err == nil {
		t.Error("0 cases: no error")
	}
	bad = ok
	bad.Schedule.Steps = []float64{10, 5, 100}
	if _, err := Run(context.Background(), bad); err == nil {
		t.Error("decreasing steps: no error")
	}
	bad = ok
	bad.Analysis.Alpha = 0
	if _, err := Run(context.Background(), bad); err == nil {
		t.Error("invalid analysis config: no error")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, Options{Cases: 10, Analysis: analysis.DefaultConfig(), Schedule: DefaultSchedule()}); err == nil {
		t.Error("canceled context: no error")
	}
}

// TestRegressionsDetectedEarly checks the simulation itself: a x2
// latency regression is rolled back at the first step, a healthy shift
// promotes after holding every step at least MinHold.
func TestRegressionsDetectedEarly(t *testing.T) {
	r, err := Run(context.Background(), Options{Cases: 50, Seed: 9, Analysis: analysis.DefaultConfig(), Schedule: DefaultSchedule()})
	if err != nil {
		t.Fatal(err)
	}
	minTotal := float64(len(DefaultSchedule().Steps)-1) * DefaultSchedule().MinHold.Seconds()
	for i, c := range r.Results {
		switch {
		case c.Regression == "latency_x2" && (c.Outcome != RolledBack || c.Step > 1):
			t.Errorf("case %d: x2 latency %s at step %d: %s", i, c.Outcome, c.Step, c.Reason)
		case c.Regression == "" && c.Outcome == Promoted && c.Seconds < minTotal:
			t.Errorf("case %d: promoted after %.0f s, before holding every step", i, c.Seconds)
		}
	}
}

func BenchmarkRun(b *testing.B) {
	opt := Options{Cases: 50, Seed: 1, Analysis: analysis.DefaultConfig(), Schedule: DefaultSchedule(), Workers: 1}
	for b.Loop() {
		if _, err := Run(context.Background(), opt); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(opt.Cases*b.N)/b.Elapsed().Seconds(), "shifts/s")
}
