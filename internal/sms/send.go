package sms

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
)

// State is where one reminder (one user, one local date) is in its life.
type State string

// The states of a reminder. Queued and Pending are in flight; the others are
// final and never change again.
const (
	// Queued: selected and enqueued; no provider call yet.
	Queued State = "queued"
	// Pending: a provider call was about to be made (the intent row is
	// committed first); its outcome is unknown until recorded or looked up.
	Pending State = "pending"
	Sent    State = "sent"
	Failed  State = "failed"
	Skipped State = "skipped"
)

// Final reports whether s is a final state.
func (s State) Final() bool { return s == Sent || s == Failed || s == Skipped }

// Key names one reminder.
type Key struct {
	UserID string
	Date   Date
}

// Send is the stored row of one reminder.
type Send struct {
	Key
	Zone      string
	Deadline  time.Time
	State     State
	Reason    string
	MessageID string
	Attempts  int
	IntentAt  time.Time
	JobID     int64
	// AttemptRef is the reference (OutId) that the latest provider call
	// carried; empty means Ref(UserID, Date).
	AttemptRef string
}

// Intent is a provider call about to be made for one reminder: the job
// making it, when, and the reference it carries, by which the provider's
// records are searched if its outcome is unclear.
type Intent struct {
	Key
	JobID int64
	At    time.Time
	Ref   string
}

// Final is the outcome of one reminder, recorded together with the
// completion of its job.
type Final struct {
	Key
	JobID     int64
	State     State
	Reason    string
	MessageID string
	At        time.Time
	// CPU is the process CPU time spent while this reminder was worked.
	CPU time.Duration
}

// Report is the outcome of the batch of one local date.
type Report struct {
	Date     string         `json:"date"`
	Eligible int            `json:"eligible"`
	Sent     int            `json:"sent"`
	Failed   map[string]int `json:"failed"`
	Skipped  map[string]int `json:"skipped"`
	// InFlight counts reminders not yet final.
	InFlight int `json:"in_flight"`
	// CPUPerMessageMicros is the worker CPU time per sent message, in µs.
	CPUPerMessageMicros float64 `json:"cpu_per_message_us"`
}

// NewReport returns an empty report for d.
func NewReport(d Date) *Report {
	return &Report{Date: d.String(), Failed: map[string]int{}, Skipped: map[string]int{}}
}

// Done reports whether every eligible reminder reached a final state.
func (r *Report) Done() bool { return r.InFlight == 0 }

// WriteText writes the report for people.
func (r *Report) WriteText(w io.Writer) error {
	sum := func(m map[string]int) int {
		n := 0
		for _, v := range m {
			n += v
		}
		return n
	}
	detail := func(m map[string]int) string {
		if len(m) == 0 {
			return ""
		}
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(m)) {
			parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
		}
		return "  (" + strings.Join(parts, ", ") + ")"
	}
	_, err := fmt.Fprintf(w, "batch %s\n  eligible     %d\n  sent         %d\n  failed       %d%s\n  skipped      %d%s\n  in flight    %d\n  cpu/message  %.1f µs\n",
		r.Date, r.Eligible, r.Sent, sum(r.Failed), detail(r.Failed), sum(r.Skipped), detail(r.Skipped), r.InFlight, r.CPUPerMessageMicros)
	return err
}
