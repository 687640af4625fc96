package tracing

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// decodeTrace decodes one owl trace line (one JSON object, no newline)
// into t as encoding/json would, without reflection: it accepts and
// rejects what encoding/json accepts and rejects, and decodes to the same
// value. No string of t shares memory with line (line may be a view of a
// buffer about to be reused), and the values many spans repeat (services,
// routes, methods, ...) are shared through in, which may be nil. Errors
// say at which byte offset and why.
func decodeTrace(line string, t *Trace, in *interner) error {
	d := traceDecoder{s: line, in: in}
	d.ws()
	if d.null() {
		return d.end() // encoding/json leaves the trace as it was
	}
	if err := d.object("trace", func(key string) error { return d.traceField(t, key) }); err != nil {
		return err
	}
	return d.end()
}

// traceDecoder reads JSON from a string; i is the offset of the next byte.
type traceDecoder struct {
	s  string
	i  int
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

func (d *traceDecoder) errorf(format string, args ...any) error {
	return fmt.Errorf("offset %d: %s", d.i, fmt.Sprintf(format, args...))
}

func (d *traceDecoder) ws() {
	for d.i < len(d.s) {
		switch d.s[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *traceDecoder) end() error {
	d.ws()
	if d.i != len(d.s) {
		return d.errorf("unexpected %q after the trace", d.s[d.i])
	}
	return nil
}

// null reads a null literal if one is next.
func (d *traceDecoder) null() bool {
	if strings.HasPrefix(d.s[d.i:], "null") {
		d.i += 4
		return true
	}
	return false
}

// got describes the next byte for an error.
func (d *traceDecoder) got() string {
	if d.i >= len(d.s) {
		return "the end of the line"
	}
	return strconv.QuoteRune(rune(d.s[d.i]))
}

// object reads a JSON object whose fields field decodes (it is at the
// value when called); what names the object in errors.
func (d *traceDecoder) object(what string, field func(key string) error) error {
	d.ws()
	if d.i >= len(d.s) || d.s[d.i] != '{' {
		return d.errorf("%s: want an object, got %s", what, d.got())
	}
	d.i++
	d.ws()
	if d.i < len(d.s) && d.s[d.i] == '}' {
		d.i++
		return nil
	}
	for {
		d.ws()
		key, err := d.str()
		if err != nil {
			return err
		}
		d.ws()
		if d.i >= len(d.s) || d.s[d.i] != ':' {
			return d.errorf("want ':' after %q, got %s", clip(key), d.got())
		}
		d.i++
		d.ws()
		if err := field(key); err != nil {
			return err
		}
		d.ws()
		if d.i >= len(d.s) {
			return d.errorf("%s: want ',' or '}', got the end of the line", what)
		}
		c := d.s[d.i]
		d.i++
		if c == '}' {
			return nil
		}
		if c != ',' {
			d.i--
			return d.errorf("%s: want ',' or '}', got %q", what, c)
		}
	}
}

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
	return d.skip(1)
}

// spans decodes the spans array as encoding/json does: into the elements
// already there (a repeated key), null leaves a span as it was.
func (d *traceDecoder) spans(t *Trace) error {
	if d.null() {
		t.Spans = nil
		return nil
	}
	if d.i >= len(d.s) || d.s[d.i] != '[' {
		return d.errorf("spans: want an array, got %s", d.got())
	}
	d.i++
	d.ws()
	if d.i < len(d.s) && d.s[d.i] == ']' {
		d.i++
		t.Spans = []Span{}
		return nil
	}
	// Elements past the length but within the capacity keep what an
	// earlier "spans" of the line put there, as with encoding/json.
	sp := t.Spans[:cap(t.Spans)]
	n := 0
	if sp == nil {
		// About one span per 330 bytes of line; a guess saves regrowing.
		sp = make([]Span, 0, min(max(len(d.s)/330, 4), 1<<16))
	}
	for {
		d.ws()
		if n == len(sp) {
			sp = append(sp, Span{})
			sp = sp[:cap(sp)]
		}
		if !d.null() {
			s := &sp[n]
			if err := d.object("span", func(key string) error { return d.spanField(s, key) }); err != nil {
				return fmt.Errorf("span %d: %w", n, err)
			}
		}
		n++
		d.ws()
		if d.i >= len(d.s) {
			return d.errorf("spans: want ',' or ']', got the end of the line")
		}
		c := d.s[d.i]
		d.i++
		if c == ']' {
			t.Spans = sp[:n]
			return nil
		}
		if c != ',' {
			d.i--
			return d.errorf("spans: want ',' or ']', got %q", c)
		}
	}
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
		v, err := d.integer(key)
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
		case strings.HasPrefix(d.s[d.i:], "true"):
			d.i += 4
			s.Orphan = true
		case strings.HasPrefix(d.s[d.i:], "false"):
			d.i += 5
			s.Orphan = false
		default:
			return d.errorf("orphan: want true or false, got %s", d.got())
		}
		return nil
	case "attrs":
		return d.attrs(s)
	default:
		if c := canonical(key, spanFields); c != "" {
			return d.spanField(s, c)
		}
		return d.skip(3) // in the trace, the spans and this span
	}
	if sp != nil {
		return d.strField(key, sp, keep)
	}
	if d.null() {
		return nil
	}
	v, err := d.integer(key)
	*ip = v
	return err
}

