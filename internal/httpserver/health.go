package httpserver

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"
)

// Check reports whether one dependency or component is ready; nil means ready.
type Check func(ctx context.Context) error

// Health holds the readiness checks of a process, in the order they were added.
type Health struct {
	mu       sync.RWMutex
	checks   []namedCheck
	stopping bool
}

type namedCheck struct {
	name  string
	check Check
}

// CheckResult is the outcome of one readiness check.
type CheckResult struct {
	Name     string        `json:"name"`
	Ready    bool          `json:"ready"`
	Error    string        `json:"error,omitempty"`
	Duration time.Duration `json:"duration_ns"`
}

// Add registers a readiness check under a name, usually a component's.
func (h *Health) Add(name string, check Check) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.checks = append(h.checks, namedCheck{name, check})
}

// SetStopping marks the process as draining: it is no longer ready.
func (h *Health) SetStopping() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stopping = true
}

// Run runs every check with a per-check timeout and reports each result.
func (h *Health) Run(ctx context.Context, timeout time.Duration) (results []CheckResult, ready bool) {
	h.mu.RLock()
	checks := append([]namedCheck(nil), h.checks...)
	stopping := h.stopping
	h.mu.RUnlock()

	results = make([]CheckResult, len(checks))
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			start := time.Now()
			err := c.check(cctx)
			results[i] = CheckResult{Name: c.name, Ready: err == nil, Duration: time.Since(start)}
			if err != nil {
				results[i].Error = err.Error()
			}
		})
	}
	wg.Wait()
	ready = !stopping
	for _, r := range results {
		ready = ready && r.Ready
	}
	if stopping {
		results = append(results, CheckResult{Name: "process", Error: "shutting down"})
	}
	return results, ready
}

// handleHealthz answers liveness: the process is up and serving HTTP.
func handleHealthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ok\n"))
}

// handleReadyz answers readiness from the registered checks: 200 when every
// check passes, 503 otherwise, with each check's result as JSON.
func (h *Health) handleReadyz(w http.ResponseWriter, r *http.Request) {
	results, ready := h.Run(r.Context(), 2*time.Second)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if !ready {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = json.NewEncoder(w).Encode(struct { // a client gone away is not our error
		Ready  bool          `json:"ready"`
		Checks []CheckResult `json:"checks"`
	}{ready, results})
}
