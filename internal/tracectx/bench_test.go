package tracectx

import (
	"context"
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

// timeLoop serves n requests with h and returns ns and allocations per request.
func timeLoop(h http.Handler, n int) (ns, allocs float64) {
	r := benchRequest()
	w := &nopWriter{h: http.Header{}}
	start := time.Now()
	for range n {
		clear(w.h)
		h.ServeHTTP(w, r)
	}
	ns = float64(time.Since(start).Nanoseconds()) / float64(n)
	allocs = testing.AllocsPerRun(100, func() { clear(w.h); h.ServeHTTP(w, r) })
	return ns, allocs
}

// BenchmarkMiddleware measures a handler behind owl's middleware (header
// parsing, ids, hashes, one access-log record encoded), and in the same run
// the bare handler and the handler behind otelhttp with an always-sampling
// SDK; it reports owl's overhead and its ratio to otelhttp's. Goal:
// overhead <= otelhttp's and <= 2 µs.
func BenchmarkMiddleware(b *testing.B) {
	none, owl, otel := benchHandlers(b)
	r := benchRequest()
	w := &nopWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		owl.ServeHTTP(w, r)
	}
	b.StopTimer()
	owlNs := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	owlAllocs := testing.AllocsPerRun(100, func() { clear(w.h); owl.ServeHTTP(w, r) })
	n := max(b.N, 1000)
	noneNs, noneAllocs := timeLoop(none, n)
	otelNs, otelAllocs := timeLoop(otel, n)
	b.ReportMetric(noneNs, "none-ns/op")
	b.ReportMetric(otelNs, "otelhttp-ns/op")
	b.ReportMetric(owlNs-noneNs, "owl-overhead-ns")
	b.ReportMetric(otelNs-noneNs, "otelhttp-overhead-ns")
	if otelNs > noneNs {
		b.ReportMetric((owlNs-noneNs)/(otelNs-noneNs), "owl/otelhttp-overhead")
	}
	b.ReportMetric(owlAllocs-noneAllocs, "owl-extra-allocs")
	b.ReportMetric(otelAllocs-noneAllocs, "otelhttp-extra-allocs")
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
