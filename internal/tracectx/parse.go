package tracectx

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// ParseRecord decodes one access-log line (one JSON object, no newline)
// as encoding/json would decode it into a Record, several times faster and
// allocating little: strings without escapes are slices of line, so the
// Record keeps line's memory alive. Unknown fields are skipped, as
// encoding/json skips them; keys must be spelled exactly as AppendJSON
// writes them. Errors say at which byte offset and why.
func ParseRecord(line string) (Record, error) {
	var r Record
	p := recordParser{s: line}
	if err := p.record(&r); err != nil {
		return Record{}, err
	}
	return r, nil
}

type recordParser struct {
	s string
	i int
}

// errorf is a malformed-record error at the parser's offset.
func (p *recordParser) errorf(format string, args ...any) error {
	return fmt.Errorf("offset %d: %s", p.i, fmt.Sprintf(format, args...))
}

func (p *recordParser) ws() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *recordParser) expect(c byte) error {
	p.ws()
	if p.i >= len(p.s) {
		return p.errorf("want %q, got the end of the line", c)
	}
	if p.s[p.i] != c {
		return p.errorf("want %q, got %q", c, p.s[p.i])
	}
	p.i++
	return nil
}

func (p *recordParser) record(r *Record) error {
	if err := p.expect('{'); err != nil {
		return err
	}
	p.ws()
	if p.i < len(p.s) && p.s[p.i] == '}' {
		p.i++
		return p.end()
	}
	for {
		p.ws()
		key, err := p.str()
		if err != nil {
			return err
		}
		if err := p.expect(':'); err != nil {
			return err
		}
		p.ws()
		if err := p.field(r, key); err != nil {
			return err
		}
		p.ws()
		if p.i >= len(p.s) {
			return p.errorf("want ',' or '}', got the end of the line")
		}
		c := p.s[p.i]
		p.i++
		if c == '}' {
			return p.end()
		}
		if c != ',' {
			p.i--
			return p.errorf("want ',' or '}', got %q", c)
		}
	}
}

func (p *recordParser) end() error {
	p.ws()
	if p.i != len(p.s) {
		return p.errorf("unexpected %q after the record", p.s[p.i])
	}
	return nil
}

func (p *recordParser) null() bool {
	if strings.HasPrefix(p.s[p.i:], "null") {
		p.i += 4
		return true
	}
	return false
}

func (p *recordParser) field(r *Record, key string) error {
	var sp *string
	var ip *int64
	switch key {
	case "time":
		if p.null() {
			return nil
		}
		start := p.i
		v, err := p.str()
		if err != nil {
			return err
		}
		var t time.Time
		ok := false
		if raw := p.s[start+1 : p.i-1]; raw == v { // no escapes
			t, ok = parseRecordTime(v)
		}
		if !ok {
			// Anything else is read as encoding/json reads a time: the
			// raw string, strict RFC 3339.
			if perr := t.UnmarshalJSON([]byte(p.s[start:p.i])); perr != nil {
				p.i = start
				return p.errorf("time %q: want RFC 3339, e.g. 2006-01-02T15:04:05.000000Z", clip(v))
			}
		}
		r.Time = t
		return nil
	case "kind":
		sp = &r.Kind
	case "service":
		sp = &r.Service
	case "trace_root":
		sp = &r.TraceRoot
	case "span":
		sp = &r.Span
	case "parent":
		sp = &r.Parent
	case "self":
		sp = &r.Self
	case "caller":
		sp = &r.Caller
	case "peer":
		sp = &r.Peer
	case "link":
		sp = &r.Link
	case "method":
		sp = &r.Method
	case "route":
		sp = &r.Route
	case "path":
		sp = &r.Path
	case "query_hash":
		sp = &r.QueryHash
	case "content_type":
		sp = &r.ContentType
	case "encoding":
		sp = &r.Encoding
	case "accept_encoding":
		sp = &r.AcceptEncoding
	case "fingerprint":
		sp = &r.Fingerprint
	case "ua_hash":
		sp = &r.UAHash
	case "user_hash":
		sp = &r.UserHash
	case "error":
		sp = &r.Error
	case "status":
		if p.null() {
			return nil
		}
		v, err := p.integer(key, math.MinInt, math.MaxInt)
		r.Status = int(v)
		return err
	case "duration_us":
		ip = &r.DurationUS
	case "ttfb_us":
		ip = &r.TTFBUS
	case "req_bytes":
		ip = &r.ReqBytes
	case "resp_bytes":
		ip = &r.RespBytes
	case "attrs":
		return p.attrs(r)
	default:
		// encoding/json matches keys regardless of case.
		if l := strings.ToLower(key); l != key && isASCII(key) {
			return p.field(r, l)
		}
		return p.skip(0)
	}
	if p.null() {
		return nil
	}
	if sp != nil {
		if p.i >= len(p.s) || p.s[p.i] != '"' {
			return p.errorf("%s: want a string", key)
		}
		v, err := p.str()
		*sp = v
		return err
	}
	v, err := p.integer(key, math.MinInt64, math.MaxInt64)
	*ip = v
	return err
}

