package session

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/owlstack/owl/internal/course/snapshot"
	"github.com/owlstack/owl/internal/jsontext"
	"github.com/owlstack/owl/internal/memory"
)

// decoder reads a session request body. It knows the request's schema,
// so it needs no reflection and no intermediate values: strings are cut
// from src, the body as a string, without copying. It is strict like
// encoding/json with DisallowUnknownFields, and exact about field names
// (encoding/json also accepts other letter cases); its errors name the
// field with its path, e.g. user.words[3].history[0].grade. Words in the
// form encoding/json writes them take a shorter path (canonWord).
type decoder struct {
	data []byte
	src  string // data, shared
	pos  int
	// reviews is an arena for the histories of the words.
	reviews []Review
	// hashes gets snapshot.TextHash of every word decoded.
	hashes []uint64
}

// newDecoder returns a decoder of data. The strings it decodes share data's
// memory, so data must not change while they are in use.
func newDecoder(data []byte, reviews []Review) *decoder {
	return &decoder{data: data, src: unsafe.String(unsafe.SliceData(data), len(data)), reviews: reviews[:0]}
}

// jsonKind names the JSON value starting with c, for errors.
func jsonKind(c byte) string {
	switch {
	case c == '"':
		return "string"
	case c == '{':
		return "object"
	case c == '[':
		return "array"
	case c == 't' || c == 'f':
		return "bool"
	case c == 'n':
		return "null"
	case c == '-' || c >= '0' && c <= '9':
		return "number"
	}
	return fmt.Sprintf("%q", c)
}

func (d *decoder) ws() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

// peek returns the next byte after white space, or 0 at the end.
func (d *decoder) peek() byte {
	d.ws()
	if d.pos >= len(d.data) {
		return 0
	}
	return d.data[d.pos]
}

func (d *decoder) syntax(what string) error {
	if d.pos >= len(d.data) {
		return fieldErr("body", "ends in the middle of the JSON object")
	}
	return fieldErr("body", "is not valid JSON at byte %d: %s, found %q", d.pos+1, what, d.data[d.pos])
}

// expect consumes c after white space.
func (d *decoder) expect(c byte, what string) error {
	if d.peek() != c {
		return d.syntax(what)
	}
	d.pos++
	return nil
}

// null consumes a null literal if one comes next.
func (d *decoder) null() (bool, error) {
	if d.peek() != 'n' {
		return false, nil
	}
	if len(d.data)-d.pos < 4 || d.src[d.pos:d.pos+4] != "null" {
		return false, d.syntax("expected null")
	}
	d.pos += 4
	return true, nil
}

// object calls member for each key of the object that comes next; a null
// is an empty object, as for encoding/json.
func (d *decoder) object(path string, member func(key string) error) error {
	if null, err := d.null(); null || err != nil {
		return err
	}
	if c := d.peek(); c != '{' {
		if c == 0 {
			return d.syntax("")
		}
		return typeErr(path, "an object", c)
	}
	d.pos++
	if d.peek() == '}' {
		d.pos++
		return nil
	}
	for {
		if d.peek() != '"' {
			return d.syntax("expected a field name")
		}
		key, err := d.rawString()
		if err != nil {
			return err
		}
		if err := d.expect(':', "expected a colon after the field name"); err != nil {
			return err
		}
		if err := member(key); err != nil {
			return err
		}
		switch d.peek() {
		case ',':
			d.pos++
		case '}':
			d.pos++
			return nil
		default:
			return d.syntax("expected a comma or the end of the object")
		}
	}
}

// array calls elem for each element of the array that comes next; a null
// is an empty array.
func (d *decoder) array(path string, elem func(i int) error) error {
	if null, err := d.null(); null || err != nil {
		return err
	}
	if c := d.peek(); c != '[' {
		if c == 0 {
			return d.syntax("")
		}
		return typeErr(path, "an array", c)
	}
	d.pos++
	if d.peek() == ']' {
		d.pos++
		return nil
	}
	for i := 0; ; i++ {
		if err := elem(i); err != nil {
			return err
		}
		switch d.peek() {
		case ',':
			d.pos++
		case ']':
			d.pos++
			return nil
		default:
			return d.syntax("expected a comma or the end of the array")
		}
	}
}

