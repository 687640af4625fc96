package analysis

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"
)

// Source observes both sides of a shift over a period. A source that
// cannot answer (down, no data yet) returns an error; the caller then
// holds the shift, never promotes it.
type Source interface {
	Observe(ctx context.Context, start, end time.Time) (Window, error)
}

// State is what the analysis carries from one check of a shift to the
// next; the controller persists it with the shift.
type State struct {
	// Looks counts the checks that ran at least one test; it indexes the
	// alpha-spending schedule.
	Looks int `json:"looks"`
	// ConsecutiveFailures counts failed checks since the last passing one.
	ConsecutiveFailures int `json:"consecutive_failures"`
	// AlphaSpent is the significance level used so far, summed over looks
	// and tests (for display; the schedule depends on Looks only).
	AlphaSpent float64 `json:"alpha_spent"`
}

// Check is the outcome of one test within a check.
type Check struct {
	// Name is "error_rate" or "latency".
	Name    string  `json:"name"`
	Verdict Verdict `json:"verdict"`
	// PValue is the one-sided p-value against "To is no worse than From
	// beyond the tolerance"; NaN (omitted in JSON as null) when not run.
	PValue float64 `json:"p_value"`
	// Alpha is the level PValue was compared with at this look.
	Alpha float64 `json:"alpha"`
	// Effect is the observed difference: To's error rate minus From's,
	// or the ratio of To's latency to From's (Hodges-Lehmann).
	Effect float64 `json:"effect"`
	// Threshold is the tolerated Effect (ErrorTolerance or
	// LatencyTolerance).
	Threshold float64 `json:"threshold"`
	// Detail says in words what was compared and why the verdict.
	Detail string `json:"detail"`
}

// Result is the outcome of one check of a shift.
type Result struct {
	Verdict Verdict `json:"verdict"`
	Checks  []Check `json:"checks"`
	// Reason sums up the verdict in one sentence, for logs and history.
	Reason string `json:"reason"`
}

// Evaluate compares the To side with the From side over w and returns the
// verdict and the state for the next check. It is pure: the same inputs
// give the same outputs.
//
// Each test is one-sided in the harmful direction with a tolerance: the
// error test asks whether To's error rate exceeds From's by more than
// ErrorTolerance, the latency test whether To's per-interval latencies
// exceed From's scaled by LatencyTolerance. A test whose side has too few
// samples is inconclusive. A test fails when its p-value is below the
// level the correction allows at this look; it is inconclusive when the
// p-value is below Alpha but not that level (suggestive: the shift holds
// for the data to decide); otherwise it passes, as Kayenta passes a metric
// without a significant harmful difference. The check fails when any test fails; the verdict
// is Fail only after FailureThreshold failing checks in a row, Pass when
// every test passes, and Inconclusive otherwise.
func Evaluate(cfg Config, st State, w Window) (Result, State) {
	if err := cfg.Validate(); err != nil {
		return Result{Verdict: Inconclusive, Reason: "invalid analysis config: " + strings.ReplaceAll(err.Error(), "\n", "; ")}, st
	}
	look := st.Looks + 1
	checks := []Check{errorCheck(cfg, w), latencyCheck(cfg, w)}
	ran := 0
	for _, c := range checks {
		if !math.IsNaN(c.PValue) {
			ran++
		}
	}
	alpha := cfg.LookAlpha(look, len(checks))
	failed, passed := 0, 0
	for i := range checks {
		c := &checks[i]
		if math.IsNaN(c.PValue) {
			continue
		}
		c.Alpha = alpha
		switch {
		case c.PValue < alpha:
			c.Verdict = Fail
			failed++
			c.Detail += fmt.Sprintf("; p=%.3g < %.3g: worse beyond tolerance", c.PValue, alpha)
		case c.PValue < cfg.Alpha:
			// Significant on its own but not after the correction for
			// repeated looks: hold for the data to decide.
			c.Verdict = Inconclusive
			c.Detail += fmt.Sprintf("; p=%.3g: below alpha %.3g but not below %.3g at this look: need more data", c.PValue, cfg.Alpha, alpha)
		default:
			c.Verdict = Pass
			passed++
			c.Detail += fmt.Sprintf("; p=%.3g >= %.3g: no evidence of harm beyond tolerance", c.PValue, cfg.Alpha)
		}
	}
	next := st
	if ran > 0 {
		next.Looks = look
		next.AlphaSpent += alpha * float64(ran)
	}
	res := Result{Checks: checks}
	switch {
	case failed > 0:
		next.ConsecutiveFailures++
		names := names(checks, Fail)
		if next.ConsecutiveFailures >= cfg.FailureThreshold {
			res.Verdict = Fail
			res.Reason = fmt.Sprintf("%s worse on the to side (failed %d checks in a row)", names, next.ConsecutiveFailures)
		} else {
			res.Verdict = Inconclusive
			res.Reason = fmt.Sprintf("%s worse on the to side (failed check %d of %d before rollback)", names, next.ConsecutiveFailures, cfg.FailureThreshold)
		}
	case passed == len(checks):
		next.ConsecutiveFailures = 0
		res.Verdict = Pass
		res.Reason = "no evidence that the to side is worse beyond tolerance in error rate or latency"
	default:
		res.Verdict = Inconclusive
		res.Reason = "not enough evidence yet: " + names(checks, Inconclusive) + " inconclusive"
	}
	return res, next
}

// names lists the checks with verdict v, joined by " and ".
func names(cs []Check, v Verdict) string {
	var out []string
	for _, c := range cs {
		if c.Verdict == v {
			out = append(out, strings.ReplaceAll(c.Name, "_", " "))
		}
	}
	return strings.Join(out, " and ")
}

