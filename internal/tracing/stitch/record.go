package stitch

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/bits"
	"strings"
	"time"

	"github.com/owlstack/owl/internal/jsontext"
	"github.com/owlstack/owl/internal/tracectx"
	"github.com/owlstack/owl/internal/tracing"
	"github.com/owlstack/owl/internal/tracing/tracingalb"
)

// appFields are the fields of an owl access-log record the stitcher keeps.
// While a line is parsed its strings may point into the line's bytes.
type appFields struct {
	time                                         time.Time
	kind, service, traceRoot, span, parent, self string
	caller, peer, method, route, path            string
	contentType, encoding, acceptEncoding        string
	fingerprint, errClass                        string
	status                                       int
	dur, reqBytes, respBytes                     int64
	attrs                                        map[string]string
}

func (f *appFields) fromRecord(r *tracectx.Record) {
	*f = appFields{
		time: r.Time, kind: r.Kind, service: r.Service, traceRoot: r.TraceRoot, span: r.Span, parent: r.Parent, self: r.Self,
		caller: r.Caller, peer: r.Peer, method: r.Method, route: r.Route, path: r.Path,
		contentType: r.ContentType, encoding: r.Encoding, acceptEncoding: r.AcceptEncoding,
		fingerprint: r.Fingerprint, errClass: r.Error,
		status: r.Status, dur: r.DurationUS, reqBytes: r.ReqBytes, respBytes: r.RespBytes,
		attrs: r.Attrs,
	}
}

// parseApp reads one owl access-log line into f: the common shape by
// scanRecord, anything else by tracectx.ParseRecord, so both read the same.
func parseApp(line string, f *appFields) error {
	if scanRecord(line, f) {
		return nil
	}
	r, err := tracectx.ParseRecord(line)
	if err != nil {
		return fmt.Errorf("not an owl access log record: %w", err)
	}
	f.fromRecord(&r)
	return nil
}

// plain marks the bytes a JSON string may hold as they are: printable
// ASCII but the quote and the backslash.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// plainEnd returns the index of the first byte at or after s[j] that is
// not plain, len(s) if none, eight bytes at a time.
func plainEnd(s string, j int) int {
	const ones, high = 0x0101010101010101, 0x8080808080808080
	for ; j+8 <= len(s); j += 8 {
		_ = s[j+7]
		x := uint64(s[j]) | uint64(s[j+1])<<8 | uint64(s[j+2])<<16 | uint64(s[j+3])<<24 |
			uint64(s[j+4])<<32 | uint64(s[j+5])<<40 | uint64(s[j+6])<<48 | uint64(s[j+7])<<56
		q := x ^ ('"' * ones)
		bs := x ^ ('\\' * ones)
		// Per byte: the high bit (non-ASCII), below 0x20, a quote, a
		// backslash. Borrows can flag bytes above a flagged one, never
		// below it, so the lowest flag is exact.
		m := x&high | (x-0x20*ones)&^x&high | (q-ones)&^q&high | (bs-ones)&^bs&high
		if m != 0 {
			return j + bits.TrailingZeros64(m)/8
		}
	}
	for j < len(s) && plain[s[j]] {
		j++
	}
	return j
}

// The fields scanRecord reads, by number.
const (
	fTime = iota
	fKind
	fService
	fTraceRoot
	fSpan
	fParent
	fSelf
	fCaller
	fPeer
	fLink
	fMethod
	fRoute
	fPath
	fQueryHash
	fStatus
	fDuration
	fTTFB
	fReqBytes
	fRespBytes
	fContentType
	fEncoding
	fAcceptEncoding
	fFingerprint
	fUAHash
	fUserHash
	fError
	fAttrs
	fUnknown
)

// owlKeys are the keys in the order tracectx.Record.AppendJSON writes
// them, quoted and with the colon, so that the common line is read
// without looking its keys up.
var owlKeys = [...]string{
	fTime: `"time":`, fKind: `"kind":`, fService: `"service":`, fTraceRoot: `"trace_root":`, fSpan: `"span":`,
	fParent: `"parent":`, fSelf: `"self":`, fCaller: `"caller":`, fPeer: `"peer":`, fLink: `"link":`,
	fMethod: `"method":`, fRoute: `"route":`, fPath: `"path":`, fQueryHash: `"query_hash":`, fStatus: `"status":`,
	fDuration: `"duration_us":`, fTTFB: `"ttfb_us":`, fReqBytes: `"req_bytes":`, fRespBytes: `"resp_bytes":`,
	fContentType: `"content_type":`, fEncoding: `"encoding":`, fAcceptEncoding: `"accept_encoding":`,
	fFingerprint: `"fingerprint":`, fUAHash: `"ua_hash":`, fUserHash: `"user_hash":`, fError: `"error":`, fAttrs: `"attrs":`,
}

// fieldOf numbers a key; fUnknown for keys ParseRecord skips, -1 for keys
// it may match in another case.
func fieldOf(key string) int {
	for f, k := range owlKeys {
		if len(k) == len(key)+3 && k[1:len(k)-2] == key {
			return f
		}
	}
	for k := 0; k < len(key); k++ {
		if 'A' <= key[k] && key[k] <= 'Z' {
			return -1
		}
	}
	return fUnknown
}

