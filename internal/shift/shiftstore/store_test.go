package shiftstore_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/owlstack/owl/internal/pgtest"
	"github.com/owlstack/owl/internal/shift"
	"github.com/owlstack/owl/internal/shift/shiftstore"
)

// backends runs a test against SQLite and PostgreSQL.
func backends(t *testing.T, test func(t *testing.T, s *shiftstore.Store)) {
	t.Run("sqlite", func(t *testing.T) {
		s, err := shiftstore.Open(t.Context(), "", t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		test(t, s)
	})
	t.Run("postgres", func(t *testing.T) {
		url := pgtest.NewDatabase(t)
		s, err := shiftstore.Open(t.Context(), url, "")
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		test(t, s)
	})
}

var t0 = time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)

func create(t *testing.T, s *shiftstore.Store, name string) *shift.Shift {
	t.Helper()
	sh := &shift.Shift{Name: name, Spec: shift.DefaultSpec(), State: shift.Pending, Step: -1, CreatedAt: t0, UpdatedAt: t0}
	sh.Spec.Name = name
	if err := s.Create(t.Context(), sh); err != nil {
		t.Fatal(err)
	}
	return sh
}

func TestCreateGetList(t *testing.T) {
	backends(t, func(t *testing.T, s *shiftstore.Store) {
		ctx := t.Context()
		create(t, s, "a")
		if err := s.Create(ctx, &shift.Shift{Name: "a", CreatedAt: t0}); !errors.Is(err, shift.ErrExists) {
			t.Errorf("second create: %v, want ErrExists", err)
		}
		if _, err := s.Get(ctx, "nope"); !errors.Is(err, shift.ErrNotFound) {
			t.Errorf("get unknown: %v, want ErrNotFound", err)
		}
		got, err := s.Get(ctx, "a")
		if err != nil || got.State != shift.Pending || got.Spec.Name != "a" || len(got.Spec.Steps) != 6 || !got.CreatedAt.Equal(t0) {
			t.Fatalf("get: %+v, %v", got, err)
		}
		create(t, s, "b")
		list, err := s.List(ctx)
		if err != nil || len(list) != 2 {
			t.Fatalf("list: %d, %v", len(list), err)
		}
		h, err := s.History(ctx, "a", 0)
		if err != nil || len(h) != 1 || h[0].Reason != "created" {
			t.Fatalf("history: %+v, %v", h, err)
		}
	})
}

func TestLeaseFencing(t *testing.T) {
	backends(t, func(t *testing.T, s *shiftstore.Store) {
		ctx := t.Context()
		sh := create(t, s, "a")
		ttl := 30 * time.Second
		la, err := s.Acquire(ctx, "a", "ctl-a", t0, ttl)
		if err != nil || la.Fence != 1 {
			t.Fatalf("first acquire: %+v, %v", la, err)
		}
		if _, err := s.Acquire(ctx, "a", "ctl-b", t0.Add(10*time.Second), ttl); !errors.Is(err, shift.ErrLeaseHeld) {
			t.Fatalf("acquire of a held lease: %v, want ErrLeaseHeld", err)
		}
		renewed, err := s.Acquire(ctx, "a", "ctl-a", t0.Add(20*time.Second), ttl)
		if err != nil || renewed.Fence != 1 || !renewed.Expires.Equal(t0.Add(50*time.Second)) {
			t.Fatalf("renewal: %+v, %v; want the same fence, later expiry", renewed, err)
		}
		// a stalls past its lease; b takes the shift with the next fence.
		lb, err := s.Acquire(ctx, "a", "ctl-b", t0.Add(51*time.Second), ttl)
		if err != nil || lb.Fence != 2 {
			t.Fatalf("takeover: %+v, %v", lb, err)
		}
		sh.State, sh.UpdatedAt = shift.Promoting, t0.Add(52*time.Second)
		if err := s.Save(ctx, renewed, sh, []shift.Event{{At: sh.UpdatedAt, Kind: shift.EventTransition, State: shift.Promoting}}); !errors.Is(err, shift.ErrLeaseLost) {
			t.Fatalf("save with a stale fence: %v, want ErrLeaseLost", err)
		}
		if got, _ := s.Get(ctx, "a"); got.State != shift.Pending {
			t.Fatalf("a stale save changed the state to %s", got.State)
		}
		if h, _ := s.History(ctx, "a", 0); len(h) != 1 {
			t.Fatalf("a stale save appended history: %d events", len(h))
		}
		if err := s.Save(ctx, lb, sh, []shift.Event{{At: sh.UpdatedAt, Kind: shift.EventTransition, State: shift.Promoting, Reason: "b"}}); err != nil {
			t.Fatalf("save with the current fence: %v", err)
		}
		// An expired lease cannot save either, even its own holder's.
		sh.UpdatedAt = t0.Add(90 * time.Second)
		if err := s.Save(ctx, lb, sh, nil); !errors.Is(err, shift.ErrLeaseLost) {
			t.Fatalf("save after expiry: %v, want ErrLeaseLost", err)
		}
		if err := s.Release(ctx, lb); err != nil {
			t.Fatal(err)
		}
		lc, err := s.Acquire(ctx, "a", "ctl-b", t0.Add(91*time.Second), ttl)
		if err != nil || lc.Fence != 3 {
			t.Fatalf("reacquire after release: %+v, %v; want fence 3", lc, err)
		}
	})
}

