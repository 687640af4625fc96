package traceui

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/owlstack/owl/internal/tracing"
	"github.com/owlstack/owl/internal/tracing/stitch"
	"github.com/owlstack/owl/internal/tracing/tracestore"
	"github.com/owlstack/owl/internal/tracing/traffic"
)

var (
	fleetOnce   sync.Once
	fleetTraces []*tracing.Trace
	fleetErr    error
	fleetDir    string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if fleetDir != "" {
		os.RemoveAll(fleetDir)
	}
	os.Exit(code)
}

type collect []*tracing.Trace

func (c *collect) WriteTrace(t *tracing.Trace) error { *c = append(*c, t); return nil }

// liveTraces runs the demo fleet for a few dozen requests and stitches its
// access log: the same traces 'owl up' shows. It runs once per test binary.
func liveTraces(t *testing.T) []*tracing.Trace {
	t.Helper()
	fleetOnce.Do(func() {
		dir, err := os.MkdirTemp("", "owl-traceui-test-*")
		if err != nil {
			fleetErr = err
			return
		}
		fleetDir = dir
		log := filepath.Join(dir, "traffic.jsonl")
		f, err := traffic.New(traffic.Options{LogPath: log, HashKey: []byte("traceui test hash key"), Rate: -1})
		if err != nil {
			fleetErr = err
			return
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- f.Run(ctx) }()
		var doErr error
		for i := range 40 {
			for _, p := range []string{"/api/home", "/api/home", "/api/friends", "/api/lesson/" + string(rune('1'+i%9))} {
				// Injected failures (server errors) are part of the data;
				// a request that got no answer is not.
				if err := f.Do(ctx, p); err != nil && !errors.Is(err, traffic.ErrServerError) && doErr == nil {
					doErr = err
				}
			}
		}
		cancel()
		if fleetErr = errors.Join(doErr, <-done); fleetErr != nil {
			return
		}
		var out collect
		_, fleetErr = stitch.Stitch(context.Background(), nil, []string{log}, &out, stitch.Options{TempDir: dir})
		fleetTraces = out
	})
	if fleetErr != nil {
		t.Fatal(fleetErr)
	}
	return fleetTraces
}

// server serves the UI over the fleet's traces on 127.0.0.1.
func server(t *testing.T) (*httptest.Server, *tracestore.Store) {
	t.Helper()
	store := tracestore.New(tracestore.Options{})
	for _, tr := range liveTraces(t) {
		store.Put(tr)
	}
	ui, err := New(Options{Prefix: "/traces", Traces: store})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ui.Close() })
	mux := http.NewServeMux()
	ui.Routes(mux)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(mux)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, store
}