// fisherLimit is the error count below which the error test is Fisher's
// exact test; at or above it (on both sides) the z-test's normal
// approximation is accurate and much cheaper.
const fisherLimit = 20

// errorCheck tests H0: rate(To) <= rate(From) + ErrorTolerance.
//
// With few errors it is Fisher's exact test after removing the tolerated
// excess from To's errors (floor(ErrorTolerance x To's requests), counted
// as successes instead): a shift of the observed count that keeps the test
// exact for the tolerance-adjusted table. With at least fisherLimit errors
// on each side it is the two-proportion z-test of the difference against
// ErrorTolerance.
func errorCheck(cfg Config, w Window) Check {
	c := Check{Name: "error_rate", Verdict: Inconclusive, PValue: math.NaN(), Threshold: cfg.ErrorTolerance}
	f, t := w.From, w.To
	if err := f.validate(); err != nil {
		c.Detail = "from side: " + err.Error()
		return c
	}
	if err := t.validate(); err != nil {
		c.Detail = "to side: " + err.Error()
		return c
	}
	if f.Requests < cfg.MinRequests || t.Requests < cfg.MinRequests {
		c.Detail = fmt.Sprintf("too few requests: from %d, to %d, need %d each", f.Requests, t.Requests, cfg.MinRequests)
		return c
	}
	rf, rt := float64(f.Errors)/float64(f.Requests), float64(t.Errors)/float64(t.Requests)
	c.Effect = rt - rf
	if f.Errors >= fisherLimit && t.Errors >= fisherLimit {
		c.PValue, _ = ZTestDiff(t.Errors, t.Requests, f.Errors, f.Requests, cfg.ErrorTolerance)
		c.Detail = fmt.Sprintf("error rate to %.4f%% vs from %.4f%% (z-test)", 100*rt, 100*rf)
		return c
	}
	allowed := int64(math.Floor(cfg.ErrorTolerance * float64(t.Requests)))
	te := max(t.Errors-allowed, 0)
	c.PValue = FisherExact(te, t.Requests-te, f.Errors, f.Requests-f.Errors, Greater)
	c.Detail = fmt.Sprintf("error rate to %.4f%% vs from %.4f%% (Fisher, %d tolerated errors)", 100*rt, 100*rf, allowed)
	return c
}

// latencyCheck tests H0: To's interval latencies are not stochastically
// larger than From's times LatencyTolerance, by a one-sided Mann-Whitney U
// test of To/LatencyTolerance against From.
func latencyCheck(cfg Config, w Window) Check {
	c := Check{Name: "latency", Verdict: Inconclusive, PValue: math.NaN(), Threshold: cfg.LatencyTolerance}
	f, t := finite(w.From.Latency), finite(w.To.Latency)
	if len(f) < cfg.MinIntervals || len(t) < cfg.MinIntervals {
		c.Detail = fmt.Sprintf("too few latency intervals: from %d, to %d, need %d each", len(f), len(t), cfg.MinIntervals)
		return c
	}
	scaled := make([]float64, len(t))
	for i, v := range t {
		scaled[i] = v / cfg.LatencyTolerance
	}
	mw := MannWhitneyU(scaled, f, Greater)
	c.PValue = mw.P
	c.Effect = hodgesLehmannRatio(t, f)
	method := "normal approximation"
	if mw.Exact {
		method = "exact"
	}
	c.Detail = fmt.Sprintf("latency to/from x%.3f over %d/%d intervals (Mann-Whitney U, %s)", c.Effect, len(t), len(f), method)
	return c
}

// finite drops NaN, infinite and negative values (intervals without
// requests, broken samples).
func finite(xs []float64) []float64 {
	out := make([]float64, 0, len(xs))
	for _, x := range xs {
		if !math.IsNaN(x) && !math.IsInf(x, 0) && x >= 0 {
			out = append(out, x)
		}
	}
	return out
}

// validate reports counts that cannot be.
func (o Observation) validate() error {
	if o.Requests < 0 || o.Errors < 0 || o.Errors > o.Requests {
		return fmt.Errorf("impossible counts: %d errors of %d requests", o.Errors, o.Requests)
	}
	return nil
}

// checkJSON is Check with its numbers as pointers, so that a test that did
// not run (NaN) reads as null rather than failing to encode.
type checkJSON struct {
	Name      string   `json:"name"`
	Verdict   Verdict  `json:"verdict"`
	PValue    *float64 `json:"p_value"`
	Alpha     *float64 `json:"alpha"`
	Effect    *float64 `json:"effect"`
	Threshold *float64 `json:"threshold"`
	Detail    string   `json:"detail"`
}

// MarshalJSON encodes NaN and infinite numbers as null.
func (c Check) MarshalJSON() ([]byte, error) {
	num := func(f float64) *float64 {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil
		}
		return &f
	}
	return json.Marshal(checkJSON{c.Name, c.Verdict, num(c.PValue), num(c.Alpha), num(c.Effect), num(c.Threshold), c.Detail})
}

// UnmarshalJSON decodes null numbers as NaN.
func (c *Check) UnmarshalJSON(b []byte) error {
	var j checkJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	num := func(p *float64) float64 {
		if p == nil {
			return math.NaN()
		}
		return *p
	}
	*c = Check{j.Name, j.Verdict, num(j.PValue), num(j.Alpha), num(j.Effect), num(j.Threshold), j.Detail}
	return nil
}
