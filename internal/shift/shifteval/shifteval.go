// Package shifteval measures how well shift analysis decides: it simulates
// many canary shifts, healthy ones and ones with an injected regression,
// runs the controller's own analysis (analysis.Evaluate) step by step
// through a shift schedule, and reports how often healthy shifts were
// rolled back, how often regressions were promoted, and how long decisions
// took in simulated time.
//
// # Noise model
//
// Every case draws its own service, so the rates are averages over a
// varied fleet rather than one easy baseline:
//
//   - Load: a base rate between 50 and 1000 requests/s (log-uniform),
//     modulated by a diurnal sine (+-40% over 24 h, random phase) and by
//     Poisson noise; each side gets its weight's share.
//   - Latency per request: lognormal (median 20-200 ms, sigma 0.4-0.8),
//     with 2% of requests drawn instead from a Pareto tail (shape 2.5,
//     from 3x the median): heavy-tailed, as real services are.
//   - Per-instance variation: each side runs 3-6 instances, each with its
//     own latency factor (lognormal, sigma 0.05) and error factor
//     (lognormal, sigma 0.2); requests spread evenly over instances. The
//     two sides therefore differ a little even when healthy.
//   - Shared and per-side interval noise: a latency factor shared by both
//     sides per interval (lognormal, sigma 0.05: a slow dependency slows
//     everyone) and one per side (sigma 0.03); latency also rises 10%
//     with each +100% of load.
//   - Errors: a base error rate between 0.1% and 1% per case, per request
//     Bernoulli (binomial per instance and interval).
//
// Intervals are 10 s. Per interval and side, the latency sample is the
// mean latency of the interval's requests (what sum/count of a Prometheus
// histogram gives); above 200 requests per instance the mean is drawn
// from its normal approximation instead of request by request, to keep
// thousands of cases fast.
//
// Regressions multiply the To side's latencies (+20%, x2) or add to its
// error rate (+0.5, +5 percentage points) from the start of the shift.
package shifteval

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/owlstack/owl/internal/shift/analysis"
)

// Regression is a fault injected into the To side of a simulated shift.
type Regression struct {
	// Name is how reports name the regression, e.g. "latency_x2".
	Name string
	// LatencyFactor multiplies every To latency (1 for none).
	LatencyFactor float64
	// ErrorAdd is added to the To side's error rate (absolute).
	ErrorAdd float64
}

// Regressions are the faults owl shift eval injects, in report order.
var Regressions = []Regression{
	{Name: "latency_+20%", LatencyFactor: 1.2},
	{Name: "latency_x2", LatencyFactor: 2},
	{Name: "errors_+0.5%", LatencyFactor: 1, ErrorAdd: 0.005},
	{Name: "errors_+5%", LatencyFactor: 1, ErrorAdd: 0.05},
}

// Schedule is how the simulated controller moves traffic.
type Schedule struct {
	// Steps are the To side's shares in percent; the last one ends the
	// shift (promotion).
	Steps []float64
	// Interval is the length of one metric interval.
	Interval time.Duration
	// MinHold is the least time each step holds before its first check.
	MinHold time.Duration
	// CheckEvery is the time between checks once MinHold is over.
	CheckEvery time.Duration
	// MaxHold is how long a step may stay inconclusive before the
	// controller gives up and rolls back (a timeout).
	MaxHold time.Duration
}

// DefaultSchedule is the schedule owl shift eval simulates.
func DefaultSchedule() Schedule {
	return Schedule{
		Steps:      []float64{1, 5, 10, 25, 50, 100},
		Interval:   10 * time.Second,
		MinHold:    60 * time.Second,
		CheckEvery: 30 * time.Second,
		MaxHold:    15 * time.Minute,
	}
}

