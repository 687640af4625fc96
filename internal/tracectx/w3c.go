package tracectx

import (
	"fmt"
	"strings"
)

// W3C trace flags (Trace Context Level 2).
const (
	// FlagSampled says the caller may have recorded trace data.
	FlagSampled byte = 0x01
	// FlagRandom says the rightmost 7 bytes of the trace id are random.
	FlagRandom byte = 0x02
	// knownFlags are the flags this version defines; the rest are zeroed
	// when propagating, as the specification requires.
	knownFlags = FlagSampled | FlagRandom
)

// Traceparent is a parsed W3C traceparent header.
type Traceparent struct {
	Version  byte
	TraceID  TraceID
	ParentID SpanID
	Flags    byte
}

func tpErr(reason, format string, args ...any) *HeaderError {
	return &HeaderError{Header: HeaderTraceparent, Reason: reason, Detail: fmt.Sprintf(format, args...)}
}

// ParseTraceparent parses one traceparent value as Trace Context Level 2
// says: lower-case hex only, version ff invalid, version 00 exactly 55
// characters, a higher version at least 55 followed by '-' if longer, and no
// all-zero trace or parent id. Leading and trailing spaces and tabs are ignored.
func ParseTraceparent(s string) (Traceparent, error) {
	var tp Traceparent
	s = trimOWS(s)
	if len(s) < 55 {
		return tp, tpErr("syntax", "%q: want version-traceid-parentid-flags, 55 characters", clip(s))
	}
	var v [1]byte
	if !decodeHex(v[:], s[:2], false) {
		return tp, tpErr("bad_version", "version %q is not 2 lower-case hex digits", s[:2])
	}
	tp.Version = v[0]
	switch {
	case tp.Version == 0xff:
		return Traceparent{}, tpErr("bad_version", "version ff is invalid")
	case tp.Version == 0 && len(s) != 55:
		return Traceparent{}, tpErr("syntax", "version 00 must be exactly 55 characters, got %d", len(s))
	case len(s) > 55 && s[55] != '-':
		return Traceparent{}, tpErr("syntax", "a future version's extra fields must start with '-'")
	}
	if s[2] != '-' || s[35] != '-' || s[52] != '-' {
		return Traceparent{}, tpErr("syntax", "%q: fields must be separated by '-'", clip(s))
	}
	if !decodeHex(tp.TraceID[:], s[3:35], false) {
		return Traceparent{}, tpErr("bad_trace_id", "trace-id %q is not 32 lower-case hex digits", s[3:35])
	}
	if tp.TraceID.IsZero() {
		return Traceparent{}, tpErr("bad_trace_id", "trace-id is all zeros")
	}
	if !decodeHex(tp.ParentID[:], s[36:52], false) {
		return Traceparent{}, tpErr("bad_parent_id", "parent-id %q is not 16 lower-case hex digits", s[36:52])
	}
	if tp.ParentID.IsZero() {
		return Traceparent{}, tpErr("bad_parent_id", "parent-id is all zeros")
	}
	if !decodeHex(v[:], s[53:55], false) {
		return Traceparent{}, tpErr("bad_flags", "trace-flags %q is not 2 lower-case hex digits", s[53:55])
	}
	tp.Flags = v[0]
	return tp, nil
}

// String formats the header in version 00, the only version we write.
func (tp Traceparent) String() string { return string(tp.AppendTo(make([]byte, 0, 55))) }

// AppendTo appends the version 00 form to b; unknown flags are zeroed.
func (tp Traceparent) AppendTo(b []byte) []byte {
	b = append(b, "00-"...)
	b = appendHex(b, tp.TraceID[:])
	b = append(b, '-')
	b = appendHex(b, tp.ParentID[:])
	b = append(b, '-')
	return appendHex(b, []byte{tp.Flags & knownFlags})
}

// Tracestate limits from the specification.
const (
	maxMembers        = 32
	maxTracestateLen  = 512
	longMemberToPrune = 128
)

// Member is one key=value list member of a tracestate header.
type Member struct {
	Key, Value string
}

// Tracestate is a validated tracestate list, in order, ready to propagate.
type Tracestate struct {
	members []Member
	header  string // the members joined, truncated to 512 characters
}

