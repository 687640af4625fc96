package graph

import (
	"strings"
	"time"

	"github.com/owlstack/owl/internal/tracing"
)

// Node kinds.
const (
	KindService  = "service"  // a service that logs owl access logs
	KindLB       = "lb"       // a load balancer that received the request from outside
	KindExternal = "external" // a dependency only its callers log (e.g. DynamoDB), named by host
	KindUnknown  = "unknown"  // the caller of a span whose parent is missing and that names no caller
)

// Unknown is the node name of an unidentified caller.
const Unknown = "(unknown)"

// Call is one call from a caller to a callee, as one trace shows it: the
// unit both the graph and the findings count.
type Call struct {
	Caller     string // node name (service@value when split by an attribute)
	CallerKind string
	Callee     string
	CalleeKind string
	// Via is the internal load balancer the call went through, if any.
	Via    string
	Method string
	// Route is the callee's route pattern; for a dependency without its
	// own logs, the path the caller asked for.
	Route string
	// Fingerprint is the caller's keyed hash of method, target, query and
	// body: equal for identical calls.
	Fingerprint string
	Status      int
	// Failed is a 5xx status or a failure without one (timeout,
	// connection, transport, canceled); 4xx answers are not failures.
	Failed bool
	Start  time.Time
	// DurationUS is how long the caller waited.
	DurationUS int64
	// ServerUS is how long the callee took by its own log; -1 when it has none.
	ServerUS int64
	// NetworkUS is the time between the caller's send and the callee's
	// receive; -1 when unknown (no callee log, a missing hop, or a clock
	// skew the stitcher had to correct, which makes it an estimate).
	NetworkUS   int64
	ReqBytes    int64
	RespBytes   int64
	ContentType string
	// Encoding is the response's Content-Encoding ("" uncompressed), by
	// the callee's log when there is one.
	Encoding string
	// AcceptEncoding is the request's Accept-Encoding as the callee's log
	// (else the caller's, else an "accept_encoding" attribute) recorded
	// it; "identity" when logs that record it show none, "" when unknown.
	AcceptEncoding string
	// Parent is the caller's serving span: calls with the same Parent come
	// from one invocation of one handler.
	Parent string
	// Span is the span that records the call from the caller's side.
	Span string
	// Server is the callee's serving span ("" when it has no log): the
	// Parent of the calls it made in turn.
	Server string
	// Attrs are the access-log attributes of the callee's span over those
	// of the caller's.
	Attrs map[string]string
}

