package session

import (
	"encoding/json"
	"strconv"

	"github.com/owlstack/owl/internal/jsontext"
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
	dst = jsontext.AppendStringHTML(dst, s.ID)
	dst = append(dst, `,"course":`...)
	dst = jsontext.AppendStringHTML(dst, s.Course)
	dst = append(dst, `,"course_version":`...)
	dst = jsontext.AppendStringHTML(dst, s.CourseVersion)
	dst = append(dst, `,"skill":`...)
	dst = jsontext.AppendStringHTML(dst, s.Skill)
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
	dst = jsontext.AppendStringHTML(dst, it.Skill)
	dst = append(dst, `,"why":`...)
	if it.Why != "" && it.Reason.Kind == 0 {
		dst = jsontext.AppendStringHTML(dst, it.Why)
	} else {
		dst = append(dst, '"')
		dst = it.Reason.appendText(dst) // ASCII without quotes or escapes
		dst = append(dst, '"')
	}
	return append(dst, '}'), nil
}
