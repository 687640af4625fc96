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
	"unsafe"

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
	sysClock   bool // now is time.Now: durations can be read from the monotonic clock alone
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
		t.now, t.sysClock = time.Now, true
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

// since is the time elapsed since start on the tracer's clock.
func (t *Tracer) since(start time.Time) time.Duration {
	if t.sysClock {
		return time.Since(start) // a monotonic clock reading: cheaper than time.Now
	}
	return t.now().Sub(start)
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
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { t.serve(next, w, r) })
}

// serve is Handler's work, in a method of its own so that it is compiled
// once, with WithContext inlined, rather than inlined into each caller.
func (t *Tracer) serve(next http.Handler, w http.ResponseWriter, r *http.Request) {
	start := t.now()
	sc, rejected := Extract(r.Header, start)
	for _, e := range rejected {
		t.rejected.WithLabelValues(e.Header, e.Reason).Inc()
	}
	// One allocation for everything kept per request, the text of its
	// ids and hashes included.
	x := &served{
		state: state{sc: sc, allowed: t.allowed},
		rw:    responseWriter{ResponseWriter: w, tracer: t, start: start},
	}
	x.ids = newServedIDs(&x.idText, sc)
	h := w.Header()
	h[HeaderAmzn] = x.ids.hdr[0:1:1]
	h[HeaderTraceresponse] = x.ids.hdr[1:2:2]

	x.ctx = traceContext{Context: r.Context(), st: &x.state}
	// WithContext's copy is inlined and stays on the stack: the request
	// next sees lives in x too.
	x.req = *r.WithContext(&x.ctx)
	r2 := &x.req
	var body *bodyCounter // allocated only for a request with a body: most have none
	if r.Body != nil && r.Body != http.NoBody {
		body = &bodyCounter{rc: r.Body}
		r2.Body = body
	}
	defer func() {
		// Runs on panics too (http.ErrAbortHandler), so that an aborted
		// request still has its record.
		t.finishServer(r2, x, body, start, recover())
	}()
	next.ServeHTTP(&x.rw, r2)
}

// served is the per-request memory of Handler, allocated at once.
type served struct {
	state state
	ctx   traceContext
	req   http.Request // the request next sees, with ctx
	rw    responseWriter
	ids   servedIDs
	// idText and sumText hold the bytes of ids' strings and of the
	// record's keyed hashes (strings made with unsafe.String): each byte
	// is written once, before its string is made, and never changed.
	idText  [idTextLen]byte
	sumText [4 * 16]byte
}

// idTextLen is the length of the text of servedIDs: "Root=" and a root,
// a version 00 traceresponse and a parent span id.
const idTextLen = len("Root=") + 35 + 55 + 16

// servedIDs are the ids of one served request as text, all slices of one
// string: the two response header values (which hold the record's trace
// root and span) and the record's parent.
type servedIDs struct {
	hdr    [2]string // X-Amzn-Trace-Id "Root=...", traceresponse
	parent string
}

// root is the trace root, after "Root=".
func (ids *servedIDs) root() string { return ids.hdr[0][len("Root="):] }

// span is the span id: traceresponse is "00-<32 hex trace id>-<16 hex span id>-<flags>".
func (ids *servedIDs) span() string { return ids.hdr[1][36:52] }

