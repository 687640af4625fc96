package tracectx

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"time"
)

// TraceID is a 128-bit trace id. Its first four bytes are the epoch second the
// trace started (as in an X-Ray root) and the other twelve are random, so the
// same bits read as an X-Amzn-Trace-Id Root and as a W3C trace-id.
type TraceID [16]byte

// SpanID is a 64-bit span id, the unit of one hop: a request served or a call made.
type SpanID [8]byte

// NewTraceID returns an X-Ray shaped trace id for a trace starting at now.
func NewTraceID(now time.Time) TraceID {
	var t TraceID
	binary.BigEndian.PutUint32(t[:4], uint32(now.Unix()))
	binary.BigEndian.PutUint64(t[4:12], rand.Uint64())
	binary.BigEndian.PutUint32(t[12:], rand.Uint32())
	if t.IsZero() { // impossible in practice, but an all-zero id is invalid everywhere
		t[15] = 1
	}
	return t
}

// NewSpanID returns a random, non-zero span id.
func NewSpanID() SpanID {
	for {
		var s SpanID
		binary.BigEndian.PutUint64(s[:], rand.Uint64())
		if !s.IsZero() {
			return s
		}
	}
}

// IsZero reports whether t is the invalid all-zero id.
func (t TraceID) IsZero() bool { return t == TraceID{} }

// IsZero reports whether s is the invalid all-zero id.
func (s SpanID) IsZero() bool { return s == SpanID{} }

// String is the W3C form: 32 lower-case hex digits.
func (t TraceID) String() string { return hex.EncodeToString(t[:]) }

// String is 16 lower-case hex digits.
func (s SpanID) String() string { return hex.EncodeToString(s[:]) }

// Root is the X-Amzn-Trace-Id form: 1-<8 hex epoch>-<24 hex>.
func (t TraceID) Root() string {
	return string(t.appendRoot(make([]byte, 0, 35)))
}

func (t TraceID) appendRoot(b []byte) []byte {
	b = append(b, '1', '-')
	b = appendHex(b, t[:4])
	b = append(b, '-')
	return appendHex(b, t[4:])
}

// Time is the epoch second encoded in an X-Ray shaped id.
func (t TraceID) Time() time.Time {
	return time.Unix(int64(binary.BigEndian.Uint32(t[:4])), 0).UTC()
}

var (
	errRootShape = errors.New("want 1-<8 hex digits>-<24 hex digits>")
	errHex       = errors.New("want lower-case hex digits")
	errZero      = errors.New("all zeros")
)

// ParseRoot parses an X-Amzn-Trace-Id Root value, 1-<8 hex>-<24 hex>.
// Upper-case hex digits are accepted and normalised.
func ParseRoot(s string) (TraceID, error) {
	var t TraceID
	if len(s) != 35 || s[0] != '1' || s[1] != '-' || s[10] != '-' {
		return t, errRootShape
	}
	if !decodeHex(t[:4], s[2:10], true) || !decodeHex(t[4:], s[11:], true) {
		return TraceID{}, errRootShape
	}
	if t.IsZero() {
		return t, errZero
	}
	return t, nil
}

// ParseTraceID parses 32 lower-case hex digits.
func ParseTraceID(s string) (TraceID, error) {
	var t TraceID
	if len(s) != 32 || !decodeHex(t[:], s, false) {
		return TraceID{}, errHex
	}
	if t.IsZero() {
		return t, errZero
	}
	return t, nil
}

// ParseSpanID parses 16 lower-case hex digits.
func ParseSpanID(s string) (SpanID, error) {
	var id SpanID
	if len(s) != 16 || !decodeHex(id[:], s, false) {
		return SpanID{}, errHex
	}
	if id.IsZero() {
		return id, errZero
	}
	return id, nil
}

const hexdigits = "0123456789abcdef"

// appendHex appends src in lower-case hex digits, four bytes at a time.
func appendHex(b, src []byte) []byte {
	for ; len(src) >= 4; src = src[4:] {
		b = binary.BigEndian.AppendUint64(b, hex8(binary.BigEndian.Uint32(src)))
	}
	for _, c := range src {
		b = append(b, hexdigits[c>>4], hexdigits[c&15])
	}
	return b
}

// hex8 returns the 8 lower-case hex digits of v as the bytes of a
// big-endian uint64, computed on all of them at once: each nibble is
// spread to a byte of its own, then offset to '0'-'9' or 'a'-'f'.
func hex8(v uint32) uint64 {
	x := uint64(v)
	x = (x&0xffff0000)<<16 | x&0xffff
	x = (x&0x0000ff000000ff00)<<8 | x&0x000000ff000000ff
	x = (x&0x00f000f000f000f0)<<4 | x&0x000f000f000f000f
	letters := (x + 0x0606060606060606) >> 4 & 0x0101010101010101 // 1 in each byte holding 10 or more
	return x + 0x3030303030303030 + letters*('a'-'0'-10)
}

// decodeHex decodes exactly len(dst)*2 hex digits; upper case only when upper is set.
func decodeHex(dst []byte, s string, upper bool) bool {
	if len(s) != 2*len(dst) {
		return false
	}
	var seen byte // the flags of every digit, checked once at the end
	for i := range dst {
		pair := s[2*i : 2*i+2]
		hi, lo := hexTable[pair[0]], hexTable[pair[1]]
		seen |= hi | lo
		dst[i] = hi<<4 | lo&0xf
	}
	return seen&rejectedHex(upper) == 0
}

func isHex(s string, upper bool) bool {
	var seen byte
	for i := 0; i < len(s); i++ {
		seen |= hexTable[s[i]]
	}
	return len(s) > 0 && seen&rejectedHex(upper) == 0
}

// Flags of hexTable entries besides the digit's value.
const (
	hexUpper   = 0x10 // an upper-case digit, A to F
	hexInvalid = 0x80 // not a hex digit
)

func rejectedHex(upper bool) byte {
	if upper {
		return hexInvalid
	}
	return hexInvalid | hexUpper
}

// hexTable maps a byte to its value as a hex digit, with hexUpper or
// hexInvalid set: one load per digit, and one test per id.
var hexTable = func() (t [256]byte) {
	for c := range t {
		switch {
		case '0' <= c && c <= '9':
			t[c] = byte(c - '0')
		case 'a' <= c && c <= 'f':
			t[c] = byte(c - 'a' + 10)
		case 'A' <= c && c <= 'F':
			t[c] = byte(c-'A'+10) | hexUpper
		default:
			t[c] = hexInvalid
		}
	}
	return t
}()
