package tracectx

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Options configure a Tracer.
type Options struct {
	// Service names this service in access logs and in the Caller field of
	// its outgoing calls.
	Service string
	// Log receives one record per request served and call made; nil
	// writes none (propagation still works).
	Log *LogWriter
	// HashKey keys the hashes of query strings, user agents, user ids and
	// fingerprints. Every service of a deployment must share it.
	HashKey []byte
	// UserHeader, when set, names a request header carrying the user id;
	// its keyed hash is logged as user_hash.
	UserHeader string
	// Attrs lists the attribute keys components may add with SetAttr.
	Attrs []string
	// Registerer receives the tracer's metrics; nil registers none.
	Registerer prometheus.Registerer
	// Exporter, when set, also receives every span through the
	// OpenTelemetry SDK (e.g. NewOTLPExporter for Jaeger or Tempo).
	Exporter sdktrace.SpanExporter
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// Tracer propagates trace context and writes access logs for one service.
type Tracer struct {
	service    string
	log        *LogWriter
	hash       *Hasher
	userHeader string
	allowed    map[string]bool
	rejected   *prometheus.CounterVec
	now        func() time.Time
	otel       *otelExport
}

// New returns a tracer for opts.Service.
func New(opts Options) (*Tracer, error) {
	if !ValidService(opts.Service) {
		return nil, fmt.Errorf("tracer: service name %q: want 1 to 64 letters, digits, '.', '_' or '-'", opts.Service)
	}
	if len(opts.HashKey) < 16 {
		return nil, errors.New("tracer: hash key must be at least 16 bytes")
	}
	t := &Tracer{
		service:    opts.Service,
		log:        opts.Log,
		hash:       NewHasher(opts.HashKey),
		userHeader: http.CanonicalHeaderKey(opts.UserHeader),
		allowed:    map[string]bool{},
		now:        opts.Now,
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name:        "owl_trace_headers_rejected_total",
			Help:        "Malformed trace headers rejected (a new trace was started or the tracestate dropped), by header and reason.",
			ConstLabels: prometheus.Labels{"service": opts.Service},
		}, []string{"header", "reason"}),
	}
	if t.now == nil {
		t.now = time.Now
	}
	for _, k := range opts.Attrs {
		t.allowed[k] = true
	}
	if opts.Registerer != nil {
		if err := opts.Registerer.Register(t.rejected); err != nil {
			return nil, fmt.Errorf("tracer: %w", err)
		}
	}
	if opts.Exporter != nil {
		t.otel = newOtelExport(opts.Service, opts.Exporter)
	}
	return t, nil
}

// Service is the service name the tracer writes.
func (t *Tracer) Service() string { return t.service }

// Run flushes the access log every second and, when ctx ends, flushes
// what is left and shuts down span export.
func (t *Tracer) Run(ctx context.Context) error {
	var err error
	if t.log != nil {
		err = t.log.Run(ctx)
	} else {
		<-ctx.Done()
	}
	if t.otel != nil {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if serr := t.otel.shutdown(sctx); err == nil && serr != nil {
			err = fmt.Errorf("span export: %w", serr)
		}
	}
	return err
}

// Handler continues or starts the trace of every request to next, answers
// with the trace root (X-Amzn-Trace-Id: Root=...) and traceresponse, and
// writes one access-log record per request. next sees the span context in
// its request's context (FromContext, RootFrom).
//
// Place it outside anything that copies the request before the mux (the
// route pattern is read from the request it passes on).
func (t *Tracer) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := t.now()
		sc, rejected := Extract(r.Header, start)
		for _, e := range rejected {
			t.rejected.WithLabelValues(e.Header, e.Reason).Inc()
		}
		// One allocation for everything kept per request, and one string
		// for every id the response headers and the record carry.
		x := &served{
			state: state{sc: sc, allowed: t.allowed},
			rw:    responseWriter{ResponseWriter: w, tracer: t, start: start},
		}
		x.ids = newServedIDs(sc)
		h := w.Header()
		h[HeaderAmzn] = x.ids.hdr[0:1:1]
		h[HeaderTraceresponse] = x.ids.hdr[1:2:2]

		x.ctx = traceContext{Context: r.Context(), st: &x.state}
		r2 := r.WithContext(&x.ctx)
		var body *bodyCounter
		if r.Body != nil && r.Body != http.NoBody {
			x.body = bodyCounter{rc: r.Body}
			body = &x.body
			r2.Body = body
		}
		defer func() {
			// Runs on panics too (http.ErrAbortHandler), so that an aborted
			// request still has its record.
			t.finishServer(r2, x, body, start, recover())
		}()
		next.ServeHTTP(&x.rw, r2)
	})
}

// served is the per-request memory of Handler, allocated at once.
type served struct {
	state state
	ctx   traceContext
	rw    responseWriter
	body  bodyCounter
	ids   servedIDs
}

// servedIDs are the ids of one served request as text, all slices of one
// string: the two response header values and the record's id fields.
type servedIDs struct {
	hdr                [2]string // X-Amzn-Trace-Id "Root=...", traceresponse
	root, span, parent string
	link               string
}

func newServedIDs(sc SpanContext) servedIDs {
	var buf [192]byte
	b := append(buf[:0], "Root="...)
	b = sc.TraceID.appendRoot(b)
	n1 := len(b)
	b = Traceparent{TraceID: sc.TraceID, ParentID: sc.SpanID, Flags: sc.Flags}.AppendTo(b)
	n2 := len(b)
	if !sc.Parent.IsZero() {
		b = appendHex(b, sc.Parent[:])
	}
	n3 := len(b)
	if !sc.Link.IsZero() {
		b = appendHex(b, sc.Link[:])
	}
	s := string(b)
	// traceparent is "00-<32 hex trace id>-<16 hex span id>-<flags>".
	return servedIDs{
		hdr:    [2]string{s[:n1], s[n1:n2]},
		root:   s[len("Root="):n1],
		span:   s[n1+36 : n1+52],
		parent: s[n2:n3],
		link:   s[n3:],
	}
}

