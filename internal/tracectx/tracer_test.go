package tracectx

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

// syncBuffer is a bytes.Buffer safe for the log writer and the test.
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

type fixture struct {
	tracer *Tracer
	log    *LogWriter
	out    *syncBuffer
	reg    *prometheus.Registry
}

func newFixture(t *testing.T, service string, exp sdktrace.SpanExporter) *fixture {
	t.Helper()
	out := &syncBuffer{}
	lw := NewLogWriter(out)
	reg := prometheus.NewRegistry()
	tr, err := New(Options{Service: service, Log: lw, HashKey: testKey, UserHeader: "X-Owl-User", Attrs: []string{"side"}, Registerer: reg, Exporter: exp})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{tracer: tr, log: lw, out: out, reg: reg}
}

func (f *fixture) records(t *testing.T) []Record {
	t.Helper()
	if err := f.log.Flush(); err != nil {
		t.Fatal(err)
	}
	var recs []Record
	sc := bufio.NewScanner(strings.NewReader(f.out.String()))
	for sc.Scan() {
		var r Record
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("access log line %q: %v", sc.Text(), err)
		}
		recs = append(recs, r)
	}
	return recs
}

func TestHandlerWritesRecordAndContinuesAmznTrace(t *testing.T) {
	f := newFixture(t, "cart", nil)
	mux := http.NewServeMux()
	var seen SpanContext
	mux.HandleFunc("POST /v1/carts/{id}", func(w http.ResponseWriter, r *http.Request) {
		seen, _ = FromContext(r.Context())
		if !SetAttr(r.Context(), "side", "new") {
			t.Error("allowed attribute refused")
		}
		if SetAttr(r.Context(), "email", "a@b.c") {
			t.Error("attribute outside the allow-list kept")
		}
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			t.Error(err)
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Content-Encoding", "gzip")
		w.WriteHeader(201)
		w.Write([]byte("0123456789"))
	})
	srv := httptest.NewServer(f.tracer.Handler(mux))
	defer srv.Close()

	req, _ := http.NewRequest("POST", srv.URL+"/v1/carts/42?email=alice@example.com", strings.NewReader(`{"item":7}`))
	req.Header.Set("X-Amzn-Trace-Id", "Self=1-67891233-12456789abcdef012345678;Root=1-67891233-abcdef012345678912345678;Parent=53995c3f42cd8ad8;Caller=api")
	req.Header.Set("User-Agent", "owl-test/1")
	req.Header.Set("X-Owl-User", "user-123")
	req.Header.Set("Accept-Encoding", "gzip, br")
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("X-Amzn-Trace-Id"); got != "Root=1-67891233-abcdef012345678912345678" {
		t.Errorf("response X-Amzn-Trace-Id = %q", got)
	}
	tr, err := ParseTraceparent(resp.Header.Get("Traceresponse"))
	wantTR := Traceparent{TraceID: seen.TraceID, ParentID: seen.SpanID, Flags: seen.Flags}.String()
	if err != nil || tr.TraceID.Root() != "1-67891233-abcdef012345678912345678" || tr.ParentID != seen.SpanID || resp.Header.Get("Traceresponse") != wantTR {
		t.Errorf("traceresponse = %q (%v)", resp.Header.Get("Traceresponse"), err)
	}

	recs := f.records(t)
	if len(recs) != 1 {
		t.Fatalf("%d records, want 1", len(recs))
	}
	r := recs[0]
	want := Record{
		Time: r.Time, Kind: "server", Service: "cart", TraceRoot: "1-67891233-abcdef012345678912345678",
		Span: seen.SpanID.String(), Parent: "53995c3f42cd8ad8", Self: "1-67891233-12456789abcdef012345678", Caller: "api",
		Method: "POST", Route: "POST /v1/carts/{id}", Path: "/v1/carts/42", QueryHash: f.tracer.hash.Sum("email=alice@example.com"),
		Status: 201, DurationUS: r.DurationUS, TTFBUS: r.TTFBUS, ReqBytes: 10, RespBytes: 10,
		ContentType: "application/json", Encoding: "gzip", AcceptEncoding: "gzip, br",
		Fingerprint: r.Fingerprint, UAHash: f.tracer.hash.Sum("owl-test/1"), UserHash: f.tracer.hash.Sum("user-123"),
		Attrs: map[string]string{"side": "new"},
	}
	if !cmpEqual(t, want, r) {
		return
	}
	line := f.out.String()
	for _, secret := range []string{"alice", "example.com", "user-123", "owl-test"} {
		if strings.Contains(line, secret) {
			t.Errorf("access log contains %q: %s", secret, line)
		}
	}
	if r.TTFBUS > r.DurationUS || r.Fingerprint == "" {
		t.Errorf("ttfb %d > duration %d, or no fingerprint", r.TTFBUS, r.DurationUS)
	}
}

