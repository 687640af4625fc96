package shift

import (
	"cmp"
	"encoding/json"
	"errors"
	"time"
)

// State is where a shift is in its life.
type State string

// The states of a shift. Pending, Promoting, Progressing, Paused and
// RollingBack are active; Succeeded, RolledBack and Aborted are final.
const (
	Pending     State = "pending"      // created, not yet driven by a controller
	Promoting   State = "promoting"    // moving weight onto the next step
	Progressing State = "progressing"  // holding a step while the analysis runs
	Paused      State = "paused"       // holding a step until a human resumes or promotes
	RollingBack State = "rolling_back" // stepping weight back to the From side
	Succeeded   State = "succeeded"    // all traffic on the To side
	RolledBack  State = "rolled_back"  // all traffic back on the From side after a failure
	Aborted     State = "aborted"      // all traffic back on the From side at a human's request
)

// Final reports whether a shift in state s is over.
func (s State) Final() bool { return s == Succeeded || s == RolledBack || s == Aborted }

// Shift is the persisted state of one shift: its spec and how far it got.
// The controller saves it after every transition, before it acts on the
// data plane, so that a restarted controller resumes at the same step.
type Shift struct {
	Name  string `json:"name"`
	Spec  Spec   `json:"spec"`
	State State  `json:"state"`
	// Step is the index in Spec.Steps of the step held or being reached
	// (-1 before the first).
	Step int `json:"step"`
	// Split is the last split verified on the data plane.
	Split Split `json:"split"`
	// Intent is a weight write decided and saved but not yet verified.
	Intent *Intent `json:"intent,omitempty"`
	// Reason says why the shift is in its state (a hold, a pause, a rollback).
	Reason string `json:"reason,omitempty"`
	// Abort marks a rollback a human asked for: it ends in Aborted.
	Abort bool `json:"abort,omitempty"`
	// ResumePromotes marks a pause at a pause point after a passed analysis:
	// resuming promotes instead of analysing the step again.
	ResumePromotes bool `json:"resume_promotes,omitempty"`
	// StepStarted is when the current step's split was verified: its
	// analysis window and hold start there.
	StepStarted time.Time `json:"step_started"`
	// PausedAt is when the current pause began; PausedTotal sums the
	// pauses of the current step, which its timeout does not count.
	PausedAt    time.Time     `json:"paused_at"`
	PausedTotal time.Duration `json:"paused_total"`
	// LastAnalysis is when the analysis last ran.
	LastAnalysis time.Time `json:"last_analysis"`
	// AnalysisState is the analysis' own memory between checks
	// (consecutive failures, the sequential test's spending).
	AnalysisState json.RawMessage `json:"analysis_state,omitempty"`
	// Last is the latest analysis.
	Last *Analysis `json:"last,omitempty"`
	// Mismatches counts weight read-backs that differed from the write.
	Mismatches int `json:"readback_mismatches"`
	// SplitMismatches counts windows whose observed split differed from the set one.
	SplitMismatches int `json:"split_mismatches"`
	// Request is the id of the last operator request applied.
	Request   int64     `json:"request"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Intent is a weight write saved before it is made.
type Intent struct {
	Split Split     `json:"split"`
	Fence uint64    `json:"fence"`
	At    time.Time `json:"at"`
}

// Analysis is one analysis of a step, with what each side served.
type Analysis struct {
	At      time.Time `json:"at"`
	Step    int       `json:"step"`
	Split   Split     `json:"split"`
	Verdict string    `json:"verdict"`
	Reason  string    `json:"reason"`
	// Observed is the To side's share of requests in the window, in basis points.
	ObservedBP int          `json:"observed_bp"`
	From       SideMetrics  `json:"from"`
	To         SideMetrics  `json:"to"`
	Checks     []CheckBrief `json:"checks,omitempty"`
	Start      time.Time    `json:"window_start"`
	End        time.Time    `json:"window_end"`
}

// SideMetrics is what one side served in an analysis window.
type SideMetrics struct {
	Requests  int64   `json:"requests"`
	Errors    int64   `json:"errors"`
	ErrorRate float64 `json:"error_rate"`
	// LatencyP50 and LatencyP99 are the median and 99th percentile of the
	// window's per-interval latency series, in seconds.
	LatencyP50 float64 `json:"latency_p50_seconds"`
	LatencyP99 float64 `json:"latency_p99_seconds"`
}

// CheckBrief is one check of an analysis (error rate, latency).
type CheckBrief struct {
	Name    string `json:"name"`
	Verdict string `json:"verdict"`
	Detail  string `json:"detail,omitempty"`
}

// Event is one line of a shift's history: a transition, an analysis, a
// repaired mismatch, an operator request.
type Event struct {
	At     time.Time       `json:"at"`
	Kind   string          `json:"kind"`
	State  State           `json:"state"`
	Step   int             `json:"step"`
	Split  Split           `json:"split"`
	Reason string          `json:"reason,omitempty"`
	Detail json.RawMessage `json:"detail,omitempty"`
}

// Event kinds.
const (
	EventTransition = "transition"
	EventAnalysis   = "analysis"
	EventMismatch   = "mismatch"
	EventRequest    = "request"
	EventHold       = "hold"
)

// Command is an operator's request to a running shift.
type Command string

// Operator commands.
const (
	CmdPause   Command = "pause"
	CmdResume  Command = "resume"
	CmdPromote Command = "promote"
	CmdAbort   Command = "abort"
)

// ParseCommand checks an operator command's name.
func ParseCommand(s string) (Command, error) {
	switch c := Command(s); c {
	case CmdPause, CmdResume, CmdPromote, CmdAbort:
		return c, nil
	}
	return "", errors.New("unknown command " + s + ": want pause, resume, promote or abort")
}

// Request is an operator command queued for the controller.
type Request struct {
	ID      int64     `json:"id"`
	Shift   string    `json:"shift"`
	Command Command   `json:"command"`
	By      string    `json:"by,omitempty"`
	At      time.Time `json:"at"`
}

// Lease is a controller's exclusive right to drive one shift until Expires.
// Fence grows with every acquisition: writes carrying an older one are refused.
type Lease struct {
	Shift   string    `json:"shift"`
	Holder  string    `json:"holder"`
	Fence   uint64    `json:"fence"`
	Expires time.Time `json:"expires"`
}

// Errors stores return.
var (
	ErrNotFound  = errors.New("no such shift")
	ErrExists    = errors.New("a shift with this name exists")
	ErrLeaseHeld = errors.New("another controller holds the shift's lease")
	ErrLeaseLost = errors.New("lease lost: another controller took the shift")
	ErrFinal     = errors.New("the shift is over")
)

// New returns a shift for spec, pending, created at now.
func New(spec *Spec, now time.Time) *Shift {
	return &Shift{Name: spec.Name, Spec: *spec, State: Pending, Step: -1, CreatedAt: now, UpdatedAt: now}
}

// Status is the stable JSON view of a shift that the HTTP API, the CLI's
// --json and other tools (the migration fleet view) read.
type Status struct {
	Name string `json:"name"`
	// Service is the migrated service the shift moves (never empty).
	Service   string `json:"service"`
	State     State  `json:"state"`
	From      string `json:"from"`
	To        string `json:"to"`
	DataPlane string `json:"data_plane"`
	// Step is the 1-based step held or being reached (0 before the first);
	// Steps is how many there are.
	Step  int `json:"step"`
	Steps int `json:"steps"`
	// Percent is the To side's share last verified on the data plane;
	// TargetPercent is the share being written, while a write is in flight.
	Percent       float64   `json:"percent"`
	TargetPercent *float64  `json:"target_percent,omitempty"`
	StepsPercent  []float64 `json:"steps_percent"`
	Reason        string    `json:"reason,omitempty"`
	// ReadbackMismatches and SplitMismatches count the failed verifications.
	ReadbackMismatches int        `json:"readback_mismatches"`
	SplitMismatches    int        `json:"split_mismatches"`
	LastAnalysis       *Analysis  `json:"last_analysis,omitempty"`
	StepStartedAt      *time.Time `json:"step_started_at,omitempty"`
	CreatedAt          time.Time  `json:"created_at"`
	UpdatedAt          time.Time  `json:"updated_at"`
}

// StatusOf is the status of sh.
func StatusOf(sh *Shift) Status {
	st := Status{
		Name: sh.Name, Service: cmp.Or(sh.Spec.Service, sh.Name), State: sh.State, From: sh.Spec.From.Name, To: sh.Spec.To.Name, DataPlane: sh.Spec.DataPlane.Kind,
		Step: sh.Step + 1, Steps: len(sh.Spec.Steps), Percent: sh.Split.Percent(), StepsPercent: sh.Spec.Steps, Reason: sh.Reason,
		ReadbackMismatches: sh.Mismatches, SplitMismatches: sh.SplitMismatches, LastAnalysis: sh.Last,
		CreatedAt: sh.CreatedAt, UpdatedAt: sh.UpdatedAt,
	}
	if sh.Intent != nil {
		p := sh.Intent.Split.Percent()
		st.TargetPercent = &p
	}
	if !sh.StepStarted.IsZero() {
		t := sh.StepStarted
		st.StepStartedAt = &t
	}
	return st
}
