// Package session generates personalised lesson sessions: it picks and
// orders challenges of a compiled course for one learner from the course in
// memory and the learner's state carried in the request, with no call to any
// shared resource.
package session

import (
	"fmt"
	"time"

	"github.com/owlstack/owl/internal/course"
	"github.com/owlstack/owl/internal/course/snapshot"
	"github.com/owlstack/owl/internal/memory"
)

// Practice is the skill value that asks for a review session across every
// skill the learner has started.
const Practice = "practice"

// Lengths of a session.
const (
	DefaultLength = 15
	MaxLength     = 50
)

// MissedWindow is how long a missed word counts as recently missed.
const MissedWindow = 7 * 24 * time.Hour

// MaxReviewsPerWord bounds the history kept per word in a request.
const MaxReviewsPerWord = 1000

// Request asks for one session.
type Request struct {
	// Skill is the skill's YAML Id, or Practice.
	Skill string
	// Length is the number of challenges wanted; 0 takes the user's
	// preferred length, or DefaultLength.
	Length int
	// Seed makes the choices among equals reproducible.
	Seed uint64
	// Now is the time the session is for; recall is predicted at Now.
	Now  time.Time
	User User
	// hashes holds snapshot.TextHash of every word of User, when the
	// caller has them from checking the user state.
	hashes []uint64
}

// User is the learner's state, injected by the API server.
type User struct {
	ID       string      `json:"id"`
	Settings Settings    `json:"settings"`
	Words    []WordState `json:"words"`
}

// Settings are the learner's preferences.
type Settings struct {
	ListeningOff bool `json:"listening_off,omitempty"`
	SpeakingOff  bool `json:"speaking_off,omitempty"`
	// Length is the preferred session length; 0 means none.
	Length int `json:"length,omitempty"`
}

// WordState is what is known about the learner and one word or phrase,
// keyed by its main target-language text as written in the course.
type WordState struct {
	Word string `json:"word"`
	// History lists the answers, oldest first.
	History []Review `json:"history,omitempty"`
	// State is the memory state (FSRS stability and difficulty, answer
	// counts, last answer). When its stability is zero and History is not
	// empty, the state is computed by replaying History.
	memory.State
}

// Review is one graded answer.
type Review struct {
	At    time.Time    `json:"at"`
	Grade memory.Grade `json:"grade"`
}

// Session is a generated session.
type Session struct {
	ID            string `json:"session_id"`
	Course        string `json:"course"`
	CourseVersion string `json:"course_version"`
	Skill         string `json:"skill"`
	// Level is the skill level the new material comes from (1-based); 0 in
	// practice sessions and when the skill is complete.
	Level      int    `json:"level"`
	Challenges []Item `json:"challenges"`
	// ShortBy is how many challenges fewer than asked the course could
	// offer.
	ShortBy int `json:"short_by,omitempty"`

	// course is the course the session was generated from, whose cache
	// has the JSON of its challenges.
	course *snapshot.Course
}

// Item is one challenge of a session with the reason it was chosen.
type Item struct {
	Challenge course.Challenge
	// Skill is the YAML Id of the challenge's skill.
	Skill string
	// Reason says why the challenge is in the session; its String is the
	// "why" of the JSON form.
	Reason Reason
	// Why is the reason's text when the item was read from JSON.
	Why string

	// ref locates the challenge in the course when fromCourse is set.
	ref        snapshot.ChallengeRef
	fromCourse bool
}

// FieldError is a request that cannot be served because of one field.
type FieldError struct {
	// Field names the field in the JSON request, e.g. "user.words[3].word".
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

func fieldErr(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Validate checks the user state: words named, at most once, histories in
// order with valid grades.
func (u *User) Validate() error {
	var set wordSet
	return u.validate(&set)
}

// wordSet is the scratch space of User.validate: an open-addressing set
// of hashes of the words, and the hash of every word.
type wordSet struct {
	table []uint64
	// of holds snapshot.TextHash of every word, in order; the generator
	// looks the words up in the course by them.
	of []uint64
	// hashed says of holds the hashes already (the decoder computes them
	// as it goes); validate clears it.
	hashed bool
}

// validate is Validate with scratch space for a hash set of the words.
func (u *User) validate(set *wordSet) error {
	if u.Settings.Length < 0 || u.Settings.Length > MaxLength {
		return fieldErr("user.settings.length", "must be between 0 and %d, got %d", MaxLength, u.Settings.Length)
	}
	// Repeated words are found with an open-addressing set of hashes of
	// the words, quicker than a map of strings; only when two hashes are
	// equal does a map find the first repeat, so that errors come in the
	// order of the words.
	var seen map[string]struct{}
	if !distinctHashes(u.Words, set) {
		seen = make(map[string]struct{}, len(u.Words))
	}
	for i := range u.Words {
		w := &u.Words[i]
		if w.Word == "" {
			return fieldErr(fmt.Sprintf("user.words[%d].word", i), "is empty")
		}
		if seen != nil {
			if _, dup := seen[w.Word]; dup {
				return fieldErr(fmt.Sprintf("user.words[%d].word", i), "%q appears twice", w.Word)
			}
			seen[w.Word] = struct{}{}
		}
		if len(w.History) > MaxReviewsPerWord {
			return fieldErr(fmt.Sprintf("user.words[%d].history", i), "has %d reviews, at most %d are accepted", len(w.History), MaxReviewsPerWord)
		}
		for j, r := range w.History {
			if !r.Grade.Valid() {
				return fieldErr(fmt.Sprintf("user.words[%d].history[%d].grade", i, j), "must be 1 (again) to 4 (easy), got %d", r.Grade)
			}
			if r.At.IsZero() {
				return fieldErr(fmt.Sprintf("user.words[%d].history[%d].at", i, j), "is missing")
			}
			if j > 0 && r.At.Before(w.History[j-1].At) {
				return fieldErr(fmt.Sprintf("user.words[%d].history[%d].at", i, j), "is before the previous review")
			}
		}
		if w.Stability < 0 || w.Difficulty < 0 || (w.Stability > 0 && (w.Difficulty < 1 || w.Difficulty > 10)) {
			return fieldErr(fmt.Sprintf("user.words[%d]", i), "has an invalid memory state (stability %v, difficulty %v)", w.Stability, w.Difficulty)
		}
		if w.Seen < 0 || w.Correct < 0 || w.Correct > w.Seen {
			return fieldErr(fmt.Sprintf("user.words[%d]", i), "has invalid counts (seen %d, correct %d)", w.Seen, w.Correct)
		}
	}
	return nil
}

// distinctHashes reports whether the words' texts have distinct hashes
// (so distinct texts), using set's table, and leaves every word's hash in
// set.of.
func distinctHashes(words []WordState, set *wordSet) bool {
	size := 16
	for size < 2*len(words) {
		size *= 2
	}
	if cap(set.table) < size {
		set.table = make([]uint64, size)
	}
	t := set.table[:size]
	clear(t)
	if !set.hashed || len(set.of) != len(words) {
		of := set.of[:0]
		for i := range words {
			of = append(of, snapshot.TextHash(words[i].Word))
		}
		set.of = of
	}
	set.hashed = false
	of := set.of
	mask := uint64(size - 1)
	for _, h := range of {
		h |= 1 // 0 marks an empty slot
		for j := h & mask; ; j = (j + 1) & mask {
			if t[j] == 0 {
				t[j] = h
				break
			}
			if t[j] == h {
				return false
			}
		}
	}
	return true
}
