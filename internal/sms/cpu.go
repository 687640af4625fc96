package sms

import (
	"sync"
	"time"
)

// CPUMeter attributes the process's CPU time to the reminders being worked:
// the CPU used while at least one reminder is in progress is split among
// the reminders as they finish. Idle time between batches is not counted.
// A nil *CPUMeter measures nothing.
type CPUMeter struct {
	mu       sync.Mutex
	inFlight int
	last     time.Duration
	read     func() time.Duration
}

// NewCPUMeter returns a meter of this process's CPU time.
func NewCPUMeter() *CPUMeter { return &CPUMeter{read: ProcessCPU} }

// Begin marks the start of work on one reminder.
func (m *CPUMeter) Begin() {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.inFlight == 0 {
		m.last = m.read()
	}
	m.inFlight++
}

// End marks the end of work on one reminder and returns the CPU time
// attributed to it: what the process used since the previous End (or the
// Begin that found it idle).
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
	now := m.read()
	d := now - m.last
	m.last = now
	return max(d, 0)
}