// strField reads a string or null (which leaves *p as it was), kept as
// keep says.
func (d *traceDecoder) strField(key string, p *string, keep keeping) error {
	if d.null() {
		return nil
	}
	if d.i >= len(d.s) || d.s[d.i] != '"' {
		return d.errorf("%s: want a string, got %s", key, d.got())
	}
	v, err := d.str()
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
	if d.i >= len(d.s) || d.s[d.i] != '{' {
		return d.errorf("attrs: want an object, got %s", d.got())
	}
	if s.Attrs == nil {
		s.Attrs = make(map[string]string, 2)
	}
	return d.object("attrs", func(key string) error {
		var v string
		if err := d.strField("attrs["+strconv.Quote(clip(key))+"]", &v, shared); err != nil {
			return err
		}
		s.Attrs[d.in.get(key)] = v
		return nil
	})
}

// integer reads a JSON number that must be an int64, as encoding/json
// requires for an integer field.
func (d *traceDecoder) integer(key string) (int64, error) {
	start := d.i
	if d.i >= len(d.s) || d.s[d.i] != '-' && (d.s[d.i] < '0' || d.s[d.i] > '9') {
		return 0, d.errorf("%s: want an integer, got %s", key, d.got())
	}
	if err := d.number(); err != nil {
		return 0, err
	}
	end := d.i
	v, err := strconv.ParseInt(d.s[start:end], 10, 64)
	if err != nil {
		d.i = start
		return 0, d.errorf("%s: want a 64-bit integer, got %s", key, clip(d.s[start:end]))
	}
	return v, nil
}

// number reads past a JSON number.
func (d *traceDecoder) number() error {
	s, i := d.s, d.i
	digits := func() bool {
		j := i
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
		return i > j
	}
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case !digits():
		d.i = i
		return d.errorf("want a value, got %s", d.got())
	}
	if i < len(s) && s[i] == '.' {
		i++
		if !digits() {
			d.i = i
			return d.errorf("want a digit after '.'")
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if !digits() {
			d.i = i
			return d.errorf("want a digit in the exponent")
		}
	}
	d.i = i
	return nil
}

// time reads a start time as time.Time.UnmarshalJSON does: RFC 3339 in a
// string, quickly for the UTC form the Writer writes.
func (d *traceDecoder) time(p *time.Time) error {
	start := d.i
	if d.i < len(d.s) && d.s[d.i] == '"' {
		v, err := d.str()
		if err != nil {
			return err
		}
		if raw := d.s[start+1 : d.i-1]; raw == v {
			if t, ok := parseUTC(v); ok {
				*p = t
				return nil
			}
		}
	} else if err := d.skip(3); err != nil {
		return err
	}
	// Anything else as encoding/json does: the raw value to UnmarshalJSON.
	var t time.Time
	if err := t.UnmarshalJSON([]byte(d.s[start:d.i])); err != nil {
		d.i = start
		return d.errorf("start %s: want an RFC 3339 time, e.g. 2006-01-02T15:04:05.123Z", clip(d.s[start:min(start+40, len(d.s))]))
	}
	if d.s[start] != 'n' { // null leaves the time as it was
		*p = t
	}
	return nil
}

// parseUTC reads 2006-01-02T15:04:05[.fraction]Z, 1 to 9 digits of
// fraction, without time.Parse; false for anything else.
func parseUTC(s string) (time.Time, bool) {
	if len(s) < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[len(s)-1] != 'Z' {
		return time.Time{}, false
	}
	num := func(a, b int) (int, bool) {
		n := 0
		for i := a; i < b; i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	year, ok1 := num(0, 4)
	month, ok2 := num(5, 7)
	day, ok3 := num(8, 10)
	hour, ok4 := num(11, 13)
	minute, ok5 := num(14, 16)
	sec, ok6 := num(17, 19)
	ns := 0
	if len(s) > 20 {
		digits := len(s) - 21
		if s[19] != '.' || digits < 1 || digits > 9 {
			return time.Time{}, false
		}
		f, ok := num(20, len(s)-1)
		if !ok {
			return time.Time{}, false
		}
		for range 9 - digits {
			f *= 10
		}
		ns = f
	}
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, ns, time.UTC)
	if t.Day() != day { // 2026-02-30 normalises to March: not valid
		return time.Time{}, false
	}
	return t, true
}

