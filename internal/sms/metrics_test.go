package sms

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestFinalsCountsReminders checks that Finals, which the batch benchmark
// polls, agrees with the sum of owl_sms_reminders_total.
func TestFinalsCountsReminders(t *testing.T) {
	var none *Metrics
	if none.Finals() != 0 {
		t.Fatal("a nil *Metrics counts")
	}
	m := NewMetrics(prometheus.NewRegistry())
	for _, f := range []Final{{State: Sent}, {State: Skipped, Reason: SkipDeadline}, {State: Failed, Reason: "decrypt"}, {State: Sent}} {
		m.final(f)
	}
	if got, want := m.Finals(), int64(testutil.CollectAndCount(m.reminders)); got != 4 || want != 3 {
		t.Errorf("Finals %d (want 4), %d series (want 3)", got, want)
	}
	if sum := testutil.ToFloat64(m.reminders.WithLabelValues(string(Sent), "")); sum != 2 {
		t.Errorf("sent counter %v, want 2", sum)
	}
}
