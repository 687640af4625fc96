package source

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// matrix is a query_range answer with one series of values at
// t0+step*(i+1).
func matrix(step time.Duration, vals ...string) string {
	var pts []string
	for i, v := range vals {
		pts = append(pts, fmt.Sprintf(`[%d,"%s"]`, t0.Add(step*time.Duration(i+1)).Unix(), v))
	}
	return `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[` + strings.Join(pts, ",") + `]}]}}`
}

// fakeProm answers range queries by the first rule whose key is in the
// query.
func fakeProm(t *testing.T, rules map[string]string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/query_range" {
			http.NotFound(w, r)
			return
		}
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		q := r.Form.Get("query")
		for _, key := range []string{"to_err", "from_err", "to_lat", "from_lat", "to_req", "from_req"} {
			side, kind, _ := strings.Cut(key, "_")
			if strings.Contains(q, `side="`+side+`"`) && strings.Contains(q, kind) {
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, rules[key])
				return
			}
		}
		t.Errorf("unexpected query %q", q)
		http.Error(w, "no rule", http.StatusBadRequest)
	}))
	t.Cleanup(srv.Close)
	return srv
}

var testQueries = Queries{
	Requests: `sum(req{shift="{{.Shift}}",side="{{.Side}}"}[{{.Interval}}])`,
	Errors:   `sum(err{shift="{{.Shift}}",side="{{.Side}}"}[{{.Interval}}])`,
	Latency:  `sum(lat{shift="{{.Shift}}",side="{{.Side}}"}[{{.Interval}}])`,
}

func TestPrometheusFake(t *testing.T) {
	step := 10 * time.Second
	rules := map[string]string{
		"from_req": matrix(step, "100", "120.4", "90"),
		"from_err": matrix(step, "1", "0", "2"),
		"from_lat": matrix(step, "0.1", "NaN", "0.12"),
		"to_req":   matrix(step, "10", "0", "11"),
		"to_err":   `{"status":"success","data":{"resultType":"matrix","result":[]}}`,
		"to_lat":   matrix(step, "0.2", "0.5", "0.3"), // 0.5 at an interval without requests: dropped
	}
	srv := fakeProm(t, rules)
	src, err := NewPrometheus(api.Config{Address: srv.URL}, "web", Sides{}, step, testQueries)
	if err != nil {
		t.Fatal(err)
	}
	w, err := src.Observe(context.Background(), t0, t0.Add(3*step))
	if err != nil {
		t.Fatal(err)
	}
	if w.From.Requests != 310 || w.From.Errors != 3 || fmt.Sprint(w.From.Latency) != "[0.1 0.12]" ||
		w.To.Requests != 21 || w.To.Errors != 0 || fmt.Sprint(w.To.Latency) != "[0.2 0.3]" {
		t.Errorf("window %+v", w)
	}

	rules["to_err"] = `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"a":"1"},"values":[]},{"metric":{"a":"2"},"values":[]}]}}`
	if _, err := src.Observe(context.Background(), t0, t0.Add(3*step)); err == nil || !strings.Contains(err.Error(), "2 series, want one") {
		t.Errorf("two series: %v", err)
	}
	rules["to_err"] = matrix(step, "-1")
	if _, err := src.Observe(context.Background(), t0, t0.Add(3*step)); err == nil || !strings.Contains(err.Error(), "want a finite value >= 0") {
		t.Errorf("negative value: %v", err)
	}
	srv.Close()
	if _, err := src.Observe(context.Background(), t0, t0.Add(3*step)); err == nil || !strings.Contains(err.Error(), "query requests for side from") {
		t.Errorf("server down: %v", err)
	}
}

func TestNewPrometheusErrors(t *testing.T) {
	for _, tc := range []struct {
		interval time.Duration
		q        Queries
		err      string
	}{
		{500 * time.Millisecond, ProxyQueries, "whole seconds"},
		{time.Second, Queries{Requests: "x", Errors: "y"}, "queries.latency is empty"},
		{time.Second, Queries{Requests: "{{.Shift", Errors: "y", Latency: "z"}, "queries.requests"},
	} {
		if _, err := NewPrometheus(api.Config{Address: "http://127.0.0.1:1"}, "web", Sides{}, tc.interval, tc.q); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("NewPrometheus(%v, %+v) = %v, want %q", tc.interval, tc.q, err, tc.err)
		}
	}
	src, err := NewPrometheus(api.Config{Address: "http://127.0.0.1:1"}, "web", Sides{}, time.Second, Queries{Requests: "{{.Nope}}", Errors: "y", Latency: "z"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Observe(context.Background(), t0, t0.Add(5*time.Second)); err == nil || !strings.Contains(err.Error(), "Nope") {
		t.Errorf("unknown template field: %v", err)
	}
}

// answerAll is a RoundTripper that answers every request with body.
type answerAll []byte

func (b answerAll) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(bytes.NewReader(b)), Request: r}, nil
}

