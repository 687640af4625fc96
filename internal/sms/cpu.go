package sms

import (
	"sync"
	"time"
)

// CPUMeter attributes the process's CPU time to the reminders being worked:
// the CPU used while at least one reminder is in progress goes to the
// reminders as they finish. Idle time between batches is not counted.
//
// Reading the process's CPU time is a system call that walks every thread,
// so under load the meter reads it at most once per readEvery: the
// reminder whose End reads it gets the CPU used since the previous read,
// the others nothing. Per reminder the figure is lumpy; its sum over a
// batch, which the report divides by the messages sent, is the same.
// A nil *CPUMeter measures nothing.
type CPUMeter struct {
	mu       sync.Mutex
	inFlight int
	last     time.Duration // process CPU at the last read
	lastAt   time.Time     // when it was read
	read     func() time.Duration
	now      func() time.Time
}

// readEvery is the shortest time between two reads of the process CPU
// while reminders are in progress.
const readEvery = time.Millisecond

// NewCPUMeter returns a meter of this process's CPU time.
func NewCPUMeter() *CPUMeter { return &CPUMeter{read: ProcessCPU, now: time.Now} }

// Begin marks the start of work on one reminder.
func (m *CPUMeter) Begin() {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.inFlight == 0 {
		m.last, m.lastAt = m.read(), m.now()
	}
	m.inFlight++
}

// End marks the end of work on one reminder and returns the CPU time
// attributed to it: what the process used since the previous read, when
// this End reads it (the last reminder in progress always does).
func (m *CPUMeter) End() time.Duration {
	if m == nil {
		return 0
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.inFlight == 0 {
		return 0
	}
	m.inFlight--
	at := m.now()
	if m.inFlight > 0 && at.Sub(m.lastAt) < readEvery {
		return 0
	}
	cpu := m.read()
	d := cpu - m.last
	m.last, m.lastAt = cpu, at
	return max(d, 0)
}
