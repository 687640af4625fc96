package tracectx

import (
	"strconv"
	"time"

	"github.com/owlstack/owl/internal/jsontext"
)

// Record kinds.
const (
	KindServer = "server" // a request this service served
	KindClient = "client" // a call this service made
)

// Record is one line of an owl access log (JSON lines), written by every
// owl service for every request it serves and every call it makes. It is a
// documented format: the tracing system and other tools read it.
//
// Nothing in it identifies a person: the query string, the user agent and
// the user id are kept only as keyed hashes, so equal values can be matched
// without being stored.
type Record struct {
	// Time is when the request started, UTC, to the microsecond.
	Time time.Time `json:"time"`
	// Kind is KindServer or KindClient.
	Kind string `json:"kind"`
	// Service is the service that wrote the record.
	Service string `json:"service"`
	// TraceRoot is the trace id in X-Amzn-Trace-Id form (1-xxxxxxxx-...).
	TraceRoot string `json:"trace_root"`
	// Span is this hop's span id (16 hex digits).
	Span string `json:"span"`
	// Parent is the span that led here: the caller's call span for a
	// server record, the serving span for a client record.
	Parent string `json:"parent,omitempty"`
	// Self is the Self field of the ALB the request came through, if any.
	Self string `json:"self,omitempty"`
	// Caller is the calling service as it named itself (server records).
	Caller string `json:"caller,omitempty"`
	// Peer is the host called (client records).
	Peer string `json:"peer,omitempty"`
	// Link is a W3C trace id that arrived beside a different Root.
	Link string `json:"link,omitempty"`
	// Method is the HTTP method.
	Method string `json:"method"`
	// Route is the matched route pattern, e.g. "GET /v1/users/{id}".
	Route string `json:"route,omitempty"`
	// Path is the URL path, never the query string.
	Path string `json:"path"`
	// QueryHash is the keyed hash of the raw query string, if there was one.
	QueryHash string `json:"query_hash,omitempty"`
	// Status is the response status; 0 when a call got no response.
	Status int `json:"status"`
	// DurationUS is the time from the request's start to the end of the
	// response body, in microseconds.
	DurationUS int64 `json:"duration_us"`
	// TTFBUS is the time to the first byte of the response (server: the
	// first header or body write; client: the response headers).
	TTFBUS int64 `json:"ttfb_us"`
	// ReqBytes and RespBytes count the body bytes read and written.
	ReqBytes  int64 `json:"req_bytes"`
	RespBytes int64 `json:"resp_bytes"`
	// ContentType is the response's media type.
	ContentType string `json:"content_type,omitempty"`
	// Encoding is the response's Content-Encoding ("" when uncompressed).
	Encoding string `json:"encoding,omitempty"`
	// AcceptEncoding is the request's Accept-Encoding.
	AcceptEncoding string `json:"accept_encoding,omitempty"`
	// Fingerprint is a keyed hash of method, route (or host and path),
	// query and body, equal for identical calls.
	Fingerprint string `json:"fingerprint"`
	// UAHash is the keyed hash of the User-Agent.
	UAHash string `json:"ua_hash,omitempty"`
	// UserHash is the keyed hash of the configured user-id header.
	UserHash string `json:"user_hash,omitempty"`
	// Error classifies a failure: client_error, server_error, canceled,
	// timeout, too_large, connection or transport; "" on success.
	Error string `json:"error,omitempty"`
	// Attrs are allow-listed attributes other components set, e.g. the
	// traffic-shifting proxy's "side".
	Attrs map[string]string `json:"attrs,omitempty"`
}

// AppendJSON appends r as one JSON object (no newline), with the fields in
// declaration order. It is what the log writer uses: several times faster
// than encoding/json and without allocations.
func (r *Record) AppendJSON(b []byte) []byte { return r.appendJSON(b, false) }

