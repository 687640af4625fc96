package smsqueue

import (
	"strings"
	"time"

	"github.com/owlstack/owl/internal/jsontext"
)

// UnmarshalJSON reads the arguments as encoding/json would, without its
// reflection: River decodes the arguments of every reminder job it works.
func (a *ReminderArgs) UnmarshalJSON(data []byte) error {
	s := jsontext.Scanner{Src: string(data)}
	out := *a
	err := s.Object("reminder arguments", func(key string) error {
		if s.Consume("null") {
			return nil // encoding/json leaves the field as it is
		}
		var err error
		switch {
		case matchKey(key, "user_id"):
			out.UserID, err = s.ReadString()
		case matchKey(key, "local_date"):
			out.Date, err = s.ReadString()
		case matchKey(key, "deadline"):
			out.Deadline, err = readTime(&s)
		case matchKey(key, "gen"):
			out.Generation, err = s.ReadInt("gen")
		default:
			err = s.Skip(10000)
		}
		return err
	})
	if err != nil {
		return err
	}
	s.SkipSpace()
	if s.Pos != len(s.Src) {
		return s.Errorf("reminder arguments: want the end, got %s", s.Got())
	}
	*a = out
	return nil
}

// matchKey matches a member name to a field name as encoding/json does:
// exactly, or else without regard to case.
func matchKey(key, name string) bool {
	return key == name || strings.EqualFold(key, name)
}

// readTime reads a JSON time: the UTC form owl writes without time.Parse,
// any other through time.Time's own UnmarshalJSON.
func readTime(s *jsontext.Scanner) (time.Time, error) {
	start := s.Pos
	v, err := s.ReadString()
	if err != nil {
		return time.Time{}, err
	}
	if t, ok := jsontext.ParseUTC(v); ok && s.Src[start+1:s.Pos-1] == v {
		return t, nil
	}
	var t time.Time
	err = t.UnmarshalJSON([]byte(s.Src[start:s.Pos]))
	return t, err
}
