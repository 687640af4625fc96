package httpserver

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/owlstack/owl/internal/tracectx"
)

// TestHTTPServerTraces checks the middleware where every owl service gets
// it: httpserver.New with Options.Trace. Route metrics still see the route,
// the record has it, and a panic's log line carries the trace root.
func TestHTTPServerTraces(t *testing.T) {
	var logs, access bytes.Buffer
	log := slog.New(tracectx.LogHandler(slog.NewJSONHandler(&logs, nil)))
	lw := tracectx.NewLogWriter(&access)
	reg := prometheus.NewRegistry()
	tr, err := tracectx.New(tracectx.Options{Service: "svc", Log: lw, HashKey: []byte("0123456789abcdef"), Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
	mux.HandleFunc("GET /boom", func(http.ResponseWriter, *http.Request) { panic("boom") })
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	opts := DefaultOptions
	opts.Trace = tr
	srv := New("web", ln, mux, opts, reg, nil, log)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()

	for _, p := range []string{"/items/7", "/boom"} {
		resp, err := http.Get(srv.URL() + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if !strings.HasPrefix(resp.Header.Get("X-Amzn-Trace-Id"), "Root=1-") {
			t.Errorf("%s: no trace root on the response", p)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("server: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("server did not stop")
	}
	if err := lw.Flush(); err != nil {
		t.Fatal(err)
	}
	var recs []tracectx.Record
	for _, line := range strings.Split(strings.TrimSpace(access.String()), "\n") {
		var r tracectx.Record
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	if len(recs) != 2 || recs[0].Route != "GET /items/{id}" || recs[1].Status != 500 || recs[1].Error != "server_error" {
		t.Fatalf("records = %+v", recs)
	}
	if n := testutil.ToFloat64(mustCounter(t, reg, "GET /items/{id}")); n != 1 {
		t.Errorf("route metric = %v, want 1: tracing hid the route from the metrics", n)
	}
	if !strings.Contains(logs.String(), `"msg":"handler panic"`) || !strings.Contains(logs.String(), `"trace_root":"`+recs[1].TraceRoot+`"`) {
		t.Errorf("panic log lacks the trace root %s:\n%s", recs[1].TraceRoot, logs.String())
	}
}

func mustCounter(t *testing.T, reg *prometheus.Registry, route string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "owl_http_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "route" && l.GetValue() == route {
					c := prometheus.NewCounter(prometheus.CounterOpts{Name: "x"})
					c.Add(m.GetCounter().GetValue())
					return c
				}
			}
		}
	}
	t.Fatalf("no owl_http_requests_total for route %s", route)
	return nil
}
