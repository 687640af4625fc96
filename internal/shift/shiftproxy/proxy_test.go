package shiftproxy

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/owlstack/owl/internal/shift"
	"github.com/owlstack/owl/internal/tracectx"
)

// sideServer answers every request with its own name, and records the
// last request it saw.
type sideServer struct {
	*httptest.Server
	name string
	mu   sync.Mutex
	last *http.Request
	hits atomic.Int64
}

func newSide(t *testing.T, name string, h http.HandlerFunc) *sideServer {
	t.Helper()
	s := &sideServer{name: name}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		s.mu.Lock()
		s.last = r.Clone(context.Background())
		s.mu.Unlock()
		if h != nil {
			h(w, r)
			return
		}
		io.WriteString(w, name)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *sideServer) lastRequest() *http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

type fixture struct {
	proxy    *Proxy
	from, to *sideServer
	front    *httptest.Server
	reg      *prometheus.Registry
}

func newFixture(t *testing.T, mod func(*Options), fromH, toH http.HandlerFunc) *fixture {
	t.Helper()
	f := &fixture{reg: prometheus.NewRegistry()}
	f.from = newSide(t, "ecs", fromH)
	f.to = newSide(t, "eks", toH)
	opts := Options{
		Shift:      "checkout",
		From:       Upstream{Label: "ecs", URL: mustURL(t, f.from.URL)},
		To:         Upstream{Label: "eks", URL: mustURL(t, f.to.URL)},
		Registerer: f.reg,
		Log:        slog.New(slog.DiscardHandler),
	}
	if mod != nil {
		mod(&opts)
	}
	p, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	f.proxy = p
	f.front = httptest.NewServer(p)
	t.Cleanup(f.front.Close)
	return f
}

func (f *fixture) get(t *testing.T, user string) (string, int) {
	t.Helper()
	req, _ := http.NewRequest("GET", f.front.URL+"/v1/x", nil)
	if user != "" {
		req.Header.Set(DefaultUserHeader, user)
	}
	resp, err := f.front.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b), resp.StatusCode
}

func TestBucketDistributionFollowsWeight(t *testing.T) {
	p, err := New(Options{Shift: "s", From: Upstream{URL: &url.URL{Scheme: "http", Host: "a"}}, To: Upstream{URL: &url.URL{Scheme: "http", Host: "b"}}})
	if err != nil {
		t.Fatal(err)
	}
	const n = 40000
	r := rand.New(rand.NewPCG(1, 2)) // fixed seed: the same users every run
	users := make([]string, n)
	for i := range users {
		users[i] = fmt.Sprintf("user-%d", r.Uint64())
	}
	for _, bp := range []int{0, 1, 100, 500, 2500, 5000, 9000, 10000} {
		to := 0
		for _, u := range users {
			if p.Bucket(u) < bp {
				to++
			}
		}
		q := float64(bp) / shift.FullBP
		got := float64(to) / n
		// Five standard deviations of a binomial share: a correct hash
		// fails this about once in 3.5 million runs.
		tol := 5*math.Sqrt(q*(1-q)/n) + 1e-9
		if math.Abs(got-q) > tol {
			t.Errorf("weight %d bp: %.4f of users to To, want %.4f ± %.4f", bp, got, q, tol)
		}
	}
}

func TestStickyAndMonotone(t *testing.T) {
	f := newFixture(t, nil, nil, nil)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(7, 9))
	users := make([]string, 300)
	for i := range users {
		users[i] = fmt.Sprintf("u%x", r.Uint64())
	}
	// Walk the weight up, with random repeats; a user once on eks must
	// stay there, and two requests at one weight must agree.
	onTo := map[string]bool{}
	for _, bp := range []int{0, 100, 500, 1000, 1000, 2500, 5000, 7500, 9999, 10000} {
		if err := f.proxy.SetWeights(ctx, shift.Split{ToBP: bp}, 1); err != nil {
			t.Fatal(err)
		}
		count := 0
		for _, u := range users {
			side, _ := f.get(t, u)
			again, _ := f.get(t, u)
			if side != again {
				t.Fatalf("weight %d: user %s went to %s then %s", bp, u, side, again)
			}
			if onTo[u] && side != "eks" {
				t.Fatalf("weight %d: user %s moved back from eks to %s", bp, u, side)
			}
			if want := f.proxy.Bucket(u) < bp; (side == "eks") != want {
				t.Fatalf("weight %d: user %s (bucket %d) on %s", bp, u, f.proxy.Bucket(u), side)
			}
			onTo[u] = side == "eks"
			if onTo[u] {
				count++
			}
		}
		if bp == 0 && count != 0 || bp == shift.FullBP && count != len(users) {
			t.Fatalf("weight %d: %d of %d users on eks", bp, count, len(users))
		}
	}
}

