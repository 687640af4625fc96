package tracectx

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"
)

// SpanContext is where one hop sits in its trace.
type SpanContext struct {
	// TraceID is the trace, as X-Amzn-Trace-Id Root and W3C trace-id.
	TraceID TraceID
	// SpanID is this hop's span.
	SpanID SpanID
	// Parent is the caller's span that led here; zero at the root.
	Parent SpanID
	// Self is the Self field an ALB added on the way here, if any.
	Self string
	// Caller is the calling service as it named itself.
	Caller string
	// Flags are the W3C trace flags to propagate (sampled, random).
	Flags byte
	// Sampled is the X-Amzn-Trace-Id Sampled field as received.
	Sampled string
	// Lineage is the X-Amzn-Trace-Id Lineage field as received.
	Lineage string
	// Fields are custom X-Amzn-Trace-Id fields to propagate.
	Fields []Field
	// State is the W3C tracestate to propagate.
	State Tracestate
	// Link is a W3C trace id that arrived beside an X-Amzn-Trace-Id Root
	// naming a different trace: the Root wins and the other is kept as a link.
	Link TraceID
}

// Root is the trace id in X-Amzn-Trace-Id form.
func (sc SpanContext) Root() string { return sc.TraceID.Root() }

// Extract reads the trace context of an incoming request and gives this hop
// a new span id. A missing or malformed context starts a new trace; every
// header rejected on the way is returned with its reason.
//
// Behind an ALB the X-Amzn-Trace-Id Root is the trace id; a traceparent that
// names another trace is kept in Link. Without a valid X-Amzn-Trace-Id, a
// valid traceparent (exactly one) continues its trace with its tracestate.
func Extract(h http.Header, now time.Time) (SpanContext, []*HeaderError) {
	var sc SpanContext
	var rejected []*HeaderError
	reject := func(err error) {
		var he *HeaderError
		if errors.As(err, &he) {
			rejected = append(rejected, he)
		}
	}

	var amzn Amzn
	haveAmzn := false
	switch vs := h[HeaderAmzn]; len(vs) {
	case 0:
	case 1:
		var err error
		if amzn, err = ParseAmzn(vs[0]); err != nil {
			reject(err)
		} else {
			haveAmzn = true
		}
	default:
		reject(amznErr("duplicate", "%d %s headers", len(vs), HeaderAmzn))
	}

	var tp Traceparent
	haveTP := false
	switch vs := h[HeaderTraceparent]; len(vs) {
	case 0:
	case 1:
		var err error
		if tp, err = ParseTraceparent(vs[0]); err != nil {
			reject(err)
		} else {
			haveTP = true
		}
	default:
		reject(tpErr("duplicate", "%d traceparent headers", len(vs)))
	}
	var ts Tracestate
	if vs := h[HeaderTracestate]; haveTP && len(vs) > 0 {
		var err error
		if ts, err = ParseTracestate(vs); err != nil {
			reject(err)
		}
	}

	switch {
	case haveAmzn:
		sc.TraceID = amzn.Root
		sc.Parent = amzn.Parent
		sc.Self = amzn.Self
		sc.Caller = amzn.Caller
		sc.Sampled = amzn.Sampled
		sc.Lineage = amzn.Lineage
		sc.Fields = amzn.Fields
		// An X-Ray root's last 12 bytes are random.
		sc.Flags = FlagRandom
		if amzn.Sampled == "1" {
			sc.Flags |= FlagSampled
		}
		if haveTP {
			if tp.TraceID == amzn.Root {
				if sc.Parent.IsZero() {
					sc.Parent = tp.ParentID
				}
				sc.Flags = tp.Flags & knownFlags
				sc.State = ts
			} else {
				sc.Link = tp.TraceID
			}
		}
	case haveTP:
		sc.TraceID = tp.TraceID
		sc.Parent = tp.ParentID
		sc.Flags = tp.Flags & knownFlags
		sc.State = ts
	default:
		sc.TraceID = NewTraceID(now)
		// Always-on: every trace is recorded, and our ids are random.
		sc.Flags = FlagSampled | FlagRandom
	}
	sc.SpanID = NewSpanID()
	return sc, rejected
}

// Inject writes the trace context of an outgoing call into h: the call's
// own span id as Parent and parent-id, and service as the Caller. An ALB's
// Self is not forwarded: the next ALB adds its own.
func Inject(h http.Header, sc SpanContext, call SpanID, service string) {
	a := Amzn{Root: sc.TraceID, Parent: call, Sampled: sc.Sampled, Lineage: sc.Lineage, Caller: service, Fields: sc.Fields}
	b := make([]byte, 0, 160)
	b = a.AppendTo(b)
	n := len(b)
	b = Traceparent{TraceID: sc.TraceID, ParentID: call, Flags: sc.Flags}.AppendTo(b)
	s := string(b)
	h[HeaderAmzn] = []string{s[:n]}
	h[HeaderTraceparent] = []string{s[n:]}
	if st := sc.State.String(); st != "" {
		h[HeaderTracestate] = []string{st}
	} else {
		delete(h, HeaderTracestate)
	}
}

type ctxKey struct{}

// state is what the middleware keeps per request: the span context and the
// attributes other components add for the access log.
type state struct {
	sc      SpanContext
	allowed map[string]bool
	mu      sync.Mutex
	attrs   map[string]string
}

func stateFrom(ctx context.Context) *state {
	st, _ := ctx.Value(ctxKey{}).(*state)
	return st
}

// FromContext returns the span context of the request or job ctx belongs to.
func FromContext(ctx context.Context) (SpanContext, bool) {
	if st := stateFrom(ctx); st != nil {
		return st.sc, true
	}
	return SpanContext{}, false
}

// RootFrom returns the trace root of ctx in X-Amzn-Trace-Id form, or "".
// Put it in error responses and reports so they lead to the trace.
func RootFrom(ctx context.Context) string {
	if st := stateFrom(ctx); st != nil {
		return st.sc.TraceID.Root()
	}
	return ""
}

// NewContext returns ctx carrying sc, for work that does not start with an
// HTTP request (a batch job): calls made with it join sc's trace.
func NewContext(ctx context.Context, sc SpanContext) context.Context {
	return context.WithValue(ctx, ctxKey{}, &state{sc: sc})
}

// NewTrace starts a new trace at now, with a fresh span for the caller.
func NewTrace(now time.Time) SpanContext {
	return SpanContext{TraceID: NewTraceID(now), SpanID: NewSpanID(), Flags: FlagSampled | FlagRandom}
}

// SetAttr adds key=value to the access-log record of the request ctx
// belongs to, if the tracer allows that key (Options.Attrs); it reports
// whether the attribute was kept.
func SetAttr(ctx context.Context, key, value string) bool {
	st := stateFrom(ctx)
	if st == nil || !st.allowed[key] {
		return false
	}
	st.mu.Lock()
	if st.attrs == nil {
		st.attrs = make(map[string]string, 2)
	}
	st.attrs[key] = value
	st.mu.Unlock()
	return true
}

func (st *state) attrsCopy() map[string]string {
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.attrs) == 0 {
		return nil
	}
	m := make(map[string]string, len(st.attrs))
	for k, v := range st.attrs {
		m[k] = v
	}
	return m
}
