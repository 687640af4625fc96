package memory

import (
	"math"
	"math/rand/v2"
	"time"
)

// Clipping bounds of half-life regression, as in Settles & Meeder (2016) and
// their reference implementation: predicted recall in [0.0001, 0.9999],
// half-lives between 15 minutes and 274 days.
const (
	minRecall   = 0.0001
	maxRecall   = 0.9999
	minHalfLife = 15.0 / (24 * 60)
	maxHalfLife = 274.0
)

// HLRFeatures is the number of HLR's count features: a bias and the square
// roots of one plus the correct and the wrong answers so far (the paper's
// interaction features). A lexeme indicator per word (the paper's lexeme
// tags) comes on top.
const HLRFeatures = 3

// HLR is half-life regression: p = 2^(−Δ/h), h = 2^(θ·x), Δ in days.
type HLR struct {
	Weights [HLRFeatures]float64 `json:"weights"`
	// Lexemes are the weights of the lexeme indicator features.
	Lexemes map[string]float64 `json:"lexemes,omitempty"`
}

// Observation is one practice of a word with its outcome, as in Duolingo's
// HLR dataset: Delta days since the word was last seen, the counts before
// this practice and the fraction recalled.
type Observation struct {
	// Lexeme identifies the word; empty for none.
	Lexeme  string
	Delta   float64
	Seen    int
	Correct int
	P       float64
}

// Name implements Model.
func (m *HLR) Name() string { return "hlr" }

func hlrFeatures(seen, correct int) [HLRFeatures]float64 {
	wrong := max(seen-correct, 0)
	return [HLRFeatures]float64{1, math.Sqrt(1 + float64(correct)), math.Sqrt(1 + float64(wrong))}
}

// HalfLife returns the predicted half-life in days after seen answers of
// which correct were correct.
func (m *HLR) HalfLife(seen, correct int) float64 { return m.HalfLifeOf("", seen, correct) }

// HalfLifeOf returns the predicted half-life of a lexeme in days.
func (m *HLR) HalfLifeOf(lexeme string, seen, correct int) float64 {
	x := hlrFeatures(seen, correct)
	dp := m.Lexemes[lexeme]
	for k := range x {
		dp += m.Weights[k] * x[k]
	}
	return clamp(math.Exp2(dp), minHalfLife, maxHalfLife)
}

// Recall returns the predicted recall delta days after the last practice.
func (m *HLR) Recall(delta float64, seen, correct int) float64 {
	return halfLifeRecall(delta, m.HalfLife(seen, correct))
}

// RecallOf returns the predicted recall of a lexeme.
func (m *HLR) RecallOf(lexeme string, delta float64, seen, correct int) float64 {
	return halfLifeRecall(delta, m.HalfLifeOf(lexeme, seen, correct))
}

func halfLifeRecall(delta, h float64) float64 {
	return clamp(math.Exp2(-delta/h), minRecall, maxRecall)
}

// Predict implements Model.
func (m *HLR) Predict(s State, now time.Time) float64 {
	if s.Last.IsZero() {
		return 0
	}
	return m.Recall(days(s.Last, now), s.Seen, s.Correct)
}

// Update implements Model: HLR's state is the answer counts.
func (m *HLR) Update(s State, now time.Time, g Grade) State { return countAnswer(s, now, g) }

// HLROptions are the training settings of half-life regression; the zero
// value takes the reference implementation's defaults.
type HLROptions struct {
	LearningRate float64 // 0.001
	HalfLifeWt   float64 // α, the weight of the half-life term: 0.01
	L2Wt         float64 // λ: 0.1
	Sigma        float64 // 1
	Epochs       int     // passes over the data: 1
	Seed         uint64  // shuffles the data between epochs after the first
}

// TrainHLR fits HLR weights by stochastic gradient descent on the paper's
// loss (p−p̂)² + α(h−ĥ)² + λ‖θ‖², with ĥ = −Δ/log₂(p) from the clipped
// observed recall and AdaGrad-style per-feature learning rates, as in the
// authors' reference implementation.
func TrainHLR(obs []Observation, o HLROptions) *HLR {
	o = o.withDefaults()
	m := &HLR{}
	tr := newHLRTrainer()
	order := make([]int, len(obs))
	for i := range order {
		order[i] = i
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0x686c72))
	for epoch := range o.Epochs {
		if epoch > 0 {
			rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		}
		for _, i := range order {
			m.step(obs[i], tr, o)
		}
	}
	return m
}

// hlrTrainer counts how often each feature was updated, for the
// per-feature learning rates.
type hlrTrainer struct {
	counts    [HLRFeatures]float64
	lexCounts map[string]float64
}

func newHLRTrainer() *hlrTrainer { return &hlrTrainer{lexCounts: map[string]float64{}} }

func (m *HLR) step(ob Observation, tr *hlrTrainer, o HLROptions) {
	pObs := clamp(ob.P, minRecall, maxRecall)
	hObs := clamp(-ob.Delta/math.Log2(pObs), minHalfLife, maxHalfLife)
	h := m.HalfLifeOf(ob.Lexeme, ob.Seen, ob.Correct)
	p := halfLifeRecall(ob.Delta, h)
	dlpdw := 2 * (p - pObs) * math.Ln2 * math.Ln2 * p * (ob.Delta / h)
	dlhdw := 2 * (h - hObs) * math.Ln2 * h
	update := func(w *float64, xk float64, count *float64) {
		rate := (1 / (1 + pObs)) * o.LearningRate / math.Sqrt(1+*count)
		*w -= rate * dlpdw * xk
		*w -= rate * o.HalfLifeWt * dlhdw * xk
		*w -= rate * o.L2Wt * *w / (o.Sigma * o.Sigma)
		*count++
	}
	x := hlrFeatures(ob.Seen, ob.Correct)
	for k, xk := range x {
		update(&m.Weights[k], xk, &tr.counts[k])
	}
	if ob.Lexeme != "" {
		if m.Lexemes == nil {
			m.Lexemes = map[string]float64{}
		}
		w, c := m.Lexemes[ob.Lexeme], tr.lexCounts[ob.Lexeme]
		update(&w, 1, &c)
		m.Lexemes[ob.Lexeme], tr.lexCounts[ob.Lexeme] = w, c
	}
}
