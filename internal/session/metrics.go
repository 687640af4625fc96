package session

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the Prometheus metrics of session serving. Services of one
// process may share them.
type Metrics struct {
	generated *prometheus.CounterVec
	duration  prometheus.Histogram
	shortBy   prometheus.Histogram
	errors    *prometheus.CounterVec
}

// NewMetrics registers the session metrics in reg; when another service
// of the process registered them already, it returns those.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		generated: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "owl_sessions_generated_total", Help: "Sessions generated, by course.",
		}, []string{"course"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "owl_session_generate_duration_seconds", Help: "Time to decode a session request, generate the session and encode it.",
			Buckets: prometheus.ExponentialBuckets(0.00001, 2.5, 12),
		}),
		shortBy: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "owl_session_short_by", Help: "How many challenges fewer than asked a generated session has.",
			Buckets: []float64{0, 1, 2, 5, 10, 20, 50},
		}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "owl_session_errors_total", Help: "Session requests refused or failed, by reason (unknown_course, unknown_skill, invalid_request, too_large, unsupported_media_type, internal).",
		}, []string{"reason"}),
	}
	m.generated = register(reg, m.generated)
	m.duration = register(reg, m.duration)
	m.shortBy = register(reg, m.shortBy)
	m.errors = register(reg, m.errors)
	return m
}

func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic(err) // a name clash with another metric is a programming error
	}
	return c
}

// Instrument makes the service record m; without it, it records nothing.
func (s *Service) Instrument(m *Metrics) { s.metrics = m }

func (s *Service) observe(start time.Time, sess *Session, reason string) {
	m := s.metrics
	if m == nil {
		return
	}
	m.duration.Observe(time.Since(start).Seconds())
	if reason != "" {
		m.errors.WithLabelValues(reason).Inc()
		return
	}
	m.generated.WithLabelValues(sess.Course).Inc()
	m.shortBy.Observe(float64(sess.ShortBy))
}

// errorReason is the metrics label of a refused or failed request.
func errorReason(fe *FieldError) string {
	switch fe.Field {
	case "course":
		if len(fe.Msg) > 7 && fe.Msg[:7] == "unknown" {
			return "unknown_course"
		}
	case "skill":
		if len(fe.Msg) > 6 && fe.Msg[:6] == "course" {
			return "unknown_skill"
		}
	}
	return "invalid_request"
}