func TestUsersWithoutIDArePinnedByCookie(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.Cookie = "owl_shift" }, nil, nil)
	if err := f.proxy.SetWeights(context.Background(), shift.Split{ToBP: 5000}, 0); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(f.front.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	first, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "owl_shift" {
			cookie = c
		}
	}
	if cookie == nil || len(cookie.Value) != 24 {
		t.Fatalf("no pinning cookie set: %v", resp.Header["Set-Cookie"])
	}
	for range 20 {
		req, _ := http.NewRequest("GET", f.front.URL+"/", nil)
		req.AddCookie(cookie)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != string(first) {
			t.Fatalf("cookie %s: went to %s, first to %s", cookie.Value, b, first)
		}
		if len(resp.Header["Set-Cookie"]) != 0 {
			t.Fatalf("cookie set again: %v", resp.Header["Set-Cookie"])
		}
	}
}

func TestNoRequestDroppedWhileWeightsChange(t *testing.T) {
	f := newFixture(t, nil, nil, nil)
	ctx := context.Background()
	const workers, each = 8, 150
	var done atomic.Bool
	var changes atomic.Int64
	go func() {
		bp := 0
		for !done.Load() {
			bp = (bp + 1237) % (shift.FullBP + 1)
			if err := f.proxy.SetWeights(ctx, shift.Split{ToBP: bp}, 3); err != nil {
				t.Error(err)
				return
			}
			changes.Add(1)
		}
	}()
	var wg sync.WaitGroup
	var ok, bad atomic.Int64
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				req, _ := http.NewRequest("GET", f.front.URL+"/", nil)
				req.Header.Set(DefaultUserHeader, fmt.Sprintf("w%d-%d", w, i))
				resp, err := client.Do(req)
				if err != nil {
					bad.Add(1)
					t.Error(err)
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || (string(b) != "ecs" && string(b) != "eks") {
					bad.Add(1)
					t.Errorf("status %d body %q", resp.StatusCode, b)
					continue
				}
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	done.Store(true)
	if bad.Load() != 0 || ok.Load() != workers*each {
		t.Fatalf("%d ok, %d failed of %d", ok.Load(), bad.Load(), workers*each)
	}
	if changes.Load() < 10 {
		t.Fatalf("only %d weight changes during the load", changes.Load())
	}
	served := f.from.hits.Load() + f.to.hits.Load()
	counted := testutil.ToFloat64(f.proxy.requests.WithLabelValues("checkout", "ecs", "200")) + testutil.ToFloat64(f.proxy.requests.WithLabelValues("checkout", "eks", "200"))
	if served != workers*each || counted != workers*each {
		t.Fatalf("upstreams served %d, metrics counted %v, want %d", served, counted, workers*each)
	}
}

func TestStreamingIsFlushed(t *testing.T) {
	release := make(chan struct{})
	f := newFixture(t, nil, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: one\n\n")
		w.(http.Flusher).Flush()
		<-release
		io.WriteString(w, "data: two\n\n")
	}, nil)
	resp, err := http.Get(f.front.URL + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	line, err := br.ReadString('\n')
	if err != nil || line != "data: one\n" {
		t.Fatalf("first event before the upstream finished: %q, %v", line, err)
	}
	close(release)
	rest, _ := io.ReadAll(br)
	if string(rest) != "\ndata: two\n\n" {
		t.Fatalf("rest of stream %q", rest)
	}
}

func TestLargeBodiesPassThrough(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	f := newFixture(t, nil, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Write(b)
	}, nil)
	resp, err := http.Post(f.front.URL+"/echo", "application/octet-stream", bytes.NewReader(big))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(got, big) {
		t.Fatalf("echoed %d bytes, sent %d", len(got), len(big))
	}
}

