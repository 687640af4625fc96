package userstate

import (
	"context"
	"database/sql"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/owlstack/owl/internal/memory"
	"github.com/owlstack/owl/internal/session"
)

// Limits of what a client may send.
const (
	// MaxIDBytes bounds user, session, challenge and course ids.
	MaxIDBytes = 200
	// MaxResults bounds the graded challenges of one submission.
	MaxResults = 200
	// MaxWordsPerResult bounds the words graded by one challenge.
	MaxWordsPerResult = 50
)

// Submission is the body of POST /v1/users/{id}/results: the graded
// challenges of one session.
type Submission struct {
	// SessionID is the session_id the session generator returned.
	SessionID string `json:"session_id"`
	// Course is the course the session came from.
	Course  string   `json:"course"`
	Results []Result `json:"results"`
}

// Result is one graded challenge: when it was answered and how well the
// learner knew each word it practised.
type Result struct {
	ChallengeID string      `json:"challenge_id"`
	At          time.Time   `json:"at"`
	Words       []WordGrade `json:"words"`
}

// WordGrade is the outcome for one word or phrase, keyed by its main text
// as written in the course.
type WordGrade struct {
	Word  string       `json:"word"`
	Grade memory.Grade `json:"grade"`
}

// Applied reports what a submission changed.
type Applied struct {
	// Applied counts the results applied now; Duplicates those that an
	// earlier submission (or an earlier entry of this one) already applied.
	Applied    int `json:"applied"`
	Duplicates int `json:"duplicates"`
	// Words is the state of every word the applied results touched, after
	// the update.
	Words []session.WordState `json:"words"`
}

// FieldError is a request that cannot be served because of one field.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

func fieldErr(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// CheckID checks an id from a path or body: non-empty, valid UTF-8, no
// control characters, at most MaxIDBytes.
func CheckID(field, id string) error {
	switch {
	case id == "":
		return fieldErr(field, "is required")
	case len(id) > MaxIDBytes:
		return fieldErr(field, "is %d bytes long, at most %d are accepted", len(id), MaxIDBytes)
	case !utf8.ValidString(id):
		return fieldErr(field, "is not valid UTF-8")
	}
	for _, r := range id {
		if r < 0x20 || r == 0x7f {
			return fieldErr(field, "contains a control character")
		}
	}
	return nil
}

// Validate checks a submission.
func (sub *Submission) Validate() error {
	if err := CheckID("session_id", sub.SessionID); err != nil {
		return err
	}
	if err := CheckID("course", sub.Course); err != nil {
		return err
	}
	switch {
	case len(sub.Results) == 0:
		return fieldErr("results", "is empty; expected at least one graded challenge")
	case len(sub.Results) > MaxResults:
		return fieldErr("results", "has %d results, at most %d are accepted", len(sub.Results), MaxResults)
	}
	for i, r := range sub.Results {
		if err := CheckID(fmt.Sprintf("results[%d].challenge_id", i), r.ChallengeID); err != nil {
			return err
		}
		if r.At.IsZero() {
			return fieldErr(fmt.Sprintf("results[%d].at", i), "is required (RFC 3339)")
		}
		switch {
		case len(r.Words) == 0:
			return fieldErr(fmt.Sprintf("results[%d].words", i), "is empty; expected the graded words")
		case len(r.Words) > MaxWordsPerResult:
			return fieldErr(fmt.Sprintf("results[%d].words", i), "has %d words, at most %d are accepted", len(r.Words), MaxWordsPerResult)
		}
		for j, w := range r.Words {
			if err := CheckID(fmt.Sprintf("results[%d].words[%d].word", i, j), w.Word); err != nil {
				return err
			}
			if !w.Grade.Valid() {
				return fieldErr(fmt.Sprintf("results[%d].words[%d].grade", i, j), "must be 1 (again) to 4 (easy), got %d", w.Grade)
			}
		}
	}
	return nil
}

// wordRow is a row of word_states.
type wordRow struct {
	word      string
	st        memory.State
	lastGrade memory.Grade
}

func (r *wordRow) wordState() session.WordState {
	ws := session.WordState{Word: r.word, State: r.st}
	// The generator needs a word's last answer only to see a recent miss.
	if r.lastGrade == memory.Again {
		ws.History = []session.Review{{At: r.st.Last, Grade: memory.Again}}
	}
	return ws
}

// User returns a learner's settings and the state of every word of one
// course they have answered, ordered by word, ready to inject into a
// session request. A learner never seen has the zero state.
func (s *Store) User(ctx context.Context, userID, courseID string) (session.User, error) {
	u := session.User{ID: userID}
	err := s.db.QueryRowContext(ctx, s.q(`SELECT listening_off, speaking_off, length FROM users WHERE id = ?`), userID).
		Scan(&u.Settings.ListeningOff, &u.Settings.SpeakingOff, &u.Settings.Length)
	if err != nil && !isNoRows(err) {
		return u, fmt.Errorf("read user %s: %w", userID, err)
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT word, last_ns, last_grade, seen, correct, stability, difficulty
		FROM word_states WHERE user_id = ? AND course = ? ORDER BY word`), userID, courseID)
	if err != nil {
		return u, fmt.Errorf("read words of user %s: %w", userID, err)
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanWord(rows)
		if err != nil {
			return u, fmt.Errorf("read words of user %s: %w", userID, err)
		}
		u.Words = append(u.Words, r.wordState())
	}
	if err := rows.Err(); err != nil {
		return u, fmt.Errorf("read words of user %s: %w", userID, err)
	}
	return u, nil
}

type scanner interface{ Scan(dest ...any) error }

func scanWord(sc scanner) (wordRow, error) {
	var r wordRow
	var lastNS int64
	var grade int
	if err := sc.Scan(&r.word, &lastNS, &grade, &r.st.Seen, &r.st.Correct, &r.st.Stability, &r.st.Difficulty); err != nil {
		return r, err
	}
	r.st.Last = time.Unix(0, lastNS).UTC()
	r.lastGrade = memory.Grade(grade)
	return r, nil
}

// SetSettings stores a learner's settings.
func (s *Store) SetSettings(ctx context.Context, userID string, st session.Settings, now time.Time) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO users (id, listening_off, speaking_off, length, updated_ns) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET listening_off = excluded.listening_off, speaking_off = excluded.speaking_off,
		length = excluded.length, updated_ns = excluded.updated_ns`),
		userID, st.ListeningOff, st.SpeakingOff, st.Length, now.UnixNano())
	if err != nil {
		return fmt.Errorf("store settings of user %s: %w", userID, err)
	}
	return nil
}