// Validate reports a schedule the simulation cannot run.
func (s Schedule) Validate() error {
	if len(s.Steps) < 2 {
		return fmt.Errorf("schedule: %d steps, want at least 2", len(s.Steps))
	}
	for i, p := range s.Steps {
		if !(p > 0 && p <= 100) || (i > 0 && p <= s.Steps[i-1]) {
			return fmt.Errorf("schedule: step %d is %v%%: want increasing shares in (0, 100]", i+1, p)
		}
	}
	if s.Interval <= 0 || s.MinHold < s.Interval || s.CheckEvery < s.Interval || s.MaxHold < s.MinHold {
		return fmt.Errorf("schedule: want 0 < interval <= min hold <= max hold and check every >= interval (got %v, %v, %v, %v)", s.Interval, s.MinHold, s.MaxHold, s.CheckEvery)
	}
	return nil
}

// Options configures one evaluation.
type Options struct {
	// Cases is how many shifts to simulate; case i is healthy when
	// i % (len(Regressions)+1) == 0 and otherwise has regression
	// Regressions[i%(len+1)-1].
	Cases int
	// Seed makes the run reproducible: the same seed gives the same report.
	Seed uint64
	// Analysis is the analysis configuration under evaluation.
	Analysis analysis.Config
	// Schedule is the simulated controller's schedule.
	Schedule Schedule
	// Workers bounds parallelism (0: GOMAXPROCS). Results do not depend on it.
	Workers int
	// Progress, if set, is called after each finished case.
	Progress func(done, total int)
}

// Outcome is how one simulated shift ended.
type Outcome string

// Outcomes.
const (
	Promoted   Outcome = "promoted"    // reached the last step
	RolledBack Outcome = "rolled_back" // the analysis failed
	TimedOut   Outcome = "timed_out"   // a step stayed inconclusive past MaxHold: rolled back
)

// CaseResult is one simulated shift.
type CaseResult struct {
	Regression string  // "" when healthy
	Outcome    Outcome // how it ended
	Seconds    float64 // simulated time from start to the decision
	Step       int     // index of the step at which it ended
	Reason     string  // the last analysis's reason
}

// Report sums up an evaluation. Its JSON form is what owl shift eval
// --json prints.
type Report struct {
	Cases                 int                `json:"cases"`
	FalseRollbackRate     float64            `json:"false_rollback_rate"`
	MissedRegressionRate  map[string]float64 `json:"missed_regression_rate"`
	MedianDecisionSeconds float64            `json:"median_decision_seconds"`
	// Results holds every case, in case order.
	Results []CaseResult `json:"-"`
}

