package tracectx

import (
	"strings"
)

// maxAmznLen bounds the header we accept; an ALB rewrites headers over 7 KB
// to Root only, so anything longer did not come through one.
const maxAmznLen = 8 << 10

// Field is one custom key=value field of an X-Amzn-Trace-Id header.
type Field struct {
	Key, Value string
}

// Amzn is a parsed X-Amzn-Trace-Id header.
type Amzn struct {
	// Root is the trace id; every valid header has one.
	Root TraceID
	// Parent is the span id of the caller's call; zero when absent.
	Parent SpanID
	// Self is set by each ALB the request passes; kept as received, since
	// AWS's own examples are not always 24 hex digits.
	Self string
	// Sampled is "", "0", "1" or "?".
	Sampled string
	// Lineage is the recursion-detection field, validated and kept as received.
	Lineage string
	// Caller is owl's custom field naming the calling service; an ALB drops
	// it when it rewrites an over-long header, so it may be empty.
	Caller string
	// Fields are the other custom fields, in the order received.
	Fields []Field
}

// ParseAmzn parses an X-Amzn-Trace-Id header value: ';'-separated key=value
// fields in any order, with optional whitespace around each.
func ParseAmzn(s string) (Amzn, error) {
	var a Amzn
	if len(s) > maxAmznLen {
		return Amzn{}, amznErr("too_long", "%d bytes, limit %d", len(s), maxAmznLen)
	}
	var seen uint8 // a bit for each known key: 1<<amznKey
	fields := 0
	for rest := s; rest != ""; {
		var part string
		part, rest = cutByte(rest, ';')
		part = trimOWS(part)
		if part == "" {
			continue
		}
		fields++
		k, v := cutByte(part, '=')
		if len(k) == len(part) {
			return Amzn{}, amznErr("syntax", "field %q has no '='", clip(part))
		}
		k, v = trimOWS(k), trimOWS(v)
		key := knownAmznKey(k)
		if key != amznOther {
			if seen&(1<<key) != 0 {
				return Amzn{}, amznErr("duplicate_field", "%s appears twice", amznKeyNames[key])
			}
			seen |= 1 << key
		}
		var err *HeaderError
		switch key {
		case amznRoot:
			var perr error
			if a.Root, perr = ParseRoot(v); perr != nil {
				err = amznErr("bad_root", "Root=%q: %v", clip(v), perr)
			}
		case amznParent:
			if !decodeHex(a.Parent[:], v, true) || a.Parent.IsZero() {
				err = amznErr("bad_parent", "Parent=%q: want 16 hex digits, not all zero", clip(v))
			}
		case amznSelf:
			if !validSelf(v) {
				err = amznErr("bad_self", "Self=%q: want 1-<8 hex digits>-<hex digits>", clip(v))
			}
			a.Self = v
		case amznSampled:
			if v != "0" && v != "1" && v != "?" {
				err = amznErr("bad_sampled", "Sampled=%q: want 0, 1 or ?", clip(v))
			}
			a.Sampled = v
		case amznLineage:
			if !validLineage(v) {
				err = amznErr("bad_lineage", "Lineage=%q: want <8 hex>:<count> entries joined by '|', or <count>:<8 hex>:<count>", clip(v))
			}
			a.Lineage = v
		case amznCaller:
			if !ValidService(v) {
				err = amznErr("bad_caller", "Caller=%q: want 1 to 64 letters, digits, '.', '_' or '-'", clip(v))
			}
			a.Caller = v
		default:
			if !validToken(k) || !validFieldValue(v) {
				return Amzn{}, amznErr("bad_field", "field %q: want token=printable text", clip(part))
			}
			a.Fields = append(a.Fields, Field{k, v})
		}
		if err != nil {
			return Amzn{}, err
		}
	}
	if seen&(1<<amznRoot) == 0 {
		if fields == 0 {
			return Amzn{}, amznErr("empty", "")
		}
		return Amzn{}, amznErr("missing_root", "no Root field")
	}
	return a, nil
}

// cutByte is strings.Cut for a one-byte separator, without the general
// search's dispatch; when sep is missing, before is all of s.
func cutByte(s string, sep byte) (before, after string) {
	if i := strings.IndexByte(s, sep); i >= 0 {
		return s[:i], s[i+1:]
	}
	return s, ""
}