// scanRecord reads the shape owl's middleware writes: one flat object
// without white space, lower-case keys, strings without escapes or
// non-ASCII bytes, and integers. It reports false, having read nothing it
// is sure of, for any other line; tracectx.ParseRecord reads those (and
// gives the errors), so the two must agree on every line scanRecord takes
// (FuzzScanRecord checks it).
func scanRecord(s string, f *appFields) bool {
	*f = appFields{}
	n := len(s)
	if n < 2 || s[0] != '{' || s[n-1] != '}' {
		return false
	}
	i := 1
	next := 0 // the key owl writes next, at the earliest
	for {
		if i+1 >= n || s[i] != '"' {
			return false
		}
		// The key: the next ones owl writes, else any.
		field := -1
		for k := next; k < len(owlKeys); k++ {
			if key := owlKeys[k]; s[i+1] == key[1] && strings.HasPrefix(s[i:], key) {
				field, next, i = k, k+1, i+len(key)
				break
			}
		}
		if field < 0 {
			j := plainEnd(s, i+1)
			if j+1 >= n || s[j] != '"' || s[j+1] != ':' {
				return false
			}
			if field = fieldOf(s[i+1 : j]); field < 0 {
				return false
			}
			i = j + 2
		}
		if i >= n {
			return false
		}
		// The value: a string or an integer.
		var str string
		var num int64
		isStr := false
		switch c := s[i]; {
		case c == '"':
			j := plainEnd(s, i+1)
			if j >= n || s[j] != '"' {
				return false
			}
			str, isStr, i = s[i+1:j], true, j+1
		case c == '-' || '0' <= c && c <= '9':
			var ok bool
			if num, i, ok = scanInt(s, i); !ok {
				return false
			}
		default:
			return false // null, true, false, objects and arrays
		}
		if !f.set(field, str, num, isStr) {
			return false
		}
		if i >= n {
			return false
		}
		switch s[i] {
		case ',':
			i++
		case '}':
			return i == n-1
		default:
			return false
		}
	}
}

// scanInt reads a JSON integer of at most 18 digits (so that it cannot
// overflow) at s[i:]; a fraction or an exponent is not an integer here.
func scanInt(s string, i int) (v int64, next int, ok bool) {
	neg := s[i] == '-'
	if neg {
		i++
	}
	start := i
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		v = v*10 + int64(s[i]-'0')
		i++
	}
	digits := i - start
	if digits == 0 || digits > 18 || digits > 1 && s[start] == '0' {
		return 0, 0, false
	}
	if i < len(s) && (s[i] == '.' || s[i] == 'e' || s[i] == 'E') {
		return 0, 0, false
	}
	if neg {
		v = -v
	}
	return v, i, true
}

// set stores one member as tracectx.ParseRecord would, or reports false
// where that takes more than the common case: a value of another type,
// a time in another form, attrs.
func (f *appFields) set(field int, str string, num int64, isStr bool) bool {
	var sp *string
	var ip *int64
	switch field {
	case fTime:
		if !isStr {
			return false
		}
		t, ok := jsontext.ParseUTC(str)
		f.time = t
		return ok
	case fKind:
		sp = &f.kind
	case fService:
		sp = &f.service
	case fTraceRoot:
		sp = &f.traceRoot
	case fSpan:
		sp = &f.span
	case fParent:
		sp = &f.parent
	case fSelf:
		sp = &f.self
	case fCaller:
		sp = &f.caller
	case fPeer:
		sp = &f.peer
	case fMethod:
		sp = &f.method
	case fRoute:
		sp = &f.route
	case fPath:
		sp = &f.path
	case fContentType:
		sp = &f.contentType
	case fEncoding:
		sp = &f.encoding
	case fAcceptEncoding:
		sp = &f.acceptEncoding
	case fFingerprint:
		sp = &f.fingerprint
	case fError:
		sp = &f.errClass
	case fLink, fQueryHash, fUAHash, fUserHash:
		return isStr // read, not kept
	case fStatus:
		if isStr {
			return false
		}
		f.status = int(num)
		return true
	case fDuration:
		ip = &f.dur
	case fReqBytes:
		ip = &f.reqBytes
	case fRespBytes:
		ip = &f.respBytes
	case fTTFB:
		return !isStr // read, not kept
	case fUnknown:
		return true // skipped, whatever its value
	default: // fAttrs
		return false
	}
	if sp != nil {
		*sp = str
		return isStr
	}
	*ip = num
	return !isStr
}

// Record kinds, as stored in a payload's flags.
const (
	kindServer = iota
	kindClient
	kindLB
)

var kindNames = [...]string{kindServer: tracing.KindServer, kindClient: tracing.KindClient, kindLB: tracing.KindLB}

// Payload flags besides the kind (the low two bits).
const (
	flagParent = 1 << 2 // the parent span id follows
	flagSelf   = 1 << 3 // the span id of the ALB named by Self follows
	flagAttrs  = 1 << 4 // attributes close the payload
)

