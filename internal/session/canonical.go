package session

import (
	"encoding/binary"
	"math/bits"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/owlstack/owl/internal/jsontext"
	"github.com/owlstack/owl/internal/memory"
)

// The user state of a request is nearly all words, and the API servers
// write them as encoding/json does: no white space, plain strings, UTC
// times, numbers without exponents. canonWord reads a word in that form
// with none of the general decoder's bookkeeping (closures, white space,
// nulls, paths for errors); anything else, valid or not, goes to the
// general decoder, which alone reports errors.

// canonWord decodes the word object at d.pos into w if it is in the
// canonical form and reports whether it did; if not, it leaves d.pos, the
// history arena and w as they were.
func (d *decoder) canonWord(w *WordState) bool {
	pos, arena := d.pos, len(d.reviews)
	if d.canonWordAt(w) {
		return true
	}
	d.pos, d.reviews = pos, d.reviews[:arena]
	*w = WordState{}
	return false
}

func (d *decoder) canonWordAt(w *WordState) bool {
	s, i := d.src, d.pos
	if i+1 >= len(s) || s[i] != '{' || s[i+1] == '}' {
		return false
	}
	i++
	for {
		// The keys are compared whole, with their quotes and colon.
		if len(s)-i < 2 {
			return false
		}
		ok := false
		switch s[i+1] {
		case 'w':
			if hasAt(s, i, `"word":`) {
				w.Word, i, ok = d.canonString(i + 7)
			}
		case 'l':
			if hasAt(s, i, `"last":`) {
				w.Last, i, ok = canonTime(s, i+7)
			}
		case 's':
			if hasAt(s, i, `"seen":`) {
				w.Seen, i, ok = canonInt(s, i+7)
			} else if hasAt(s, i, `"stability":`) {
				w.Stability, i, ok = d.canonFloat(i + 12)
			}
		case 'c':
			if hasAt(s, i, `"correct":`) {
				w.Correct, i, ok = canonInt(s, i+10)
			}
		case 'd':
			if hasAt(s, i, `"difficulty":`) {
				w.Difficulty, i, ok = d.canonFloat(i + 13)
			}
		case 'h':
			if hasAt(s, i, `"history":`) {
				i, ok = d.canonHistory(i+10, w)
			}
		}
		if !ok || i >= len(s) {
			return false
		}
		switch s[i] {
		case ',':
			i++
		case '}':
			d.pos = i + 1
			return true
		default:
			return false
		}
	}
}

// canonHistory reads the history array at i, as the general decoder does:
// a repeated key replaces the history.
func (d *decoder) canonHistory(i int, w *WordState) (int, bool) {
	s := d.src
	if i+1 >= len(s) || s[i] != '[' {
		return 0, false
	}
	w.History = nil
	start := len(d.reviews)
	i++
	if s[i] == ']' {
		return i + 1, true
	}
	for {
		if i+1 >= len(s) || s[i] != '{' || s[i+1] == '}' {
			return 0, false
		}
		d.reviews = append(d.reviews, Review{})
		r := &d.reviews[len(d.reviews)-1]
		i++
		for {
			var j int
			ok := false
			switch {
			case hasAt(s, i, `"at":`):
				r.At, j, ok = canonTime(s, i+5)
			case hasAt(s, i, `"grade":`):
				var g int
				g, j, ok = canonInt(s, i+8)
				r.Grade = memory.Grade(g)
			}
			if !ok || j >= len(s) {
				return 0, false
			}
			i = j + 1
			if s[j] == '}' {
				break
			}
			if s[j] != ',' {
				return 0, false
			}
		}
		if i >= len(s) {
			return 0, false
		}
		switch s[i] {
		case ',':
			i++
		case ']':
			w.History = d.reviews[start:len(d.reviews):len(d.reviews)]
			return i + 1, true
		default:
			return 0, false
		}
	}
}

// hasAt reports whether lit is at s[i:].
func hasAt(s string, i int, lit string) bool {
	return len(s)-i >= len(lit) && s[i:i+len(lit)] == lit
}

