package metrics

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHandlerServesBuildInfo(t *testing.T) {
	reg := NewRegistry("v1.2.3")
	rec := httptest.NewRecorder()
	Handler(reg).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{`owl_build_info{version="v1.2.3"} 1`, "go_goroutines", "process_cpu_seconds_total"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics output lacks %q", want)
		}
	}
}

func TestRegistriesAreIndependent(t *testing.T) {
	// Two processes in one test binary must not collide on registration.
	NewRegistry("a")
	NewRegistry("b")
}
