package memory

import (
	"math"
	"time"
)

// Leitner is the Leitner-system baseline of Settles & Meeder: a half-life of
// 2^(correct − wrong) days.
type Leitner struct{}

// Name implements Model.
func (Leitner) Name() string { return "leitner" }

// Predict implements Model.
func (Leitner) Predict(s State, now time.Time) float64 {
	if s.Last.IsZero() {
		return 0
	}
	wrong := s.Seen - s.Correct
	return halfLifeRecall(days(s.Last, now), clamp(math.Exp2(float64(s.Correct-wrong)), minHalfLife, maxHalfLife))
}

// Update implements Model.
func (Leitner) Update(s State, now time.Time, g Grade) State { return countAnswer(s, now, g) }

// Pimsleur is the Pimsleur baseline of Settles & Meeder: a half-life of
// 2^(2.35·seen − 16.46) days.
type Pimsleur struct{}

// Name implements Model.
func (Pimsleur) Name() string { return "pimsleur" }

// Predict implements Model.
func (Pimsleur) Predict(s State, now time.Time) float64 {
	if s.Last.IsZero() {
		return 0
	}
	return halfLifeRecall(days(s.Last, now), clamp(math.Exp2(2.35*float64(s.Seen)-16.46), minHalfLife, maxHalfLife))
}

// Update implements Model.
func (Pimsleur) Update(s State, now time.Time, g Grade) State { return countAnswer(s, now, g) }

// Constant predicts the same recall for every practiced word: the mean
// recall of the training data.
type Constant struct{ P float64 }

// Name implements Model.
func (Constant) Name() string { return "constant" }

// Predict implements Model.
func (c Constant) Predict(s State, _ time.Time) float64 {
	if s.Last.IsZero() {
		return 0
	}
	return c.P
}

// Update implements Model.
func (Constant) Update(s State, now time.Time, g Grade) State { return countAnswer(s, now, g) }

// TrainConstant returns the constant model of the mean observed recall.
func TrainConstant(obs []Observation) Constant {
	if len(obs) == 0 {
		return Constant{P: 0.5}
	}
	sum := 0.0
	for _, o := range obs {
		sum += o.P
	}
	return Constant{P: clamp(sum/float64(len(obs)), minRecall, maxRecall)}
}
