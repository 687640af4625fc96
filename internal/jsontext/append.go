// Package jsontext holds owl's hand-written JSON primitives: appending a Go
// string as a JSON string exactly as encoding/json writes it, and a Scanner
// that reads JSON strings, numbers, literals and objects from a string with
// errors that carry the byte offset. The hand-written encoders and decoders
// of the access-log, trace and session formats are built on it; they stay
// byte-for-byte compatible with encoding/json, only faster.
package jsontext

import (
	"slices"
	"unicode/utf8"
)

// AppendString appends s to dst as a JSON string, byte for byte as
// encoding/json writes it with HTML escaping off (json.Encoder with
// SetEscapeHTML(false)): quote, backslash and control characters escaped,
// U+2028 and U+2029 escaped, invalid UTF-8 as \ufffd.
func AppendString(dst []byte, s string) []byte {
	return appendString(dst, s, false)
}

// AppendStringHTML appends s to dst as a JSON string, byte for byte as
// json.Marshal writes it: as AppendString, and '<', '>' and '&' escaped too.
func AppendStringHTML(dst []byte, s string) []byte {
	return appendString(dst, s, true)
}

// AppendStringMap appends m as a JSON object, byte for byte as
// encoding/json writes a map[string]string with HTML escaping off: keys
// sorted, escaped as AppendString escapes them.
func AppendStringMap(dst []byte, m map[string]string) []byte {
	if m == nil {
		return append(dst, "null"...)
	}
	var arr [8]string // most maps are small: no allocation for the keys
	keys := arr[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendString(dst, k)
		dst = append(dst, ':')
		dst = AppendString(dst, m[k])
	}
	return append(dst, '}')
}

const hexDigits = "0123456789abcdef"

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// hasByte reports whether one of the 8 bytes of x is c (the classic SWAR
// "has a zero byte" test on x XOR c repeated).
func hasByte(x uint64, c byte) bool {
	y := x ^ (lsb * uint64(c))
	return (y-lsb)&^y&msb != 0
}

// plain8 reports whether the 8 bytes of x (little endian) may all be copied
// into a JSON string as they are: no control character, quote, backslash or
// non-ASCII byte, and with html none of '<', '>' and '&'.
func plain8(x uint64, html bool) bool {
	return plainWord(x) && !(html && (hasByte(x, '<') || hasByte(x, '>') || hasByte(x, '&')))
}

// plainWord is plain8 without html, in one expression small enough to be
// inlined: a byte below 0x20, a non-ASCII byte, a quote or a backslash
// sets the top bit of its byte (as in hasByte).
func plainWord(x uint64) bool {
	q, b := x^(lsb*'"'), x^(lsb*'\\')
	return ((x-lsb*0x20)&^x|x|(q-lsb)&^q|(b-lsb)&^b)&msb == 0
}

// safe and safeHTML mark the bytes a JSON string may hold as they are.
var safe, safeHTML = func() (t, h [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
		h[c] = t[c] && c != '<' && c != '>' && c != '&'
	}
	return t, h
}()

func appendString(dst []byte, s string, html bool) []byte {
	if !html && plain(s) { // most strings: a copy between quotes
		dst = append(dst, '"')
		dst = append(dst, s...)
		return append(dst, '"')
	}
	return appendEscaped(dst, s, html)
}

// plain reports whether s may be copied into a JSON string as it is
// (without HTML escaping). It reads eight bytes at a time, the last eight
// overlapping the ones before, so that no byte is left to a slower loop.
func plain(s string) bool {
	if len(s) < 8 {
		for i := 0; i < len(s); i++ {
			if !safe[s[i]] {
				return false
			}
		}
		return true
	}
	for i := 0; i < len(s)-8; i += 8 {
		if !plainWord(load8(s[i : i+8])) {
			return false
		}
	}
	return plainWord(load8(s[len(s)-8:]))
}

// load8 reads 8 bytes of a string little endian, in one load: w has
// length 8, so the compiler drops the bounds checks and merges the bytes.
func load8(w string) uint64 {
	return uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
		uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
}

func appendEscaped(dst []byte, s string, html bool) []byte {
	table := &safe
	if html {
		table = &safeHTML
	}
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		// Runs of plain ASCII, eight bytes at a time.
		for i+8 <= len(s) {
			if !plain8(load8(s[i:i+8]), html) {
				break
			}
			i += 8
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		if table[c] {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default: // other control characters, and '<', '>', '&' with html
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