func cmpEqual(t *testing.T, want, got Record) bool {
	t.Helper()
	wj, _ := json.Marshal(want)
	gj, _ := json.Marshal(got)
	if !bytes.Equal(wj, gj) {
		t.Errorf("record\n got %s\nwant %s", gj, wj)
		return false
	}
	return true
}

func TestFingerprintMatchesIdenticalCallsOnly(t *testing.T) {
	f := newFixture(t, "svc", nil)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /items/{id}", func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			t.Error(err)
		}
	})
	srv := httptest.NewServer(f.tracer.Handler(mux))
	defer srv.Close()
	for _, c := range []struct{ path, body string }{
		{"/items/1?x=1", "a"}, {"/items/2?x=1", "a"}, {"/items/1?x=1", "b"}, {"/items/1?x=2", "a"},
	} {
		resp, err := http.Post(srv.URL+c.path, "text/plain", strings.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	recs := f.records(t)
	fp := func(i int) string { return recs[i].Fingerprint }
	if fp(0) != fp(1) {
		t.Error("same route, query and body: fingerprints differ")
	}
	if fp(0) == fp(2) || fp(0) == fp(3) {
		t.Error("a different body or query gave the same fingerprint")
	}
}

func TestMalformedHeadersStartNewTraceAndCount(t *testing.T) {
	f := newFixture(t, "svc", nil)
	srv := httptest.NewServer(f.tracer.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "nope", http.StatusTeapot)
	})))
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/x", nil)
	req.Header.Set("X-Amzn-Trace-Id", "Root=1-zz;Parent=1")
	req.Header["Traceparent"] = []string{"00-" + tid + "-1234567890123456-01", "00-" + tid + "-1234567890123457-01"}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	root := resp.Header.Get("X-Amzn-Trace-Id")
	if !strings.HasPrefix(root, "Root=1-") || strings.Contains(root, tid[:8]) {
		t.Errorf("error response carries %q, want a new trace root", root)
	}
	for _, lv := range [][2]string{{HeaderAmzn, "bad_root"}, {HeaderTraceparent, "duplicate"}} {
		if n := testutil.ToFloat64(f.tracer.rejected.WithLabelValues(lv[0], lv[1])); n != 1 {
			t.Errorf("rejected{%s,%s} = %v, want 1", lv[0], lv[1], n)
		}
	}
	recs := f.records(t)
	if len(recs) != 1 || recs[0].Error != "client_error" || recs[0].Status != 418 || "Root="+recs[0].TraceRoot != root {
		t.Errorf("records = %+v", recs)
	}
}

func TestW3CAndAmznTogether(t *testing.T) {
	root := "1-67891233-abcdef012345678912345678"
	same := "00-67891233abcdef012345678912345678-1111111111111111-01"
	other := "00-" + tid + "-1111111111111111-01"
	for _, tc := range []struct {
		name, amzn, tp, tracestate string
		wantRoot, wantParent       string
		wantLink, wantState        string
	}{
		{name: "same trace: parent from traceparent", amzn: "Root=" + root, tp: same, tracestate: "a=1", wantRoot: root, wantParent: "1111111111111111", wantState: "a=1"},
		{name: "different trace: root wins, link kept", amzn: "Root=" + root + ";Parent=2222222222222222", tp: other, tracestate: "a=1", wantRoot: root, wantParent: "2222222222222222", wantLink: tid},
		{name: "traceparent alone", tp: other, tracestate: "a=1", wantRoot: "1-12345678-901234567890123456789012", wantParent: "1111111111111111", wantState: "a=1"},
		{name: "tracestate without traceparent dropped", tracestate: "a=1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			if tc.amzn != "" {
				h.Set("X-Amzn-Trace-Id", tc.amzn)
			}
			if tc.tp != "" {
				h.Set("Traceparent", tc.tp)
			}
			h.Set("Tracestate", tc.tracestate)
			sc, rej := Extract(h, testNow)
			if len(rej) != 0 {
				t.Fatalf("rejected: %v", rej)
			}
			if tc.wantRoot != "" && sc.Root() != tc.wantRoot {
				t.Errorf("root = %s, want %s", sc.Root(), tc.wantRoot)
			}
			if tc.wantRoot == "" && sc.TraceID.Time() != testNow.Truncate(1e9).UTC() {
				t.Errorf("new trace id %s does not start with the epoch second", sc.Root())
			}
			parent := ""
			if !sc.Parent.IsZero() {
				parent = sc.Parent.String()
			}
			link := ""
			if !sc.Link.IsZero() {
				link = sc.Link.String()
			}
			if parent != tc.wantParent || link != tc.wantLink || sc.State.String() != tc.wantState {
				t.Errorf("parent %q link %q state %q, want %q %q %q", parent, link, sc.State.String(), tc.wantParent, tc.wantLink, tc.wantState)
			}
		})
	}
}