func (p *recordParser) attrs(r *Record) error {
	if p.null() {
		r.Attrs = nil
		return nil
	}
	if err := p.expect('{'); err != nil {
		return fmt.Errorf("attrs: %w", err)
	}
	if r.Attrs == nil {
		r.Attrs = make(map[string]string, 2)
	}
	p.ws()
	if p.i < len(p.s) && p.s[p.i] == '}' {
		p.i++
		return nil
	}
	for {
		p.ws()
		k, err := p.str()
		if err != nil {
			return err
		}
		if err := p.expect(':'); err != nil {
			return err
		}
		p.ws()
		var v string
		if !p.null() {
			if p.i >= len(p.s) || p.s[p.i] != '"' {
				return p.errorf("attrs[%q]: want a string", clip(k))
			}
			if v, err = p.str(); err != nil {
				return err
			}
		}
		r.Attrs[k] = v
		p.ws()
		if p.i >= len(p.s) {
			return p.errorf("attrs: want ',' or '}', got the end of the line")
		}
		c := p.s[p.i]
		p.i++
		if c == '}' {
			return nil
		}
		if c != ',' {
			p.i--
			return p.errorf("attrs: want ',' or '}', got %q", c)
		}
	}
}

// integer reads a JSON number that must be an integer in [lo, hi], as
// encoding/json requires for an integer field.
func (p *recordParser) integer(key string, lo, hi int64) (int64, error) {
	start := p.i
	if p.i >= len(p.s) || p.s[p.i] != '-' && (p.s[p.i] < '0' || p.s[p.i] > '9') {
		return 0, p.errorf("%s: want an integer", key)
	}
	end, err := p.number()
	if err != nil {
		return 0, err
	}
	v, perr := strconv.ParseInt(p.s[start:end], 10, 64)
	if perr != nil || v < lo || v > hi {
		p.i = start
		return 0, p.errorf("%s: want an integer, got %s", key, clip(p.s[start:end]))
	}
	return v, nil
}

// number reads a JSON number and returns where it ends.
func (p *recordParser) number() (int, error) {
	s, i := p.s, p.i
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
		return 0, p.errorf("want a value")
	}
	if i < len(s) && s[i] == '.' {
		i++
		if !digits() {
			p.i = i
			return 0, p.errorf("want a digit after '.'")
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if !digits() {
			p.i = i
			return 0, p.errorf("want a digit in the exponent")
		}
	}
	p.i = i
	return i, nil
}