// appendJSON is AppendJSON. With owlText, the caller vouches that the
// fields this package fills from its own ids, hashes, constants and
// validated names (kind, service, trace_root, span, parent, self, caller,
// link, query_hash, fingerprint, ua_hash, user_hash and error) hold only
// printable ASCII without quotes or backslashes: they are copied between
// quotes without being checked for characters to escape.
func (r *Record) appendJSON(b []byte, owlText bool) []byte {
	b = append(b, `{"time":"`...)
	b = appendTime(b, r.Time)
	b = append(b, `","kind":`...)
	b = appendText(b, r.Kind, owlText)
	b = append(b, `,"service":`...)
	b = appendText(b, r.Service, owlText)
	b = append(b, `,"trace_root":`...)
	b = appendText(b, r.TraceRoot, owlText)
	b = append(b, `,"span":`...)
	b = appendText(b, r.Span, owlText)
	b = appendOpt(b, `,"parent":`, r.Parent, owlText)
	b = appendOpt(b, `,"self":`, r.Self, owlText)
	b = appendOpt(b, `,"caller":`, r.Caller, owlText)
	b = appendOpt(b, `,"peer":`, r.Peer, false)
	b = appendOpt(b, `,"link":`, r.Link, owlText)
	b = append(b, `,"method":`...)
	b = jsontext.AppendString(b, r.Method)
	b = appendOpt(b, `,"route":`, r.Route, false)
	b = append(b, `,"path":`...)
	b = jsontext.AppendString(b, r.Path)
	b = appendOpt(b, `,"query_hash":`, r.QueryHash, owlText)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(r.Status), 10)
	b = append(b, `,"duration_us":`...)
	b = strconv.AppendInt(b, r.DurationUS, 10)
	b = append(b, `,"ttfb_us":`...)
	b = strconv.AppendInt(b, r.TTFBUS, 10)
	b = append(b, `,"req_bytes":`...)
	b = strconv.AppendInt(b, r.ReqBytes, 10)
	b = append(b, `,"resp_bytes":`...)
	b = strconv.AppendInt(b, r.RespBytes, 10)
	b = appendOpt(b, `,"content_type":`, r.ContentType, false)
	b = appendOpt(b, `,"encoding":`, r.Encoding, false)
	b = appendOpt(b, `,"accept_encoding":`, r.AcceptEncoding, false)
	b = append(b, `,"fingerprint":`...)
	b = appendText(b, r.Fingerprint, owlText)
	b = appendOpt(b, `,"ua_hash":`, r.UAHash, owlText)
	b = appendOpt(b, `,"user_hash":`, r.UserHash, owlText)
	b = appendOpt(b, `,"error":`, r.Error, owlText)
	if len(r.Attrs) > 0 {
		b = jsontext.AppendStringMap(append(b, `,"attrs":`...), r.Attrs)
	}
	return append(b, '}')
}

// appendText appends v as a JSON string; plain says it needs no escaping.
func appendText(b []byte, v string, plain bool) []byte {
	if plain {
		b = append(b, '"')
		b = append(b, v...)
		return append(b, '"')
	}
	return jsontext.AppendString(b, v)
}

func appendOpt(b []byte, key, v string, plain bool) []byte {
	if v == "" {
		return b
	}
	return appendText(append(b, key...), v, plain)
}

// appendTime appends t in UTC as 2006-01-02T15:04:05.000000Z, the layout
// AppendFormat would write, without parsing a layout on every record.
func appendTime(b []byte, t time.Time) []byte {
	t = t.UTC()
	// Years 0 to 9999, told by the Unix time: cheaper than t.Year().
	const year0, year10000 = -62167219200, 253402300800
	if sec := t.Unix(); sec < year0 || sec >= year10000 {
		return t.AppendFormat(b, "2006-01-02T15:04:05.000000Z07:00")
	}
	us := t.Nanosecond() / 1000
	b = jsontext.AppendDateTime(b, t)
	// Constant divisors, which compile to multiplications.
	return append(b, '.', byte('0'+us/100000), byte('0'+us/10000%10), byte('0'+us/1000%10),
		byte('0'+us/100%10), byte('0'+us/10%10), byte('0'+us%10), 'Z')
}
