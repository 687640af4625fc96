package smsqueue_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/owlstack/owl/internal/logging"
	"github.com/owlstack/owl/internal/pgtest"
	"github.com/owlstack/owl/internal/sms"
	"github.com/owlstack/owl/internal/sms/smsqueue"
	"github.com/owlstack/owl/internal/sms/smsstore"
)

func eachDB(t *testing.T, fn func(t *testing.T, db *smsstore.DB)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, open(t, filepath.Join(t.TempDir(), "sms.db"))) })
	t.Run("postgres", func(t *testing.T) { fn(t, open(t, pgtest.NewDatabase(t))) })
}

func open(t *testing.T, url string) *smsstore.DB {
	t.Helper()
	db, err := smsstore.Open(context.Background(), url, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

// tonight is a date whose batch is under way: owl's clock reads 23:30 in
// Asia/Shanghai on it.
func tonight() (sms.Date, func() time.Time) {
	bj, _ := sms.LoadZone("")
	d := sms.DateOf(time.Now(), bj)
	offset := time.Until(sms.ReminderTime(d, bj).Add(30 * time.Minute))
	return d, func() time.Time { return time.Now().Add(offset) }
}

// users stores n users of Asia/Shanghai, every third one active today
// (not eligible); their "ciphertext" is the plaintext number, which the
// fake decrypter returns.
func users(t *testing.T, db *smsstore.DB, n int, d sms.Date) (eligible int) {
	t.Helper()
	bj, _ := sms.LoadZone("")
	ctx := context.Background()
	err := db.InTx(ctx, func(tx *smsstore.Tx) error {
		for i := range n {
			last := d.AddDays(-1).Start(bj).Add(10 * time.Hour)
			if i%3 == 2 {
				last = d.Start(bj).Add(10 * time.Hour)
			} else {
				eligible++
			}
			u := sms.User{ID: fmt.Sprintf("u%03d", i), PhoneCiphertext: fmt.Appendf(nil, "+86138%08d", i), PhoneIndex: []byte{byte(i)},
				TimeZone: sms.DefaultTimeZone, StreakDays: 4, LastActiveAt: last}
			if err := tx.UpsertUser(ctx, u, 1, time.Now()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return eligible
}

type plainPhones struct{}

func (plainPhones) DecryptPhone(ct []byte, _ string) (string, error) { return string(ct), nil }

// ledger is a provider that records what it accepts.
type ledger struct {
	mu   sync.Mutex
	sent map[string]int
}

func (l *ledger) Send(_ context.Context, m sms.Message) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sent[m.To]++
	return "id-" + m.Ref, nil
}

func (l *ledger) Lookup(_ context.Context, m sms.Message) (string, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return "id-" + m.Ref, l.sent[m.To] > 0, nil
}

func TestEnqueueIsIdempotentAndDryRunWritesNothing(t *testing.T) {
	eachDB(t, func(t *testing.T, db *smsstore.DB) {
		ctx := context.Background()
		d, now := tonight()
		want := users(t, db, 30, d)
		q, err := smsqueue.New(db, nil, smsqueue.Config{PageSize: 7, Now: now, Log: logging.Discard()})
		if err != nil {
			t.Fatal(err)
		}
		dry, err := q.EnqueueDate(ctx, d, true)
		if err != nil {
			t.Fatal(err)
		}
		if dry.Eligible != want || dry.Enqueued != 0 || dry.Skipped[sms.SkipActiveToday] != 30-want {
			t.Errorf("dry run %+v, want %d eligible", dry, want)
		}
		if r, _ := db.Q().Report(ctx, d); r.Eligible != 0 {
			t.Errorf("a dry run wrote reminders: %+v", r)
		}
		sel, err := q.EnqueueDate(ctx, d, false)
		if err != nil {
			t.Fatal(err)
		}
		if sel.Eligible != want || sel.Enqueued != want {
			t.Errorf("selection %+v, want %d enqueued", sel, want)
		}
		again, err := q.EnqueueDate(ctx, d, false)
		if err != nil {
			t.Fatal(err)
		}
		if again.Eligible != want || again.Enqueued != 0 {
			t.Errorf("second selection %+v: want nothing enqueued again", again)
		}
		r, err := db.Q().Report(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		if r.Eligible != want || r.InFlight != want || r.Skipped[sms.SkipActiveToday] != 30-want {
			t.Errorf("report %+v", r)
		}
		if ok, _ := db.Q().BatchSelected(ctx, d, sms.DefaultTimeZone); !ok {
			t.Error("the zone's batch is not recorded as selected")
		}
		stale, err := db.Q().Stale(ctx, now().Add(time.Hour), now().Add(time.Hour), 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range stale {
			if s.JobID == 0 {
				t.Errorf("reminder of %s has no job", s.UserID)
			}
		}
		if len(stale) != want {
			t.Errorf("%d reminders in flight, want %d", len(stale), want)
		}
	})
}

// batchLedger is a ledger that also takes batches.
type batchLedger struct {
	ledger
	calls, batched int
}

func (l *batchLedger) MaxBatch() int { return 5 }

func (l *batchLedger) SendBatch(_ context.Context, ref string, ms []sms.Message) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls++
	l.batched += len(ms)
	for _, m := range ms {
		l.sent[m.To]++
	}
	return "batch-" + ref, nil
}

// unfinishedJobs counts the reminder jobs River does not hold as completed.
func unfinishedJobs(t *testing.T, db *smsstore.DB) int {
	t.Helper()
	const q = `SELECT COUNT(*) FROM river_job WHERE kind = 'owl_sms_reminder' AND state <> 'completed'`
	var n int
	var err error
	if db.Pool != nil {
		err = db.Pool.QueryRow(context.Background(), q).Scan(&n)
	} else {
		err = db.SQL.QueryRow(q).Scan(&n)
	}
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestWorkersSendEachReminderOnce(t *testing.T) {
	for _, batched := range []bool{false, true} {
		t.Run(fmt.Sprintf("batched=%v", batched), func(t *testing.T) { testWorkers(t, batched) })
	}
}

func testWorkers(t *testing.T, batched bool) {
	eachDB(t, func(t *testing.T, db *smsstore.DB) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		d, now := tonight()
		want := users(t, db, 60, d)
		bl := &batchLedger{ledger: ledger{sent: map[string]int{}}}
		l := &bl.ledger
		var provider sms.Provider = l
		if batched {
			provider = bl
		}
		sender := &sms.Sender{Store: smsstore.NewGroupStore(db, 8, 5*time.Second), Phones: plainPhones{}, Provider: provider,
			Log: logging.Discard(), Now: now, Lease: 3 * time.Second, LookupDelay: 10 * time.Millisecond, MaxInlineWait: time.Second,
			BatchSize: 100, BatchLinger: 20 * time.Millisecond}
		q, err := smsqueue.New(db, sender, smsqueue.Config{Workers: 8, JobTimeout: 2 * time.Second, StuckAfter: 5 * time.Second,
			PollInterval: 20 * time.Millisecond, FetchCooldown: 5 * time.Millisecond, Now: now, Log: logging.Discard()})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := q.EnqueueDate(ctx, d, false); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- q.Run(ctx) }()
		deadline := time.Now().Add(30 * time.Second)
		var r *sms.Report
		for {
			if r, err = db.Q().Report(ctx, d); err != nil {
				t.Fatal(err)
			}
			if r.Done() || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if r.Sent != want || !r.Done() {
			t.Fatalf("report %+v, want %d sent", r, want)
		}
		if len(l.sent) != want {
			t.Errorf("provider got %d numbers, want %d", len(l.sent), want)
		}
		for to, n := range l.sent {
			if n != 1 {
				t.Errorf("%d messages to one number (%d digits)", n, len(to))
			}
		}
		// Nothing is left for the rescue: every job completed with its outcome.
		if n, err := q.Rescue(context.Background()); err != nil || n != 0 {
			t.Errorf("Rescue = %d, %v", n, err)
		}
		if n := unfinishedJobs(t, db); n != 0 {
			t.Errorf("%d reminder jobs are not completed", n)
		}
		if batched && (bl.batched != want || bl.calls >= want) {
			t.Errorf("%d messages in %d batch calls; want all %d, in fewer calls", bl.batched, bl.calls, want)
		}
		if !batched && bl.calls != 0 {
			t.Errorf("%d batch calls, want none", bl.calls)
		}
	})
}
