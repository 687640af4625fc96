package tracectx

import "fmt"

// Header names, in the canonical form net/http stores them under.
const (
	HeaderAmzn          = "X-Amzn-Trace-Id"
	HeaderTraceparent   = "Traceparent"
	HeaderTracestate    = "Tracestate"
	HeaderTraceresponse = "Traceresponse"
)

// HeaderError says why a trace header was rejected. Reason is one of a small
// fixed set of codes, so that it can label a metric; Detail says more.
type HeaderError struct {
	Header string // HeaderAmzn, HeaderTraceparent or HeaderTracestate
	Reason string // e.g. "bad_root", "duplicate", "too_many_members"
	Detail string
}

func (e *HeaderError) Error() string {
	if e.Detail == "" {
		return fmt.Sprintf("%s header rejected: %s", e.Header, e.Reason)
	}
	return fmt.Sprintf("%s header rejected: %s: %s", e.Header, e.Reason, e.Detail)
}

func amznErr(reason, format string, args ...any) *HeaderError {
	return &HeaderError{Header: HeaderAmzn, Reason: reason, Detail: fmt.Sprintf(format, args...)}
}

func trimOWS(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}