// amznKey names a field of X-Amzn-Trace-Id that ParseAmzn knows.
type amznKey uint8

const (
	amznOther amznKey = iota // a custom field
	amznRoot
	amznParent
	amznSelf
	amznSampled
	amznLineage
	amznCaller
)

// amznKeyNames are the keys as AWS spells them.
var amznKeyNames = [...]string{
	amznRoot: "Root", amznParent: "Parent", amznSelf: "Self",
	amznSampled: "Sampled", amznLineage: "Lineage", amznCaller: "Caller",
}

// knownAmznKey tells which of the fields ParseAmzn knows k names (in any
// case), or amznOther. Keys are told apart by length and first letter, so
// a field costs one case-insensitive comparison.
func knownAmznKey(k string) amznKey {
	var key amznKey
	switch len(k) {
	case 4:
		key = amznRoot
		if k[0]|0x20 == 's' {
			key = amznSelf
		}
	case 6:
		key = amznParent
		if k[0]|0x20 == 'c' {
			key = amznCaller
		}
	case 7:
		key = amznSampled
		if k[0]|0x20 == 'l' {
			key = amznLineage
		}
	default:
		return amznOther
	}
	if want := amznKeyNames[key]; k == want || strings.EqualFold(k, want) { // most headers spell keys as AWS does
		return key
	}
	return amznOther
}

// String formats the header: Self first (where an ALB puts it), then Root,
// Parent, Sampled, Lineage, Caller and the custom fields in order.
func (a Amzn) String() string { return string(a.AppendTo(nil)) }

// AppendTo appends the header value to b.
func (a Amzn) AppendTo(b []byte) []byte {
	if a.Self != "" {
		b = append(b, "Self="...)
		b = append(b, a.Self...)
		b = append(b, ';')
	}
	b = append(b, "Root="...)
	b = a.Root.appendRoot(b)
	if !a.Parent.IsZero() {
		b = append(b, ";Parent="...)
		b = appendHex(b, a.Parent[:])
	}
	if a.Sampled != "" {
		b = append(b, ";Sampled="...)
		b = append(b, a.Sampled...)
	}
	if a.Lineage != "" {
		b = append(b, ";Lineage="...)
		b = append(b, a.Lineage...)
	}
	if a.Caller != "" {
		b = append(b, ";Caller="...)
		b = append(b, a.Caller...)
	}
	for _, f := range a.Fields {
		b = append(b, ';')
		b = append(b, f.Key...)
		b = append(b, '=')
		b = append(b, f.Value...)
	}
	return b
}

// validSelf accepts 1-<8 hex>-<1 to 32 hex>: AWS's documented examples of
// Self do not always have 24 digits in the last part.
func validSelf(s string) bool {
	if len(s) < 12 || s[0] != '1' || s[1] != '-' || s[10] != '-' {
		return false
	}
	return isHex(s[2:10], true) && len(s)-11 <= 32 && isHex(s[11:], true)
}

// validLineage accepts the legacy form (<8 hex>:<count>, entries joined by
// '|') and the newer <count>:<8 hex>:<count> form.
func validLineage(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for rest := s; ; {
		e, more, found := strings.Cut(rest, "|")
		parts := strings.Split(e, ":")
		switch len(parts) {
		case 2:
			if len(parts[0]) != 8 || !isHex(parts[0], true) || !isDigits(parts[1]) {
				return false
			}
		case 3:
			if !isDigits(parts[0]) || len(parts[1]) != 8 || !isHex(parts[1], true) || !isDigits(parts[2]) {
				return false
			}
		default:
			return false
		}
		if !found {
			return true
		}
		rest = more
	}
}

func isDigits(s string) bool {
	if s == "" || len(s) > 10 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ValidService reports whether s can name a service in a Caller field and in
// access logs: 1 to 64 letters, digits, '.', '_' or '-'.
func ValidService(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// validToken is an RFC 9110 token without '=' (which separates key and value).
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

func validFieldValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c >= 0x7f || c == ';' {
			return false
		}
	}
	return true
}

// clip shortens untrusted text quoted in error messages.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