// newServedIDs writes the ids of sc into buf, which must not change
// afterwards: the strings returned are its bytes.
func newServedIDs(buf *[idTextLen]byte, sc SpanContext) servedIDs {
	b := append(buf[:0], "Root="...)
	b = sc.TraceID.appendRoot(b)
	n1 := len(b)
	// traceresponse is Traceparent{sc.TraceID, sc.SpanID, sc.Flags} in
	// version 00, its trace id the root's digits copied rather than encoded again.
	root := b[len("Root="):n1] // 1-<8 hex>-<24 hex>
	b = append(b, "00-"...)
	b = append(b, root[2:10]...)
	b = append(b, root[11:]...)
	b = append(b, '-')
	b = appendHex(b, sc.SpanID[:])
	b = append(b, '-', hexdigits[sc.Flags&knownFlags>>4], hexdigits[sc.Flags&knownFlags&15])
	n2 := len(b)
	if !sc.Parent.IsZero() {
		b = appendHex(b, sc.Parent[:])
	}
	// b is buf, never reallocated: it holds all idTextLen bytes at most.
	s := unsafe.String(unsafe.SliceData(b), len(b))
	return servedIDs{hdr: [2]string{s[:n1], s[n1:n2]}, parent: s[n2:]}
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
	dur := t.since(start)
	rw, st := &x.rw, &x.state
	status := rw.status
	if status == 0 {
		status = http.StatusOK
		if panicked != nil {
			status = http.StatusInternalServerError
		}
	}
	sc := &st.sc
	rec := Record{
		Time:           start,
		Kind:           KindServer,
		Service:        t.service,
		TraceRoot:      x.ids.root(),
		Span:           x.ids.span(),
		Parent:         x.ids.parent,
		Self:           sc.Self,
		Caller:         sc.Caller,
		Method:         r.Method,
		Route:          r.Pattern,
		Path:           r.URL.Path,
		Status:         status,
		DurationUS:     dur.Microseconds(),
		RespBytes:      rw.written,
		ContentType:    rw.contentType,
		Encoding:       rw.encoding,
		AcceptEncoding: headerValue(r.Header, "Accept-Encoding"),
		Attrs:          st.attrsCopy(),
	}
	if !sc.Link.IsZero() { // rare: a traceparent naming another trace
		rec.Link = sc.Link.String()
	}
	if rw.status != 0 {
		rec.TTFBUS = rw.firstByte.Microseconds()
	} else {
		rec.TTFBUS = rec.DurationUS
	}
	var bodySum []byte
	if body != nil {
		rec.ReqBytes = body.n
		bodySum = body.sum()
	}
	route := r.Pattern
	if route == "" {
		route = r.URL.Path
	}
	fields := [4]*string{&rec.Fingerprint}
	sums := [4]uint64{t.hash.fingerprint64(r.Method, route, r.URL.RawQuery, bodySum)}
	n := 1
	if r.URL.RawQuery != "" {
		fields[n], sums[n] = &rec.QueryHash, t.hash.sum64(r.URL.RawQuery)
		n++
	}
	if ua := headerValue(r.Header, "User-Agent"); ua != "" {
		fields[n], sums[n] = &rec.UAHash, t.hash.sum64(ua)
		n++
	}
	if t.userHeader != "" {
		if u := headerValue(r.Header, t.userHeader); u != "" {
			fields[n], sums[n] = &rec.UserHash, t.hash.sum64(u)
			n++
		}
	}
	setSums(&x.sumText, fields[:n], sums[:n])
	rec.Error = serverErrorClass(r.Context(), status, panicked != nil)
	if t.log != nil {
		t.log.write(&rec, true)
	}
	if t.otel != nil {
		t.otel.export(r.Context(), *sc, &rec, start, start.Add(dur))
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
	}
	return StatusErrorClass(status)
}

// StatusErrorClass is the error class of a response status alone:
// "server_error" for 5xx, "client_error" for 4xx, "" otherwise.
func StatusErrorClass(status int) string {
	switch {
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
	firstByte   time.Duration // since start; set with status
	status      int
	written     int64
	contentType string
	encoding    string
}

func (w *responseWriter) WriteHeader(code int) {
	if w.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		h := w.Header()
		w.noteHeader(code, h, headerValue(h, "Content-Type"))
	}
	w.ResponseWriter.WriteHeader(code)
}

// noteHeader records the final status and the header it is sent with.
func (w *responseWriter) noteHeader(code int, h http.Header, contentType string) {
	w.status = code
	w.firstByte = w.tracer.since(w.start)
	w.contentType = mediaType(contentType)
	w.encoding = headerValue(h, "Content-Encoding")
}

func (w *responseWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		// As net/http does: sniff the type before the implicit 200.
		h := w.Header()
		ct := headerValue(h, "Content-Type")
		if ct == "" {
			ct = http.DetectContentType(b)
			h.Set("Content-Type", ct)
		}
		w.noteHeader(http.StatusOK, h, ct)
		w.ResponseWriter.WriteHeader(http.StatusOK)
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
