package shift

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the controller's Prometheus metrics. A nil *Metrics records
// nothing.
type Metrics struct {
	weight      *prometheus.GaugeVec
	step        *prometheus.GaugeVec
	transitions *prometheus.CounterVec
	verdicts    *prometheus.CounterVec
	mismatches  *prometheus.CounterVec
	splits      *prometheus.CounterVec
}

// NewMetrics registers the controller's metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		weight: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "owl_shift_weight_percent",
			Help: "Share of traffic on the to side of each shift, as last verified on its data plane."}, []string{"shift"}),
		step: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "owl_shift_step",
			Help: "Step (1-based; 0 before the first) each shift holds or moves to."}, []string{"shift"}),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "owl_shift_transitions_total",
			Help: "State transitions of shifts, by the state entered."}, []string{"state"}),
		verdicts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "owl_shift_analyses_total",
			Help: "Step analyses by verdict (pass, fail, inconclusive, source_down)."}, []string{"shift", "verdict"}),
		mismatches: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "owl_shift_readback_mismatches_total",
			Help: "Weight read-backs that differed from the weights written (each one repaired by a rewrite)."}, []string{"shift"}),
		splits: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "owl_shift_split_mismatches_total",
			Help: "Analysis windows whose observed split differed from the set split beyond tolerance."}, []string{"shift"}),
	}
	reg.MustRegister(m.weight, m.step, m.transitions, m.verdicts, m.mismatches, m.splits)
	return m
}

func (m *Metrics) observe(sh *Shift, events []Event) {
	if m == nil {
		return
	}
	m.weight.WithLabelValues(sh.Name).Set(sh.Split.Percent())
	m.step.WithLabelValues(sh.Name).Set(float64(sh.Step + 1))
	for _, e := range events {
		if e.Kind == EventTransition {
			m.transitions.WithLabelValues(string(e.State)).Inc()
		}
	}
}

func (m *Metrics) readback(shift string) {
	if m != nil {
		m.mismatches.WithLabelValues(shift).Inc()
	}
}

func (m *Metrics) verdict(shift, v string) {
	if m != nil {
		m.verdicts.WithLabelValues(shift, v).Inc()
	}
}

func (m *Metrics) splitMismatch(shift string) {
	if m != nil {
		m.splits.WithLabelValues(shift).Inc()
	}
}
