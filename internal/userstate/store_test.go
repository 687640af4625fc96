package userstate

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/owlstack/owl/internal/memory"
	"github.com/owlstack/owl/internal/pgtest"
	"github.com/owlstack/owl/internal/session"
)

var t0 = time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)

func fsrs() *memory.FSRS { return memory.NewFSRS(memory.FSRS6Defaults) }

// stores runs fn against a fresh, migrated SQLite store and, when the
// server is reachable, a fresh PostgreSQL one.
func stores(t *testing.T, fn func(t *testing.T, s *Store)) {
	t.Run("sqlite", func(t *testing.T) {
		s, err := Open(context.Background(), "", t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		if err := s.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		fn(t, s)
	})
	t.Run("postgres", func(t *testing.T) {
		url := pgtest.NewDatabase(t)
		s, err := Open(context.Background(), url, "")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		if err := s.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		fn(t, s)
	})
}

func result(challenge string, at time.Time, grades ...any) Result {
	r := Result{ChallengeID: challenge, At: at}
	for i := 0; i < len(grades); i += 2 {
		r.Words = append(r.Words, WordGrade{Word: grades[i].(string), Grade: grades[i+1].(memory.Grade)})
	}
	return r
}

func TestMigrateIsIdempotent(t *testing.T) {
	stores(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		if err := s.Migrate(ctx); err != nil {
			t.Fatalf("second migrate: %v", err)
		}
		v, err := s.Version(ctx)
		if err != nil || v != 1 {
			t.Fatalf("version %d, %v; want 1", v, err)
		}
	})
}

func TestOpenRejectsUnknownScheme(t *testing.T) {
	_, err := Open(context.Background(), "mysql://x", t.TempDir())
	if err == nil || err.Error() != `database URL: expected postgres://, postgresql:// or sqlite://PATH, got scheme "mysql"` {
		t.Fatalf("err = %v", err)
	}
}

func TestApplyUpdatesStateAndHistory(t *testing.T) {
	stores(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		m := fsrs()
		sub := &Submission{SessionID: "s1", Course: "c", Results: []Result{
			result("ch1", t0, "hola", memory.Good),
			result("ch2", t0.Add(time.Minute), "hola", memory.Again, "adiós", memory.Easy),
		}}
		got, err := s.Apply(ctx, "u1", sub, m, t0)
		if err != nil {
			t.Fatal(err)
		}
		if got.Applied != 2 || got.Duplicates != 0 || len(got.Words) != 2 {
			t.Fatalf("applied %+v", got)
		}
		hola := m.Update(m.Update(memory.State{}, t0, memory.Good), t0.Add(time.Minute), memory.Again)
		adios := m.Update(memory.State{}, t0.Add(time.Minute), memory.Easy)
		u, err := s.User(ctx, "u1", "c")
		if err != nil {
			t.Fatal(err)
		}
		want := session.User{ID: "u1", Words: []session.WordState{
			{Word: "adiós", State: adios},
			// The last answer was a miss: the generator sees it.
			{Word: "hola", State: hola, History: []session.Review{{At: t0.Add(time.Minute), Grade: memory.Again}}},
		}}
		if d := cmp.Diff(want, u); d != "" {
			t.Errorf("user (-want +got):\n%s", d)
		}
		if err := u.Validate(); err != nil {
			t.Errorf("injected state is invalid: %v", err)
		}
		h, err := s.History(ctx, "u1", "c", "hola")
		if err != nil || len(h) != 2 {
			t.Fatalf("history %v, %v", h, err)
		}
		// Another course is another state.
		if u, err := s.User(ctx, "u1", "other"); err != nil || len(u.Words) != 0 {
			t.Errorf("other course: %+v, %v", u, err)
		}
	})
}

func TestApplyIsIdempotent(t *testing.T) {
	stores(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		sub := &Submission{SessionID: "s1", Course: "c", Results: []Result{
			result("ch1", t0, "hola", memory.Good),
			result("ch2", t0.Add(time.Hour), "hola", memory.Hard, "gracias", memory.Good),
		}}
		if _, err := s.Apply(ctx, "u1", sub, fsrs(), t0); err != nil {
			t.Fatal(err)
		}
		before, _ := s.User(ctx, "u1", "c")
		// The retry, and a submission repeating one challenge among new ones.
		again, err := s.Apply(ctx, "u1", sub, fsrs(), t0.Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if again.Applied != 0 || again.Duplicates != 2 || len(again.Words) != 0 {
			t.Errorf("retry applied %+v, want only duplicates", again)
		}
		if after, _ := s.User(ctx, "u1", "c"); !cmp.Equal(before, after) {
			t.Errorf("retry changed the state:\n%s", cmp.Diff(before, after))
		}
		mixed := &Submission{SessionID: "s1", Course: "c", Results: []Result{
			result("ch2", t0.Add(time.Hour), "hola", memory.Hard),
			result("ch3", t0.Add(2*time.Hour), "hola", memory.Good),
			result("ch3", t0.Add(2*time.Hour), "hola", memory.Good),
		}}
		got, err := s.Apply(ctx, "u1", mixed, fsrs(), t0)
		if err != nil {
			t.Fatal(err)
		}
		if got.Applied != 1 || got.Duplicates != 2 {
			t.Errorf("mixed: %+v, want 1 applied and 2 duplicates", got)
		}
		if h, _ := s.History(ctx, "u1", "c", "hola"); len(h) != 3 {
			t.Errorf("history has %d reviews, want 3", len(h))
		}
		// The same challenge id in another session is a new answer.
		other := &Submission{SessionID: "s2", Course: "c", Results: []Result{result("ch1", t0.Add(3*time.Hour), "hola", memory.Good)}}
		if got, err := s.Apply(ctx, "u1", other, fsrs(), t0); err != nil || got.Applied != 1 {
			t.Errorf("other session: %+v, %v", got, err)
		}
	})
}

