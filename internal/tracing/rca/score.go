package rca

import (
	"math"
	"slices"
)

// minSamples is how many spans a node's route needs in each window before
// its latency is compared.
const minSamples = 5

// quantile returns the q-quantile of sorted xs (linear interpolation).
func quantile(xs []int64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	pos := q * float64(len(xs)-1)
	i := int(pos)
	if i+1 >= len(xs) {
		return float64(xs[len(xs)-1])
	}
	f := pos - float64(i)
	return float64(xs[i])*(1-f) + float64(xs[i+1])*f
}

// shiftZ is how far the incident's latencies moved up from the baseline's,
// in robust standard deviations of the baseline: the larger of the shifts
// of the median and of the third quartile, over 1.4826 × the baseline's
// median absolute deviation (floored, so that near-constant baselines do
// not turn microseconds into alarms). Both slices must be sorted.
func shiftZ(base, inc []int64) float64 {
	if len(base) < minSamples || len(inc) < minSamples {
		return 0
	}
	med := quantile(base, 0.5)
	dev := make([]int64, len(base))
	for i, x := range base {
		dev[i] = int64(math.Abs(float64(x) - med))
	}
	slices.Sort(dev)
	scale := max(1.4826*quantile(dev, 0.5), 0.05*med, 50)
	z50 := (quantile(inc, 0.5) - med) / scale
	z75 := (quantile(inc, 0.75) - quantile(base, 0.75)) / scale
	return max(z50, z75)
}

// rateZ is how far an incident error rate (k of n) rose above the
// baseline's (kb of nb), in standard deviations of the baseline rate
// (smoothed, so that a clean baseline still has some spread).
func rateZ(kb, nb, k, n int) float64 {
	if n == 0 {
		return 0
	}
	p0 := (float64(kb) + 0.5) / (float64(nb) + 1)
	p1 := float64(k) / float64(n)
	return (p1 - p0) / math.Sqrt(p0*(1-p0)/float64(n))
}

// squash maps a z score to an anomaly between 0 and 1: nothing up to
// from, then rising, 0.63 at from+scale.
func squash(z, from, scale float64) float64 {
	if z <= from || math.IsNaN(z) {
		return 0
	}
	return 1 - math.Exp(-(z-from)/scale)
}

// either combines independent anomalies: the chance that at least one
// of them is real.
func either(a, b float64) float64 { return 1 - (1-a)*(1-b) }

// confidence discounts anomalies seen on few spans.
func confidence(n int) float64 { return float64(n) / float64(n+minSamples) }

// groupScore compares one node route in the two windows.
type groupScore struct {
	selfZ, durZ, ownErrZ, errZ float64
	// own is the anomaly of the node's own work and own errors; seen is
	// what its callers see (duration, all errors).
	own, seen float64
}

func scoreGroup(b, i *group) groupScore {
	var s groupScore
	i.sort()
	n := len(i.dur)
	var nb, eb, ob int
	if b != nil {
		b.sort()
		nb, eb, ob = len(b.dur), b.errs, b.ownErrs
		s.selfZ = shiftZ(b.self, i.self)
		s.durZ = shiftZ(b.dur, i.dur)
	}
	s.ownErrZ = rateZ(ob, nb, i.ownErrs, n)
	s.errZ = rateZ(eb, nb, i.errs, n)
	c := confidence(n)
	s.own = c * either(squash(s.selfZ, 1, 3), squash(s.ownErrZ, 2, 3))
	s.seen = c * either(squash(s.durZ, 1, 3), squash(s.errZ, 2, 3))
	return s
}
