// Package rcaeval measures the root-cause ranking of package rca on
// simulated incidents: it injects faults into synth fleets (latency,
// errors, a slow dependency, retries, cascading timeouts), over a noisy
// baseline and with a smaller distracting change, and reports how often
// the true cause is ranked first, in the top 3, and so on, beside two
// baselines: the node with the largest latency increase, and a
// spectrum-based ranking (Ochiai) over anomalous and normal traces.
package rcaeval

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/owlstack/owl/internal/tracing"
	"github.com/owlstack/owl/internal/tracing/rca"
	"github.com/owlstack/owl/internal/tracing/synth"
)

// Kinds returns the fault kinds an evaluation injects; every one of them
// propagates to the callers of the faulty node.
func Kinds() []string {
	return []string{synth.FaultLatency, synth.FaultErrors, synth.FaultSlowDep, synth.FaultRetries, synth.FaultTimeout}
}

// Config describes an evaluation: one case per fleet size, fault kind and
// repetition, each on its own fleet (seeded from Seed).
type Config struct {
	Sizes []int
	Kinds []string
	Reps  int
	Seed  uint64
	// BaselineRequests and IncidentRequests are the user requests in each
	// window.
	BaselineRequests, IncidentRequests int
}

// Full is the evaluation 'owl trace rca-eval' runs: 6 fleet sizes × 5 fault
// kinds × 4 = 120 cases.
func Full() Config {
	return Config{Sizes: []int{6, 10, 15, 20, 30, 40}, Kinds: Kinds(), Reps: 4, Seed: 1, BaselineRequests: 400, IncidentRequests: 300}
}

// Quick is a smaller evaluation for tests: 3 sizes × 5 kinds × 2 = 30 cases.
func Quick() Config {
	return Config{Sizes: []int{8, 12, 18}, Kinds: Kinds(), Reps: 2, Seed: 7, BaselineRequests: 300, IncidentRequests: 200}
}

// Methods compared, in the order reports list them.
const (
	MethodRanking  = "ranking"      // rca.Rank: anomaly scores + personalised PageRank
	MethodAnomaly  = "anomaly only" // rca's anomaly scores without the walk (ablation)
	MethodLatency  = "largest latency increase"
	MethodSpectrum = "spectrum (Ochiai)"
)

// Methods returns the methods in report order.
func Methods() []string { return []string{MethodRanking, MethodAnomaly, MethodLatency, MethodSpectrum} }

// Case is one simulated incident and where each method ranked its cause.
type Case struct {
	Services int         `json:"services"`
	Seed     uint64      `json:"seed"`
	Fault    synth.Fault `json:"-"`
	Spec     string      `json:"fault"`
	Noise    string      `json:"noise"`
	Truth    string      `json:"truth"`
	// Position is the 1-based rank of the truth per method; 0: not ranked.
	Position map[string]int `json:"position"`
}

// Scores are the accuracies of one method.
type Scores struct {
	AC1  float64 `json:"ac1"`
	AC3  float64 `json:"ac3"`
	Avg5 float64 `json:"avg5"`
}

// Report is the outcome of an evaluation.
type Report struct {
	Cases []Case
}

// Scores computes a method's accuracies over the cases whose fault kind
// is kind ("" for all).
func (r *Report) Scores(method, kind string) (Scores, int) {
	var ac [6]float64
	n := 0
	for _, c := range r.Cases {
		if kind != "" && c.Fault.Kind != kind {
			continue
		}
		n++
		p := c.Position[method]
		for k := 1; k <= 5; k++ {
			if p >= 1 && p <= k {
				ac[k]++
			}
		}
	}
	if n == 0 {
		return Scores{}, 0
	}
	var s Scores
	s.AC1, s.AC3 = ac[1]/float64(n), ac[3]/float64(n)
	for k := 1; k <= 5; k++ {
		s.Avg5 += ac[k] / float64(n) / 5
	}
	return s, n
}