func TestInjectPropagates(t *testing.T) {
	h := http.Header{}
	h.Set("X-Amzn-Trace-Id", "Self=1-67891233-12456789abcdef012345678;Root=1-67891233-abcdef012345678912345678;Sampled=0;Lineage=a87bd80c:1;Caller=api;Team=blue")
	h.Set("Traceparent", "00-67891233abcdef012345678912345678-1111111111111111-00")
	h.Set("Tracestate", "congo=t61rcWkgMzE")
	sc, _ := Extract(h, testNow)
	call := SpanID{1, 2, 3, 4, 5, 6, 7, 8}
	out := http.Header{}
	Inject(out, sc, call, "cart")
	if got, want := out.Get("X-Amzn-Trace-Id"), "Root=1-67891233-abcdef012345678912345678;Parent=0102030405060708;Sampled=0;Lineage=a87bd80c:1;Caller=cart;Team=blue"; got != want {
		t.Errorf("X-Amzn-Trace-Id = %s\nwant %s", got, want)
	}
	if got, want := out.Get("Traceparent"), "00-67891233abcdef012345678912345678-0102030405060708-00"; got != want {
		t.Errorf("traceparent = %s, want %s (flags unchanged)", got, want)
	}
	if got := out.Get("Tracestate"); got != "congo=t61rcWkgMzE" {
		t.Errorf("tracestate = %s", got)
	}
}

func TestTransportRecordsCallsAndPropagates(t *testing.T) {
	front := newFixture(t, "front", nil)
	back := newFixture(t, "back", nil)
	backSrv := httptest.NewServer(back.tracer.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("hello"))
	})))
	defer backSrv.Close()
	client := front.tracer.Client(0)
	frontSrv := httptest.NewServer(front.tracer.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for range 2 {
			req, _ := http.NewRequestWithContext(r.Context(), "GET", backSrv.URL+"/data?k=v", nil)
			resp, err := client.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Error(err)
				return
			}
		}
	})))
	defer frontSrv.Close()
	resp, err := http.Get(frontSrv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	fr := front.records(t)
	br := back.records(t)
	if len(fr) != 3 || len(br) != 2 {
		t.Fatalf("front %d records, back %d; want 3 and 2", len(fr), len(br))
	}
	server := fr[2] // the server record is written last, after its calls
	for i, c := range fr[:2] {
		b := br[i]
		if c.Kind != "client" || c.Parent != server.Span || c.TraceRoot != server.TraceRoot || c.Status != 200 || c.RespBytes != 5 || c.Peer == "" {
			t.Errorf("client record %d = %+v", i, c)
		}
		if b.Parent != c.Span || b.Caller != "front" || b.TraceRoot != server.TraceRoot {
			t.Errorf("back record %d = %+v, want parent %s caller front", i, b, c.Span)
		}
	}
	if fr[0].Span == fr[1].Span || fr[0].Fingerprint != fr[1].Fingerprint {
		t.Error("two identical calls: want distinct spans and equal fingerprints")
	}
}

func TestTransportRecordsFailedCall(t *testing.T) {
	f := newFixture(t, "svc", nil)
	client := f.tracer.Client(0)
	resp, err := client.Get("http://127.0.0.1:1/")
	if err == nil {
		resp.Body.Close()
		t.Fatal("call to a closed port succeeded")
	}
	recs := f.records(t)
	if len(recs) != 1 || recs[0].Status != 0 || recs[0].Error != "connection" || recs[0].Parent != "" {
		t.Errorf("records = %+v", recs)
	}
}

func TestPanicStillWritesRecord(t *testing.T) {
	f := newFixture(t, "svc", nil)
	srv := httptest.NewServer(f.tracer.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic(http.ErrAbortHandler)
	})))
	srv.Config.ErrorLog = nil
	defer srv.Close()
	if resp, err := http.Get(srv.URL); err == nil {
		resp.Body.Close()
	}
	recs := f.records(t)
	if len(recs) != 1 || recs[0].Error != "aborted" {
		t.Errorf("records = %+v", recs)
	}
}