func TestHopByHopHeadersAndForwardedFor(t *testing.T) {
	f := newFixture(t, nil, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "X-Conn-Only")
		w.Header().Set("X-Conn-Only", "1")
		w.Header().Set("Keep-Alive", "timeout=5")
		w.Header().Set("X-End-To-End", "yes")
		w.Header().Set("Trailer", "X-Checksum")
		io.WriteString(w, "ok")
		w.Header().Set("X-Checksum", "abc")
	}, nil)
	req, _ := http.NewRequest("GET", f.front.URL+"/a/b?q=1", nil)
	req.Header.Set("Connection", "X-Secret-Hop")
	req.Header.Set("X-Secret-Hop", "1")
	req.Header.Set("Proxy-Authorization", "Basic Zm9v")
	req.Header.Set("Te", "trailers, deflate")
	req.Header.Set("X-Forwarded-For", "10.1.2.3")
	req.Header.Set("X-Keep", "kept")
	req.Host = "shop.example"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(resp.Body); err != nil {
		t.Fatalf("read the proxied body: %v", err)
	}
	resp.Body.Close()
	up := f.from.lastRequest()
	for _, h := range []string{"X-Secret-Hop", "Proxy-Authorization"} {
		if v := up.Header.Get(h); v != "" {
			t.Errorf("upstream got hop-by-hop header %s: %q", h, v)
		}
	}
	checks := map[string]string{
		"X-Keep":            "kept",
		"Te":                "trailers",
		"X-Forwarded-For":   "10.1.2.3, 127.0.0.1",
		"X-Forwarded-Host":  "shop.example",
		"X-Forwarded-Proto": "http",
	}
	for h, want := range checks {
		if got := up.Header.Get(h); got != want {
			t.Errorf("upstream header %s = %q, want %q", h, got, want)
		}
	}
	if up.URL.String() != "/a/b?q=1" {
		t.Errorf("upstream URL %s", up.URL)
	}
	if resp.Header.Get("X-Conn-Only") != "" || resp.Header.Get("Keep-Alive") != "" {
		t.Errorf("client got hop-by-hop response headers: %v", resp.Header)
	}
	if resp.Header.Get("X-End-To-End") != "yes" || resp.Trailer.Get("X-Checksum") != "abc" {
		t.Errorf("end-to-end header or trailer lost: header %v trailer %v", resp.Header, resp.Trailer)
	}
}

func TestUpstreamPathPrefix(t *testing.T) {
	f := newFixture(t, func(o *Options) {
		o.From.URL = o.From.URL.JoinPath("/base/")
		o.From.URL.RawQuery = "k=v"
	}, nil, nil)
	if body, code := f.get(t, "someone"); code != 200 {
		t.Fatalf("status %d: %s", code, body)
	}
	if got := f.from.lastRequest().URL.String(); got != "/base/v1/x?k=v" {
		t.Fatalf("upstream URL %s, want /base/v1/x?k=v", got)
	}
}

func TestUpstreamDownIs502WithMetrics(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	f := newFixture(t, func(o *Options) { o.To.URL = mustURL(t, dead) }, nil, nil)
	if err := f.proxy.SetWeights(context.Background(), shift.Split{ToBP: shift.FullBP}, 0); err != nil {
		t.Fatal(err)
	}
	body, code := f.get(t, "anyone")
	if code != http.StatusBadGateway || !strings.Contains(body, "eks") {
		t.Fatalf("status %d body %q, want 502 naming eks", code, body)
	}
	if n := testutil.ToFloat64(f.proxy.requests.WithLabelValues("checkout", "eks", "502")); n != 1 {
		t.Fatalf("owl_shift_proxy_requests_total{side=eks,code=502} = %v, want 1", n)
	}
	if n := testutil.CollectAndCount(f.proxy.duration, "owl_shift_proxy_request_duration_seconds"); n != 2 {
		t.Fatalf("%d duration series, want one per side", n)
	}
	c, err := f.proxy.Capacity(context.Background(), shift.To)
	if err != nil || c.Ready != 0 || c.Healthy() {
		t.Fatalf("capacity of a dead side %+v, %v", c, err)
	}
	c, err = f.proxy.Capacity(context.Background(), shift.From)
	if err != nil || !c.Healthy() {
		t.Fatalf("capacity of a live side %+v, %v", c, err)
	}
}