// traceContext is the request context the handler sees: its parent plus
// the request's state. It does what context.WithValue would, inside the
// per-request allocation.
type traceContext struct {
	context.Context
	st *state
}

// Value returns the request's state for owl's key and asks the parent otherwise.
func (c *traceContext) Value(key any) any {
	if _, ok := key.(ctxKey); ok {
		return c.st
	}
	return c.Context.Value(key)
}

func (t *Tracer) finishServer(r *http.Request, x *served, body *bodyCounter, start time.Time, panicked any) {
	end := t.now()
	rw, st := &x.rw, &x.state
	status := rw.status
	if status == 0 {
		status = http.StatusOK
		if panicked != nil {
			status = http.StatusInternalServerError
		}
	}
	sc := st.sc
	rec := Record{
		Time:           start,
		Kind:           KindServer,
		Service:        t.service,
		TraceRoot:      x.ids.root,
		Span:           x.ids.span,
		Parent:         x.ids.parent,
		Self:           sc.Self,
		Caller:         sc.Caller,
		Link:           x.ids.link,
		Method:         r.Method,
		Route:          r.Pattern,
		Path:           r.URL.Path,
		Status:         status,
		DurationUS:     end.Sub(start).Microseconds(),
		RespBytes:      rw.written,
		ContentType:    rw.contentType,
		Encoding:       rw.encoding,
		AcceptEncoding: headerValue(r.Header, "Accept-Encoding"),
		Attrs:          st.attrsCopy(),
	}
	if !rw.firstByte.IsZero() {
		rec.TTFBUS = rw.firstByte.Sub(start).Microseconds()
	} else {
		rec.TTFBUS = rec.DurationUS
	}
	var bodySum []byte
	if body != nil {
		rec.ReqBytes = body.n
		bodySum = body.sum()
	}
	if r.URL.RawQuery != "" {
		rec.QueryHash = t.hash.Sum(r.URL.RawQuery)
	}
	route := r.Pattern
	if route == "" {
		route = r.URL.Path
	}
	rec.Fingerprint = t.hash.Fingerprint(r.Method, route, r.URL.RawQuery, bodySum)
	if ua := headerValue(r.Header, "User-Agent"); ua != "" {
		rec.UAHash = t.hash.Sum(ua)
	}
	if t.userHeader != "" {
		if u := headerValue(r.Header, t.userHeader); u != "" {
			rec.UserHash = t.hash.Sum(u)
		}
	}
	rec.Error = serverErrorClass(r.Context(), status, panicked != nil)
	if t.log != nil {
		t.log.Write(&rec)
	}
	if t.otel != nil {
		t.otel.export(r.Context(), sc, &rec, start, end)
	}
	if panicked != nil {
		panic(panicked)
	}
}

func serverErrorClass(ctx context.Context, status int, panicked bool) string {
	switch {
	case panicked:
		return "aborted"
	case errors.Is(ctx.Err(), context.Canceled):
		return "canceled"
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return "timeout"
	case status == http.StatusRequestEntityTooLarge:
		return "too_large"
	case status >= 500:
		return "server_error"
	case status >= 400:
		return "client_error"
	}
	return ""
}

// responseWriter records what the handler answered.
type responseWriter struct {
	http.ResponseWriter
	tracer      *Tracer
	start       time.Time
	firstByte   time.Time
	status      int
	written     int64
	contentType string
	encoding    string
}

func (w *responseWriter) WriteHeader(code int) {
	if w.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		w.status = code
		w.firstByte = w.tracer.now()
		h := w.Header()
		w.contentType = mediaType(headerValue(h, "Content-Type"))
		w.encoding = headerValue(h, "Content-Encoding")
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		// As net/http does: sniff the type before the implicit 200.
		if w.ResponseWriter.Header().Get("Content-Type") == "" {
			w.ResponseWriter.Header().Set("Content-Type", http.DetectContentType(b))
		}
		w.WriteHeader(http.StatusOK)
	}
	n, err := w.ResponseWriter.Write(b)
	w.written += int64(n)
	return n, err
}

// Flush passes a flush through, for streaming handlers.
func (w *responseWriter) Flush() {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	http.NewResponseController(w.ResponseWriter).Flush() //nolint:errcheck // Flusher has no error to report
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// headerValue is h.Get(key) for a key already in canonical form, without
// canonicalising it again on every request.
func headerValue(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func mediaType(ct string) string {
	for i := 0; i < len(ct); i++ {
		if ct[i] == ';' {
			return trimOWS(ct[:i])
		}
	}
	return ct
}

// bodyCounter counts the body bytes read and digests them for the fingerprint.
type bodyCounter struct {
	rc io.ReadCloser
	n  int64
	h  hash.Hash
}

func (b *bodyCounter) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if n > 0 {
		if b.h == nil {
			b.h = sha256.New()
		}
		b.h.Write(p[:n])
		b.n += int64(n)
	}
	return n, err
}

func (b *bodyCounter) Close() error { return b.rc.Close() }

func (b *bodyCounter) sum() []byte {
	if b.h == nil {
		return nil
	}
	return b.h.Sum(nil)
}
