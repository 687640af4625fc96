package analysis

import (
	"errors"
	"fmt"
	"math"
)

// Correction names how the significance level is shared between the many
// checks of one shift, since testing again at every step and every hold
// would otherwise raise the chance of a false rollback with each look.
type Correction string

// Corrections. Each one splits Config.Alpha over Config.PlannedChecks looks
// (Lan-DeMets alpha spending): look k may use the alpha spent between
// information fractions (k-1)/K and k/K, so the chance of any false Fail
// over the planned looks stays at or below Alpha (spent increments are
// used as nominal levels, which is conservative because looks at
// overlapping windows are positively correlated). Looks beyond the plan
// keep the last look's level.
const (
	// Pocock spends alpha almost evenly: early checks can stop a bad shift
	// as easily as late ones. alpha(t) = Alpha * ln(1 + (e-1) t).
	Pocock Correction = "pocock"
	// OBrienFleming spends little alpha early and most of it late:
	// alpha(t) = 2 - 2 Phi(z(1-Alpha/2) / sqrt(t)).
	OBrienFleming Correction = "obrien-fleming"
	// Bonferroni gives every look Alpha / PlannedChecks.
	Bonferroni Correction = "bonferroni"
	// NoCorrection tests every look at Alpha (the chance of a false Fail
	// then grows with the number of looks; only the consecutive-failure
	// threshold limits it).
	NoCorrection Correction = "none"
)

// Config sets how one shift's analysis decides.
type Config struct {
	// ErrorTolerance is the increase in error rate (absolute, as a
	// fraction: 0.002 is 0.2 percentage points) the To side may show
	// without failing.
	ErrorTolerance float64 `yaml:"error_tolerance" json:"error_tolerance"`
	// LatencyTolerance is the factor by which the To side's latency may
	// exceed the From side's without failing (1.1 allows +10%).
	LatencyTolerance float64 `yaml:"latency_tolerance" json:"latency_tolerance"`
	// Alpha is the chance of a false Fail the whole shift may take over
	// its planned checks (one-sided, shared by the error and latency tests).
	Alpha float64 `yaml:"alpha" json:"alpha"`
	// MinRequests is the fewest requests each side must have served in the
	// window before the error test runs.
	MinRequests int64 `yaml:"min_requests" json:"min_requests"`
	// MinIntervals is the fewest latency intervals each side must have in
	// the window before the latency test runs.
	MinIntervals int `yaml:"min_intervals" json:"min_intervals"`
	// FailureThreshold is how many checks in a row must fail before the
	// verdict is Fail (Flagger's threshold).
	FailureThreshold int `yaml:"failure_threshold" json:"failure_threshold"`
	// Correction is how Alpha is spent over the checks.
	Correction Correction `yaml:"correction" json:"correction"`
	// PlannedChecks is how many checks Alpha is spread over (about steps x
	// checks per step).
	PlannedChecks int `yaml:"planned_checks" json:"planned_checks"`
}

// DefaultConfig returns the analysis settings owl uses when a shift spec
// sets none.
func DefaultConfig() Config {
	return Config{
		ErrorTolerance:   0.002,
		LatencyTolerance: 1.1,
		Alpha:            0.05,
		MinRequests:      100,
		MinIntervals:     6,
		FailureThreshold: 2,
		Correction:       Pocock,
		PlannedChecks:    30,
	}
}

// Validate reports every setting outside its range, one per line.
func (c Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("analysis."+field+": "+format, args...))
	}
	if !(c.ErrorTolerance >= 0 && c.ErrorTolerance < 1) || math.IsNaN(c.ErrorTolerance) {
		bad("error_tolerance", "%v: want an absolute error-rate increase in [0, 1), e.g. 0.002", c.ErrorTolerance)
	}
	if !(c.LatencyTolerance >= 1) || math.IsInf(c.LatencyTolerance, 0) {
		bad("latency_tolerance", "%v: want a latency factor >= 1, e.g. 1.1 for +10%%", c.LatencyTolerance)
	}
	if !(c.Alpha > 0 && c.Alpha < 0.5) {
		bad("alpha", "%v: want a significance level in (0, 0.5), e.g. 0.05", c.Alpha)
	}
	if c.MinRequests < 1 {
		bad("min_requests", "%d: want at least 1", c.MinRequests)
	}
	if c.MinIntervals < 2 {
		bad("min_intervals", "%d: want at least 2 (the latency test compares series)", c.MinIntervals)
	}
	if c.FailureThreshold < 1 {
		bad("failure_threshold", "%d: want at least 1", c.FailureThreshold)
	}
	switch c.Correction {
	case Pocock, OBrienFleming, Bonferroni, NoCorrection:
	default:
		bad("correction", "%q: want one of pocock, obrien-fleming, bonferroni, none", c.Correction)
	}
	if c.PlannedChecks < 1 {
		bad("planned_checks", "%d: want at least 1", c.PlannedChecks)
	}
	return errors.Join(errs...)
}

// spent is the cumulative alpha the correction allows by information
// fraction t in [0, 1].
func (c Config) spent(t float64) float64 {
	t = min(max(t, 0), 1)
	switch c.Correction {
	case Pocock:
		return c.Alpha * math.Log(1+(math.E-1)*t)
	case OBrienFleming:
		if t == 0 {
			return 0
		}
		return 2 * normalSF(normalQuantile(1-c.Alpha/2)/math.Sqrt(t))
	case Bonferroni:
		return c.Alpha * t
	default:
		return c.Alpha
	}
}

// LookAlpha is the significance level of the look-th check (1-based) for
// one of tests tests run at that look (Bonferroni across the tests).
func (c Config) LookAlpha(look, tests int) float64 {
	if tests < 1 {
		tests = 1
	}
	if c.Correction == NoCorrection {
		return c.Alpha / float64(tests)
	}
	k := min(max(look, 1), c.PlannedChecks)
	K := float64(c.PlannedChecks)
	a := c.spent(float64(k)/K) - c.spent(float64(k-1)/K)
	return a / float64(tests)
}