func typeErr(path, want string, got byte) error {
	return fieldErr(path, "must be %s, got JSON %s", want, jsonKind(got))
}

// rawString reads the string that starts at d.pos. Plain strings share
// d.src; strings with escapes or invalid UTF-8 are decoded as
// encoding/json decodes them (invalid bytes become U+FFFD).
func (d *decoder) rawString() (string, error) {
	start := d.pos + 1
	ascii := true
	for i := start; i < len(d.data); i++ {
		c := d.data[i]
		switch {
		case c == '"':
			d.pos = i + 1
			if ascii || utf8.ValidString(d.src[start:i]) {
				return d.src[start:i], nil
			}
			return d.slowString(start-1, i+1)
		case c == '\\':
			return d.escapedString(start - 1)
		case c < 0x20:
			d.pos = i
			return "", d.syntax("control character in a string")
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	d.pos = len(d.data)
	return "", d.syntax("")
}

// escapedString finds the end of a string with escapes and decodes it.
func (d *decoder) escapedString(open int) (string, error) {
	for i := open + 1; i < len(d.data); i++ {
		switch c := d.data[i]; {
		case c == '"':
			return d.slowString(open, i+1)
		case c == '\\':
			i++ // the escaped byte; encoding/json checks the escape
		case c < 0x20:
			d.pos = i
			return "", d.syntax("control character in a string")
		}
	}
	d.pos = len(d.data)
	return "", d.syntax("")
}

func (d *decoder) slowString(open, end int) (string, error) {
	var s string
	if err := json.Unmarshal(d.data[open:end], &s); err != nil {
		d.pos = open
		return "", fieldErr("body", "is not valid JSON at byte %d: %v", open+1, err)
	}
	d.pos = end
	return s, nil
}

// str reads a string value.
func (d *decoder) str(path string, dst *string) error {
	if null, err := d.null(); null || err != nil {
		return err
	}
	if c := d.peek(); c != '"' {
		if c == 0 {
			return d.syntax("")
		}
		return typeErr(path, "a string", c)
	}
	s, err := d.rawString()
	if err != nil {
		return err
	}
	*dst = s
	return nil
}

// number reads a JSON number literal, checking its grammar.
func (d *decoder) number(path, want string) (lit string, integer bool, err error) {
	c := d.peek()
	if c != '-' && (c < '0' || c > '9') {
		if c == 0 {
			return "", false, d.syntax("")
		}
		return "", false, typeErr(path, want, c)
	}
	start := d.pos
	i := d.pos
	digits := func() bool {
		j := i
		for i < len(d.data) && d.data[i] >= '0' && d.data[i] <= '9' {
			i++
		}
		return i > j
	}
	if d.data[i] == '-' {
		i++
	}
	switch {
	case i < len(d.data) && d.data[i] == '0':
		i++
	case !digits():
		d.pos = i
		return "", false, d.syntax("expected a digit")
	}
	integer = true
	if i < len(d.data) && d.data[i] == '.' {
		i++
		integer = false
		if !digits() {
			d.pos = i
			return "", false, d.syntax("expected a digit after the decimal point")
		}
	}
	if i < len(d.data) && (d.data[i] == 'e' || d.data[i] == 'E') {
		i++
		integer = false
		if i < len(d.data) && (d.data[i] == '+' || d.data[i] == '-') {
			i++
		}
		if !digits() {
			d.pos = i
			return "", false, d.syntax("expected a digit in the exponent")
		}
	}
	d.pos = i
	return d.src[start:i], integer, nil
}

// integer reads an int value.
func (d *decoder) integer(path string, dst *int) error {
	if null, err := d.null(); null || err != nil {
		return err
	}
	lit, integer, err := d.number(path, "an integer")
	if err != nil {
		return err
	}
	n, perr := strconv.ParseInt(lit, 10, 64)
	if !integer || perr != nil || n < math.MinInt || n > math.MaxInt {
		return fieldErr(path, "must be an integer, got JSON number %s", lit)
	}
	*dst = int(n)
	return nil
}

// unsigned reads a uint64 value.
func (d *decoder) unsigned(path string, dst *uint64) error {
	if null, err := d.null(); null || err != nil {
		return err
	}
	lit, integer, err := d.number(path, "an integer")
	if err != nil {
		return err
	}
	n, perr := strconv.ParseUint(lit, 10, 64)
	if !integer || perr != nil {
		return fieldErr(path, "must be an integer from 0 to %d, got JSON number %s", uint64(math.MaxUint64), lit)
	}
	*dst = n
	return nil
}

// float reads a float64 value.
func (d *decoder) float(path string, dst *float64) error {
	if null, err := d.null(); null || err != nil {
		return err
	}
	lit, _, err := d.number(path, "a number")
	if err != nil {
		return err
	}
	if f, ok := fastFloat(lit); ok {
		*dst = f
		return nil
	}
	f, perr := strconv.ParseFloat(lit, 64)
	if perr != nil {
		return fieldErr(path, "must be a number, got JSON number %s", lit)
	}
	*dst = f
	return nil
}

// boolean reads a bool value.
func (d *decoder) boolean(path string, dst *bool) error {
	if null, err := d.null(); null || err != nil {
		return err
	}
	switch c := d.peek(); {
	case c == 't' && len(d.data)-d.pos >= 4 && d.src[d.pos:d.pos+4] == "true":
		*dst = true
		d.pos += 4
	case c == 'f' && len(d.data)-d.pos >= 5 && d.src[d.pos:d.pos+5] == "false":
		*dst = false
		d.pos += 5
	case c == 't' || c == 'f':
		return d.syntax("expected true or false")
	case c == 0:
		return d.syntax("")
	default:
		return typeErr(path, "true or false", c)
	}
	return nil
}

// timestamp reads an RFC 3339 time as time.Time's UnmarshalJSON does.
func (d *decoder) timestamp(path string, dst *time.Time) error {
	if null, err := d.null(); null || err != nil {
		return err
	}
	d.ws()
	start := d.pos
	var s string
	if err := d.str(path, &s); err != nil {
		return err
	}
	if t, ok := jsontext.ParseUTC(s); ok {
		*dst = t
		return nil
	}
	// Offsets, and anything unusual: the standard parser decides.
	if err := dst.UnmarshalJSON(d.data[start:d.pos]); err != nil {
		return fieldErr(path, "is not an RFC 3339 time: %q", s)
	}
	return nil
}

func unknownField(path, key string) error {
	if key == "" || key == "." {
		key += `""`
	}
	// A copy: key shares the body, which is reused after the request.
	return fieldErr(strings.Clone(path+key), "is not a field of the request")
}

// request decodes the whole body into req, reusing its slices.
func (d *decoder) request(req *APIRequest) error {
	words := req.User.Words[:0]
	*req = APIRequest{}
	req.User.Words = words
	c := d.peek()
	if d.pos >= len(d.data) {
		return fieldErr("body", "is empty; expected a JSON object")
	}
	if c != '{' {
		return typeErr("body", "an object", c)
	}
	err := d.object("body", func(key string) error {
		switch key {
		case "course":
			return d.str("course", &req.Course)
		case "skill":
			return d.str("skill", &req.Skill)
		case "length":
			return d.integer("length", &req.Length)
		case "seed":
			return d.unsigned("seed", &req.Seed)
		case "now":
			return d.str("now", &req.Now)
		case "user":
			return d.user(&req.User)
		}
		return unknownField("", key)
	})
	if err != nil {
		return err
	}
	if d.ws(); d.pos < len(d.data) {
		return fieldErr("body", "has data after the JSON object")
	}
	return nil
}

func (d *decoder) user(u *User) error {
	return d.object("user", func(key string) error {
		switch key {
		case "id":
			return d.str("user.id", &u.ID)
		case "settings":
			return d.settings(&u.Settings)
		case "words":
			return d.words(&u.Words)
		}
		return unknownField("user.", key)
	})
}

// words reads the words array, reusing ws, and hashes each word.
func (d *decoder) words(ws *[]WordState) error {
	*ws = (*ws)[:0]
	d.hashes = d.hashes[:0] // a repeated key replaces the words
	return d.array("user.words", func(i int) error {
		if i < cap(*ws) {
			*ws = (*ws)[:i+1]
			(*ws)[i] = WordState{}
		} else {
			*ws = append(*ws, WordState{})
		}
		w := &(*ws)[i]
		if err := d.word(i, w); err != nil {
			return err
		}
		d.hashes = append(d.hashes, snapshot.TextHash(w.Word))
		return nil
	})
}

func (d *decoder) settings(s *Settings) error {
	return d.object("user.settings", func(key string) error {
		switch key {
		case "listening_off":
			return d.boolean("user.settings.listening_off", &s.ListeningOff)
		case "speaking_off":
			return d.boolean("user.settings.speaking_off", &s.SpeakingOff)
		case "length":
			return d.integer("user.settings.length", &s.Length)
		}
		return unknownField("user.settings.", key)
	})
}

// wordPath returns the path of a field of word i; called only for errors.
func wordPath(i int, field string) string {
	if field == "" {
		return fmt.Sprintf("user.words[%d]", i)
	}
	return fmt.Sprintf("user.words[%d].%s", i, field)
}

func (d *decoder) word(i int, w *WordState) error {
	if d.canonWord(w) {
		return nil
	}
	if c := d.peek(); c != '{' && c != 'n' {
		if c == 0 {
			return d.syntax("")
		}
		return typeErr(wordPath(i, ""), "an object", c)
	}
	return d.object("", func(key string) error {
		// The path is built only for an error.
		var err error
		switch key {
		case "word":
			err = d.str("", &w.Word)
		case "history":
			return d.history(i, w)
		case "last":
			err = d.timestamp("", &w.Last)
		case "seen":
			err = d.integer("", &w.Seen)
		case "correct":
			err = d.integer("", &w.Correct)
		case "stability":
			err = d.float("", &w.Stability)
		case "difficulty":
			err = d.float("", &w.Difficulty)
		default:
			return unknownField(wordPath(i, ""), "."+key)
		}
		return withPath(err, wordPath, i, key)
	})
}

// withPath puts the path of a word's field into a field error decoded
// without one.
func withPath(err error, path func(int, string) string, i int, key string) error {
	if err == nil {
		return nil
	}
	var fe *FieldError
	if errors.As(err, &fe) && fe.Field == "" {
		fe.Field = path(i, key)
	}
	return err
}

func (d *decoder) history(i int, w *WordState) error {
	w.History = nil // a repeated key replaces the history, as for encoding/json
	start := len(d.reviews)
	err := d.array("", func(j int) error {
		d.reviews = append(d.reviews, Review{})
		r := &d.reviews[len(d.reviews)-1]
		if c := d.peek(); c != '{' && c != 'n' {
			if c == 0 {
				return d.syntax("")
			}
			return typeErr(fmt.Sprintf("user.words[%d].history[%d]", i, j), "an object", c)
		}
		return d.object("", func(key string) error {
			var err error
			switch key {
			case "at":
				err = d.timestamp("", &r.At)
			case "grade":
				var g int
				err = d.integer("", &g)
				r.Grade = memory.Grade(g)
			default:
				return unknownField(fmt.Sprintf("user.words[%d].history[%d].", i, j), key)
			}
			return withPath(err, func(i int, key string) string {
				return fmt.Sprintf("user.words[%d].history[%d].%s", i, j, key)
			}, i, key)
		})
	})
	if err != nil {
		return withPath(err, wordPath, i, "history")
	}
	if len(d.reviews) > start {
		w.History = d.reviews[start:len(d.reviews):len(d.reviews)]
	}
	return nil
}
