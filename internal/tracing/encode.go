package tracing

import (
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// appendTrace appends t as encoding/json (HTML escaping off) would encode
// it, byte for byte, without reflection: the owl format is unchanged,
// only faster to write. It fails only where encoding/json fails: a start
// time outside the years 0 to 9999.
func appendTrace(b []byte, t *Trace) ([]byte, error) {
	b = append(b, `{"root":`...)
	b = appendJSONString(b, t.Root)
	b = append(b, `,"trace_id":`...)
	b = appendJSONString(b, t.TraceID)
	b = append(b, `,"spans":`...)
	if t.Spans == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range t.Spans {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendSpan(b, &t.Spans[i]); err != nil {
				return b, err
			}
		}
		b = append(b, ']')
	}
	return append(b, '}'), nil
}

func appendSpan(b []byte, s *Span) ([]byte, error) {
	b = append(b, `{"span_id":`...)
	b = appendJSONString(b, s.SpanID)
	b = appendOptString(b, `,"parent_id":`, s.ParentID)
	b = append(b, `,"kind":`...)
	b = appendJSONString(b, s.Kind)
	b = append(b, `,"service":`...)
	b = appendJSONString(b, s.Service)
	b = appendOptString(b, `,"caller":`, s.Caller)
	b = appendOptString(b, `,"peer":`, s.Peer)
	b = appendOptString(b, `,"method":`, s.Method)
	b = appendOptString(b, `,"route":`, s.Route)
	b = appendOptString(b, `,"path":`, s.Path)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(s.Status), 10)
	b = append(b, `,"start":`...)
	var err error
	if b, err = appendJSONTime(b, s.Start); err != nil {
		return b, err
	}
	b = append(b, `,"duration_us":`...)
	b = strconv.AppendInt(b, s.DurationUS, 10)
	b = append(b, `,"req_bytes":`...)
	b = strconv.AppendInt(b, s.ReqBytes, 10)
	b = append(b, `,"resp_bytes":`...)
	b = strconv.AppendInt(b, s.RespBytes, 10)
	b = appendOptString(b, `,"content_type":`, s.ContentType)
	b = appendOptString(b, `,"encoding":`, s.Encoding)
	b = appendOptString(b, `,"accept_encoding":`, s.AcceptEncoding)
	b = appendOptString(b, `,"fingerprint":`, s.Fingerprint)
	b = appendOptString(b, `,"error":`, s.Error)
	if len(s.Attrs) > 0 {
		b = append(b, `,"attrs":{`...)
		var arr [8]string
		keys := arr[:0]
		for k := range s.Attrs {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, k)
			b = append(b, ':')
			b = appendJSONString(b, s.Attrs[k])
		}
		b = append(b, '}')
	}
	if s.Orphan {
		b = append(b, `,"orphan":true`...)
	}
	b = appendOptString(b, `,"missing_parent":`, s.MissingParent)
	if s.SkewUS != 0 {
		b = append(b, `,"skew_us":`...)
		b = strconv.AppendInt(b, s.SkewUS, 10)
	}
	return append(b, '}'), nil
}

func appendOptString(b []byte, key, v string) []byte {
	if v == "" {
		return b
	}
	return appendJSONString(append(b, key...), v)
}

// appendJSONTime writes t as time.Time's MarshalJSON does (RFC 3339 with
// nanoseconds, trailing zeros dropped), by hand for UTC times.
func appendJSONTime(b []byte, t time.Time) ([]byte, error) {
	year := t.Year()
	if t.Location() != time.UTC || year < 0 || year > 9999 {
		j, err := t.MarshalJSON()
		if err != nil {
			return b, err
		}
		return append(b, j...), nil
	}
	_, month, day := t.Date()
	hour, minute, sec := t.Clock()
	b = append(b, '"',
		byte('0'+year/1000), byte('0'+year/100%10), byte('0'+year/10%10), byte('0'+year%10), '-',
		byte('0'+int(month)/10), byte('0'+int(month)%10), '-',
		byte('0'+day/10), byte('0'+day%10), 'T',
		byte('0'+hour/10), byte('0'+hour%10), ':',
		byte('0'+minute/10), byte('0'+minute%10), ':',
		byte('0'+sec/10), byte('0'+sec%10))
	if ns := t.Nanosecond(); ns != 0 {
		var frac [10]byte
		frac[0] = '.'
		for i := 9; i >= 1; i-- {
			frac[i] = byte('0' + ns%10)
			ns /= 10
		}
		n := 10
		for frac[n-1] == '0' {
			n--
		}
		b = append(b, frac[:n]...)
	}
	return append(b, 'Z', '"'), nil
}

const hexDigits = "0123456789abcdef"

// appendJSONString writes s as encoding/json does with HTML escaping off:
// quote, backslash and control characters escaped, U+2028 and U+2029
// escaped, invalid UTF-8 as \ufffd.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