func tsErr(reason, format string, args ...any) *HeaderError {
	return &HeaderError{Header: HeaderTracestate, Reason: reason, Detail: fmt.Sprintf(format, args...)}
}

// ParseTracestate parses every tracestate header line of a request, joined
// as one list (pass Header.Values). Empty members are skipped; more than 32
// members, a duplicated key or any invalid member discards the whole list.
func ParseTracestate(values []string) (Tracestate, error) {
	var ts Tracestate
	for _, line := range values {
		for rest := line; ; {
			m, more, found := strings.Cut(rest, ",")
			if m = trimOWS(m); m != "" {
				k, v, ok := strings.Cut(m, "=")
				switch {
				case !ok:
					return Tracestate{}, tsErr("syntax", "member %q has no '='", clip(m))
				case !validKey(k):
					return Tracestate{}, tsErr("bad_key", "key %q", clip(k))
				case !validValue(v):
					return Tracestate{}, tsErr("bad_value", "value %q of key %q", clip(v), clip(k))
				}
				for _, prev := range ts.members {
					if prev.Key == k {
						return Tracestate{}, tsErr("duplicate_key", "key %q appears twice", clip(k))
					}
				}
				if len(ts.members) == maxMembers {
					return Tracestate{}, tsErr("too_many_members", "more than %d list members", maxMembers)
				}
				ts.members = append(ts.members, Member{k, v})
			}
			if !found {
				break
			}
			rest = more
		}
	}
	ts.header = truncate(ts.members)
	return ts, nil
}

// Members returns the list members in order.
func (ts Tracestate) Members() []Member { return ts.members }

// Len is the number of list members.
func (ts Tracestate) Len() int { return len(ts.members) }

// String is the header value to propagate: every member, or, when they
// would exceed 512 characters, the list truncated as the specification
// recommends (first members longer than 128 characters, then from the end).
func (ts Tracestate) String() string { return ts.header }

func truncate(ms []Member) string {
	size := func(keep []bool) int {
		n, first := 0, true
		for i, m := range ms {
			if keep[i] {
				if !first {
					n++
				}
				n += len(m.Key) + 1 + len(m.Value)
				first = false
			}
		}
		return n
	}
	keep := make([]bool, len(ms))
	for i := range keep {
		keep[i] = true
	}
	for i := len(ms) - 1; i >= 0 && size(keep) > maxTracestateLen; i-- {
		if len(ms[i].Key)+1+len(ms[i].Value) > longMemberToPrune {
			keep[i] = false
		}
	}
	for i := len(ms) - 1; i >= 0 && size(keep) > maxTracestateLen; i-- {
		keep[i] = false
	}
	var b strings.Builder
	for i, m := range ms {
		if keep[i] {
			if b.Len() > 0 {
				b.WriteByte(',')
			}
			b.WriteString(m.Key)
			b.WriteByte('=')
			b.WriteString(m.Value)
		}
	}
	return b.String()
}

// validKey is the Level 2 key grammar:
//
//	key       = simple-key / tenant "@" system
//	simple    = lcalpha 0*255( lcalpha / DIGIT / "_" / "-" / "*" / "/" )
//	tenant    = ( lcalpha / DIGIT ) 0*240( same )
//	system    = lcalpha 0*13( same )
func validKey(k string) bool {
	tenant, system, multi := strings.Cut(k, "@")
	if !multi {
		return len(k) >= 1 && len(k) <= 256 && isLower(k[0]) && keyChars(k[1:])
	}
	return len(tenant) >= 1 && len(tenant) <= 241 && (isLower(tenant[0]) || isDigit(tenant[0])) && keyChars(tenant[1:]) &&
		len(system) >= 1 && len(system) <= 14 && isLower(system[0]) && keyChars(system[1:])
}

func isLower(c byte) bool { return 'a' <= c && c <= 'z' }
func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func keyChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(isLower(c) || isDigit(c) || c == '_' || c == '-' || c == '*' || c == '/') {
			return false
		}
	}
	return true
}

// validValue is 0*255( %x20-2B / %x2D-3C / %x3E-7E ) ending in a non-space.
func validValue(v string) bool {
	if len(v) == 0 || len(v) > 256 || v[len(v)-1] == ' ' {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < 0x20 || c > 0x7e || c == ',' || c == '=' {
			return false
		}
	}
	return true
}