// Run simulates opt.Cases shifts and reports on them. It stops early, with
// the context's error, when ctx ends.
func Run(ctx context.Context, opt Options) (Report, error) {
	if opt.Cases < 1 {
		return Report{}, fmt.Errorf("shift eval: %d cases, want at least 1", opt.Cases)
	}
	if err := opt.Analysis.Validate(); err != nil {
		return Report{}, fmt.Errorf("shift eval: %w", err)
	}
	if err := opt.Schedule.Validate(); err != nil {
		return Report{}, fmt.Errorf("shift eval: %w", err)
	}
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	results := make([]CaseResult, opt.Cases)
	var next, done atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	for range min(workers, opt.Cases) {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= opt.Cases {
					return
				}
				results[i] = simulate(opt, i)
				d := int(done.Add(1))
				if opt.Progress != nil {
					mu.Lock()
					opt.Progress(d, opt.Cases)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return Report{}, fmt.Errorf("shift eval: %w", err)
	}
	return summarize(results), nil
}

// kindOf is the regression of case i, or nil when healthy.
func kindOf(i int) *Regression {
	k := i % (len(Regressions) + 1)
	if k == 0 {
		return nil
	}
	return &Regressions[k-1]
}

func summarize(results []CaseResult) Report {
	r := Report{Cases: len(results), MissedRegressionRate: map[string]float64{}, Results: results}
	healthy, falseRollbacks := 0, 0
	total := map[string]int{}
	missed := map[string]int{}
	secs := make([]float64, 0, len(results))
	for _, c := range results {
		secs = append(secs, c.Seconds)
		if c.Regression == "" {
			healthy++
			if c.Outcome != Promoted {
				falseRollbacks++
			}
			continue
		}
		total[c.Regression]++
		if c.Outcome == Promoted {
			missed[c.Regression]++
		}
	}
	if healthy > 0 {
		r.FalseRollbackRate = float64(falseRollbacks) / float64(healthy)
	}
	for name, n := range total {
		r.MissedRegressionRate[name] = float64(missed[name]) / float64(n)
	}
	slices.Sort(secs)
	if n := len(secs); n%2 == 1 {
		r.MedianDecisionSeconds = secs[n/2]
	} else {
		r.MedianDecisionSeconds = (secs[n/2-1] + secs[n/2]) / 2
	}
	return r
}

// service is one simulated case's two sides.
type service struct {
	rps, phase       float64
	errRate          float64
	median, sigma    float64
	inst             [2][]instance // [from, to]
	latReg, errorAdd float64
}

type instance struct{ lat, err float64 }

const (
	tailShare = 0.02 // share of requests in the Pareto tail
	tailShape = 2.5  // Pareto shape of the tail
	tailScale = 3.0  // the tail starts at this multiple of the median
	// exactPerInstance is the request count per instance and interval up
	// to which latencies are drawn one by one.
	exactPerInstance = 200
)

func newService(rng *rand.Rand, reg *Regression) *service {
	s := &service{
		rps:     math.Exp(uniform(rng, math.Log(50), math.Log(1000))),
		phase:   rng.Float64(),
		errRate: uniform(rng, 0.001, 0.01),
		median:  math.Exp(uniform(rng, math.Log(0.02), math.Log(0.2))),
		sigma:   uniform(rng, 0.4, 0.8),
		latReg:  1,
	}
	if reg != nil {
		s.latReg, s.errorAdd = reg.LatencyFactor, reg.ErrorAdd
	}
	for side := range s.inst {
		n := 3 + rng.IntN(4)
		for range n {
			s.inst[side] = append(s.inst[side], instance{
				lat: math.Exp(0.05 * rng.NormFloat64()),
				err: math.Exp(0.2 * rng.NormFloat64()),
			})
		}
	}
	return s
}

// requestMoments are the mean and variance of one request's latency
// relative to the median (lognormal body, Pareto tail).
func (s *service) requestMoments() (mean, variance float64) {
	ln1 := math.Exp(s.sigma * s.sigma / 2)
	ln2 := math.Exp(2 * s.sigma * s.sigma)
	p1 := tailShape * tailScale / (tailShape - 1)
	p2 := tailShape * tailScale * tailScale / (tailShape - 2)
	m1 := (1-tailShare)*ln1 + tailShare*p1
	m2 := (1-tailShare)*ln2 + tailShare*p2
	return m1, m2 - m1*m1
}

// request draws one request's latency relative to the median.
func (s *service) request(rng *rand.Rand) float64 {
	if rng.Float64() < tailShare {
		return tailScale * math.Pow(1-rng.Float64(), -1/tailShape)
	}
	return math.Exp(s.sigma * rng.NormFloat64())
}

// interval simulates one interval with the To side at share (0..1), at
// time t seconds into the shift.
func (s *service) interval(rng *rand.Rand, t, share, seconds float64) (from, to analysis.Observation) {
	load := 1 + 0.4*math.Sin(2*math.Pi*(t/86400+s.phase))
	shared := math.Exp(0.05*rng.NormFloat64()) * (1 + 0.1*(load-1))
	mean, variance := s.requestMoments()
	var obs [2]analysis.Observation
	for side, w := range []float64{1 - share, share} {
		n := poisson(rng, s.rps*load*w*seconds)
		if n == 0 {
			continue
		}
		own := math.Exp(0.03 * rng.NormFloat64())
		reg, errAdd := 1.0, 0.0
		if side == 1 {
			reg, errAdd = s.latReg, s.errorAdd
		}
		insts := s.inst[side]
		var errs int64
		var sum float64
		left := n
		for k, in := range insts {
			m := left / int64(len(insts)-k) // spread evenly over instances
			left -= m
			if m == 0 {
				continue
			}
			errs += binomial(rng, m, min(1, s.errRate*in.err+errAdd))
			scale := s.median * in.lat * shared * own * reg
			if m <= exactPerInstance {
				for range m {
					sum += scale * s.request(rng)
				}
			} else {
				fm := float64(m)
				sum += scale * (fm*mean + math.Sqrt(fm*variance)*rng.NormFloat64())
			}
		}
		obs[side] = analysis.Observation{Requests: n, Errors: errs, Latency: []float64{sum / float64(n)}}
	}
	return obs[0], obs[1]
}

// simulate runs case i through the schedule, checking with Evaluate.
func simulate(opt Options, i int) CaseResult {
	rng := rand.New(rand.NewPCG(opt.Seed, uint64(i)))
	reg := kindOf(i)
	res := CaseResult{}
	if reg != nil {
		res.Regression = reg.Name
	}
	s := newService(rng, reg)
	sch := opt.Schedule
	dt := sch.Interval.Seconds()
	minHold := int(sch.MinHold / sch.Interval)
	every := int(sch.CheckEvery / sch.Interval)
	maxHold := int(sch.MaxHold / sch.Interval)
	var st analysis.State
	t := 0.0
	last := len(sch.Steps) - 1
	for step := 0; step < last; step++ {
		share := sch.Steps[step] / 100
		var w analysis.Window
		for k := 1; ; k++ {
			f, o := s.interval(rng, t, share, dt)
			t += dt
			w.From = add(w.From, f)
			w.To = add(w.To, o)
			if k < minHold || (k-minHold)%every != 0 {
				continue
			}
			var r analysis.Result
			r, st = analysis.Evaluate(opt.Analysis, st, w)
			res.Reason = r.Reason
			if r.Verdict == analysis.Pass {
				break
			}
			if r.Verdict == analysis.Fail {
				res.Outcome, res.Seconds, res.Step = RolledBack, t, step
				return res
			}
			if k >= maxHold {
				res.Outcome, res.Seconds, res.Step = TimedOut, t, step
				return res
			}
		}
	}
	res.Outcome, res.Seconds, res.Step = Promoted, t, last
	return res
}

// add appends one interval's observation to a window's.
func add(acc, o analysis.Observation) analysis.Observation {
	acc.Requests += o.Requests
	acc.Errors += o.Errors
	acc.Latency = append(acc.Latency, o.Latency...)
	return acc
}

func uniform(rng *rand.Rand, lo, hi float64) float64 { return lo + (hi-lo)*rng.Float64() }

// poisson draws a Poisson count: by inversion for small means, by the
// normal approximation above 50.
func poisson(rng *rand.Rand, mean float64) int64 {
	if mean <= 0 {
		return 0
	}
	if mean > 50 {
		return max(0, int64(math.Round(mean+math.Sqrt(mean)*rng.NormFloat64())))
	}
	l, k, p := math.Exp(-mean), int64(0), 1.0
	for {
		p *= rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// binomial draws a binomial count: Poisson for rare events, normal
// approximation for large expected counts, trials one by one otherwise.
func binomial(rng *rand.Rand, n int64, p float64) int64 {
	if p <= 0 || n == 0 {
		return 0
	}
	if p >= 1 {
		return n
	}
	mean := float64(n) * p
	switch {
	case n > 100 && p < 0.05:
		return min(n, poisson(rng, mean))
	case mean > 30 && float64(n)*(1-p) > 30:
		return min(n, max(0, int64(math.Round(mean+math.Sqrt(mean*(1-p))*rng.NormFloat64()))))
	}
	var k int64
	for range n {
		if rng.Float64() < p {
			k++
		}
	}
	return k
}
