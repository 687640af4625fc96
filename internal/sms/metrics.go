package sms

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the Prometheus metrics of the SMS batch. A nil *Metrics
// records nothing. No label ever carries a phone number or a user id.
type Metrics struct {
	reminders *prometheus.CounterVec
	calls     *prometheus.CounterVec
	latency   prometheus.Histogram
	batch     prometheus.Histogram
	cpu       prometheus.Counter
	enqueued  prometheus.Counter
	selected  *prometheus.CounterVec
	optouts   prometheus.Counter
	receipts  *prometheus.CounterVec
	// finals counts what reminders counts, for Finals.
	finals atomic.Int64
}

// NewMetrics registers the SMS metrics in reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		reminders: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "owl_sms_reminders_total",
			Help: "Streak reminders that reached a final state, by state (sent, failed, skipped) and reason.",
		}, []string{"state", "reason"}),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "owl_sms_provider_calls_total",
			Help: "Calls to the SMS provider, by operation (send, send_batch, lookup) and result (ok or the error kind).",
		}, []string{"op", "result"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "owl_sms_provider_send_duration_seconds",
			Help:    "Time the SMS provider took to answer a send (one message or a batch).",
			Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}),
		batch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "owl_sms_provider_batch_size",
			Help:    "Reminders per batch send call (Alibaba SendBatchSms).",
			Buckets: []float64{1, 2, 5, 10, 25, 50, 75, 100},
		}),
		cpu: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "owl_sms_cpu_seconds_total",
			Help: "Process CPU time spent working streak reminders; divide by owl_sms_reminders_total{state=\"sent\"} for CPU per message.",
		}),
		enqueued: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "owl_sms_enqueued_total",
			Help: "Streak reminders enqueued by the nightly batch.",
		}),
		selected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "owl_sms_selection_skipped_total",
			Help: "Users the nightly batch passed over, by reason.",
		}, []string{"reason"}),
	}
	m.optouts = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "owl_sms_opt_outs_total",
		Help: "Users opted out by an inbound reply (STOP, TD, 退订).",
	})
	m.receipts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "owl_sms_receipts_total",
		Help: "Delivery receipts received from the provider, by status.",
	}, []string{"status"})
	reg.MustRegister(m.reminders, m.calls, m.latency, m.batch, m.cpu, m.enqueued, m.selected, m.optouts, m.receipts)
	return m
}

func (m *Metrics) final(f Final) {
	if m == nil {
		return
	}
	m.reminders.WithLabelValues(string(f.State), f.Reason).Inc()
	m.cpu.Add(f.CPU.Seconds())
	m.finals.Add(1)
}

// Finals returns how many reminders this process has brought to a final
// state: the sum of owl_sms_reminders_total, without gathering metrics.
func (m *Metrics) Finals() int64 {
	if m == nil {
		return 0
	}
	return m.finals.Load()
}

func (m *Metrics) call(op string, err error) {
	if m == nil {
		return
	}
	result := "ok"
	if err != nil {
		result = Classify(err).Kind.String()
	}
	m.calls.WithLabelValues(op, result).Inc()
}

func (m *Metrics) observe(d time.Duration) {
	if m == nil {
		return
	}
	m.latency.Observe(d.Seconds())
}

func (m *Metrics) batchSize(n int) {
	if m != nil {
		m.batch.Observe(float64(n))
	}
}

// Enqueued counts n reminders enqueued by a batch.
func (m *Metrics) Enqueued(n int) {
	if m != nil {
		m.enqueued.Add(float64(n))
	}
}

// Passed counts n users a batch passed over for reason.
func (m *Metrics) Passed(reason string, n int) {
	if m != nil {
		m.selected.WithLabelValues(reason).Add(float64(n))
	}
}

// Receipt counts a delivery receipt with status.
func (m *Metrics) Receipt(status string) {
	if m != nil {
		m.receipts.WithLabelValues(status).Inc()
	}
}

func (m *Metrics) optOuts(n int) {
	if m != nil {
		m.optouts.Add(float64(n))
	}
}
