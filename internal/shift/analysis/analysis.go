// Package analysis decides, at each step of a traffic shift, whether the
// To side is doing worse than the From side over the same window: error
// rate by a one-sided exact test, latency by a one-sided Mann-Whitney U
// test over per-interval series (as Kayenta applies it), each with an
// effect-size tolerance, minimum samples, a correction for testing again at
// every step, and a threshold of consecutive failed checks.
package analysis

import "time"

// Verdict is the outcome of one analysis.
type Verdict string

// Verdicts.
const (
	Pass         Verdict = "pass"         // enough data, no harmful difference
	Fail         Verdict = "fail"         // a harmful difference, beyond tolerance, significant
	Inconclusive Verdict = "inconclusive" // not enough data, or a source is down: hold
)

// Observation is what one side served over an analysis window.
type Observation struct {
	Requests int64 `json:"requests"`
	Errors   int64 `json:"errors"`
	// Latency holds one latency value per interval of the window (seconds;
	// e.g. the p99 of each 10 s interval), the series the latency test
	// compares; sources without per-request data fill it from histograms.
	Latency []float64 `json:"latency"`
}

// Window is the two sides observed over the same period.
type Window struct {
	Start time.Time   `json:"start"`
	End   time.Time   `json:"end"`
	From  Observation `json:"from"`
	To    Observation `json:"to"`
}
