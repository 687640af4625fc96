package memory

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"testing"
	"time"
)

type fsrsReference struct {
	Reference string    `json:"reference"`
	W         []float64 `json:"w"`
	Sequences [][]struct {
		T          float64  `json:"t"`
		Grade      Grade    `json:"grade"`
		RBefore    *float64 `json:"r_before"`
		Stability  float64  `json:"stability"`
		Difficulty float64  `json:"difficulty"`
	} `json:"sequences"`
}

// TestFSRSMatchesReference replays the review sequences whose memory states
// ts-fsrs computed (testdata/fsrsref.mjs wrote testdata/fsrs6_reference.json).
func TestFSRSMatchesReference(t *testing.T) {
	data, err := os.ReadFile("testdata/fsrs6_reference.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref fsrsReference
	if err := json.Unmarshal(data, &ref); err != nil {
		t.Fatal(err)
	}
	if len(ref.W) != 21 {
		t.Fatalf("%s: %d parameters, want 21", ref.Reference, len(ref.W))
	}
	for i, w := range ref.W {
		if w != FSRS6Defaults[i] {
			t.Errorf("w[%d] = %v, %s has %v", i, FSRS6Defaults[i], ref.Reference, w)
		}
	}
	f := NewFSRS(FSRS6Defaults)
	const tol = 1e-6
	for i, seq := range ref.Sequences {
		var s, d float64
		for j, step := range seq {
			if step.RBefore != nil {
				if r := f.Retrievability(step.T, s); math.Abs(r-*step.RBefore) > tol {
					t.Errorf("sequence %d step %d: R = %.8f, %s says %.8f", i, j, r, ref.Reference, *step.RBefore)
				}
			}
			s, d = f.Next(s, d, step.T, step.Grade)
			if math.Abs(s-step.Stability) > tol || math.Abs(d-step.Difficulty) > tol {
				t.Errorf("sequence %d step %d (t=%v, %v): S=%.8f D=%.8f, %s says S=%.8f D=%.8f",
					i, j, step.T, step.Grade, s, d, ref.Reference, step.Stability, step.Difficulty)
			}
		}
	}
	if len(ref.Sequences) < 10 {
		t.Fatalf("only %d reference sequences", len(ref.Sequences))
	}
}

func TestFSRSUpdateAndPredict(t *testing.T) {
	f := NewFSRS(FSRS6Defaults)
	t0 := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	var s State
	if p := f.Predict(s, t0); p != 0 {
		t.Fatalf("unseen word: p = %v, want 0", p)
	}
	s = f.Update(s, t0, Good)
	if s.Seen != 1 || s.Correct != 1 || !s.Last.Equal(t0) {
		t.Fatalf("after one answer: %+v", s)
	}
	// Retrievability is 90% after exactly one stability.
	at := t0.Add(time.Duration(s.Stability * 24 * float64(time.Hour)))
	if p := f.Predict(s, at); math.Abs(p-0.9) > 1e-6 {
		t.Errorf("p after S days = %v, want 0.9", p)
	}
	if p0, p1 := f.Predict(s, t0.Add(time.Hour)), f.Predict(s, t0.Add(240*time.Hour)); !(p0 > p1) {
		t.Errorf("recall does not decay: %v then %v", p0, p1)
	}
	// A miss shrinks stability; a success after a gap grows it.
	later := t0.Add(72 * time.Hour)
	if miss := f.Update(s, later, Again); !(miss.Stability < s.Stability) || miss.Correct != 1 || miss.Seen != 2 {
		t.Errorf("miss: %+v from %+v", miss, s)
	}
	if hit := f.Update(s, later, Good); !(hit.Stability > s.Stability) {
		t.Errorf("success: %+v from %+v", hit, s)
	}
}

func TestHalfLifeModels(t *testing.T) {
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	s := State{Last: now.Add(-48 * time.Hour), Seen: 8, Correct: 5}
	tests := []struct {
		m    Model
		want float64
	}{
		// Leitner: h = 2^(5−3) = 4 days; Δ = 2 days → 2^(−0.5).
		{Leitner{}, math.Exp2(-0.5)},
		// Pimsleur: h = 2^(2.35·8 − 16.46) days.
		{Pimsleur{}, math.Exp2(-2 / math.Exp2(2.35*8-16.46))},
		// HLR with θ = (1, 0, 0): h = 2 days → 0.5.
		{&HLR{Weights: [HLRFeatures]float64{1, 0, 0}}, 0.5},
		{Constant{P: 0.8}, 0.8},
	}
	for _, tt := range tests {
		if got := tt.m.Predict(s, now); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("%s: p = %v, want %v", tt.m.Name(), got, tt.want)
		}
		if got := tt.m.Predict(State{}, now); got != 0 {
			t.Errorf("%s: unseen word p = %v, want 0", tt.m.Name(), got)
		}
		u := tt.m.Update(s, now, Again)
		if u.Seen != 9 || u.Correct != 5 || !u.Last.Equal(now) {
			t.Errorf("%s: update = %+v", tt.m.Name(), u)
		}
	}
	// The paper's clipping: p in [0.0001, 0.9999], h in [15 min, 274 days].
	far := State{Last: now.Add(-1000 * 24 * time.Hour), Seen: 1}
	if p := (Pimsleur{}).Predict(far, now); p != minRecall {
		t.Errorf("clipped p = %v, want %v", p, minRecall)
	}
	if h := (&HLR{Weights: [HLRFeatures]float64{100}}).HalfLife(0, 0); h != maxHalfLife {
		t.Errorf("clipped h = %v, want %v", h, maxHalfLife)
	}
	if h := (&HLR{Weights: [HLRFeatures]float64{-100}}).HalfLife(0, 0); h != minHalfLife {
		t.Errorf("clipped h = %v, want %v", h, minHalfLife)
	}
}