// Apply appends the submission's graded words to the learner's review
// history and updates each word's memory state with model, in one
// transaction. A result whose (session id, challenge id) was applied before
// changes nothing, so a retried submission is harmless. Results may arrive
// out of time order: a word answered earlier than its last answer has its
// state recomputed from its whole history.
func (s *Store) Apply(ctx context.Context, userID string, sub *Submission, model memory.Model, now time.Time) (*Applied, error) {
	if err := sub.Validate(); err != nil {
		return nil, err
	}
	out := &Applied{}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		*out = Applied{}
		// Lock the learner: results of one learner apply one at a time.
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO users (id, updated_ns) VALUES (?, ?) ON CONFLICT (id) DO NOTHING`), userID, now.UnixNano()); err != nil {
			return err
		}
		if s.dialect == Postgres {
			var id string
			if err := tx.QueryRowContext(ctx, `SELECT id FROM users WHERE id = $1 FOR UPDATE`, userID).Scan(&id); err != nil {
				return err
			}
		}
		touched := map[string]int{}
		for _, r := range sub.Results {
			res, err := tx.ExecContext(ctx, s.q(`INSERT INTO applied_results (user_id, session_id, challenge_id, course, applied_ns)
				VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id, session_id, challenge_id) DO NOTHING`),
				userID, sub.SessionID, r.ChallengeID, sub.Course, now.UnixNano())
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n == 0 {
				out.Duplicates++
				continue
			}
			out.Applied++
			for _, w := range r.Words {
				row, err := s.review(ctx, tx, userID, sub, r, w, model)
				if err != nil {
					return err
				}
				if i, ok := touched[row.word]; ok {
					out.Words[i] = row.wordState()
				} else {
					touched[row.word] = len(out.Words)
					out.Words = append(out.Words, row.wordState())
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("apply results of session %s for user %s: %w", sub.SessionID, userID, err)
	}
	return out, nil
}

// review records one graded word and returns its new state.
func (s *Store) review(ctx context.Context, tx *sql.Tx, userID string, sub *Submission, r Result, w WordGrade, model memory.Model) (wordRow, error) {
	at := r.At.UTC()
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO reviews (user_id, course, word, at_ns, grade, session_id, challenge_id) VALUES (?, ?, ?, ?, ?, ?, ?)`),
		userID, sub.Course, w.Word, at.UnixNano(), int(w.Grade), sub.SessionID, r.ChallengeID); err != nil {
		return wordRow{}, err
	}
	row, err := scanWord(tx.QueryRowContext(ctx, s.q(`SELECT word, last_ns, last_grade, seen, correct, stability, difficulty
		FROM word_states WHERE user_id = ? AND course = ? AND word = ?`), userID, sub.Course, w.Word))
	switch {
	case isNoRows(err):
		row = wordRow{word: w.Word}
		row.st = model.Update(memory.State{}, at, w.Grade)
		row.lastGrade = w.Grade
	case err != nil:
		return row, err
	case !at.Before(row.st.Last):
		row.st = model.Update(row.st, at, w.Grade)
		row.lastGrade = w.Grade
	default:
		if row, err = s.replay(ctx, tx, userID, sub.Course, w.Word, model); err != nil {
			return row, err
		}
	}
	_, err = tx.ExecContext(ctx, s.q(`INSERT INTO word_states (user_id, course, word, last_ns, last_grade, seen, correct, stability, difficulty)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (user_id, course, word) DO UPDATE SET last_ns = excluded.last_ns, last_grade = excluded.last_grade,
		seen = excluded.seen, correct = excluded.correct, stability = excluded.stability, difficulty = excluded.difficulty`),
		userID, sub.Course, row.word, row.st.Last.UnixNano(), int(row.lastGrade), row.st.Seen, row.st.Correct, row.st.Stability, row.st.Difficulty)
	return row, err
}