// Run runs the evaluation; progress, when not nil, hears after each case.
func Run(ctx context.Context, cfg Config, progress func(done, total int)) (*Report, error) {
	if len(cfg.Sizes) == 0 || len(cfg.Kinds) == 0 || cfg.Reps < 1 || cfg.BaselineRequests < 1 || cfg.IncidentRequests < 1 {
		return nil, fmt.Errorf("rca eval: want sizes, kinds, reps ≥ 1 and requests in both windows")
	}
	for _, k := range cfg.Kinds {
		if !slices.Contains(Kinds(), k) {
			return nil, fmt.Errorf("rca eval: fault kind %q: valid kinds: %s", k, strings.Join(Kinds(), ", "))
		}
	}
	for _, n := range cfg.Sizes {
		if n < 4 {
			return nil, fmt.Errorf("rca eval: fleet size %d: want at least 4 services", n)
		}
	}
	total := len(cfg.Sizes) * len(cfg.Kinds) * cfg.Reps
	rep := &Report{}
	for i := range total {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		size := cfg.Sizes[i%len(cfg.Sizes)]
		kind := cfg.Kinds[(i/len(cfg.Sizes))%len(cfg.Kinds)]
		c, err := runCase(cfg, size, kind, cfg.Seed*1_000_003+uint64(i))
		if err != nil {
			return nil, err
		}
		rep.Cases = append(rep.Cases, *c)
		if progress != nil {
			progress(i+1, total)
		}
	}
	return rep, nil
}

const dynamo = "dynamodb.us-east-1.amazonaws.com"