// str reads a JSON string. Without escapes or non-ASCII bytes it is a
// slice of the line; otherwise it is decoded as encoding/json decodes it
// (invalid UTF-8 and lone surrogates become U+FFFD).
func (d *traceDecoder) str() (string, error) {
	s := d.s
	if d.i >= len(s) || s[d.i] != '"' {
		return "", d.errorf("want a string, got %s", d.got())
	}
	start := d.i + 1
	for i := start; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			d.i = i + 1
			return s[start:i], nil
		case c == '\\' || c < 0x20 || c >= utf8.RuneSelf:
			return d.slowStr(start)
		}
	}
	d.i = len(s)
	return "", d.errorf("unterminated string")
}

func (d *traceDecoder) slowStr(start int) (string, error) {
	s := d.s
	b := make([]byte, 0, 64)
	for i := start; i < len(s); {
		c := s[i]
		switch {
		case c == '"':
			d.i = i + 1
			return string(b), nil
		case c < 0x20:
			d.i = i
			return "", d.errorf("control character %#x in a string", c)
		case c == '\\':
			if i+1 >= len(s) {
				d.i = i
				return "", d.errorf("unterminated string")
			}
			switch e := s[i+1]; e {
			case '"', '\\', '/':
				b, i = append(b, e), i+2
			case 'b':
				b, i = append(b, '\b'), i+2
			case 'f':
				b, i = append(b, '\f'), i+2
			case 'n':
				b, i = append(b, '\n'), i+2
			case 'r':
				b, i = append(b, '\r'), i+2
			case 't':
				b, i = append(b, '\t'), i+2
			case 'u':
				r, ok := hex4(s, i+2)
				if !ok {
					d.i = i
					return "", d.errorf(`bad \u escape`)
				}
				i += 6
				if utf16.IsSurrogate(r) {
					r2, ok := rune(-1), false
					if i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
						r2, ok = hex4(s, i+2)
					}
					if dec := utf16.DecodeRune(r, r2); ok && dec != utf8.RuneError {
						r = dec
						i += 6
					} else {
						r = utf8.RuneError
					}
				}
				b = utf8.AppendRune(b, r)
			default:
				d.i = i
				return "", d.errorf("bad escape %q", s[i:i+2])
			}
		case c < utf8.RuneSelf:
			b, i = append(b, c), i+1
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			b = utf8.AppendRune(b, r) // U+FFFD for an invalid byte
			i += size
		}
	}
	d.i = len(s)
	return "", d.errorf("unterminated string")
}

func hex4(s string, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for j := i; j < i+4; j++ {
		c := s[j]
		var v byte
		switch {
		case '0' <= c && c <= '9':
			v = c - '0'
		case 'a' <= c && c <= 'f':
			v = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			v = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(v)
	}
	return r, true
}

// skip reads past one JSON value of a field owl does not know, inside
// depth arrays and objects.
func (d *traceDecoder) skip(depth int) error {
	d.ws()
	if d.i >= len(d.s) {
		return d.errorf("want a value, got the end of the line")
	}
	c := d.s[d.i]
	if (c == '{' || c == '[') && depth+1 > maxDepth {
		return d.errorf("nested too deeply")
	}
	switch c {
	case '"':
		_, err := d.str()
		return err
	case '{':
		return d.object("object", func(string) error { return d.skip(depth + 1) })
	case '[':
		d.i++
		d.ws()
		if d.i < len(d.s) && d.s[d.i] == ']' {
			d.i++
			return nil
		}
		for {
			if err := d.skip(depth + 1); err != nil {
				return err
			}
			d.ws()
			if d.i >= len(d.s) {
				return d.errorf("want ',' or ']', got the end of the line")
			}
			e := d.s[d.i]
			d.i++
			if e == ']' {
				return nil
			}
			if e != ',' {
				d.i--
				return d.errorf("want ',' or ']', got %q", e)
			}
		}
	case 't':
		return d.literal("true")
	case 'f':
		return d.literal("false")
	case 'n':
		return d.literal("null")
	}
	return d.number()
}

func (d *traceDecoder) literal(word string) error {
	if !strings.HasPrefix(d.s[d.i:], word) {
		return d.errorf("want a value, got %s", d.got())
	}
	d.i += len(word)
	return nil
}

// clip shortens a value quoted in an error.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