func TestApplyOutOfOrderReplaysHistory(t *testing.T) {
	stores(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		m := fsrs()
		days := func(n int) time.Time { return t0.Add(time.Duration(n) * 24 * time.Hour) }
		for i, r := range []Result{
			result("a", days(0), "hola", memory.Good),
			result("c", days(5), "hola", memory.Good),
			result("b", days(2), "hola", memory.Again), // late
		} {
			sub := &Submission{SessionID: fmt.Sprint("s", i), Course: "c", Results: []Result{r}}
			if _, err := s.Apply(ctx, "u", sub, m, t0); err != nil {
				t.Fatal(err)
			}
		}
		want := m.Update(m.Update(m.Update(memory.State{}, days(0), memory.Good), days(2), memory.Again), days(5), memory.Good)
		u, _ := s.User(ctx, "u", "c")
		if len(u.Words) != 1 || !cmp.Equal(u.Words[0].State, want) || len(u.Words[0].History) != 0 {
			t.Errorf("state %+v, want %+v and no recent miss (the last answer was good)", u.Words, want)
		}
	})
}

// TestConcurrentResultsLoseNothing submits results for one learner and one
// word from many goroutines at once: every answer must be counted.
func TestConcurrentResultsLoseNothing(t *testing.T) {
	stores(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		const workers, each = 8, 5
		var wg sync.WaitGroup
		errs := make(chan error, workers*each)
		for w := range workers {
			wg.Go(func() {
				for i := range each {
					at := t0.Add(time.Duration(w*each+i) * time.Minute)
					sub := &Submission{SessionID: fmt.Sprintf("s%d-%d", w, i), Course: "c", Results: []Result{
						result("x", at, "hola", memory.Good, fmt.Sprintf("w%d", w), memory.Good),
					}}
					// Every submission is sent twice, as a client retrying.
					for range 2 {
						if _, err := s.Apply(ctx, "u", sub, fsrs(), at); err != nil {
							errs <- err
						}
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		u, err := s.User(ctx, "u", "c")
		if err != nil {
			t.Fatal(err)
		}
		if len(u.Words) != workers+1 {
			t.Fatalf("%d words, want %d", len(u.Words), workers+1)
		}
		for _, w := range u.Words {
			want := each
			if w.Word == "hola" {
				want = workers * each
			}
			if w.Seen != want || w.Correct != want {
				t.Errorf("%s: seen %d correct %d, want %d", w.Word, w.Seen, w.Correct, want)
			}
		}
		if h, _ := s.History(ctx, "u", "c", "hola"); len(h) != workers*each {
			t.Errorf("history has %d reviews, want %d", len(h), workers*each)
		}
	})
}

func TestSubmissionValidation(t *testing.T) {
	good := func() *Submission {
		return &Submission{SessionID: "s", Course: "c", Results: []Result{result("x", t0, "hola", memory.Good)}}
	}
	for _, tc := range []struct {
		name, field string
		edit        func(*Submission)
	}{
		{"no session", "session_id", func(s *Submission) { s.SessionID = "" }},
		{"no course", "course", func(s *Submission) { s.Course = "" }},
		{"no results", "results", func(s *Submission) { s.Results = nil }},
		{"no challenge", "results[0].challenge_id", func(s *Submission) { s.Results[0].ChallengeID = "" }},
		{"no time", "results[0].at", func(s *Submission) { s.Results[0].At = time.Time{} }},
		{"no words", "results[0].words", func(s *Submission) { s.Results[0].Words = nil }},
		{"bad grade", "results[0].words[0].grade", func(s *Submission) { s.Results[0].Words[0].Grade = 7 }},
		{"control char", "results[0].words[0].word", func(s *Submission) { s.Results[0].Words[0].Word = "a\nb" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := good()
			tc.edit(s)
			err := s.Validate()
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field {
				t.Errorf("err = %v, want a FieldError on %s", err, tc.field)
			}
		})
	}
	if err := good().Validate(); err != nil {
		t.Errorf("good submission: %v", err)
	}
}

func TestSQLiteFileIsUnderData(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(context.Background(), "", dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if want := filepath.Join(dir, DefaultFile); s.Name() != want {
		t.Errorf("name %s, want %s", s.Name(), want)
	}
}