func runCase(cfg Config, size int, kind string, seed uint64) (*Case, error) {
	rng := rand.New(rand.NewPCG(seed, 0x726361))
	names := synth.ServiceNames(size)
	sc := synth.Config{Services: size, Seed: seed, CallProb: 0.55 + 0.4*rng.Float64()}
	// Background noise, in both windows: pauses on one or two services,
	// a trickle of errors on another.
	var noise []synth.Fault
	for range 1 + rng.IntN(2) {
		noise = append(noise, synth.Fault{Kind: synth.FaultSpikes, Service: names[rng.IntN(size)], MS: 5 + rng.IntN(36), Rate: 0.02 + 0.06*rng.Float64()})
	}
	if rng.IntN(2) == 0 {
		noise = append(noise, synth.Fault{Kind: synth.FaultErrors, Service: names[1+rng.IntN(size-1)], Rate: 0.005 + 0.015*rng.Float64()})
	}
	sc.Faults = noise

	// A first pass over the baseline finds who gets enough traffic to be
	// worth breaking, and when the baseline ends.
	sc.Requests = cfg.BaselineRequests
	calls, dyn := map[string]int{}, map[string]int{}
	var last time.Time
	_, err := synth.Generate(sc, func(t *tracing.Trace) error {
		last = t.Spans[0].Start
		for _, s := range t.Spans {
			switch {
			case s.Kind == tracing.KindServer:
				calls[s.Service]++
			case s.Kind == tracing.KindClient && s.Peer == dynamo:
				dyn[s.Service]++
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("rca eval: baseline of case %d: %w", seed, err)
	}
	minCalls := cfg.BaselineRequests / 10
	pick := func(count map[string]int) (string, bool) {
		var ok []string
		for _, n := range names[1:] {
			if count[n] >= minCalls {
				ok = append(ok, n)
			}
		}
		if len(ok) == 0 {
			return "", false
		}
		return ok[rng.IntN(len(ok))], true
	}
	f := synth.Fault{Kind: kind}
	svc, ok := "", false
	if kind == synth.FaultSlowDep {
		svc, ok = pick(dyn)
	}
	if !ok {
		if kind == synth.FaultSlowDep {
			f.Kind = synth.FaultLatency // no busy DynamoDB caller in this fleet
		}
		if svc, ok = pick(calls); !ok {
			return nil, fmt.Errorf("rca eval: case %d: no service of %d gets %d calls", seed, size, minCalls)
		}
	}
	f.Service = svc
	return runCaseFault(cfg, sc, rng, f, last)
}

// runCaseFault completes f's magnitude, adds a distraction, runs both
// windows and ranks.
func runCaseFault(cfg Config, sc synth.Config, rng *rand.Rand, f synth.Fault, last time.Time) (*Case, error) {
	names := synth.ServiceNames(sc.Services)
	truth := f.Service
	switch f.Kind {
	case synth.FaultLatency:
		f.MS = 2 + rng.IntN(14)
	case synth.FaultErrors:
		f.Rate = math.Round((0.05+0.25*rng.Float64())*100) / 100
	case synth.FaultSlowDep:
		f.MS, truth = 4+rng.IntN(22), dynamo
	case synth.FaultRetries:
		f.Rate = math.Round((0.1+0.3*rng.Float64())*100) / 100
	case synth.FaultTimeout:
		f.MS = 80 + rng.IntN(121)
	}
	// A smaller change elsewhere at the same time: the cause must stand
	// out from it.
	incident := []synth.Fault{f}
	if rng.IntN(5) < 3 {
		other := names[rng.IntN(len(names))]
		if other != f.Service {
			ms := 1 + rng.IntN(3)
			if f.Kind == synth.FaultLatency || f.Kind == synth.FaultSlowDep {
				ms = 1 + rng.IntN(max(1, f.MS/3))
			}
			incident = append(incident, synth.Fault{Kind: synth.FaultLatency, Service: other, MS: ms})
		}
	}
	sc.Requests = cfg.BaselineRequests + cfg.IncidentRequests
	sc.IncidentAt = last.Add(time.Microsecond)
	sc.IncidentFaults = incident
	var base, inc []*tracing.Trace
	_, err := synth.Generate(sc, func(t *tracing.Trace) error {
		if t.Spans[0].Start.Before(sc.IncidentAt) {
			base = append(base, t)
		} else {
			inc = append(inc, t)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("rca eval: case %d: %w", sc.Seed, err)
	}
	c := &Case{Services: sc.Services, Seed: sc.Seed, Fault: f, Spec: f.String(), Truth: truth, Position: map[string]int{}}
	for _, n := range sc.Faults {
		c.Noise += n.String() + ";"
	}
	for _, n := range incident[1:] {
		c.Noise += n.String() + ";"
	}
	bp, ip := rca.NewProfile(rca.Symptom{}), rca.NewProfile(rca.Symptom{})
	for _, t := range base {
		bp.Add(t)
	}
	for _, t := range inc {
		ip.Add(t)
	}
	sus, err := rca.Rank(bp, ip, rca.Options{})
	if err != nil {
		return nil, fmt.Errorf("rca eval: case %d: %w", sc.Seed, err)
	}
	var ranked []string
	for _, s := range sus {
		ranked = append(ranked, s.Node)
	}
	c.Position[MethodRanking] = position(ranked, truth)
	slices.SortStableFunc(sus, func(a, b rca.Suspect) int { return cmp.Compare(b.Anomaly, a.Anomaly) })
	ranked = ranked[:0]
	for _, s := range sus {
		ranked = append(ranked, s.Node)
	}
	c.Position[MethodAnomaly] = position(ranked, truth)
	c.Position[MethodLatency] = position(LatencyIncrease(base, inc), truth)
	c.Position[MethodSpectrum] = position(Spectrum(base, inc), truth)
	return c, nil
}

func position(ranked []string, truth string) int {
	if i := slices.Index(ranked, truth); i >= 0 {
		return i + 1
	}
	return 0
}

// LatencyIncrease is the first baseline: nodes by how much their mean
// duration grew from the baseline window to the incident window.
func LatencyIncrease(base, inc []*tracing.Trace) []string {
	mean := func(ts []*tracing.Trace) map[string]float64 {
		sum, n := map[string]float64{}, map[string]float64{}
		for _, t := range ts {
			rca.Observe(t, rca.Symptom{}, func(o rca.Observation) {
				sum[o.Node] += float64(o.DurationUS)
				n[o.Node]++
			})
		}
		for k := range sum {
			sum[k] /= n[k]
		}
		return sum
	}
	b, i := mean(base), mean(inc)
	up := map[string]float64{}
	for k, v := range i {
		up[k] = v - b[k]
	}
	return byScore(up)
}

// Spectrum is the second baseline, spectrum-based fault localisation: an
// incident trace is failed when its request failed or took longer than
// 95% of the baseline's, and nodes are ranked by the Ochiai coefficient
// of the traces they appear in, ef / √((ef+nf)(ef+ep)).
func Spectrum(base, inc []*tracing.Trace) []string {
	durs := make([]int64, 0, len(base))
	for _, t := range base {
		durs = append(durs, t.Spans[0].DurationUS)
	}
	slices.Sort(durs)
	p95 := int64(math.MaxInt64)
	if len(durs) > 0 {
		p95 = durs[len(durs)*95/100]
	}
	ef, ep := map[string]float64{}, map[string]float64{}
	failed := 0.0
	for _, t := range inc {
		bad := t.Spans[0].Status >= 500 || t.Spans[0].DurationUS > p95
		if bad {
			failed++
		}
		in := map[string]bool{}
		rca.Observe(t, rca.Symptom{}, func(o rca.Observation) { in[o.Node] = true })
		for n := range in {
			if bad {
				ef[n]++
			} else {
				ep[n]++
			}
		}
	}
	score := map[string]float64{}
	for n := range ef {
		score[n] = ef[n] / math.Sqrt(failed*(ef[n]+ep[n]))
	}
	for n := range ep {
		if _, ok := score[n]; !ok {
			score[n] = 0
		}
	}
	return byScore(score)
}

// byScore orders nodes by score, highest first, ties by name.
func byScore(m map[string]float64) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b string) int {
		if c := cmp.Compare(m[b], m[a]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	return out
}
