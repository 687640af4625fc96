package jsontext

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Scanner reads JSON values from Src as encoding/json reads them: it accepts
// and rejects what encoding/json accepts and rejects. Pos is the offset of
// the next byte; every error it returns says at which offset and why.
type Scanner struct {
	Src string
	Pos int
}

// Errorf returns an error for the input at the scanner's offset.
func (s *Scanner) Errorf(format string, args ...any) error {
	return fmt.Errorf("offset %d: %s", s.Pos, fmt.Sprintf(format, args...))
}

// SkipSpace reads past JSON white space.
func (s *Scanner) SkipSpace() {
	for s.Pos < len(s.Src) {
		switch s.Src[s.Pos] {
		case ' ', '\t', '\n', '\r':
			s.Pos++
		default:
			return
		}
	}
}

// Got describes the next byte for an error: quoted, or "the end of the line".
func (s *Scanner) Got() string {
	if s.Pos >= len(s.Src) {
		return "the end of the line"
	}
	return strconv.QuoteRune(rune(s.Src[s.Pos]))
}

// Consume reads past word (a literal such as null, true or false) and
// reports true if it comes next; otherwise it reads nothing.
func (s *Scanner) Consume(word string) bool {
	if strings.HasPrefix(s.Src[s.Pos:], word) {
		s.Pos += len(word)
		return true
	}
	return false
}

// Expect reads past white space and then the byte c, or fails.
func (s *Scanner) Expect(c byte) error {
	s.SkipSpace()
	if s.Pos >= len(s.Src) || s.Src[s.Pos] != c {
		return s.Errorf("want %q, got %s", c, s.Got())
	}
	s.Pos++
	return nil
}

// prefix is "what: ", or "" for no what.
func prefix(what string) string {
	if what == "" {
		return ""
	}
	return what + ": "
}

// Object reads a JSON object, calling field for each member with the
// scanner at the member's value (white space read); field must read the
// value. what names the object in errors ("" for none).
func (s *Scanner) Object(what string, field func(key string) error) error {
	s.SkipSpace()
	if s.Pos >= len(s.Src) || s.Src[s.Pos] != '{' {
		return s.Errorf("%swant '{', got %s", prefix(what), s.Got())
	}
	s.Pos++
	s.SkipSpace()
	if s.Pos < len(s.Src) && s.Src[s.Pos] == '}' {
		s.Pos++
		return nil
	}
	for {
		s.SkipSpace()
		key, err := s.ReadString()
		if err != nil {
			return err
		}
		s.SkipSpace()
		if s.Pos >= len(s.Src) || s.Src[s.Pos] != ':' {
			return s.Errorf("want ':' after %q, got %s", clip(key), s.Got())
		}
		s.Pos++
		s.SkipSpace()
		if err := field(key); err != nil {
			return err
		}
		if done, err := s.next(what, '}'); done || err != nil {
			return err
		}
	}
}

// Array reads a JSON array, calling elem for each element (numbered from 0)
// with the scanner at the element (white space read); elem must read it.
// what names the array in errors ("" for none).
func (s *Scanner) Array(what string, elem func(i int) error) error {
	s.SkipSpace()
	if s.Pos >= len(s.Src) || s.Src[s.Pos] != '[' {
		return s.Errorf("%swant '[', got %s", prefix(what), s.Got())
	}
	s.Pos++
	s.SkipSpace()
	if s.Pos < len(s.Src) && s.Src[s.Pos] == ']' {
		s.Pos++
		return nil
	}
	for i := 0; ; i++ {
		s.SkipSpace()
		if err := elem(i); err != nil {
			return err
		}
		if done, err := s.next(what, ']'); done || err != nil {
			return err
		}
	}
}

// next reads the ',' between members or elements, or the closing end.
func (s *Scanner) next(what string, end byte) (done bool, err error) {
	s.SkipSpace()
	if s.Pos >= len(s.Src) {
		return false, s.Errorf("%swant ',' or %q, got the end of the line", prefix(what), end)
	}
	c := s.Src[s.Pos]
	if c == end || c == ',' {
		s.Pos++
		return c == end, nil
	}
	return false, s.Errorf("%swant ',' or %q, got %q", prefix(what), end, c)
}

// ReadString reads a JSON string and returns its value. Without escapes or
// non-ASCII bytes the value is a slice of Src; otherwise it is decoded as
// encoding/json decodes it (invalid UTF-8 and lone surrogates become
// U+FFFD). Src[start+1:Pos-1] == value tells a caller there was nothing
// to decode.
func (s *Scanner) ReadString() (string, error) {
	src := s.Src
	if s.Pos >= len(src) || src[s.Pos] != '"' {
		return "", s.Errorf("want a string, got %s", s.Got())
	}
	start := s.Pos + 1
	for i := start; i < len(src); i++ {
		switch c := src[i]; {
		case c == '"':
			s.Pos = i + 1
			return src[start:i], nil
		case c == '\\' || c < 0x20 || c >= utf8.RuneSelf:
			return s.decodeString(start)
		}
	}
	s.Pos = len(src)
	return "", s.Errorf("unterminated string")
}

