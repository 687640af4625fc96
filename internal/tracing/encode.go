package tracing

import (
	"fmt"
	"strconv"
	"time"

	"github.com/owlstack/owl/internal/jsontext"
)

// appendTrace appends t as encoding/json (HTML escaping off) would encode
// it, byte for byte, without reflection: the owl format is unchanged,
// only faster to write. It fails only where encoding/json fails: a start
// time outside the years 0 to 9999.
func appendTrace(b []byte, t *Trace) ([]byte, error) {
	b = append(b, `{"root":`...)
	b = jsontext.AppendString(b, t.Root)
	b = append(b, `,"trace_id":`...)
	b = jsontext.AppendString(b, t.TraceID)
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
	b = jsontext.AppendString(b, s.SpanID)
	b = appendOptString(b, `,"parent_id":`, s.ParentID)
	b = append(b, `,"kind":`...)
	b = jsontext.AppendString(b, s.Kind)
	b = append(b, `,"service":`...)
	b = jsontext.AppendString(b, s.Service)
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
		b = jsontext.AppendStringMap(append(b, `,"attrs":`...), s.Attrs)
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
	return jsontext.AppendString(append(b, key...), v)
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
	b = jsontext.AppendDateTime(append(b, '"'), t)
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

// AppendTrace appends t's line, as WriteTrace writes it, to b. It leaves
// w alone, so that several goroutines can encode lines at once for one
// of them to write with WriteLines.
func (w *Writer) AppendTrace(b []byte, t *Trace) ([]byte, error) {
	b, err := appendTrace(b, t)
	if err != nil {
		return b, fmt.Errorf("write trace %s: %w", t.Root, err)
	}
	return append(b, '\n'), nil
}

// WriteLines writes lines AppendTrace made.
func (w *Writer) WriteLines(b []byte) error {
	_, err := w.w.Write(b)
	return err
}