// lbSpan is tracing.LBSpanID as a number, without allocating.
func lbSpan(trace *tracectx.TraceID, self string) uint64 {
	var b [64]byte
	in := append(b[:0], "lb\x00"...)
	in = append(in, '1', '-')
	in = hex.AppendEncode(in, trace[:4])
	in = append(in, '-')
	in = hex.AppendEncode(in, trace[4:])
	in = append(in, 0)
	in = append(in, self...)
	sum := sha256.Sum256(in)
	return binary.BigEndian.Uint64(sum[:8])
}

// appendApp validates f and appends its payload to b; the key is returned
// apart. The checks and errors are the stitcher's, on top of the record's.
func appendApp(b []byte, seq uint64, f *appFields) ([]byte, key, error) {
	id, err := tracectx.ParseRoot(f.traceRoot)
	if err != nil {
		return b, key{}, fmt.Errorf("trace_root %q: %w", f.traceRoot, err)
	}
	span, err := tracectx.ParseSpanID(f.span)
	if err != nil {
		return b, key{}, fmt.Errorf("span %q: %w", f.span, err)
	}
	var parent tracectx.SpanID
	if f.parent != "" {
		if parent, err = tracectx.ParseSpanID(f.parent); err != nil {
			return b, key{}, fmt.Errorf("parent %q: %w", f.parent, err)
		}
	}
	var flags byte
	switch f.kind {
	case tracectx.KindServer:
		flags = kindServer
	case tracectx.KindClient:
		flags = kindClient
	default:
		return b, key{}, fmt.Errorf("kind %q: want server or client", f.kind)
	}
	if f.service == "" || f.time.IsZero() || f.dur < 0 {
		return b, key{}, errors.New("record needs service, time and a duration >= 0")
	}
	var self uint64
	if f.self != "" {
		flags |= flagSelf
		self = lbSpan(&id, f.self)
	}
	b = appendPayload(b, seq, flags, parent, self, [5]int64{int64(f.status), f.time.UnixMicro(), f.dur, f.reqBytes, f.respBytes},
		[11]string{f.service, f.caller, f.peer, f.method, f.route, f.path, f.contentType, f.encoding, f.acceptEncoding, f.fingerprint, f.errClass},
		f.attrs)
	return b, newKey(&id, binary.BigEndian.Uint64(span[:])), nil
}

// appendPayload appends a payload: flags holds the kind and flagSelf
// (with self); a parent and attrs are written when there are any.
func appendPayload(b []byte, seq uint64, flags byte, parent tracectx.SpanID, self uint64, ints [5]int64, strs [11]string, attrs map[string]string) []byte {
	if !parent.IsZero() {
		flags |= flagParent
	}
	if len(attrs) > 0 {
		flags |= flagAttrs
	}
	b = binary.LittleEndian.AppendUint64(b, seq)
	b = append(b, flags)
	if !parent.IsZero() {
		b = append(b, parent[:]...)
	}
	if flags&flagSelf != 0 {
		b = binary.BigEndian.AppendUint64(b, self)
	}
	for _, v := range ints {
		b = binary.AppendVarint(b, v)
	}
	for _, s := range strs {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	if len(attrs) > 0 {
		b = binary.AppendUvarint(b, uint64(len(attrs)))
		for k, v := range attrs {
			b = binary.AppendUvarint(b, uint64(len(k)))
			b = append(b, k...)
			b = binary.AppendUvarint(b, uint64(len(v)))
			b = append(b, v...)
		}
	}
	return b
}

// errNoTrace marks an ALB line without a trace id: counted, but it makes
// no trace.
var errNoTrace = errors.New("no trace id")

// appendALB parses one ALB log line and appends its payload to b.
func appendALB(b []byte, seq uint64, line string) ([]byte, key, error) {
	e, err := tracingalb.ParseLine(line)
	if err != nil {
		return b, key{}, err
	}
	if e.TraceID == "" {
		// E.g. a request the ALB rejected before it could add a header.
		return b, key{}, errNoTrace
	}
	a, err := tracectx.ParseAmzn(e.TraceID)
	if err != nil {
		return b, key{}, fmt.Errorf("trace_id: %w", err)
	}
	d := e.Duration()
	start := e.RequestCreationTime
	if start.IsZero() {
		start = e.Time.Add(-d)
	}
	status := max(e.ELBStatusCode, 0)
	var attrs map[string]string
	if e.ErrorReason != "" {
		attrs = map[string]string{"error_reason": e.ErrorReason}
	}
	b = appendPayload(b, seq, kindLB, a.Parent, 0, [5]int64{int64(status), start.UnixMicro(), d.Microseconds(), max(e.ReceivedBytes, 0), max(e.SentBytes, 0)},
		[11]string{e.ELB, a.Caller, "", e.Method, "", e.Path(), "", "", "", "", tracectx.StatusErrorClass(status)},
		attrs)
	return b, newKey(&a.Root, lbSpan(&a.Root, a.Self)), nil
}
