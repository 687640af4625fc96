package tracing

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/owlstack/owl/internal/jsontext"
)

// decodeTrace decodes one owl trace line (one JSON object, no newline)
// into t as encoding/json would, without reflection: it accepts and
// rejects what encoding/json accepts and rejects, and decodes to the same
// value. No string of t shares memory with line (line may be a view of a
// buffer about to be reused), and the values many spans repeat (services,
// routes, methods, ...) are shared through in, which may be nil. Errors
// say at which byte offset and why.
func decodeTrace(line string, t *Trace, in *interner) error {
	d := traceDecoder{Scanner: jsontext.Scanner{Src: line}, in: in}
	d.SkipSpace()
	if d.null() {
		return d.end() // encoding/json leaves the trace as it was
	}
	if err := d.Object("trace", func(key string) error { return d.traceField(t, key) }); err != nil {
		return err
	}
	return d.end()
}

// traceDecoder reads an owl trace from a string.
type traceDecoder struct {
	jsontext.Scanner
	in *interner
}

// interner keeps one copy of each short value that many spans repeat, so
// that decoding them allocates nothing and consumers that keep them (as
// map keys, say) keep only them. It stops growing at a bound: a stream of
// distinct values must not fill memory.
type interner struct {
	m map[string]string
}

const (
	maxInterned    = 1 << 14
	maxInternedLen = 128
)

// get returns s, copied or shared: never a string that aliases s.
func (in *interner) get(s string) string {
	if in == nil || len(s) > maxInternedLen {
		return strings.Clone(s)
	}
	if v, ok := in.m[s]; ok {
		return v
	}
	v := strings.Clone(s)
	if in.m == nil {
		in.m = make(map[string]string, 64)
	}
	if len(in.m) < maxInterned {
		in.m[v] = v
	}
	return v
}

// keeping is how a decoded string is kept.
type keeping uint8

const (
	owned  keeping = iota // a copy of its own: values unique to a span
	shared                // through the interner: values many spans repeat
)

// maxDepth is the nesting encoding/json accepts.
const maxDepth = 10000

func (d *traceDecoder) end() error {
	d.SkipSpace()
	if d.Pos != len(d.Src) {
		return d.Errorf("unexpected %q after the trace", d.Src[d.Pos])
	}
	return nil
}

// null reads a null literal if one is next.
func (d *traceDecoder) null() bool { return d.Consume("null") }

// Field names as the owl format spells them; encoding/json also matches
// them regardless of case (Unicode simple folding).
var (
	traceFields = []string{"root", "trace_id", "spans"}
	spanFields  = []string{"span_id", "parent_id", "kind", "service", "caller", "peer", "method", "route", "path", "status", "start",
		"duration_us", "req_bytes", "resp_bytes", "content_type", "encoding", "accept_encoding", "fingerprint", "error", "attrs",
		"orphan", "missing_parent", "skew_us"}
)

// canonical returns the field name key matches, exactly or folded, or "".
func canonical(key string, names []string) string {
	for _, n := range names {
		if n == key {
			return n
		}
	}
	for _, n := range names {
		if strings.EqualFold(n, key) {
			return n
		}
	}
	return ""
}

func (d *traceDecoder) traceField(t *Trace, key string) error {
	switch key {
	case "root":
		return d.strField(key, &t.Root, owned)
	case "trace_id":
		return d.strField(key, &t.TraceID, owned)
	case "spans":
		return d.spans(t)
	}
	if c := canonical(key, traceFields); c != "" {
		return d.traceField(t, c)
	}
	return d.Skip(maxDepth - 1)
}

// spans decodes the spans array as encoding/json does: into the elements
// already there (a repeated key), null leaves a span as it was.
func (d *traceDecoder) spans(t *Trace) error {
	if d.null() {
		t.Spans = nil
		return nil
	}
	if d.Pos >= len(d.Src) || d.Src[d.Pos] != '[' {
		return d.Errorf("spans: want an array, got %s", d.Got())
	}
	// Elements past the length but within the capacity keep what an
	// earlier "spans" of the line put there, as with encoding/json.
	sp := t.Spans[:cap(t.Spans)]
	n := 0
	err := d.Array("spans", func(int) error {
		if sp == nil {
			// About one span per 330 bytes of line; a guess saves regrowing.
			sp = make([]Span, 0, min(max(len(d.Src)/330, 4), 1<<16))
		}
		if n == len(sp) {
			sp = append(sp, Span{})
			sp = sp[:cap(sp)]
		}
		if !d.null() {
			s := &sp[n]
			if err := d.Object("span", func(key string) error { return d.spanField(s, key) }); err != nil {
				return fmt.Errorf("span %d: %w", n, err)
			}
		}
		n++
		return nil
	})
	switch {
	case err != nil:
		return err
	case n == 0:
		t.Spans = []Span{}
	default:
		t.Spans = sp[:n]
	}
	return nil
}