func TestLogHandlerAddsTraceRoot(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(LogHandler(slog.NewJSONHandler(&buf, nil)))
	sc := NewTrace(testNow)
	log.ErrorContext(NewContext(context.Background(), sc), "boom")
	log.Error("no context")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if !strings.Contains(lines[0], `"trace_root":"`+sc.Root()+`"`) || strings.Contains(lines[1], "trace_root") {
		t.Errorf("log lines:\n%s", buf.String())
	}
}

func TestOTLPExportUsesSameIDs(t *testing.T) {
	exp := &keepExporter{}
	f := newFixture(t, "svc", exp)
	srv := httptest.NewServer(f.tracer.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/a", nil)
	req.Header.Set("X-Amzn-Trace-Id", "Root=1-67891233-abcdef012345678912345678;Parent=53995c3f42cd8ad8")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := f.tracer.Run(ctx); err != nil { // flushes and shuts the exporter down
		t.Fatal(err)
	}
	spans := exp.spans
	recs := f.records(t)
	if len(spans) != 1 || len(recs) != 1 {
		t.Fatalf("%d spans, %d records", len(spans), len(recs))
	}
	s := spans[0]
	if s.SpanContext().TraceID().String() != "67891233abcdef012345678912345678" || s.SpanContext().SpanID().String() != recs[0].Span || s.Parent().SpanID().String() != "53995c3f42cd8ad8" {
		t.Errorf("span %s/%s parent %s; record %s", s.SpanContext().TraceID(), s.SpanContext().SpanID(), s.Parent().SpanID(), recs[0].Span)
	}
}

func TestRecordJSONMatchesEncodingJSON(t *testing.T) {
	r := Record{Time: testNow, Kind: "server", Service: "s", TraceRoot: "1-a-b", Span: "x", Method: "GET", Path: "/\"q\\\x01\u00e9\xff", Status: 200,
		Attrs: map[string]string{"b": "2", "a": "<1>"}}
	var back Record
	if err := json.Unmarshal(r.AppendJSON(nil), &back); err != nil {
		t.Fatalf("%s: %v", r.AppendJSON(nil), err)
	}
	r.Path = "/\"q\\\x01\u00e9\ufffd" // invalid UTF-8 becomes U+FFFD
	r.Time = r.Time.UTC()
	cmpEqual(t, r, back)
}

// keepExporter keeps every span, also after Shutdown (the SDK's in-memory
// exporter forgets them there).
type keepExporter struct {
	mu    sync.Mutex
	spans []sdktrace.ReadOnlySpan
}

func (e *keepExporter) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.spans = append(e.spans, spans...)
	return nil
}

func (e *keepExporter) Shutdown(context.Context) error { return nil }

// TestServerRecordLineMatchesAppendJSON checks the handler's record
// encoding, which copies owl's own ids, hashes and validated names without
// escaping them, against AppendJSON, which checks every field: a served
// request with every such field set, and request text that needs escaping.
func TestServerRecordLineMatchesAppendJSON(t *testing.T) {
	f := newFixture(t, "api.v2", nil)
	h := f.tracer.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		SetAttr(r.Context(), "side", "b\"lue\u2028")
		w.Header().Set("Content-Type", "text/x-\"q\"; charset=utf-8")
		w.WriteHeader(http.StatusTeapot)
	}))
	r := httptest.NewRequest("GET", "/caf%C3%A9/%22q%22%5C?x=%22", nil)
	r.Header.Set(HeaderAmzn, "Self=1-67891233-12456789ABCDEF012345678;Root=1-67891233-abcdef012345678912345678;Parent=53995c3f42cd8ad8;Caller=edge_1.x-y")
	r.Header.Set(HeaderTraceparent, "00-0123456789abcdef0123456789abcdef-53995c3f42cd8ad8-01")
	r.Header.Set("User-Agent", "agent \"7\"\n")
	r.Header.Set("Accept-Encoding", "gzip\t\"x\"")
	r.Header.Set("X-Owl-User", "u\\1")
	h.ServeHTTP(httptest.NewRecorder(), r)

	recs := f.records(t)
	if len(recs) != 1 {
		t.Fatalf("%d records, want 1", len(recs))
	}
	rec := recs[0]
	for name, v := range map[string]string{"self": rec.Self, "caller": rec.Caller, "link": rec.Link, "query_hash": rec.QueryHash, "ua_hash": rec.UAHash, "user_hash": rec.UserHash, "parent": rec.Parent, "error": rec.Error} {
		if v == "" {
			t.Errorf("%s is empty: the test should set every field", name)
		}
	}
	line := strings.TrimSuffix(f.out.String(), "\n")
	if want := string(rec.AppendJSON(nil)); line != want {
		t.Errorf("handler wrote\n%s\nAppendJSON writes\n%s", line, want)
	}
}
