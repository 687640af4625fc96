// Package memory holds the recall models that personalise sessions: each
// predicts the probability that a learner recalls a word at a given time and
// updates its state after an answer. FSRS-6 ranks reviews at serve time;
// half-life regression (Settles & Meeder 2016) and the Leitner, Pimsleur and
// constant baselines are there to be trained and compared offline.
package memory

import (
	"fmt"
	"math"
	"time"
)

// Grade is how well a learner answered, on FSRS's four-point scale.
type Grade int

// The grades. Hard, Good and Easy are correct answers; Again is a miss.
const (
	Again Grade = 1
	Hard  Grade = 2
	Good  Grade = 3
	Easy  Grade = 4
)

// Correct reports whether the grade is a correct answer.
func (g Grade) Correct() bool { return g >= Hard }

// Valid reports whether g is one of the four grades.
func (g Grade) Valid() bool { return g >= Again && g <= Easy }

// String returns the grade's name.
func (g Grade) String() string {
	switch g {
	case Again:
		return "again"
	case Hard:
		return "hard"
	case Good:
		return "good"
	case Easy:
		return "easy"
	}
	return fmt.Sprintf("grade(%d)", int(g))
}

// State is what the models remember about one word for one learner. It is
// carried in the user state of a session request, so every model reads the
// same struct and only the fields it needs.
type State struct {
	// Last is when the word was last answered; zero means never.
	Last time.Time `json:"last,omitzero"`
	// Seen and Correct count the answers so far (HLR's history_seen and
	// history_correct).
	Seen    int `json:"seen,omitempty"`
	Correct int `json:"correct,omitempty"`
	// Stability (days until recall falls to 90%) and Difficulty (1 to 10)
	// are FSRS's memory state; zero stability means FSRS has no state yet.
	Stability  float64 `json:"stability,omitempty"`
	Difficulty float64 `json:"difficulty,omitempty"`
}

// Model predicts recall and updates memory state after an answer.
type Model interface {
	// Name identifies the model ("fsrs", "hlr", ...).
	Name() string
	// Predict returns the probability, in [0, 1], that the word is recalled
	// at now. A word never answered has probability 0.
	Predict(s State, now time.Time) float64
	// Update returns the state after an answer graded g at now.
	Update(s State, now time.Time, g Grade) State
}

// days returns the time from a to b in days, never negative. It counts
// wall-clock time only (times from time.Now also carry a monotonic
// reading, which b.Sub would use), so that the same times give the same
// result however they were made, and it is several times quicker than
// b.Sub(a).Hours()/24, which checks for overflow: a session ranks
// hundreds of words by it.
func days(a, b time.Time) float64 {
	d := (float64(b.Unix()-a.Unix()) + float64(b.Nanosecond()-a.Nanosecond())*1e-9) / (24 * 60 * 60)
	if d < 0 {
		return 0
	}
	return d
}

// countAnswer adds an answer to the counts every model keeps.
func countAnswer(s State, now time.Time, g Grade) State {
	s.Seen++
	if g.Correct() {
		s.Correct++
	}
	s.Last = now
	return s
}

func clamp(x, lo, hi float64) float64 { return math.Min(math.Max(x, lo), hi) }