// str reads a JSON string. Without escapes or non-ASCII bytes it is a
// slice of the line; otherwise it is decoded as encoding/json decodes it
// (invalid UTF-8 becomes U+FFFD).
func (p *recordParser) str() (string, error) {
	s := p.s
	if p.i >= len(s) || s[p.i] != '"' {
		if p.i >= len(s) {
			return "", p.errorf("want a string, got the end of the line")
		}
		return "", p.errorf("want a string, got %q", s[p.i])
	}
	start := p.i + 1
	for i := start; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			p.i = i + 1
			return s[start:i], nil
		case c == '\\' || c < 0x20 || c >= utf8.RuneSelf:
			return p.slowStr(start)
		}
	}
	p.i = len(s)
	return "", p.errorf("unterminated string")
}

func (p *recordParser) slowStr(start int) (string, error) {
	s := p.s
	var b []byte
	for i := start; i < len(s); {
		c := s[i]
		switch {
		case c == '"':
			p.i = i + 1
			return string(b), nil
		case c < 0x20:
			p.i = i
			return "", p.errorf("control character %#x in a string", c)
		case c == '\\':
			if i+1 >= len(s) {
				p.i = i
				return "", p.errorf("unterminated string")
			}
			switch e := s[i+1]; e {
			case '"', '\\', '/':
				b = append(b, e)
				i += 2
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
					p.i = i
					return "", p.errorf(`bad \u escape`)
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
				p.i = i
				return "", p.errorf("bad escape %q", s[i:i+2])
			}
		case c < utf8.RuneSelf:
			b = append(b, c)
			i++
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			b = utf8.AppendRune(b, r) // U+FFFD for an invalid byte
			i += size
		}
	}
	p.i = len(s)
	return "", p.errorf("unterminated string")
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func hex4(s string, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(s[i : i+4]) {
		v, ok := hexVal(c, true)
		if !ok {
			return 0, false
		}
		r = r<<4 | rune(v)
	}
	return r, true
}

var errDepth = errors.New("nested too deeply")

// skip reads past one JSON value of a field owl does not know.
func (p *recordParser) skip(depth int) error {
	if depth > 1000 {
		return p.errorf("%v", errDepth)
	}
	p.ws()
	if p.i >= len(p.s) {
		return p.errorf("want a value, got the end of the line")
	}
	switch c := p.s[p.i]; c {
	case '"':
		_, err := p.str()
		return err
	case '{', '[':
		end := byte('}')
		if c == '[' {
			end = ']'
		}
		p.i++
		p.ws()
		if p.i < len(p.s) && p.s[p.i] == end {
			p.i++
			return nil
		}
		for {
			if c == '{' {
				p.ws()
				if _, err := p.str(); err != nil {
					return err
				}
				if err := p.expect(':'); err != nil {
					return err
				}
			}
			if err := p.skip(depth + 1); err != nil {
				return err
			}
			p.ws()
			if p.i >= len(p.s) {
				return p.errorf("want ',' or %q, got the end of the line", end)
			}
			d := p.s[p.i]
			p.i++
			if d == end {
				return nil
			}
			if d != ',' {
				p.i--
				return p.errorf("want ',' or %q, got %q", end, d)
			}
		}
	case 't':
		return p.literal("true")
	case 'f':
		return p.literal("false")
	case 'n':
		return p.literal("null")
	}
	_, err := p.number()
	return err
}

func (p *recordParser) literal(word string) error {
	if !strings.HasPrefix(p.s[p.i:], word) {
		return p.errorf("want a value")
	}
	p.i += len(word)
	return nil
}

// parseRecordTime reads the layout AppendJSON writes,
// 2006-01-02T15:04:05.000000Z, without time.Parse.
func parseRecordTime(s string) (time.Time, bool) {
	if len(s) != 27 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != '.' || s[26] != 'Z' {
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
	us, ok7 := num(20, 26)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7) || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, us*1000, time.UTC)
	if t.Day() != day { // 2026-02-30 normalises to March: not valid
		return time.Time{}, false
	}
	return t, true
}
