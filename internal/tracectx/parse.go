package tracectx

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/owlstack/owl/internal/jsontext"
)

// ParseRecord decodes one access-log line (one JSON object, no newline)
// as encoding/json would decode it into a Record, several times faster and
// allocating little: strings without escapes are slices of line, so the
// Record keeps line's memory alive. Unknown fields are skipped, as
// encoding/json skips them; keys must be spelled exactly as AppendJSON
// writes them. Errors say at which byte offset and why.
func ParseRecord(line string) (Record, error) {
	var r Record
	p := recordParser{jsontext.Scanner{Src: line}}
	if err := p.record(&r); err != nil {
		return Record{}, err
	}
	return r, nil
}

type recordParser struct {
	jsontext.Scanner
}

func (p *recordParser) record(r *Record) error {
	if err := p.Object("", func(key string) error { return p.field(r, key) }); err != nil {
		return err
	}
	p.SkipSpace()
	if p.Pos != len(p.Src) {
		return p.Errorf("unexpected %q after the record", p.Src[p.Pos])
	}
	return nil
}

func (p *recordParser) null() bool { return p.Consume("null") }

func (p *recordParser) field(r *Record, key string) error {
	var sp *string
	var ip *int64
	switch key {
	case "time":
		if p.null() {
			return nil
		}
		start := p.Pos
		v, err := p.ReadString()
		if err != nil {
			return err
		}
		var t time.Time
		ok := false
		if raw := p.Src[start+1 : p.Pos-1]; raw == v { // no escapes
			t, ok = jsontext.ParseUTC(v)
		}
		if !ok {
			// Anything else is read as encoding/json reads a time: the
			// raw string, strict RFC 3339.
			if perr := t.UnmarshalJSON([]byte(p.Src[start:p.Pos])); perr != nil {
				p.Pos = start
				return p.Errorf("time %q: want RFC 3339, e.g. 2006-01-02T15:04:05.000000Z", clip(v))
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
		start := p.Pos
		v, err := p.ReadInt(key)
		if err == nil && int64(int(v)) != v {
			p.Pos = start
			err = p.Errorf("%s: want an integer, got %d", key, v)
		}
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
		return p.Skip(maxDepth)
	}
	if p.null() {
		return nil
	}
	if sp != nil {
		if p.Pos >= len(p.Src) || p.Src[p.Pos] != '"' {
			return p.Errorf("%s: want a string", key)
		}
		v, err := p.ReadString()
		*sp = v
		return err
	}
	v, err := p.ReadInt(key)
	*ip = v
	return err
}

func (p *recordParser) attrs(r *Record) error {
	if p.null() {
		r.Attrs = nil
		return nil
	}
	if p.Pos >= len(p.Src) || p.Src[p.Pos] != '{' {
		return p.Errorf("attrs: want '{', got %s", p.Got())
	}
	if r.Attrs == nil {
		r.Attrs = make(map[string]string, 2)
	}
	return p.Object("attrs", func(k string) error {
		var v string
		if !p.null() {
			if p.Pos >= len(p.Src) || p.Src[p.Pos] != '"' {
				return p.Errorf("attrs[%q]: want a string", clip(k))
			}
			var err error
			if v, err = p.ReadString(); err != nil {
				return err
			}
		}
		r.Attrs[k] = v
		return nil
	})
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// maxDepth is how deep the arrays and objects of an unknown field may nest.
const maxDepth = 1000