// TestAcquireRace has many controllers race for one lease at the same
// instant: exactly one wins.
func TestAcquireRace(t *testing.T) {
	backends(t, func(t *testing.T, s *shiftstore.Store) {
		create(t, s, "a")
		var mu sync.Mutex
		var winners []string
		var wg sync.WaitGroup
		for _, h := range []string{"c1", "c2", "c3", "c4", "c5", "c6"} {
			wg.Go(func() {
				l, err := s.Acquire(context.Background(), "a", h, t0, time.Minute)
				if err == nil {
					mu.Lock()
					winners = append(winners, l.Holder)
					mu.Unlock()
				} else if !errors.Is(err, shift.ErrLeaseHeld) {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if len(winners) != 1 {
			t.Fatalf("winners %v, want exactly one", winners)
		}
	})
}

func TestRequestsAndHistory(t *testing.T) {
	backends(t, func(t *testing.T, s *shiftstore.Store) {
		ctx := t.Context()
		sh := create(t, s, "a")
		if _, err := s.Enqueue(ctx, "nope", shift.CmdPause, "", t0); !errors.Is(err, shift.ErrNotFound) {
			t.Errorf("enqueue to unknown: %v", err)
		}
		r1, err := s.Enqueue(ctx, "a", shift.CmdPause, "ana", t0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Enqueue(ctx, "a", shift.CmdAbort, "bo", t0.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		rs, err := s.Requests(ctx, "a", 0)
		if err != nil || len(rs) != 2 || rs[0].Command != shift.CmdPause || rs[1].By != "bo" {
			t.Fatalf("requests: %+v, %v", rs, err)
		}
		if rs, _ := s.Requests(ctx, "a", r1.ID); len(rs) != 1 || rs[0].Command != shift.CmdAbort {
			t.Fatalf("requests after the first: %+v", rs)
		}
		l, _ := s.Acquire(ctx, "a", "c", t0, time.Minute)
		var evs []shift.Event
		for i := range 5 {
			evs = append(evs, shift.Event{At: t0.Add(time.Duration(i) * time.Second), Kind: shift.EventAnalysis, State: shift.Progressing, Step: i, Detail: []byte(`{"verdict":"pass"}`)})
		}
		sh.State, sh.UpdatedAt = shift.Aborted, t0.Add(time.Second)
		if err := s.Save(ctx, l, sh, evs); err != nil {
			t.Fatal(err)
		}
		h, err := s.History(ctx, "a", 3)
		if err != nil || len(h) != 3 || h[0].Step != 2 || h[2].Step != 4 || string(h[2].Detail) != `{"verdict":"pass"}` {
			t.Fatalf("last 3 events: %+v, %v", h, err)
		}
		if _, err := s.Enqueue(ctx, "a", shift.CmdResume, "", t0); !errors.Is(err, shift.ErrFinal) {
			t.Errorf("enqueue to a final shift: %v, want ErrFinal", err)
		}
	})
}

// BenchmarkSave measures a fenced save (lease check, state, one history
// line, one transaction) against reading the shift back, in the same run.
func BenchmarkSave(b *testing.B) {
	s, err := shiftstore.Open(b.Context(), "", b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	sh := &shift.Shift{Name: "a", Spec: shift.DefaultSpec(), State: shift.Pending, Step: -1, CreatedAt: t0, UpdatedAt: t0}
	if err := s.Create(b.Context(), sh); err != nil {
		b.Fatal(err)
	}
	l, err := s.Acquire(b.Context(), "a", "c", t0, 1<<40)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	const reads = 200
	for range reads {
		if _, err := s.Get(b.Context(), "a"); err != nil {
			b.Fatal(err)
		}
	}
	get := time.Since(start) / reads
	ev := []shift.Event{{At: t0, Kind: shift.EventTransition, State: shift.Progressing}}
	b.ResetTimer()
	for b.Loop() {
		sh.UpdatedAt = t0.Add(time.Second)
		if err := s.Save(b.Context(), l, sh, ev); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed())/float64(b.N)/float64(get), "save/get")
}
