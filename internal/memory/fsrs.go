package memory

import (
	"math"
	"time"
)

// FSRS6Defaults are the 21 default parameters of FSRS-6 as ts-fsrs 5.2.3
// ships them; testdata/fsrs6_reference.json pins the values it computes.
var FSRS6Defaults = [21]float64{
	0.212, 1.2931, 2.3065, 8.2956, 6.4133, 0.8334, 3.0194, 0.001, 1.8722,
	0.1666, 0.796, 1.4835, 0.0614, 0.2629, 1.6483, 0.6014, 1.8729, 0.5425,
	0.0912, 0.0658, 0.1542,
}

// Bounds of FSRS stability in days.
const (
	fsrsMinStability = 1e-3
	fsrsMaxStability = 36500
)

// FSRS is the FSRS-6 memory model (the Free Spaced Repetition Scheduler's
// difficulty, stability, retrievability model) with short-term reviews on,
// computed exactly as ts-fsrs computes it.
type FSRS struct {
	W             [21]float64
	decay, factor float64
	initEasy      float64
}

// NewFSRS returns the model with parameters w (FSRS6Defaults for the
// defaults).
func NewFSRS(w [21]float64) *FSRS {
	f := &FSRS{W: w}
	f.decay = -w[20]
	f.factor = round8(math.Exp(math.Log(0.9)/f.decay) - 1)
	f.initEasy = f.initDifficulty(Easy)
	return f
}

// Name implements Model.
func (f *FSRS) Name() string { return "fsrs" }

// Retrievability returns the probability of recall t days after the last
// review of a memory with stability s.
func (f *FSRS) Retrievability(t, s float64) float64 {
	return f.RecallOfBase(1 + f.factor*t/s)
}

// Predict implements Model.
func (f *FSRS) Predict(s State, now time.Time) float64 {
	x, ok := f.Base(s, now)
	if !ok {
		return 0
	}
	return f.RecallOfBase(x)
}

// Base returns the base of the power that gives the recall of s at now
// (Predict is RecallOfBase of it); the larger the base, the lower the
// recall. It lets a caller rank many words by recall and compute the power
// only for those it needs. ok is false when the state predicts 0.
func (f *FSRS) Base(s State, now time.Time) (x float64, ok bool) {
	if s.Last.IsZero() || s.Stability <= 0 {
		return 0, false
	}
	return 1 + f.factor*days(s.Last, now)/s.Stability, true
}

// RecallOfBase returns the recall for a base from Base.
func (f *FSRS) RecallOfBase(x float64) float64 { return round8(math.Pow(x, f.decay)) }

// BaseOfRecall returns the base at which the recall is p, in exact
// arithmetic; RecallOfBase of it may differ from p by rounding.
func (f *FSRS) BaseOfRecall(p float64) float64 { return math.Pow(p, 1/f.decay) }

// Update implements Model. FSRS counts elapsed time in whole days, as
// schedulers do, so a second answer on the same day is a short-term review.
func (f *FSRS) Update(s State, now time.Time, g Grade) State {
	t := 0.0
	if !s.Last.IsZero() {
		t = math.Floor(days(s.Last, now))
	}
	if s.Last.IsZero() || s.Stability <= 0 {
		s.Stability, s.Difficulty = 0, 0
	}
	s.Stability, s.Difficulty = f.Next(s.Stability, s.Difficulty, t, g)
	return countAnswer(s, now, g)
}

// Next returns the stability and difficulty after an answer graded g, t days
// after the previous one, from stability s and difficulty d (both zero for a
// first answer).
func (f *FSRS) Next(s, d, t float64, g Grade) (stability, difficulty float64) {
	w := &f.W
	if s == 0 && d == 0 {
		return math.Max(w[g-1], 0.1), clamp(f.initDifficulty(g), 1, 10)
	}
	d = math.Max(d, 1)
	s = math.Max(s, fsrsMinStability)
	r := f.Retrievability(t, s)
	var next float64
	switch {
	case t == 0:
		sinc := math.Pow(s, -w[19]) * math.Exp(w[17]*(float64(g)-3+w[18]))
		if g >= Good {
			sinc = math.Max(sinc, 1)
		}
		next = round8(clamp(s*sinc, fsrsMinStability, fsrsMaxStability))
	case g == Again:
		forget := round8(clamp(w[11]*math.Pow(d, -w[12])*(math.Pow(s+1, w[13])-1)*math.Exp((1-r)*w[14]), fsrsMinStability, fsrsMaxStability))
		floor := round8(s / math.Exp(w[17]*w[18]))
		next = math.Min(math.Max(floor, fsrsMinStability), forget)
	default:
		hard, easy := 1.0, 1.0
		if g == Hard {
			hard = w[15]
		}
		if g == Easy {
			easy = w[16]
		}
		next = round8(clamp(s*(1+math.Exp(w[8])*(11-d)*math.Pow(s, -w[9])*(math.Exp((1-r)*w[10])-1)*hard*easy), fsrsMinStability, fsrsMaxStability))
	}
	delta := -w[6] * (float64(g) - 3)
	nd := d + round8(delta*(10-d)/9)
	nd = round8(w[7]*f.initEasy + (1-w[7])*nd)
	return next, clamp(nd, 1, 10)
}

func (f *FSRS) initDifficulty(g Grade) float64 {
	return round8(f.W[4] - math.Exp(float64(g-1)*f.W[5]) + 1)
}

// round8 rounds to 8 decimals, as ts-fsrs does after every step.
func round8(x float64) float64 { return math.Round(x*1e8) / 1e8 }