func FuzzPrometheusAnswer(f *testing.F) {
	f.Add([]byte(matrix(time.Second, "1", "2", "NaN")))
	f.Add([]byte(`{"status":"success","data":{"resultType":"vector","result":[]}}`))
	f.Add([]byte(`{"status":"error","errorType":"bad_data","error":"parse error"}`))
	f.Add([]byte(matrix(time.Second, "+Inf", "1e308")))
	f.Fuzz(func(t *testing.T, body []byte) {
		src, err := NewPrometheus(api.Config{Address: "http://prometheus.invalid", RoundTripper: answerAll(body)}, "web", Sides{}, time.Second, ProxyQueries)
		if err != nil {
			t.Fatal(err)
		}
		w, err := src.Observe(context.Background(), t0, t0.Add(3*time.Second))
		if err != nil {
			return
		}
		for _, o := range []struct {
			name string
			req  int64
			errs int64
			lat  []float64
		}{{"from", w.From.Requests, w.From.Errors, w.From.Latency}, {"to", w.To.Requests, w.To.Errors, w.To.Latency}} {
			if o.req < 0 || o.errs < 0 || o.errs > o.req {
				t.Errorf("%s: %d errors of %d requests", o.name, o.errs, o.req)
			}
			for _, l := range o.lat {
				if math.IsNaN(l) || math.IsInf(l, 0) || l < 0 {
					t.Errorf("%s: latency %v", o.name, l)
				}
			}
		}
	})
}

// TestPrometheusReal runs Debian's prometheus on loopback, lets it scrape
// proxy metrics from a test server, and reads them back through the
// source.
func TestPrometheusReal(t *testing.T) {
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("prometheus not installed (apt-get install -y prometheus)")
		}
		t.Skip("prometheus not installed (apt-get install -y prometheus); skipping the test against a real Prometheus")
	}
	if testing.Short() {
		t.Skip("-short: skipping the test against a real Prometheus (about 15 s)")
	}
	pr := newProxyRegistry()
	metricsSrv := httptest.NewServer(promhttp.HandlerFor(pr.reg, promhttp.HandlerOpts{}))
	defer metricsSrv.Close()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() { // steady traffic: from 100 ms with 10% errors, to 200 ms
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				pr.serve("web", "from", "200", 9, 0.1)
				pr.serve("web", "from", "500", 1, 0.1)
				pr.serve("web", "to", "200", 2, 0.2)
			}
		}
	}()

	dir := t.TempDir()
	cfg := fmt.Sprintf("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: proxy\n    static_configs:\n      - targets: ['%s']\n", strings.TrimPrefix(metricsSrv.URL, "http://"))
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	var logs bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+addr, "--log.level=warn")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); _ = cmd.Wait() }()

	src, err := NewPrometheus(api.Config{Address: "http://" + addr}, "web", Sides{}, 2*time.Second, ProxyQueries)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		end := time.Now().Truncate(time.Second)
		w, err := src.Observe(ctx, end.Add(-10*time.Second), end)
		if err == nil && len(w.From.Latency) >= 3 && len(w.To.Latency) >= 3 {
			t.Logf("window from %+v to %+v", w.From, w.To)
			if r := float64(w.From.Errors) / float64(w.From.Requests); r < 0.07 || r > 0.13 {
				t.Errorf("from error rate %.3f, served 0.10", r)
			}
			if w.To.Errors != 0 {
				t.Errorf("to errors %d, served none", w.To.Errors)
			}
			if r := float64(w.From.Requests) / float64(w.To.Requests); r < 4 || r > 6 {
				t.Errorf("from/to requests %d/%d, served 5:1", w.From.Requests, w.To.Requests)
			}
			for _, l := range w.From.Latency {
				if math.Abs(l-0.1) > 1e-9 {
					t.Errorf("from latency %v, served 0.1", w.From.Latency)
				}
			}
			for _, l := range w.To.Latency {
				if math.Abs(l-0.2) > 1e-9 {
					t.Errorf("to latency %v, served 0.2", w.To.Latency)
				}
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no complete window from prometheus within 60 s: %v\nprometheus log:\n%s", err, logs.String())
		}
		time.Sleep(time.Second)
	}
}

// freeAddr returns a loopback address with a port free right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