func TestTraceHeadersPropagateAndSideIsLogged(t *testing.T) {
	var logBuf syncBuffer
	lw := tracectx.NewLogWriter(&logBuf)
	tr, err := tracectx.New(tracectx.Options{Service: "edge", Log: lw, HashKey: bytes.Repeat([]byte("k"), 32), Attrs: []string{"side"}})
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, func(o *Options) { o.Tracer = tr }, nil, nil)
	front := httptest.NewServer(tr.Handler(f.proxy))
	defer front.Close()
	const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	req, _ := http.NewRequest("GET", front.URL+"/v1/x", nil)
	req.Header.Set("traceparent", parent)
	req.Header.Set(DefaultUserHeader, "traced-user")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(resp.Body); err != nil {
		t.Fatalf("read the proxied body: %v", err)
	}
	resp.Body.Close()
	up := f.from.lastRequest()
	tp, err := tracectx.ParseTraceparent(up.Header.Get("traceparent"))
	if err != nil {
		t.Fatalf("upstream traceparent: %v", err)
	}
	if tp.TraceID.String() != "4bf92f3577b34da6a3ce929d0e0e4736" || tp.ParentID.String() == "00f067aa0ba902b7" {
		t.Fatalf("upstream traceparent %s: want the same trace, a new parent", up.Header.Get("traceparent"))
	}
	if !strings.Contains(up.Header.Get("X-Amzn-Trace-Id"), "Caller=edge") {
		t.Fatalf("upstream X-Amzn-Trace-Id %q lacks Caller=edge", up.Header.Get("X-Amzn-Trace-Id"))
	}
	if err := lw.Flush(); err != nil {
		t.Fatal(err)
	}
	var server *tracectx.Record
	for line := range strings.SplitSeq(strings.TrimSpace(logBuf.String()), "\n") {
		var rec tracectx.Record
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("access log line %q: %v", line, err)
		}
		if rec.Kind == tracectx.KindServer {
			server = &rec
		}
	}
	if server == nil || server.Attrs["side"] != "ecs" {
		t.Fatalf("server access-log record %+v: want attrs side=ecs", server)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestFencing(t *testing.T) {
	f := newFixture(t, nil, nil, nil)
	ctx := context.Background()
	if err := f.proxy.SetWeights(ctx, shift.Split{ToBP: 100}, 5); err != nil {
		t.Fatal(err)
	}
	if err := f.proxy.SetWeights(ctx, shift.Split{ToBP: 200}, 5); err != nil {
		t.Fatalf("same fence refused: %v", err)
	}
	err := f.proxy.SetWeights(ctx, shift.Split{ToBP: 9000}, 4)
	if !errors.Is(err, shift.ErrStaleFence) {
		t.Fatalf("stale fence: %v, want ErrStaleFence", err)
	}
	if s, _ := f.proxy.ReadWeights(ctx); s.ToBP != 200 {
		t.Fatalf("a stale write changed the split to %v", s)
	}
	if err := f.proxy.SetWeights(ctx, shift.Split{ToBP: 10001}, 9); err == nil {
		t.Fatal("split over 100% accepted")
	}
	if f.proxy.Fence() != 5 {
		t.Fatalf("fence %d after a refused write, want 5", f.proxy.Fence())
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	u := &url.URL{Scheme: "http", Host: "x"}
	for name, o := range map[string]Options{
		"no shift":    {From: Upstream{URL: u}, To: Upstream{URL: u}},
		"no from":     {Shift: "s", To: Upstream{URL: u}},
		"bad scheme":  {Shift: "s", From: Upstream{URL: &url.URL{Scheme: "ftp", Host: "x"}}, To: Upstream{URL: u}},
		"same labels": {Shift: "s", From: Upstream{Label: "a", URL: u}, To: Upstream{Label: "a", URL: u}},
		"bad initial": {Shift: "s", From: Upstream{URL: u}, To: Upstream{URL: u}, Initial: shift.Split{ToBP: -1}},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestHealthRunLoop(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.HealthInterval = 10 * time.Millisecond }, nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- f.proxy.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for f.proxy.sides[1].health.Load() == nil && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if p := f.to.lastRequest(); p == nil || p.URL.Path != "/healthz" {
		t.Fatalf("no health probe reached the to side: %v", p)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
