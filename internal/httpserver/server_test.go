package httpserver

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/owlstack/owl/internal/logging"
	"github.com/owlstack/owl/internal/metrics"
)

type testServer struct {
	url    string
	cancel context.CancelFunc
	done   chan error
	health *Health
}

func start(t *testing.T, opts Options, routes func(mux *http.ServeMux)) *testServer {
	t.Helper()
	reg := metrics.NewRegistry("test")
	health := &Health{}
	mux := http.NewServeMux()
	HandleOps(mux, health, reg)
	routes(mux)
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := New("test", ln, mux, opts, reg, health, logging.Discard())
	ctx, cancel := context.WithCancel(context.Background())
	ts := &testServer{url: srv.URL(), cancel: cancel, done: make(chan error, 1), health: health}
	go func() { ts.done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-ts.done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return ts
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestOpsEndpoints(t *testing.T) {
	ts := start(t, DefaultOptions, func(mux *http.ServeMux) {
		mux.HandleFunc("GET /hello/{name}", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hi") })
	})
	if code, body := get(t, ts.url+"/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz = %d %q", code, body)
	}
	if code, _ := get(t, ts.url+"/readyz"); code != 200 {
		t.Errorf("/readyz with no checks = %d, want 200", code)
	}
	get(t, ts.url+"/hello/owl")
	get(t, ts.url+"/nowhere")
	_, body := get(t, ts.url+"/metrics")
	for _, want := range []string{
		`owl_http_requests_total{code="200",method="GET",route="GET /hello/{name}",server="test"} 1`,
		`owl_http_requests_total{code="404",method="GET",route="unmatched",server="test"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestReadyzReportsFailingCheck(t *testing.T) {
	ts := start(t, DefaultOptions, func(*http.ServeMux) {})
	ts.health.Add("store", func(context.Context) error { return errors.New("bucket unreachable") })
	ts.health.Add("cache", func(context.Context) error { return nil })
	code, body := get(t, ts.url+"/readyz")
	if code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz = %d, want 503", code)
	}
	var got struct {
		Ready  bool
		Checks []CheckResult
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	if got.Ready || len(got.Checks) != 2 || got.Checks[0].Error != "bucket unreachable" || !got.Checks[1].Ready {
		t.Errorf("/readyz body = %s", body)
	}
}

func TestBodyLimitAndPanic(t *testing.T) {
	opts := DefaultOptions
	opts.MaxBodyBytes = 10
	ts := start(t, opts, func(mux *http.ServeMux) {
		mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
			if _, err := io.ReadAll(r.Body); err != nil {
				http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
			}
		})
		mux.HandleFunc("GET /panic", func(http.ResponseWriter, *http.Request) { panic("oops") })
	})
	resp, err := http.Post(ts.url+"/echo", "text/plain", strings.NewReader(strings.Repeat("x", 11)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized body: %d, want 413", resp.StatusCode)
	}
	if code, _ := get(t, ts.url+"/panic"); code != 500 {
		t.Errorf("panic: %d, want 500", code)
	}
	if code, _ := get(t, ts.url+"/healthz"); code != 200 {
		t.Errorf("server did not survive the panic: %d", code)
	}
}

func TestGracefulShutdownDrainsInFlight(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	ts := start(t, DefaultOptions, func(mux *http.ServeMux) {
		mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
			close(entered)
			<-release
			io.WriteString(w, "done")
		})
	})
	type result struct {
		code int
		body string
	}
	resc := make(chan result, 1)
	go func() {
		resp, err := http.Get(ts.url + "/slow")
		if err != nil {
			resc <- result{body: err.Error()}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		resc <- result{resp.StatusCode, string(b)}
	}()
	<-entered
	ts.cancel()
	// Wait until the server has begun shutting down, then let the request finish.
	for deadline := time.Now().Add(5 * time.Second); ; {
		if _, ready := ts.health.Run(context.Background(), time.Second); !ready {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("health never reported stopping")
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	if r := <-resc; r.code != 200 || r.body != "done" {
		t.Errorf("in-flight request = %d %q, want 200 done", r.code, r.body)
	}
	if err := <-ts.done; err != nil {
		t.Errorf("Run = %v", err)
	}
	ts.done <- nil // for the cleanup
	if resp, err := http.Get(ts.url + "/healthz"); err == nil {
		resp.Body.Close()
		t.Error("server still accepts connections after shutdown")
	}
}

func TestAdminHandlerServesPprof(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := AdminHandler(&Health{}, reg)
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	code, body := get(t, "http://"+ln.Addr().String()+"/debug/pprof/")
	if code != 200 || !strings.Contains(body, "goroutine") {
		t.Errorf("pprof index = %d", code)
	}
}