// decodeString reads the string whose contents begin at start.
func (s *Scanner) decodeString(start int) (string, error) {
	src := s.Src
	b := make([]byte, 0, 64)
	for i := start; i < len(src); {
		c := src[i]
		switch {
		case c == '"':
			s.Pos = i + 1
			return string(b), nil
		case c < 0x20:
			s.Pos = i
			return "", s.Errorf("control character %#x in a string", c)
		case c == '\\':
			if i+1 >= len(src) {
				s.Pos = i
				return "", s.Errorf("unterminated string")
			}
			switch e := src[i+1]; e {
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
				r, ok := hex4(src, i+2)
				if !ok {
					s.Pos = i
					return "", s.Errorf(`bad \u escape`)
				}
				i += 6
				if utf16.IsSurrogate(r) {
					r2, ok := rune(-1), false
					if i+6 <= len(src) && src[i] == '\\' && src[i+1] == 'u' {
						r2, ok = hex4(src, i+2)
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
				s.Pos = i
				return "", s.Errorf("bad escape %q", src[i:i+2])
			}
		case c < utf8.RuneSelf:
			b, i = append(b, c), i+1
		default:
			r, size := utf8.DecodeRuneInString(src[i:])
			b = utf8.AppendRune(b, r) // U+FFFD for an invalid byte
			i += size
		}
	}
	s.Pos = len(src)
	return "", s.Errorf("unterminated string")
}

// hex4 reads the four hex digits of a \u escape at src[i:].
func hex4(src string, i int) (rune, bool) {
	if i+4 > len(src) {
		return 0, false
	}
	var r rune
	for j := i; j < i+4; j++ {
		c := src[j]
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

// ReadNumber reads a JSON number and returns its text.
func (s *Scanner) ReadNumber() (string, error) {
	src, start, i := s.Src, s.Pos, s.Pos
	digits := func() bool {
		j := i
		for i < len(src) && '0' <= src[i] && src[i] <= '9' {
			i++
		}
		return i > j
	}
	if i < len(src) && src[i] == '-' {
		i++
	}
	switch {
	case i < len(src) && src[i] == '0':
		i++
	case !digits():
		s.Pos = i
		return "", s.Errorf("want a value, got %s", s.Got())
	}
	if i < len(src) && src[i] == '.' {
		i++
		if !digits() {
			s.Pos = i
			return "", s.Errorf("want a digit after '.'")
		}
	}
	if i < len(src) && (src[i] == 'e' || src[i] == 'E') {
		i++
		if i < len(src) && (src[i] == '+' || src[i] == '-') {
			i++
		}
		if !digits() {
			s.Pos = i
			return "", s.Errorf("want a digit in the exponent")
		}
	}
	s.Pos = i
	return src[start:i], nil
}

// ReadInt reads a JSON number that must be an int64, as encoding/json
// requires for an integer field; what names the field in errors.
func (s *Scanner) ReadInt(what string) (int64, error) {
	start := s.Pos
	if s.Pos >= len(s.Src) || s.Src[s.Pos] != '-' && (s.Src[s.Pos] < '0' || s.Src[s.Pos] > '9') {
		return 0, s.Errorf("%s: want an integer, got %s", what, s.Got())
	}
	text, err := s.ReadNumber()
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		s.Pos = start
		return 0, s.Errorf("%s: want an integer, got %s", what, clip(text))
	}
	return v, nil
}

// Skip reads past one JSON value of any kind, in which arrays and objects
// may nest at most maxDepth deep.
func (s *Scanner) Skip(maxDepth int) error {
	s.SkipSpace()
	if s.Pos >= len(s.Src) {
		return s.Errorf("want a value, got the end of the line")
	}
	c := s.Src[s.Pos]
	if (c == '{' || c == '[') && maxDepth < 1 {
		return s.Errorf("nested too deeply")
	}
	switch c {
	case '"':
		_, err := s.ReadString()
		return err
	case '{':
		return s.Object("", func(string) error { return s.Skip(maxDepth - 1) })
	case '[':
		return s.Array("", func(int) error { return s.Skip(maxDepth - 1) })
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.literal("null")
	}
	_, err := s.ReadNumber()
	return err
}

func (s *Scanner) literal(word string) error {
	if !s.Consume(word) {
		return s.Errorf("want a value, got %s", s.Got())
	}
	return nil
}

// clip shortens a value quoted in an error.
func clip(v string) string {
	if len(v) > 40 {
		return v[:40] + "..."
	}
	return v
}
