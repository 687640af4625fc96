package tracectx

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// discardExporter drops spans: the benchmark measures recording, not shipping.
type discardExporter struct{}

func (discardExporter) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discardExporter) Shutdown(context.Context) error                             { return nil }

func benchHandlers(b *testing.B) (none, owl, otel http.Handler) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/items/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"ok":true}`))
	})
	tr, err := New(Options{Service: "bench", Log: NewLogWriter(io.Discard), HashKey: testKey, UserHeader: "X-Owl-User"})
	if err != nil {
		b.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(discardExporter{}), sdktrace.WithSampler(sdktrace.AlwaysSample()))
	b.Cleanup(func() {
		if err := tp.Shutdown(context.Background()); err != nil {
			b.Error(err)
		}
	})
	otel = otelhttp.NewHandler(mux, "server",
		otelhttp.WithTracerProvider(tp),
		otelhttp.WithMeterProvider(noop.NewMeterProvider()),
		otelhttp.WithPropagators(propagation.TraceContext{}))
	return mux, tr.Handler(mux), otel
}

func benchRequest() *http.Request {
	r := httptest.NewRequest("GET", "/v1/items/42?lang=fr", nil)
	r.Header.Set("X-Amzn-Trace-Id", "Self=1-67891233-12456789abcdef012345678;Root=1-67891233-abcdef012345678912345678;Parent=53995c3f42cd8ad8;Caller=api")
	r.Header.Set("Traceparent", "00-67891233abcdef012345678912345678-53995c3f42cd8ad8-01")
	r.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64)")
	r.Header.Set("Accept-Encoding", "gzip, br")
	r.Header.Set("X-Owl-User", "user-123")
	return r
}

type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *nopWriter) WriteHeader(int)             {}

// contender is one handler of a benchmark round and what it has cost so far.
type contender struct {
	name      string
	h         http.Handler
	wall, cpu time.Duration
	n         int
}

// benchBlock is how many requests one contender serves in a row, timed as
// one block: the clock and getrusage calls cost little per request, and
// most of the garbage collection a block causes happens within it.
const benchBlock = 512

// runRounds serves, in every b.Loop iteration, a block of requests through
// each contender in turn (rotating who goes first), so that all of them are
// measured under the same machine load; reqs(i) is the i-th request.
func runRounds(b *testing.B, cs []*contender, reqs func(i int) *http.Request) {
	w := &nopWriter{h: http.Header{}}
	next := 0
	round := 0
	for b.Loop() {
		for k := range cs {
			c := cs[(k+round)%len(cs)]
			first := next
			wall0, cpu0 := time.Now(), processCPU()
			for i := range benchBlock {
				clear(w.h)
				c.h.ServeHTTP(w, reqs(first+i))
			}
			c.wall += time.Since(wall0)
			c.cpu += processCPU() - cpu0
			c.n += benchBlock
		}
		next += benchBlock
		round++
	}
}

func perReq(d time.Duration, n int) float64 { return float64(d.Nanoseconds()) / float64(max(n, 1)) }

// BenchmarkMiddleware measures, interleaved in the same run, the bare
// handler, the handler behind owl's middleware (header parsing, ids,
// keyed hashes, one access-log record encoded and written) and the handler
// behind otelhttp with an always-sampling SDK. One op is one round of
// benchBlock requests through each. It reports owl's overhead per request
// in wall and in CPU time (the CPU time holds still on a busy machine), its
// ratio to otelhttp's overhead and to the bare handler's cost, and the
// extra allocations. Goal: overhead <= otelhttp's and <= 2 µs.
func BenchmarkMiddleware(b *testing.B) {
	none, owl, otel := benchHandlers(b)
	cs := []*contender{{name: "none", h: none}, {name: "owl", h: owl}, {name: "otelhttp", h: otel}}
	r := benchRequest()
	runRounds(b, cs, func(int) *http.Request { return r })
	reportMiddleware(b, cs, func(int) *http.Request { return r })
}

// BenchmarkMiddlewareUniqueValues is BenchmarkMiddleware with a different
// query string, user agent and user id on every request (8192 of each, so
// no cache along the way, owl's or the CPU's, keeps them warm): the worst
// case.
func BenchmarkMiddlewareUniqueValues(b *testing.B) {
	none, owl, otel := benchHandlers(b)
	cs := []*contender{{name: "none", h: none}, {name: "owl", h: owl}, {name: "otelhttp", h: otel}}
	const distinct = 8192
	reqs := make([]*http.Request, distinct)
	for i := range reqs {
		r := benchRequest()
		r.URL.RawQuery = fmt.Sprintf("lang=fr&page=%d", i)
		r.Header.Set("User-Agent", fmt.Sprintf("Mozilla/5.0 (X11; Linux x86_64) build/%d", i))
		r.Header.Set("X-Owl-User", fmt.Sprintf("user-%d", i))
		reqs[i] = r
	}
	at := func(i int) *http.Request { return reqs[i%distinct] }
	runRounds(b, cs, at)
	reportMiddleware(b, cs, at)
}

func reportMiddleware(b *testing.B, cs []*contender, reqs func(int) *http.Request) {
	b.Helper()
	none, owl, otel := cs[0], cs[1], cs[2]
	noneNs, owlNs, otelNs := perReq(none.wall, none.n), perReq(owl.wall, owl.n), perReq(otel.wall, otel.n)
	noneCPU, owlCPU, otelCPU := perReq(none.cpu, none.n), perReq(owl.cpu, owl.n), perReq(otel.cpu, otel.n)
	b.ReportMetric(noneNs, "none-ns/req")
	b.ReportMetric(owlNs, "owl-ns/req")
	b.ReportMetric(otelNs, "otelhttp-ns/req")
	b.ReportMetric(owlNs-noneNs, "owl-overhead-ns")
	b.ReportMetric(otelNs-noneNs, "otelhttp-overhead-ns")
	b.ReportMetric(owlCPU-noneCPU, "owl-overhead-cpu-ns")
	b.ReportMetric(otelCPU-noneCPU, "otelhttp-overhead-cpu-ns")
	if otelNs > noneNs {
		b.ReportMetric((owlNs-noneNs)/(otelNs-noneNs), "owl/otelhttp-overhead")
	}
	if noneNs > 0 {
		b.ReportMetric(owlNs/noneNs, "owl/none")
	}
	w := &nopWriter{h: http.Header{}}
	allocs := func(h http.Handler) float64 {
		i := 0
		return testing.AllocsPerRun(100, func() { clear(w.h); h.ServeHTTP(w, reqs(i)); i++ })
	}
	noneAllocs := allocs(none.h)
	b.ReportMetric(allocs(owl.h)-noneAllocs, "owl-extra-allocs/req")
	b.ReportMetric(allocs(otel.h)-noneAllocs, "otelhttp-extra-allocs/req")
}

// BenchmarkParseAmzn measures parsing an ALB-shaped header.
func BenchmarkParseAmzn(b *testing.B) {
	h := "Self=1-67891233-12456789abcdef012345678;Root=1-67891233-abcdef012345678912345678;Parent=53995c3f42cd8ad8;Sampled=1;Caller=api"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseAmzn(h); err != nil {
			b.Fatal(err)
		}
	}
}