// replay recomputes a word's state from its whole review history.
func (s *Store) replay(ctx context.Context, tx *sql.Tx, userID, courseID, word string, model memory.Model) (wordRow, error) {
	row := wordRow{word: word}
	rows, err := tx.QueryContext(ctx, s.q(`SELECT at_ns, grade FROM reviews WHERE user_id = ? AND course = ? AND word = ?
		ORDER BY at_ns, session_id, challenge_id`), userID, courseID, word)
	if err != nil {
		return row, err
	}
	defer rows.Close()
	for rows.Next() {
		var atNS int64
		var g int
		if err := rows.Scan(&atNS, &g); err != nil {
			return row, err
		}
		row.st = model.Update(row.st, time.Unix(0, atNS).UTC(), memory.Grade(g))
		row.lastGrade = memory.Grade(g)
	}
	return row, rows.Err()
}

// History returns a word's reviews, oldest first.
func (s *Store) History(ctx context.Context, userID, courseID, word string) ([]session.Review, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT at_ns, grade FROM reviews WHERE user_id = ? AND course = ? AND word = ?
		ORDER BY at_ns, session_id, challenge_id`), userID, courseID, word)
	if err != nil {
		return nil, fmt.Errorf("read history of %q for user %s: %w", word, userID, err)
	}
	defer rows.Close()
	var out []session.Review
	for rows.Next() {
		var atNS int64
		var g int
		if err := rows.Scan(&atNS, &g); err != nil {
			return nil, err
		}
		out = append(out, session.Review{At: time.Unix(0, atNS).UTC(), Grade: memory.Grade(g)})
	}
	return out, rows.Err()
}

// inTx runs fn in a transaction and commits it; on PostgreSQL it retries a
// few times when the transaction loses a serialisation or deadlock race.
func (s *Store) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		var tx *sql.Tx
		tx, err = s.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if err = fn(tx); err == nil {
			if err = tx.Commit(); err == nil {
				return nil
			}
		} else {
			_ = tx.Rollback()
		}
		if !retryable(err) {
			return err
		}
	}
	return err
}