// TestTrainHLRRecoversHalfLives trains on data drawn from a known half-life
// that grows with correct answers and shrinks with wrong ones, and checks
// that the fit orders and approximates them.
func TestTrainHLRRecoversHalfLives(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	truth := func(seen, correct int) float64 {
		return math.Exp2(0.5 + 1.5*math.Sqrt(1+float64(correct)) - 1.2*math.Sqrt(1+float64(seen-correct)))
	}
	var obs []Observation
	for range 60000 {
		seen := rng.IntN(12)
		correct := 0
		if seen > 0 {
			correct = rng.IntN(seen + 1)
		}
		delta := rng.ExpFloat64() * 3
		obs = append(obs, Observation{Delta: delta, Seen: seen, Correct: correct, P: math.Exp2(-delta / truth(seen, correct))})
	}
	m := TrainHLR(obs, HLROptions{Epochs: 5, LearningRate: 0.01, Seed: 3})
	if !(m.Weights[1] > 0 && m.Weights[2] < 0) {
		t.Fatalf("weights %v: correct answers should lengthen and wrong ones shorten half-lives", m.Weights)
	}
	if m.HalfLife(10, 10) <= m.HalfLife(10, 2) {
		t.Errorf("h(10 of 10) = %v <= h(2 of 10) = %v", m.HalfLife(10, 10), m.HalfLife(10, 2))
	}
	var errFit, errConst float64
	c := TrainConstant(obs)
	for _, o := range obs[:5000] {
		errFit += math.Abs(m.Recall(o.Delta, o.Seen, o.Correct) - o.P)
		errConst += math.Abs(c.P - o.P)
	}
	if errFit >= errConst/2 {
		t.Errorf("HLR MAE %.4f is not well below the constant model's %.4f", errFit/5000, errConst/5000)
	}
}

func TestGrades(t *testing.T) {
	for g, want := range map[Grade]bool{Again: false, Hard: true, Good: true, Easy: true} {
		if g.Correct() != want || !g.Valid() {
			t.Errorf("%v: correct %v valid %v", g, g.Correct(), g.Valid())
		}
	}
	if Grade(0).Valid() || Grade(5).Valid() {
		t.Error("grades 0 and 5 are valid")
	}
}

func TestDays(t *testing.T) {
	base := time.Date(2026, 3, 29, 0, 59, 59, 999_999_999, time.UTC)
	for _, d := range []time.Duration{0, time.Nanosecond, time.Second, 36 * time.Hour, 400*24*time.Hour + 7*time.Millisecond, 200 * 365 * 24 * time.Hour} {
		b := base.Add(d)
		want := d.Hours() / 24
		if got := days(base, b); math.Abs(got-want) > 1e-12*math.Max(1, want) {
			t.Errorf("days(%v) = %v, want %v", d, got, want)
		}
		// Zones and monotonic readings do not change the result.
		if got, again := days(base, b), days(base.In(time.FixedZone("", -7*3600)), b.In(time.FixedZone("", 9*3600))); got != again {
			t.Errorf("days(%v) = %v in UTC, %v in other zones", d, got, again)
		}
	}
	if got := days(base.Add(time.Hour), base); got != 0 {
		t.Errorf("days backwards = %v, want 0", got)
	}
	now := time.Now()
	later := now.Add(90 * time.Minute)
	if got, wall := days(now, later), days(now.Round(0), later.Round(0)); got != wall {
		t.Errorf("days with monotonic readings = %v, without = %v", got, wall)
	}
}