// Calls lists the calls in t, in span order. When split is not "", every
// service node is named service@value by the value of the split attribute
// on its span (unchanged when the span has none).
func Calls(t *tracing.Trace, split string) []Call {
	sp := t.Spans
	byID := make(map[string]int, len(sp))
	for i := range sp {
		byID[sp[i].SpanID] = i
	}
	parent := func(i int) int {
		if p, ok := byID[sp[i].ParentID]; ok && sp[i].ParentID != "" && p != i {
			return p
		}
		return -1
	}
	// The caller's serving span of a client span: its parent, when a server.
	servingAttrs := func(i int) map[string]string {
		if p := parent(i); p >= 0 && sp[p].Kind == tracing.KindServer {
			return sp[p].Attrs
		}
		return nil
	}
	name := func(service string, attrs map[string]string) string {
		if split == "" {
			return service
		}
		if v := attrs[split]; v != "" {
			return service + "@" + v
		}
		return service
	}
	callerName := func(i int) string {
		a := sp[i].Attrs
		if a[split] == "" {
			a = servingAttrs(i)
		}
		return name(sp[i].Service, a)
	}
	// Logs that record Accept-Encoding record it on every request; a call
	// without one in such a trace had no Accept-Encoding header at all.
	traceAE := false
	for i := range sp {
		if sp[i].AcceptEncoding != "" {
			traceAE = true
			break
		}
	}
	var calls []Call
	answered := make([]bool, len(sp)) // client and lb spans with a server below
	for i := range sp {
		s := &sp[i]
		if s.Kind != tracing.KindServer {
			continue
		}
		c := Call{
			Callee: name(s.Service, s.Attrs), CalleeKind: KindService, Method: s.Method, Route: s.Route,
			ServerUS: s.DurationUS, NetworkUS: -1, ContentType: s.ContentType, Encoding: s.Encoding,
		}
		if c.Route == "" {
			c.Route = s.Path
		}
		call := i // the span that records the call from the caller's side
		p := parent(i)
		if s.Orphan {
			p = -1 // attached to the root by the stitcher, not called by it
		}
		switch {
		case p >= 0 && sp[p].Kind == tracing.KindLB:
			answered[p] = true
			if q := parent(p); q >= 0 && sp[q].Kind == tracing.KindClient {
				answered[q] = true
				call, c.Via = q, sp[p].Service
				c.Caller, c.CallerKind = callerName(q), KindService
			} else if sp[p].Caller != "" || sp[p].ParentID != "" {
				// An internal balancer whose caller's log is missing.
				call, c.Via = p, sp[p].Service
				c.Caller, c.CallerKind = callerOf(sp[p].Caller), KindService
				if sp[p].Caller == "" {
					c.CallerKind = KindUnknown
				}
			} else {
				call = p
				c.Caller, c.CallerKind = sp[p].Service, KindLB
			}
		case p >= 0 && sp[p].Kind == tracing.KindClient:
			answered[p] = true
			call = p
			c.Caller, c.CallerKind = callerName(p), KindService
		default:
			// A missing hop (or a server below a server): the Caller field
			// still names who called.
			c.Caller, c.CallerKind = callerOf(s.Caller), KindService
			if s.Caller == "" {
				c.CallerKind = KindUnknown
			}
		}
		cs := &sp[call]
		c.Fingerprint = cs.Fingerprint
		if c.Fingerprint == "" {
			c.Fingerprint = s.Fingerprint
		}
		c.Status, c.Start, c.DurationUS = cs.Status, cs.Start, cs.DurationUS
		c.ReqBytes, c.RespBytes = cs.ReqBytes, cs.RespBytes
		if call == i {
			c.Status = s.Status
		}
		c.Failed = failed(c.Status, cs.Error)
		if call != i && !s.Orphan && s.SkewUS == 0 && sp[call].SkewUS == 0 {
			c.NetworkUS = max(s.Start.Sub(cs.Start).Microseconds(), 0)
		}
		c.Parent = cs.ParentID
		c.Span = cs.SpanID
		c.Server = s.SpanID
		c.Attrs = mergeAttrs(cs.Attrs, s.Attrs)
		if cs.Kind == tracing.KindClient {
			c.Attrs = mergeAttrs(servingAttrs(call), c.Attrs)
		}
		c.AcceptEncoding = acceptEncoding(traceAE, c.Attrs, s.AcceptEncoding, cs.AcceptEncoding)
		calls = append(calls, c)
	}
	for i := range sp {
		s := &sp[i]
		if s.Kind != tracing.KindClient || answered[i] {
			continue
		}
		// A call nobody logged the answer to: an external dependency.
		c := Call{
			Caller: callerName(i), CallerKind: KindService, Callee: s.Peer, CalleeKind: KindExternal,
			Method: s.Method, Route: s.Route, Fingerprint: s.Fingerprint, Status: s.Status, Failed: failed(s.Status, s.Error),
			Start: s.Start, DurationUS: s.DurationUS, ServerUS: -1, NetworkUS: -1, ReqBytes: s.ReqBytes, RespBytes: s.RespBytes,
			ContentType: s.ContentType, Encoding: s.Encoding, Parent: s.ParentID, Span: s.SpanID,
			Attrs: mergeAttrs(servingAttrs(i), s.Attrs),
		}
		if c.Route == "" {
			c.Route = s.Path
		}
		if c.Callee == "" {
			c.Callee, c.CalleeKind = Unknown, KindUnknown
		}
		c.AcceptEncoding = acceptEncoding(traceAE, c.Attrs, s.AcceptEncoding)
		calls = append(calls, c)
	}
	return calls
}

// acceptEncoding is a call's Accept-Encoding from the first of its spans
// that recorded one, or its attributes; when other spans of the trace
// record it and these do not, the request had none: "identity".
func acceptEncoding(traceAE bool, attrs map[string]string, spans ...string) string {
	for _, ae := range spans {
		if ae != "" {
			return ae
		}
	}
	if ae := attrs["accept_encoding"]; ae != "" {
		return ae
	}
	if traceAE {
		return "identity"
	}
	return ""
}

// callerOf names a caller known only by the Caller field (it has no span,
// so no attributes to split by).
func callerOf(service string) string {
	if service == "" {
		return Unknown
	}
	return service
}

func failed(status int, class string) bool {
	return status >= 500 || (class != "" && class != "client_error" && !strings.HasPrefix(class, "client"))
}

func mergeAttrs(under, over map[string]string) map[string]string {
	if len(under) == 0 {
		return over
	}
	if len(over) == 0 {
		return under
	}
	m := make(map[string]string, len(under)+len(over))
	for k, v := range under {
		m[k] = v
	}
	for k, v := range over {
		m[k] = v
	}
	return m
}
