// Package tracing is owl's always-on request tracing: call trees stitched
// from load balancer and application access logs, in a documented format
// (one JSON trace per line) that the stitcher writes, the exporters convert
// and the analyses read.
//
// Sub-packages: tracingalb parses AWS ALB access logs, stitch builds the
// trees from logs far bigger than memory, jaeger and otlp convert them,
// synth simulates a microservice fleet with known true trees, and w3c
// serves the W3C trace-context test protocol.
package tracing

import (
	"bufio"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"time"
	"unsafe"
)

// Span kinds.
const (
	KindLB     = "lb"     // a load balancer passing a request on
	KindServer = "server" // a service serving a request
	KindClient = "client" // a service calling another service or a dependency
)

// Span is one hop of a trace.
type Span struct {
	SpanID   string `json:"span_id"`
	ParentID string `json:"parent_id,omitempty"`
	Kind     string `json:"kind"`
	// Service is the service that logged the span; for a load balancer,
	// its name as it appears in its logs (app/NAME/ID).
	Service string `json:"service"`
	// Caller is the calling service as the call named it.
	Caller string `json:"caller,omitempty"`
	// Peer is the host a client span called.
	Peer        string    `json:"peer,omitempty"`
	Method      string    `json:"method,omitempty"`
	Route       string    `json:"route,omitempty"`
	Path        string    `json:"path,omitempty"`
	Status      int       `json:"status"`
	Start       time.Time `json:"start"`
	DurationUS  int64     `json:"duration_us"`
	ReqBytes    int64     `json:"req_bytes"`
	RespBytes   int64     `json:"resp_bytes"`
	ContentType string    `json:"content_type,omitempty"`
	Encoding    string    `json:"encoding,omitempty"`
	// AcceptEncoding is the request's Accept-Encoding, as the access log
	// of the span's service recorded it ("" when it had none or the log
	// does not say).
	AcceptEncoding string            `json:"accept_encoding,omitempty"`
	Fingerprint    string            `json:"fingerprint,omitempty"`
	Error          string            `json:"error,omitempty"`
	Attrs          map[string]string `json:"attrs,omitempty"`
	// Orphan marks a span whose parent is not in the logs (a missing hop);
	// it is attached to the root, and MissingParent keeps the id it named.
	Orphan        bool   `json:"orphan,omitempty"`
	MissingParent string `json:"missing_parent,omitempty"`
	// SkewUS is how far the stitcher moved the span (and its subtree) to
	// fit inside its parent, correcting the clock skew between hosts.
	SkewUS int64 `json:"skew_us,omitempty"`
}

// End is when the span ended.
func (s *Span) End() time.Time { return s.Start.Add(time.Duration(s.DurationUS) * time.Microsecond) }

// Trace is the call tree of one request: its spans with the root first,
// then depth first, children in order of start time.
type Trace struct {
	// Root is the trace id in X-Amzn-Trace-Id form.
	Root string `json:"root"`
	// TraceID is the same id as 32 hex digits (W3C, Jaeger, OTLP).
	TraceID string `json:"trace_id"`
	Spans   []Span `json:"spans"`
}

// LBSpanID is the span id the stitcher gives a load balancer's log entry:
// a hash of the trace root and the Self field the balancer added ("" when
// it started the trace), since its log names no span of its own.
func LBSpanID(root, self string) string {
	sum := sha256.Sum256([]byte("lb\x00" + root + "\x00" + self))
	return hex.EncodeToString(sum[:8])
}

// Order sorts t.Spans: the root (the span without a parent) first, then
// depth first, children by start time and span id. Spans whose parent is
// not in the trace come last, in the same order.
func Order(t *Trace) {
	byID := make(map[string]bool, len(t.Spans))
	for _, s := range t.Spans {
		byID[s.SpanID] = true
	}
	children := make(map[string][]int, len(t.Spans))
	var tops []int
	for i, s := range t.Spans {
		if s.ParentID == "" || !byID[s.ParentID] {
			tops = append(tops, i)
		} else {
			children[s.ParentID] = append(children[s.ParentID], i)
		}
	}
	less := func(a, b int) int {
		sa, sb := &t.Spans[a], &t.Spans[b]
		if c := sa.Start.Compare(sb.Start); c != 0 {
			return c
		}
		return cmp.Compare(sa.SpanID, sb.SpanID)
	}
	slices.SortFunc(tops, less)
	out := make([]Span, 0, len(t.Spans))
	var walk func(i int)
	walk = func(i int) {
		out = append(out, t.Spans[i])
		kids := children[t.Spans[i].SpanID]
		slices.SortFunc(kids, less)
		for _, k := range kids {
			walk(k)
		}
	}
	for _, i := range tops {
		walk(i)
	}
	t.Spans = out
}

// Duration is the root span's duration.
func (t *Trace) Duration() time.Duration {
	if len(t.Spans) == 0 {
		return 0
	}
	return time.Duration(t.Spans[0].DurationUS) * time.Microsecond
}

// CriticalPath returns the ids of the spans on the critical path: from the
// root, repeatedly the child that finished last, the one its parent waited for.
func CriticalPath(t *Trace) map[string]bool {
	on := map[string]bool{}
	if len(t.Spans) == 0 {
		return on
	}
	children := map[string][]*Span{}
	for i := range t.Spans {
		s := &t.Spans[i]
		if s.ParentID != "" {
			children[s.ParentID] = append(children[s.ParentID], s)
		}
	}
	for s := &t.Spans[0]; s != nil; {
		on[s.SpanID] = true
		var last *Span
		for _, c := range children[s.SpanID] {
			if last == nil || c.End().After(last.End()) {
				last = c
			}
		}
		s = last
	}
	return on
}

// Writer writes traces in owl's format, one JSON object per line.
type Writer struct {
	w   *bufio.Writer
	buf []byte
}

// NewWriter returns a Writer on w; call Flush at the end.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: bufio.NewWriterSize(w, 256<<10)}
}

// WriteTrace writes one trace line, the bytes encoding/json would write.
func (w *Writer) WriteTrace(t *Trace) error {
	b, err := appendTrace(w.buf[:0], t)
	if err != nil {
		return fmt.Errorf("write trace %s: %w", t.Root, err)
	}
	b = append(b, '\n')
	if cap(b) <= 4<<20 { // do not keep a huge trace's buffer
		w.buf = b
	}
	_, err = w.w.Write(b)
	return err
}

// Flush writes out buffered lines.
func (w *Writer) Flush() error { return w.w.Flush() }

// Reader reads traces in owl's format.
type Reader struct {
	sc   *bufio.Scanner
	name string
	line int
	in   interner
}

// NewReader reads traces from r; name is used in errors (file:line).
func NewReader(r io.Reader, name string) *Reader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<20), 256<<20)
	return &Reader{sc: sc, name: name}
}

// Next returns the next trace, or io.EOF after the last.
func (r *Reader) Next() (*Trace, error) {
	for r.sc.Scan() {
		r.line++
		b := r.sc.Bytes()
		if len(b) == 0 {
			continue
		}
		var t Trace
		// The decoder copies what it keeps: the line is only looked at.
		if err := decodeTrace(unsafe.String(unsafe.SliceData(b), len(b)), &t, &r.in); err != nil {
			return nil, fmt.Errorf("%s:%d: not an owl trace: %w", r.name, r.line, err)
		}
		if t.Root == "" || len(t.Spans) == 0 {
			return nil, fmt.Errorf("%s:%d: not an owl trace: no root or no spans", r.name, r.line)
		}
		return &t, nil
	}
	if err := r.sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", r.name, r.line+1, err)
	}
	return nil, io.EOF
}