func (d *traceDecoder) spanField(s *Span, key string) error {
	var sp *string
	var ip *int64
	keep := shared
	switch key {
	case "span_id":
		sp, keep = &s.SpanID, owned
	case "parent_id":
		sp, keep = &s.ParentID, owned
	case "kind":
		if err := d.strField(key, &s.Kind, shared); err != nil {
			return err
		}
		switch s.Kind { // one string for every span of a kind
		case KindLB:
			s.Kind = KindLB
		case KindServer:
			s.Kind = KindServer
		case KindClient:
			s.Kind = KindClient
		}
		return nil
	case "service":
		sp = &s.Service
	case "caller":
		sp = &s.Caller
	case "peer":
		sp = &s.Peer
	case "method":
		sp = &s.Method
	case "route":
		sp = &s.Route
	case "path":
		sp, keep = &s.Path, owned
	case "content_type":
		sp = &s.ContentType
	case "encoding":
		sp = &s.Encoding
	case "accept_encoding":
		sp = &s.AcceptEncoding
	case "fingerprint":
		sp, keep = &s.Fingerprint, owned
	case "error":
		sp = &s.Error
	case "missing_parent":
		sp, keep = &s.MissingParent, owned
	case "status":
		if d.null() {
			return nil
		}
		v, err := d.ReadInt(key)
		if err != nil {
			return err
		}
		s.Status = int(v)
		return nil
	case "duration_us":
		ip = &s.DurationUS
	case "req_bytes":
		ip = &s.ReqBytes
	case "resp_bytes":
		ip = &s.RespBytes
	case "skew_us":
		ip = &s.SkewUS
	case "start":
		return d.time(&s.Start)
	case "orphan":
		switch {
		case d.null():
		case strings.HasPrefix(d.Src[d.Pos:], "true"):
			d.Pos += 4
			s.Orphan = true
		case strings.HasPrefix(d.Src[d.Pos:], "false"):
			d.Pos += 5
			s.Orphan = false
		default:
			return d.Errorf("orphan: want true or false, got %s", d.Got())
		}
		return nil
	case "attrs":
		return d.attrs(s)
	default:
		if c := canonical(key, spanFields); c != "" {
			return d.spanField(s, c)
		}
		return d.Skip(maxDepth - 3) // in the trace, the spans and this span
	}
	if sp != nil {
		return d.strField(key, sp, keep)
	}
	if d.null() {
		return nil
	}
	v, err := d.ReadInt(key)
	*ip = v
	return err
}

// strField reads a string or null (which leaves *p as it was), kept as
// keep says.
func (d *traceDecoder) strField(key string, p *string, keep keeping) error {
	if d.null() {
		return nil
	}
	if d.Pos >= len(d.Src) || d.Src[d.Pos] != '"' {
		return d.Errorf("%s: want a string, got %s", key, d.Got())
	}
	v, err := d.ReadString()
	if err != nil {
		return err
	}
	if keep == shared {
		*p = d.in.get(v)
	} else {
		*p = strings.Clone(v)
	}
	return nil
}

func (d *traceDecoder) attrs(s *Span) error {
	if d.null() {
		s.Attrs = nil
		return nil
	}
	if d.Pos >= len(d.Src) || d.Src[d.Pos] != '{' {
		return d.Errorf("attrs: want an object, got %s", d.Got())
	}
	if s.Attrs == nil {
		s.Attrs = make(map[string]string, 2)
	}
	return d.Object("attrs", func(key string) error {
		var v string
		if err := d.strField("attrs["+strconv.Quote(clip(key))+"]", &v, shared); err != nil {
			return err
		}
		s.Attrs[d.in.get(key)] = v
		return nil
	})
}

// time reads a start time as time.Time.UnmarshalJSON does: RFC 3339 in a
// string, quickly for the UTC form the Writer writes.
func (d *traceDecoder) time(p *time.Time) error {
	start := d.Pos
	if d.Pos < len(d.Src) && d.Src[d.Pos] == '"' {
		v, err := d.ReadString()
		if err != nil {
			return err
		}
		if raw := d.Src[start+1 : d.Pos-1]; raw == v {
			if t, ok := jsontext.ParseUTC(v); ok {
				*p = t
				return nil
			}
		}
	} else if err := d.Skip(maxDepth - 3); err != nil {
		return err
	}
	// Anything else as encoding/json does: the raw value to UnmarshalJSON.
	var t time.Time
	if err := t.UnmarshalJSON([]byte(d.Src[start:d.Pos])); err != nil {
		d.Pos = start
		return d.Errorf("start %s: want an RFC 3339 time, e.g. 2006-01-02T15:04:05.123Z", clip(d.Src[start:min(start+40, len(d.Src))]))
	}
	if d.Src[start] != 'n' { // null leaves the time as it was
		*p = t
	}
	return nil
}

// clip shortens a value quoted in an error.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
