package smsstore_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/owlstack/owl/internal/pgtest"
	"github.com/owlstack/owl/internal/sms"
	"github.com/owlstack/owl/internal/sms/smsstore"
)

// eachDB runs fn on a fresh, migrated SQLite database and, when a server
// answers, a fresh PostgreSQL one.
func eachDB(t *testing.T, fn func(t *testing.T, db *smsstore.DB)) {
	t.Run("sqlite", func(t *testing.T) {
		fn(t, open(t, filepath.Join(t.TempDir(), "sms.db")))
	})
	t.Run("postgres", func(t *testing.T) {
		fn(t, open(t, pgtest.NewDatabase(t)))
	})
}

func open(t *testing.T, url string) *smsstore.DB {
	t.Helper()
	ctx := context.Background()
	db, err := smsstore.Open(ctx, url, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	// Twice: migrating is idempotent.
	for range 2 {
		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

var (
	day  = sms.Date{Year: 2026, Month: 3, Day: 10}
	t0   = time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)
	zone = "Asia/Shanghai"
)

// seed stores n users u0..u(n-1) and a queued reminder for each.
func seed(t *testing.T, db *smsstore.DB, n int) []sms.Key {
	t.Helper()
	ctx := context.Background()
	var sends []sms.Send
	err := db.InTx(ctx, func(tx *smsstore.Tx) error {
		for i := range n {
			u := sms.User{ID: fmt.Sprintf("u%d", i), PhoneCiphertext: []byte{1, 2, byte(i)}, PhoneIndex: []byte{byte(i)},
				TimeZone: zone, StreakDays: i + 1, LastActiveAt: t0.Add(-24 * time.Hour)}
			if err := tx.UpsertUser(ctx, u, 7, t0); err != nil {
				return err
			}
			sends = append(sends, sms.Send{Key: sms.Key{UserID: u.ID, Date: day}, Zone: zone, Deadline: t0.Add(time.Hour)})
		}
		keys, err := tx.InsertSends(ctx, sends, t0)
		if err != nil {
			return err
		}
		if len(keys) != n {
			return fmt.Errorf("inserted %d reminders, want %d", len(keys), n)
		}
		// Inserting again changes nothing: a reminder exists once.
		again, err := tx.InsertSends(ctx, sends, t0)
		if err != nil {
			return err
		}
		if len(again) != 0 {
			return fmt.Errorf("inserted %d existing reminders again", len(again))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	keys := make([]sms.Key, n)
	for i, s := range sends {
		keys[i] = s.Key
	}
	return keys
}

func TestLeaseIntentFinish(t *testing.T) {
	eachDB(t, func(t *testing.T, db *smsstore.DB) {
		ctx := context.Background()
		keys := seed(t, db, 5)
		q := db.Q()
		var ls []smsstore.Lease
		for i, k := range keys {
			ls = append(ls, smsstore.Lease{Key: k, JobID: int64(100 + i)})
		}
		if err := q.SetJobs(ctx, ls); err != nil {
			t.Fatal(err)
		}
		got, err := q.ClaimMany(ctx, ls[:3], t0, t0.Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 {
			t.Fatalf("leased %d reminders, want 3", len(got))
		}
		c := got[ls[1]]
		if c.Send.State != sms.Queued || c.Send.JobID != 101 || c.User.StreakDays != 2 || c.User.TimeZone != zone ||
			!c.Send.Deadline.Equal(t0.Add(time.Hour)) || string(c.User.PhoneCiphertext) != "\x01\x02\x01" {
			t.Errorf("claimed %+v", c)
		}
		// Another job cannot take a live lease, but may take an expired one.
		other := []smsstore.Lease{{Key: keys[0], JobID: 999}}
		if got, err := q.ClaimMany(ctx, other, t0.Add(30*time.Second), t0.Add(time.Hour)); err != nil || len(got) != 0 {
			t.Errorf("a live lease was taken: %v, %v", got, err)
		}
		if got, err := q.ClaimMany(ctx, other, t0.Add(2*time.Minute), t0.Add(time.Hour)); err != nil || len(got) != 1 {
			t.Errorf("an expired lease was not taken: %v, %v", got, err)
		}

		// Intents only for leases still held: job 100 lost its lease.
		ins := make([]sms.Intent, 3)
		for i, l := range ls[:3] {
			ins[i] = sms.Intent{Key: l.Key, JobID: l.JobID, At: t0.Add(time.Second), Ref: "owlbatch1"}
		}
		ok, err := q.IntentMany(ctx, ins)
		if err != nil {
			t.Fatal(err)
		}
		if want := []bool{false, true, true}; !slices.Equal(ok, want) {
			t.Errorf("intents recorded %v, want %v", ok, want)
		}
		s, err := q.Send(ctx, keys[1])
		if err != nil || s.State != sms.Pending || s.Attempts != 1 || !s.IntentAt.Equal(t0.Add(time.Second)) || s.AttemptRef != "owlbatch1" {
			t.Errorf("after the intent: %+v, %v", s, err)
		}

		finals := []sms.Final{
			{Key: keys[1], JobID: 101, State: sms.Sent, MessageID: "m1", At: t0.Add(2 * time.Second), CPU: 3 * time.Millisecond},
			{Key: keys[2], JobID: 102, State: sms.Failed, Reason: "invalid_number", At: t0.Add(2 * time.Second)},
			{Key: keys[3], JobID: 103, State: sms.Skipped, Reason: sms.SkipActiveToday, At: t0.Add(2 * time.Second)},
		}
		if n, err := q.FinishMany(ctx, finals); err != nil || n != 3 {
			t.Fatalf("FinishMany = %d, %v", n, err)
		}
		// A final state never changes again.
		finals[0].State, finals[0].MessageID = sms.Failed, "other"
		if n, err := q.FinishMany(ctx, finals[:1]); err != nil || n != 0 {
			t.Errorf("a final reminder changed: %d, %v", n, err)
		}
		if s, _ := q.Send(ctx, keys[1]); s.State != sms.Sent || s.MessageID != "m1" {
			t.Errorf("sent reminder now %+v", s)
		}
		if err := db.InTx(ctx, func(tx *smsstore.Tx) error {
			return tx.RecordBatch(ctx, day, zone, 5, map[string]int{sms.SkipOptedOut: 2}, t0)
		}); err != nil {
			t.Fatal(err)
		}
		r, err := q.Report(ctx, day)
		if err != nil {
			t.Fatal(err)
		}
		if r.Eligible != 5 || r.Sent != 1 || r.Failed["invalid_number"] != 1 || r.Skipped[sms.SkipActiveToday] != 1 ||
			r.Skipped[sms.SkipOptedOut] != 2 || r.InFlight != 2 || r.CPUPerMessageMicros != 3000 {
			t.Errorf("report %+v", r)
		}
	})
}

// TestClaimIntent leases and records intents in one write: only queued
// reminders get an intent, and a claim reports the row as it was.
func TestClaimIntent(t *testing.T) {
	eachDB(t, func(t *testing.T, db *smsstore.DB) {
		ctx := context.Background()
		keys := seed(t, db, 3)
		q := db.Q()
		ls := []smsstore.Lease{{Key: keys[0], JobID: 100}, {Key: keys[1], JobID: 101}, {Key: keys[2], JobID: 102}}
		// keys[1] is pending already, from an earlier attempt.
		if _, err := q.ClaimMany(ctx, ls[1:2], t0, t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if ok, err := q.IntentMany(ctx, []sms.Intent{{Key: keys[1], JobID: 101, At: t0, Ref: "owlold"}}); err != nil || !ok[0] {
			t.Fatalf("intent: %v, %v", ok, err)
		}
		if _, err := q.ClaimIntentMany(ctx, ls, t0, t0.Add(time.Minute), ""); err == nil {
			t.Error("an intent without a reference was recorded")
		}
		at := t0.Add(time.Second)
		got, err := q.ClaimIntentMany(ctx, ls, at, at.Add(time.Minute), "owlnew")
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 {
			t.Fatalf("leased %d reminders, want 3", len(got))
		}
		c := got[ls[0]]
		want := sms.Intent{Key: keys[0], JobID: 100, At: at, Ref: "owlnew"}
		if c.Send.State != sms.Queued || c.Send.Attempts != 0 || c.Send.AttemptRef != "" || !c.Intent.At.Equal(want.At) ||
			c.Intent.Key != want.Key || c.Intent.JobID != want.JobID || c.Intent.Ref != want.Ref || c.User.ID != keys[0].UserID {
			t.Errorf("queued reminder claimed as %+v", c)
		}
		if c := got[ls[1]]; c.Send.State != sms.Pending || c.Send.AttemptRef != "owlold" || c.Intent.Ref != "" {
			t.Errorf("pending reminder claimed as %+v", c)
		}
		s, err := q.Send(ctx, keys[0])
		if err != nil || s.State != sms.Pending || s.Attempts != 1 || !s.IntentAt.Equal(at) || s.AttemptRef != "owlnew" {
			t.Errorf("after the claim: %+v, %v", s, err)
		}
		s, err = q.Send(ctx, keys[1])
		if err != nil || s.Attempts != 1 || !s.IntentAt.Equal(t0) || s.AttemptRef != "owlold" {
			t.Errorf("a pending reminder got a second intent: %+v, %v", s, err)
		}

		// Outcomes and a statement of the same transaction; a failing
		// statement takes the outcomes with it.
		fin := []sms.Final{{Key: keys[0], JobID: 100, State: sms.Sent, MessageID: "m0", At: at}}
		if err := db.FinishManyWith(ctx, fin, `UPDATE sms_sends SET reason = 'x' WHERE user_id = $1 AND local_date = $2 AND reason = 'nonesuch'`, keys[2].UserID, "none"); err != nil {
			t.Fatal(err)
		}
		if s, _ := q.Send(ctx, keys[0]); s.State != sms.Sent || s.MessageID != "m0" {
			t.Errorf("after FinishManyWith: %+v", s)
		}
		fin = []sms.Final{{Key: keys[2], JobID: 102, State: sms.Sent, MessageID: "m2", At: at}}
		if err := db.FinishManyWith(ctx, fin, `UPDATE no_such_table SET x = 1`); err == nil {
			t.Error("a failing statement was not reported")
		}
		if s, _ := q.Send(ctx, keys[2]); s.State.Final() {
			t.Errorf("outcome committed without its statement: %+v", s)
		}
	})
}

func TestGroupStoreUnderConcurrency(t *testing.T) {
	eachDB(t, func(t *testing.T, db *smsstore.DB) {
		ctx := context.Background()
		const n = 40
		keys := seed(t, db, n)
		st := smsstore.NewGroupStore(db, 16, 10*time.Second)
		var wg sync.WaitGroup
		errs := make(chan error, 2*n)
		// Two jobs race for every reminder: exactly one wins each.
		var mu sync.Mutex
		wins := map[sms.Key]int{}
		for i, k := range keys {
			for j := range 2 {
				wg.Go(func() {
					job := int64(1000*j + i + 1)
					s, u, err := st.Claim(ctx, k, job, t0, t0.Add(time.Minute))
					if errors.Is(err, sms.ErrLeased) {
						return
					}
					if err != nil {
						errs <- err
						return
					}
					if s.UserID != k.UserID || u.ID != k.UserID {
						errs <- fmt.Errorf("claimed %s for %s", s.UserID, k.UserID)
					}
					if err := st.Intent(ctx, sms.Intent{Key: k, JobID: job, At: t0.Add(time.Second)}); err != nil {
						errs <- err
					}
					mu.Lock()
					wins[k]++
					mu.Unlock()
				})
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		for _, k := range keys {
			if wins[k] != 1 {
				t.Errorf("%s leased %d times, want once", k.UserID, wins[k])
			}
		}
		// The intent is refused without the lease.
		if err := st.Intent(ctx, sms.Intent{Key: keys[0], JobID: 424242, At: t0}); !errors.Is(err, sms.ErrLeased) {
			t.Errorf("intent without a lease: %v", err)
		}
		if _, _, err := st.Claim(ctx, sms.Key{UserID: "nobody", Date: day}, 1, t0, t0); !errors.Is(err, sms.ErrNoSend) {
			t.Errorf("claim of a missing reminder: %v", err)
		}
	})
}

func TestGroupBatchesConcurrentCalls(t *testing.T) {
	var mu sync.Mutex
	var sizes []int
	release := make(chan struct{})
	g := &smsstore.Group[int, int]{Max: 8, Exec: func(_ context.Context, reqs []int) ([]int, error) {
		mu.Lock()
		sizes = append(sizes, len(reqs))
		first := len(sizes) == 1
		mu.Unlock()
		if first {
			<-release // hold the first batch while the others queue up
		}
		out := make([]int, len(reqs))
		for i, r := range reqs {
			out[i] = r * 2
		}
		return out, nil
	}}
	var wg sync.WaitGroup
	results := make([]int, 20)
	wg.Go(func() { results[0], _ = g.Do(context.Background(), 0) })
	for {
		mu.Lock()
		started := len(sizes) == 1
		mu.Unlock()
		if started {
			break
		}
		time.Sleep(time.Millisecond)
	}
	for i := 1; i < 20; i++ {
		wg.Go(func() {
			v, err := g.Do(context.Background(), i)
			if err != nil {
				t.Error(err)
			}
			results[i] = v
		})
	}
	time.Sleep(50 * time.Millisecond) // let the 19 calls queue behind the first batch
	close(release)
	wg.Wait()
	for i, v := range results {
		if v != 2*i {
			t.Errorf("call %d got %d", i, v)
		}
	}
	total := 0
	for _, s := range sizes {
		if s > 8 {
			t.Errorf("a batch of %d exceeds Max 8", s)
		}
		total += s
	}
	if total != 20 || len(sizes) > 4 {
		t.Errorf("batches %v: want 20 calls in at most 4 batches", sizes)
	}
	failing := &smsstore.Group[int, int]{Exec: func(context.Context, []int) ([]int, error) { return nil, errors.New("boom") }}
	if _, err := failing.Do(context.Background(), 1); err == nil || err.Error() != "boom" {
		t.Errorf("error not passed on: %v", err)
	}
}

func TestGroupRunsParallelBatchesAndSurvivesAPanic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		running, most := 0, 0
		var sizes []int
		g := &smsstore.Group[int, int]{Max: 5, Parallel: 2, Exec: func(_ context.Context, reqs []int) ([]int, error) {
			mu.Lock()
			running++
			most = max(most, running)
			sizes = append(sizes, len(reqs))
			mu.Unlock()
			time.Sleep(10 * time.Millisecond) // a database round trip
			mu.Lock()
			running--
			mu.Unlock()
			if slices.Contains(reqs, 13) {
				panic("bad request")
			}
			return reqs, nil
		}}
		var wg sync.WaitGroup
		errs := make([]error, 30)
		for i := range 30 {
			wg.Go(func() {
				v, err := g.Do(context.Background(), i)
				if err == nil && v != i {
					t.Errorf("call %d got %d", i, v)
				}
				errs[i] = err
			})
			if i%3 == 0 {
				time.Sleep(time.Millisecond)
			}
		}
		wg.Wait()
		if most != 2 {
			t.Errorf("at most %d batches ran at once, want 2", most)
		}
		failed := 0
		for _, err := range errs {
			if err != nil {
				failed++
			}
		}
		if errs[13] == nil || failed > 5 {
			t.Errorf("errors %v: want call 13's batch (at most 5 calls) to fail", errs)
		}
		// The group still works after the panic.
		if v, err := g.Do(context.Background(), 40); err != nil || v != 40 {
			t.Errorf("after a panic: %d, %v", v, err)
		}
		total := 0
		for _, n := range sizes {
			total += n
		}
		if total != 31 {
			t.Errorf("batches %v carried %d calls, want 31", sizes, total)
		}
	})
}

func TestOpenRejectsUnknownScheme(t *testing.T) {
	_, err := smsstore.Open(context.Background(), "mysql://x/y", t.TempDir())
	if err == nil || err.Error() != `database URL: expected postgres://, postgresql:// or sqlite://PATH, got scheme "mysql"` {
		t.Errorf("err = %v", err)
	}
}
