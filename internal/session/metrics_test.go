package session

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/owlstack/owl/internal/coursestore"
)

func TestMetrics(t *testing.T) {
	c := demoCourse(t)
	reg := prometheus.NewRegistry()
	courses := fakeCourses{c.Header.CourseID: {Course: c, Manifest: coursestore.Manifest{Course: c.Header.CourseID, Version: 1}}}
	mux := http.NewServeMux()
	svc := NewService(newGenerator(), courses, func() time.Time { return now }, 64<<10, slog.New(slog.DiscardHandler))
	svc.Instrument(NewMetrics(reg))
	svc.Routes(mux)
	// A second service of the same process shares the metrics.
	other := NewService(newGenerator(), courses, func() time.Time { return now }, 0, slog.New(slog.DiscardHandler))
	other.Instrument(NewMetrics(reg))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	post(t, srv.URL, "application/json", `{"course":"owl-demo","skill":"101","length":5,"user":{}}`)
	post(t, srv.URL, "application/json", `{"course":"owl-demo","skill":"practice","length":5,"user":{}}`) // short by 5
	post(t, srv.URL, "application/json", `{"course":"nope","skill":"101","user":{}}`)
	post(t, srv.URL, "application/json", `{"course":"owl-demo","skill":"999","user":{}}`)
	post(t, srv.URL, "application/json", `{"course":"owl-demo","skill":"101","length":-1,"user":{}}`)
	post(t, srv.URL, "text/plain", `{}`)

	m := svc.metrics
	for name, tc := range map[string]struct {
		c    prometheus.Collector
		want float64
	}{
		"generated":      {m.generated.WithLabelValues("owl-demo"), 2},
		"unknown course": {m.errors.WithLabelValues("unknown_course"), 1},
		"unknown skill":  {m.errors.WithLabelValues("unknown_skill"), 1},
		"invalid":        {m.errors.WithLabelValues("invalid_request"), 1},
		"media type":     {m.errors.WithLabelValues("unsupported_media_type"), 1},
	} {
		if got := testutil.ToFloat64(tc.c); got != tc.want {
			t.Errorf("%s: %v, want %v", name, got, tc.want)
		}
	}
	if n := testutil.CollectAndCount(reg, "owl_session_generate_duration_seconds"); n != 1 {
		t.Errorf("duration histogram: %d series", n)
	}
	want := `# HELP owl_session_short_by How many challenges fewer than asked a generated session has.
# TYPE owl_session_short_by histogram
owl_session_short_by_bucket{le="0"} 1
owl_session_short_by_bucket{le="1"} 1
owl_session_short_by_bucket{le="2"} 1
owl_session_short_by_bucket{le="5"} 2
owl_session_short_by_bucket{le="10"} 2
owl_session_short_by_bucket{le="20"} 2
owl_session_short_by_bucket{le="50"} 2
owl_session_short_by_bucket{le="+Inf"} 2
owl_session_short_by_sum 5
owl_session_short_by_count 2
`
	if err := testutil.CollectAndCompare(m.shortBy, strings.NewReader(want)); err != nil {
		t.Errorf("short_by: %v", err)
	}
}
