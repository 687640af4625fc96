package sms

import (
	"testing"
	"time"
)

// TestCPUMeter checks that the CPU used while reminders are in progress
// goes to them in full, whatever the reads skipped, that idle time goes to
// nobody, and that the process CPU is read at most once per readEvery
// while reminders overlap.
func TestCPUMeter(t *testing.T) {
	var cpu time.Duration
	clock := time.Unix(0, 0)
	reads := 0
	m := &CPUMeter{read: func() time.Duration { reads++; return cpu }, now: func() time.Time { return clock }}
	step := func(used, elapsed time.Duration) { cpu += used; clock = clock.Add(elapsed) }

	var total time.Duration
	m.Begin()
	m.Begin()
	step(3*time.Millisecond, 100*time.Microsecond)
	total += m.End() // 100 µs after the first read: no read
	m.Begin()
	step(2*time.Millisecond, 2*time.Millisecond)
	total += m.End() // reads: 5 ms so far
	step(time.Millisecond, 10*time.Microsecond)
	total += m.End() // the last one in progress always reads
	if total != 6*time.Millisecond {
		t.Errorf("attributed %v, want 6ms", total)
	}
	if reads != 3 {
		t.Errorf("%d reads, want 3 (the idle Begin and two Ends)", reads)
	}

	step(50*time.Millisecond, time.Second) // idle: nobody's
	m.Begin()
	step(time.Millisecond, time.Millisecond)
	if got := m.End(); got != time.Millisecond {
		t.Errorf("after an idle second: %v, want 1ms", got)
	}
	if got := m.End(); got != 0 {
		t.Errorf("an End without a Begin: %v, want 0", got)
	}
	var none *CPUMeter
	none.Begin()
	if none.End() != 0 {
		t.Error("a nil meter measured")
	}
}
