package session

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// appendReason appends the reason's text (Reason.String) to dst without
// building a string.
func (r Reason) appendText(dst []byte) []byte {
	switch r.Kind {
	case KindNew:
		return strconv.AppendInt(append(dst, "new L"...), int64(r.Level), 10)
	case KindReview:
		return strconv.AppendFloat(append(dst, "review p="...), r.P, 'f', 2, 64)
	case KindMissed:
		switch r.DaysAgo {
		case 0:
			return append(dst, "missed today"...)
		case 1:
			return append(dst, "missed 1 day ago"...)
		}
		dst = strconv.AppendInt(append(dst, "missed "...), int64(r.DaysAgo), 10)
		return append(dst, " days ago"...)
	case KindPractice:
		if r.Level == 0 {
			return append(dst, "practice"...)
		}
		return strconv.AppendInt(append(dst, "practice L"...), int64(r.Level), 10)
	}
	return append(dst, "unknown"...)
}

// appendSession appends the JSON of s, as json.Marshal writes it, to dst.
// The challenges' own JSON comes from the course's cache when s was
// generated here.
func appendSession(dst []byte, s *Session) ([]byte, error) {
	dst = append(dst, `{"session_id":`...)
	dst = appendString(dst, s.ID)
	dst = append(dst, `,"course":`...)
	dst = appendString(dst, s.Course)
	dst = append(dst, `,"course_version":`...)
	dst = appendString(dst, s.CourseVersion)
	dst = append(dst, `,"skill":`...)
	dst = appendString(dst, s.Skill)
	dst = append(dst, `,"level":`...)
	dst = strconv.AppendInt(dst, int64(s.Level), 10)
	dst = append(dst, `,"challenges":`...)
	if s.Challenges == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, '[')
		for i := range s.Challenges {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = s.appendItem(dst, &s.Challenges[i]); err != nil {
				return nil, err
			}
		}
		dst = append(dst, ']')
	}
	if s.ShortBy != 0 {
		dst = append(dst, `,"short_by":`...)
		dst = strconv.AppendInt(dst, int64(s.ShortBy), 10)
	}
	return append(dst, '}'), nil
}

// appendItem appends the JSON of one challenge of s (Item.MarshalJSON).
func (s *Session) appendItem(dst []byte, it *Item) ([]byte, error) {
	var ch []byte
	var err error
	if s.course != nil && it.fromCourse {
		ch, err = s.course.ChallengeJSON(it.ref)
	} else {
		ch, err = json.Marshal(it.Challenge)
	}
	if err != nil {
		return nil, err
	}
	return appendItemJSON(dst, ch, it)
}

// appendItemJSON appends the challenge's JSON ch with the item's "skill"
// and "why" added.
func appendItemJSON(dst, ch []byte, it *Item) ([]byte, error) {
	if len(ch) < 2 || ch[len(ch)-1] != '}' {
		return nil, &json.UnsupportedValueError{Str: "challenge " + it.Challenge.Metadata().ID + " did not encode as an object"}
	}
	dst = append(dst, ch[:len(ch)-1]...)
	if len(ch) > 2 {
		dst = append(dst, ',')
	}
	dst = append(dst, `"skill":`...)
	dst = appendString(dst, it.Skill)
	dst = append(dst, `,"why":`...)
	if it.Why != "" && it.Reason.Kind == 0 {
		dst = appendString(dst, it.Why)
	} else {
		dst = append(dst, '"')
		dst = it.Reason.appendText(dst) // ASCII without quotes or escapes
		dst = append(dst, '"')
	}
	return append(dst, '}'), nil
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string, escaped as encoding/json
// escapes it (HTML-safe; invalid UTF-8 becomes U+FFFD).
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
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
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
