package rcaeval

import (
	"context"
	"strings"
	"testing"
)

// TestQuickEvaluationMeetsTargets runs a smaller fixed-seed evaluation
// (30 cases) and holds the ranking to the targets of 'owl trace rca-eval'.
func TestQuickEvaluationMeetsTargets(t *testing.T) {
	rep, err := Run(context.Background(), Quick(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Cases) != 30 {
		t.Fatalf("%d cases, want 30", len(rep.Cases))
	}
	scores := map[string]Scores{}
	for _, m := range Methods() {
		s, _ := rep.Scores(m, "")
		scores[m] = s
		t.Logf("%-26s AC@1 %.3f AC@3 %.3f Avg@5 %.3f", m, s.AC1, s.AC3, s.Avg5)
	}
	r := scores[MethodRanking]
	better := max(scores[MethodLatency].AC1, scores[MethodSpectrum].AC1)
	if r.AC1 < 0.8 || r.AC3 < 0.95 || r.AC1 < better+0.15 {
		t.Errorf("ranking AC@1 %.3f AC@3 %.3f; want AC@1 ≥ 0.8 and ≥ %.3f (better baseline + 0.15), AC@3 ≥ 0.95", r.AC1, r.AC3, better+0.15)
	}
	// The benchmark must be hard for the naive method: callers inherit
	// latency, so the largest increase is often not the cause.
	if l := scores[MethodLatency].AC1; l > 0.6 {
		t.Errorf("largest-latency-increase baseline AC@1 %.3f: the benchmark is too easy", l)
	}
	kinds := map[string]int{}
	for _, c := range rep.Cases {
		kinds[c.Fault.Kind]++
		if c.Truth == "" || c.Position == nil {
			t.Errorf("case %+v has no truth or positions", c)
		}
	}
	// slowdep falls back to latency in a fleet without a busy DynamoDB caller.
	if kinds["errors"] != 6 || kinds["retries"] != 6 || kinds["timeout"] != 6 || kinds["latency"]+kinds["slowdep"] != 12 {
		t.Errorf("fault kinds %v, want 6 of each", kinds)
	}
}

func TestRunIsDeterministic(t *testing.T) {
	cfg := Config{Sizes: []int{6}, Kinds: Kinds(), Reps: 1, Seed: 3, BaselineRequests: 80, IncidentRequests: 60}
	a, err := Run(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Run(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range a.Cases {
		x, y := a.Cases[i], b.Cases[i]
		if x.Spec != y.Spec || x.Noise != y.Noise || x.Truth != y.Truth || x.Position[MethodRanking] != y.Position[MethodRanking] {
			t.Errorf("case %d differs between runs: %+v vs %+v", i, x, y)
		}
	}
}

func TestRunRejectsBadConfig(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{Sizes: []int{6}, Kinds: []string{"skew"}, Reps: 1, BaselineRequests: 1, IncidentRequests: 1}, `fault kind "skew"`},
		{Config{Sizes: []int{3}, Kinds: Kinds(), Reps: 1, BaselineRequests: 1, IncidentRequests: 1}, "fleet size 3"},
		{Config{Sizes: []int{6}, Kinds: Kinds(), Reps: 0, BaselineRequests: 1, IncidentRequests: 1}, "reps"},
	} {
		if _, err := Run(context.Background(), c.cfg, nil); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Run(%+v) = %v, want %q", c.cfg, err, c.want)
		}
	}
}

func TestScoresAccuracies(t *testing.T) {
	rep := &Report{Cases: []Case{
		{Position: map[string]int{MethodRanking: 1}},
		{Position: map[string]int{MethodRanking: 2}},
		{Position: map[string]int{MethodRanking: 4}},
		{Position: map[string]int{MethodRanking: 0}},
	}}
	s, n := rep.Scores(MethodRanking, "")
	// AC@1..5 = 1/4, 2/4, 2/4, 3/4, 3/4.
	if n != 4 || s.AC1 != 0.25 || s.AC3 != 0.5 || s.Avg5 != (0.25+0.5+0.5+0.75+0.75)/5 {
		t.Errorf("Scores = %+v, %d", s, n)
	}
}