// canonString reads a string with no escapes at i; it shares d.src.
func (d *decoder) canonString(i int) (str string, next int, ok bool) {
	data := d.data
	if i >= len(data) || data[i] != '"' {
		return "", 0, false
	}
	j := i + 1
	// Eight bytes at a time to the first that is not plain ASCII.
	for ; len(data)-j >= 8; j += 8 {
		if m := specialBytes(binary.LittleEndian.Uint64(data[j:])); m != 0 {
			j += bits.TrailingZeros64(m) / 8
			break
		}
	}
	ascii := true
	for ; j < len(data); j++ {
		switch c := data[j]; {
		case c == '"':
			if !ascii && !utf8.Valid(data[i+1:j]) {
				return "", 0, false
			}
			return d.src[i+1 : j], j + 1, true
		case c == '\\' || c < 0x20:
			return "", 0, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return "", 0, false
}

// specialBytes marks (with the high bit of the byte; exactly for the
// lowest, maybe also above) the bytes of v, eight bytes of a JSON string,
// that the string's scan must look at: a quote, a backslash, a control
// character or a byte of a non-ASCII character.
func specialBytes(v uint64) uint64 {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	zero := func(x uint64) uint64 { return (x - ones) &^ x & highs }
	return zero(v^('"'*ones)) | zero(v^('\\'*ones)) | (v-0x20*ones)&^v&highs | v&highs
}

// canonTime reads a time in jsontext.ParseUTC's form at i; ParseUTC
// checks every byte up to the quote, 20 to 30 bytes on.
func canonTime(s string, i int) (t time.Time, next int, ok bool) {
	if len(s)-i < 22 || s[i] != '"' {
		return time.Time{}, 0, false
	}
	if s[i+21] == '"' {
		t, ok = jsontext.ParseUTC(s[i+1 : i+21])
		return t, i + 22, ok
	}
	// A fraction: '.', 1 to 9 digits and the 'Z' come before the quote.
	for j := i + 23; j < len(s) && j <= i+31; j++ {
		if s[j] == '"' {
			t, ok = jsontext.ParseUTC(s[i+1 : j])
			return t, j + 1, ok
		}
	}
	return time.Time{}, 0, false
}

// canonInt reads a non-negative integer of at most 18 digits at i.
func canonInt(s string, i int) (n, next int, ok bool) {
	j := i
	for ; j < len(s) && j-i < 19; j++ {
		c := s[j]
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int(c-'0')
	}
	if j == i || j-i > 18 || (s[i] == '0' && j-i > 1) {
		return 0, 0, false
	}
	return n, j, true
}

// canonFloat reads a number literal without exponent at i, checking its
// grammar as it goes, and converts it as strconv.ParseFloat does.
func (d *decoder) canonFloat(i int) (f float64, next int, ok bool) {
	data := d.data
	j, neg := i, false
	if j < len(data) && data[j] == '-' {
		j, neg = j+1, true
	}
	var m uint64
	digits := 0 // in m; beyond 19, m is not exact
	digit := func(c byte) {
		if digits < 19 {
			m = m*10 + uint64(c-'0')
		}
		digits++
	}
	intStart := j
	for ; j < len(data) && data[j] >= '0' && data[j] <= '9'; j++ {
		digit(data[j])
	}
	if j == intStart || (data[intStart] == '0' && j-intStart > 1) {
		return 0, 0, false
	}
	exp := 0
	if j < len(data) && data[j] == '.' {
		j++
		fracStart := j
		for digits <= 11 && len(data)-j >= 8 {
			v, ok := jsontext.EightDigits(jsontext.LE64(d.src, j))
			if !ok {
				break
			}
			m = m*1e8 + v
			digits += 8
			j += 8
		}
		for ; j < len(data) && data[j] >= '0' && data[j] <= '9'; j++ {
			digit(data[j])
		}
		if j == fracStart {
			return 0, 0, false
		}
		exp = fracStart - j
	}
	if j < len(data) && (data[j] == 'e' || data[j] == 'E') {
		return 0, 0, false // rare: the general decoder reads exponents
	}
	if digits <= 19 {
		if f, ok = floatOf(m, exp, neg); ok {
			return f, j, true
		}
	}
	f, err := strconv.ParseFloat(d.src[i:j], 64)
	return f, j, err == nil
}