func get(t *testing.T, srv *httptest.Server, path string) (int, string) {
	t.Helper()
	resp, err := srv.Client().Get(srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func TestSearchPage(t *testing.T) {
	srv, store := server(t)
	code, body := get(t, srv, "/traces/")
	if code != 200 || !strings.Contains(body, `id="traces"`) {
		t.Fatalf("search page: %d\n%s", code, body)
	}
	all := store.Stats().Traces
	if n := strings.Count(body, "<tr data-root="); n != min(all, 50) {
		t.Errorf("search page lists %d traces, want %d", n, min(all, 50))
	}
	// Filters reach the store: only the friends route, only failures.
	_, body = get(t, srv, "/traces/?route=/api/friends&limit=1000")
	if n := strings.Count(body, "<tr data-root="); n != 40 {
		t.Errorf("route=/api/friends: %d traces, want 40", n)
	}
	_, body = get(t, srv, "/traces/?status=5xx&limit=1000")
	for _, row := range strings.Split(body, "<tr data-root=")[1:] {
		if !strings.Contains(row, `class="status-5"`) {
			t.Errorf("status=5xx lists a trace without a 5xx root: %s", row[:200])
		}
	}
	// A bad filter is a 400 with the reason on the page.
	code, body = get(t, srv, "/traces/?min=soon")
	if code != 400 || !strings.Contains(body, `min=&#34;soon&#34;: want a duration`) {
		t.Errorf("bad filter: %d\n%s", code, body)
	}
	// JSON.
	code, body = get(t, srv, "/traces/api/search?service=catalog&limit=3")
	var res tracestore.Result
	if err := json.Unmarshal([]byte(body), &res); err != nil || code != 200 || len(res.Traces) != 3 {
		t.Fatalf("JSON search: %d %v %s", code, err, body)
	}
	for _, s := range res.Traces {
		if !strings.Contains(strings.Join(s.Services, ","), "catalog") {
			t.Errorf("service=catalog returned %v", s.Services)
		}
	}
	if code, _ := get(t, srv, "/traces/api/search?limit=0"); code != 400 {
		t.Errorf("JSON search with limit=0: %d, want 400", code)
	}
	if code, body := get(t, srv, "/traces/static/style.css"); code != 200 || !strings.Contains(body, "waterfall") {
		t.Errorf("style.css: %d", code)
	}
}

func TestWaterfallShowsTheCriticalPathAndSpanDetails(t *testing.T) {
	srv, _ := server(t)
	var tr *tracing.Trace
	for _, x := range liveTraces(t) {
		if x.Spans[0].Route == "GET /api/home" && x.Spans[0].Status == 200 {
			tr = x
			break
		}
	}
	if tr == nil {
		t.Fatal("no successful /api/home trace")
	}
	code, body := get(t, srv, "/traces/trace/"+url.PathEscape(tr.Root))
	if code != 200 {
		t.Fatalf("trace page: %d", code)
	}
	crit := tracing.CriticalPath(tr)
	if len(crit) < 3 {
		t.Fatalf("critical path of %d spans", len(crit))
	}
	for _, s := range tr.Spans {
		i := strings.Index(body, `<tr data-span-id="`+s.SpanID+`"`)
		if i < 0 {
			t.Fatalf("span %s not on the page", s.SpanID)
		}
		row := body[i : i+200]
		if got := strings.Contains(row, `class="critical`); got != crit[s.SpanID] {
			t.Errorf("span %s %s: marked critical = %v, want %v", s.Service, s.Route, got, crit[s.SpanID])
		}
	}
	// Span details: the side of streaks, sizes and encodings.
	for _, want := range []string{`<dd class="side">`, "bytes</dt>", "gzip", "critical path</dt><dd>yes"} {
		if !strings.Contains(body, want) {
			t.Errorf("trace page lacks %q", want)
		}
	}
	// By 32-hex id too; unknown ids are a 404 page.
	if code, _ := get(t, srv, "/traces/trace/"+tr.TraceID); code != 200 {
		t.Errorf("trace by hex id: %d", code)
	}
	if code, _ := get(t, srv, "/traces/trace/1-00000000-000000000000000000000000"); code != 404 {
		t.Errorf("unknown trace: %d, want 404", code)
	}
	code, body = get(t, srv, "/traces/api/trace/"+tr.Root)
	var back tracing.Trace
	if err := json.Unmarshal([]byte(body), &back); err != nil || code != 200 || len(back.Spans) != len(tr.Spans) {
		t.Errorf("trace JSON: %d %v", code, err)
	}
}

func TestGraphPageFiltersAndSplitsBySide(t *testing.T) {
	srv, _ := server(t)
	// The traces are older than the default window: ask for all of them.
	code, body := get(t, srv, "/traces/graph?last=")
	if code != 200 {
		t.Fatalf("graph: %d\n%s", code, body)
	}
	for _, edge := range [][2]string{{"gateway", "profile"}, {"gateway", "streaks"}, {"lessons", "catalog"}, {"streaks", "userdb"}} {
		if !strings.Contains(body, `data-caller="`+edge[0]+`" data-callee="`+edge[1]+`"`) {
			t.Errorf("graph lacks the edge %s → %s", edge[0], edge[1])
		}
	}
	if !strings.Contains(body, "<svg") {
		t.Error("graph page has no SVG drawing")
	}
	_, body = get(t, srv, "/traces/graph?last=&split=side")
	for _, side := range traffic.Sides {
		if !strings.Contains(body, `data-callee="streaks@`+side+`"`) {
			t.Errorf("split by side: no streaks@%s node", side)
		}
	}
	_, body = get(t, srv, "/traces/graph?last=&service=catalog&depth=1")
	if strings.Contains(body, `data-callee="userdb"`) && !strings.Contains(body, `data-caller="lessons" data-callee="userdb"`) {
		t.Error("neighbourhood of catalog at depth 1 shows an edge to userdb that does not touch catalog's neighbours")
	}
	if strings.Contains(body, `data-caller="streaks"`) {
		t.Error("neighbourhood of catalog at depth 1 shows streaks' calls")
	}
	_, body = get(t, srv, "/traces/graph?last=&min_resp=50000")
	if !strings.Contains(body, `data-callee="catalog"`) || strings.Contains(body, `data-callee="userdb"`) {
		t.Error("min_resp=50000 should keep only the catalog's large answers")
	}
	if code, _ := get(t, srv, "/traces/graph?min_calls=many"); code != 400 {
		t.Errorf("bad min_calls: %d, want 400", code)
	}
	for _, lat := range []string{"-5", "NaN", "1e12", "soon"} {
		if code, body := get(t, srv, "/traces/graph?latency="+lat); code != 400 || !strings.Contains(body, "latency=&#34;"+lat+"&#34;") {
			t.Errorf("bad latency %q: %d, want 400 naming the field", lat, code)
		}
	}
	if code, _ := get(t, srv, "/traces/graph?last=&latency=20"); code != 200 {
		t.Errorf("latency=20 (milliseconds): %d, want 200", code)
	}
	code, body = get(t, srv, "/traces/graph?last=&format=json")
	if code != 200 || !strings.Contains(body, `"edges"`) {
		t.Errorf("graph JSON: %d", code)
	}
}

func TestFindingsPageShowsTheInjectedProblems(t *testing.T) {
	srv, _ := server(t)
	code, body := get(t, srv, "/traces/findings?last=")
	if code != 200 {
		t.Fatalf("findings: %d\n%s", code, body)
	}
	for _, want := range []string{`data-type="uncompressed" data-callee="catalog"`, `data-type="repeated_call" data-callee="userdb"`} {
		if !strings.Contains(body, want) {
			t.Errorf("findings page lacks %s", want)
		}
	}
	if !strings.Contains(body, `href="/traces/trace/1-`) {
		t.Error("findings carry no evidence links to traces")
	}
	if code, _ := get(t, srv, "/traces/findings?type=bogus"); code != 400 {
		t.Errorf("bad type: %d, want 400", code)
	}
}

func TestRankingPage(t *testing.T) {
	srv, _ := server(t)
	traces := liveTraces(t)
	first, last := traces[0].Spans[0].Start, traces[0].Spans[0].Start
	for _, tr := range traces {
		if s := tr.Spans[0].Start; s.Before(first) {
			first = s
		} else if s.After(last) {
			last = s
		}
	}
	mid := first.Add(last.Sub(first) / 2)
	f := func(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
	q := url.Values{"baseline_from": {f(first)}, "baseline_to": {f(mid)}, "incident_from": {f(mid)}, "incident_to": {f(last.Add(time.Second))}}
	code, body := get(t, srv, "/traces/ranking?"+q.Encode())
	if code != 200 || !strings.Contains(body, `id="suspects"`) {
		t.Fatalf("ranking: %d\n%s", code, body)
	}
	if !strings.Contains(body, `<tr data-node="`) {
		t.Error("ranking lists no suspect")
	}
	// Empty windows say so instead of ranking nothing.
	q.Set("incident_from", f(last.Add(time.Hour)))
	q.Set("incident_to", f(last.Add(2*time.Hour)))
	_, body = get(t, srv, "/traces/ranking?"+q.Encode())
	if !strings.Contains(body, "incident window 0") {
		t.Errorf("empty incident window not reported")
	}
	if code, body := get(t, srv, "/traces/ranking?baseline_from=yesterday"); code != 400 || !strings.Contains(body, "baseline_from=&#34;yesterday&#34;") {
		t.Errorf("bad window: %d, want 400 naming the field baseline_from\n%s", code, body)
	}
}

func FuzzGraphQuery(f *testing.F) {
	for _, s := range []string{"", "split=side", "min_calls=5&errors=on", "latency=20&service=a&depth=3", "from=2026-01-01T00:00&to=2026-01-01T01:00"} {
		f.Add(s)
	}
	u := &UI{now: func() time.Time { return time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC) }}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		o, flt, err := u.graphQuery(v)
		if err != nil {
			return
		}
		if flt.MinCalls < 0 || flt.MinBytes < 0 || flt.Depth < 0 || flt.Depth > 20 || flt.LatencyAbove < 0 {
			t.Fatalf("accepted an out-of-range filter: %+v", flt)
		}
		if o.SplitBy != "" && !validAttr(o.SplitBy) {
			t.Fatalf("accepted split %q", o.SplitBy)
		}
	})
}
