package analysis

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func series(base float64, n int, factor float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = base * factor * (1 + 0.02*float64(i%5))
	}
	return out
}

func TestEvaluate(t *testing.T) {
	healthy := Window{
		From: Observation{Requests: 10000, Errors: 50, Latency: series(0.1, 12, 1)},
		To:   Observation{Requests: 10000, Errors: 52, Latency: series(0.1, 12, 1.01)},
	}
	slow := healthy
	slow.To.Latency = series(0.1, 12, 2)
	failing := healthy
	failing.To.Errors = 600
	small := Window{From: Observation{Requests: 50, Latency: series(0.1, 3, 1)}, To: Observation{Requests: 50, Latency: series(0.1, 3, 1)}}
	suggestive := Window{ // 60% slower on 6 intervals: p=0.021, below alpha but not the look's level
		From: Observation{Requests: 1000, Latency: []float64{0.1, 0.12, 0.14, 0.16, 0.18, 0.2}},
		To:   Observation{Requests: 1000, Latency: []float64{0.16, 0.192, 0.224, 0.256, 0.288, 0.32}},
	}
	noisyWorse := Window{ // 18% slower but only on 6 noisy intervals: no evidence
		From: Observation{Requests: 1000, Latency: []float64{0.1, 0.3, 0.1, 0.25, 0.12, 0.2}},
		To:   Observation{Requests: 1000, Latency: []float64{0.14, 0.32, 0.13, 0.3, 0.11, 0.28}},
	}
	cfg := DefaultConfig()
	tests := []struct {
		name     string
		st       State
		w        Window
		verdict  Verdict
		failures int
		reason   string
	}{
		{"healthy passes", State{ConsecutiveFailures: 1}, healthy, Pass, 0, "no evidence"},
		{"slow fails once: hold", State{}, slow, Inconclusive, 1, "latency worse on the to side (failed check 1 of 2"},
		{"slow fails twice: fail", State{Looks: 1, ConsecutiveFailures: 1}, slow, Fail, 2, "failed 2 checks in a row"},
		{"errors fail", State{Looks: 3, ConsecutiveFailures: 1}, failing, Fail, 2, "error rate worse"},
		{"too few samples", State{ConsecutiveFailures: 1}, small, Inconclusive, 1, "error rate and latency inconclusive"},
		{"worse but not significant", State{}, noisyWorse, Pass, 0, "no evidence"},
		{"suggestive holds", State{ConsecutiveFailures: 1}, suggestive, Inconclusive, 1, "latency inconclusive"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, next := Evaluate(cfg, tc.st, tc.w)
			if res.Verdict != tc.verdict || next.ConsecutiveFailures != tc.failures || !strings.Contains(res.Reason, tc.reason) {
				t.Errorf("verdict %s, failures %d, reason %q; want %s, %d, %q\n%+v", res.Verdict, next.ConsecutiveFailures, res.Reason, tc.verdict, tc.failures, tc.reason, res.Checks)
			}
			again, next2 := Evaluate(cfg, tc.st, tc.w)
			if !cmp.Equal(res, again, cmpopts.EquateNaNs()) || next != next2 {
				t.Error("Evaluate is not deterministic")
			}
		})
	}
}

func TestEvaluateLooks(t *testing.T) {
	cfg := DefaultConfig()
	w := Window{From: Observation{Requests: 10}, To: Observation{Requests: 10}}
	if _, next := Evaluate(cfg, State{Looks: 4}, w); next.Looks != 4 {
		t.Errorf("a check that ran no test counted as look %d", next.Looks)
	}
	w = Window{From: Observation{Requests: 1000, Errors: 1}, To: Observation{Requests: 1000, Errors: 1}}
	res, next := Evaluate(cfg, State{Looks: 4}, w)
	if next.Looks != 5 || res.Checks[0].Alpha != cfg.LookAlpha(5, 2) {
		t.Errorf("look %d at alpha %v, want look 5 at %v", next.Looks, res.Checks[0].Alpha, cfg.LookAlpha(5, 2))
	}
}

func TestEvaluateBadInput(t *testing.T) {
	cfg := DefaultConfig()
	w := Window{From: Observation{Requests: 100, Errors: 200}, To: Observation{Requests: 1000}}
	res, _ := Evaluate(cfg, State{}, w)
	if res.Verdict != Inconclusive || !strings.Contains(res.Checks[0].Detail, "impossible counts") {
		t.Errorf("impossible counts: %s %q", res.Verdict, res.Checks[0].Detail)
	}
	cfg.Alpha = 2
	res, _ = Evaluate(cfg, State{}, w)
	if res.Verdict != Inconclusive || !strings.Contains(res.Reason, "analysis.alpha") {
		t.Errorf("invalid config: %s %q", res.Verdict, res.Reason)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("default config: %v", err)
	}
	bad := Config{ErrorTolerance: -1, LatencyTolerance: 0.9, Alpha: 0, MinRequests: 0, MinIntervals: 1, FailureThreshold: 0, Correction: "holm", PlannedChecks: 0}
	err := bad.Validate()
	for _, want := range []string{"error_tolerance", "latency_tolerance", "alpha", "min_requests", "min_intervals", "failure_threshold", `correction: "holm"`, "planned_checks"} {
		if err == nil || !strings.Contains(err.Error(), "analysis."+want) {
			t.Errorf("Validate() = %v, want a message about %s", err, want)
		}
	}
}

func TestResultJSON(t *testing.T) {
	res, st := Evaluate(DefaultConfig(), State{}, Window{From: Observation{Requests: 1000, Errors: 3}, To: Observation{Requests: 1000, Errors: 4}})
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"name":"latency","verdict":"inconclusive","p_value":null`) {
		t.Errorf("JSON of a test that did not run: %s", b)
	}
	var back Result
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(res, back, cmpopts.EquateNaNs()); diff != "" {
		t.Errorf("JSON round trip (-want +got):\n%s", diff)
	}
	if !math.IsNaN(back.Checks[1].PValue) {
		t.Errorf("null p-value decoded as %v", back.Checks[1].PValue)
	}
	sb, _ := json.Marshal(st)
	var st2 State
	if err := json.Unmarshal(sb, &st2); err != nil || st2 != st {
		t.Errorf("state round trip: %+v -> %s -> %+v (%v)", st, sb, st2, err)
	}
}
