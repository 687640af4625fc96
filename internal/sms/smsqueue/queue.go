// Package smsqueue runs the SMS batch on River: the nightly selection per
// time zone, one job per reminder, the workers that send them through the
// sms.Sender, and owl's own rescue of reminders whose worker died. It works
// on PostgreSQL (riverpgxv5) and on SQLite (riversqlite, poll-only, one
// connection).
package smsqueue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/owlstack/owl/internal/sms"
	"github.com/owlstack/owl/internal/sms/smsstore"
)

// Queue names.
const (
	RemindersQueue = "sms_reminders"
	BatchesQueue   = "sms_batches"
)

// ReminderArgs are the arguments of the job that sends one reminder. They
// carry the user's local-midnight deadline, after which the reminder is
// never sent. They never carry the phone number.
type ReminderArgs struct {
	UserID   string    `json:"user_id" river:"unique"`
	Date     string    `json:"local_date" river:"unique"`
	Deadline time.Time `json:"deadline"`
	// Generation tells a job inserted by owl's rescue from the original.
	Generation int64 `json:"gen,omitempty" river:"unique"`
}

// Kind implements river.JobArgs.
func (ReminderArgs) Kind() string { return "owl_sms_reminder" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (ReminderArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: RemindersQueue, MaxAttempts: 25, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// BatchArgs are the arguments of the job that selects one zone's users for
// one local date and enqueues their reminders.
type BatchArgs struct {
	Zone string `json:"zone"`
	Date string `json:"local_date"`
}

// Kind implements river.JobArgs.
func (BatchArgs) Kind() string { return "owl_sms_batch" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (BatchArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: BatchesQueue, MaxAttempts: 10, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// Config tunes a Queue.
type Config struct {
	// Workers is how many reminders are worked at once.
	Workers int
	// JobTimeout bounds one run of a reminder job.
	JobTimeout time.Duration
	// StuckAfter is how long a reminder may stay in flight without change
	// and without a live lease before owl gives it a new job. It must
	// exceed JobTimeout plus the lease margin.
	StuckAfter time.Duration
	// RiverRescueAfter is River's own RescueStuckJobsAfter, a backstop.
	RiverRescueAfter time.Duration
	// PollInterval and FetchCooldown tune how often River fetches jobs.
	PollInterval  time.Duration
	FetchCooldown time.Duration
	// PageSize is how many users one selection transaction reads.
	PageSize int
	// Group is the most reminders whose leases, intents or outcomes one
	// database statement writes.
	Group int
	// Sweep is the longest wait between two looks at the schedule.
	Sweep time.Duration
	// Now is owl's clock; nil means time.Now.
	Now func() time.Time
	Log *slog.Logger
	// Metrics, when set, receives the batch counters.
	Metrics *sms.Metrics
}

func (c *Config) defaults() {
	if c.Workers <= 0 {
		c.Workers = 50
	}
	if c.JobTimeout <= 0 {
		c.JobTimeout = 30 * time.Second
	}
	if c.StuckAfter <= 0 {
		c.StuckAfter = 2*c.JobTimeout + 10*time.Second
	}
	if c.RiverRescueAfter <= c.JobTimeout {
		c.RiverRescueAfter = max(5*time.Minute, 2*c.JobTimeout)
	}
	if c.PollInterval <= 0 {
		c.PollInterval = time.Second
	}
	if c.FetchCooldown <= 0 {
		c.FetchCooldown = 20 * time.Millisecond
	}
	if c.PageSize <= 0 {
		c.PageSize = 1000
	}
	if c.Group <= 0 {
		c.Group = max(c.Workers, 1)
	}
	if c.Sweep <= 0 {
		c.Sweep = 15 * time.Minute
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
}

// Queue is the SMS batch's job system on one database.
type Queue struct {
	db     *smsstore.DB
	cfg    Config
	sender *sms.Sender
	eng    engine
}

// engine is the part of the queue that depends on the database driver.
type engine interface {
	start(ctx context.Context) error
	stop(ctx context.Context) error
	hardStop(ctx context.Context) error
	// insertReminders runs fn in a transaction and inserts, in the same
	// transaction, a job for each reminder fn returns, recording its id.
	insertReminders(ctx context.Context, fn func(*smsstore.Tx) ([]ReminderArgs, error)) error
	insertBatch(ctx context.Context, a BatchArgs) error
	// job reports a job's state and when its current attempt began.
	job(ctx context.Context, id int64) (state rivertype.JobState, attemptedAt time.Time, found bool, err error)
	// replace inserts a new job for a reminder whose job is gone or stuck,
	// unless another process did so since (the reminder's job id moved).
	replace(ctx context.Context, s sms.Send, a ReminderArgs) (bool, error)
}

// New builds a queue on db whose workers send through sender. The sender's
// Lease should be JobTimeout plus a margin, and below StuckAfter.
func New(db *smsstore.DB, sender *sms.Sender, cfg Config) (*Queue, error) {
	cfg.defaults()
	if sender != nil && sender.Lease >= cfg.StuckAfter {
		return nil, fmt.Errorf("sms queue: lease %s must be shorter than the stuck threshold %s", sender.Lease, cfg.StuckAfter)
	}
	q := &Queue{db: db, cfg: cfg, sender: sender}
	var err error
	switch db.Dialect {
	case smsstore.Postgres:
		q.eng, err = newPgxEngine(q)
	default:
		q.eng, err = newSQLiteEngine(q)
	}
	if err != nil {
		return nil, fmt.Errorf("sms queue: %w", err)
	}
	return q, nil
}

func (q *Queue) riverConfig(workers *river.Workers, pollOnly bool) *river.Config {
	queues := map[string]river.QueueConfig{BatchesQueue: {MaxWorkers: 1}}
	if q.sender != nil {
		queues[RemindersQueue] = river.QueueConfig{MaxWorkers: q.cfg.Workers}
	}
	return &river.Config{
		Queues:               queues,
		Workers:              workers,
		JobTimeout:           q.cfg.JobTimeout,
		RescueStuckJobsAfter: q.cfg.RiverRescueAfter,
		FetchPollInterval:    q.cfg.PollInterval,
		FetchCooldown:        q.cfg.FetchCooldown,
		PollOnly:             pollOnly,
		Logger:               q.cfg.Log.With("component", "river"),
		// Reminders must not be retried forever; a reminder's own deadline
		// ends it long before.
		MaxAttempts: 25,
		// A process without a sender enqueues reminders for others to work.
		SkipUnknownJobCheck: q.sender == nil,
	}
}

// Run works jobs until ctx ends, then stops River gracefully.
func (q *Queue) Run(ctx context.Context) error {
	if err := q.eng.start(ctx); err != nil {
		return fmt.Errorf("start River: %w", err)
	}
	<-ctx.Done()
	// A soft stop lets running reminders finish; the lease and the intent
	// row make a hard stop safe too.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
	defer cancel()
	err := q.eng.stop(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		hctx, hcancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer hcancel()
		err = q.eng.hardStop(hctx)
	}
	if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("stop River: %w", err)
	}
	return nil
}

// Start starts River's workers without blocking; Stop ends them.
func (q *Queue) Start(ctx context.Context) error { return q.eng.start(ctx) }

// Stop stops River, letting running jobs finish within ctx.
func (q *Queue) Stop(ctx context.Context) error { return q.eng.stop(ctx) }

// Selection is what selecting one zone's users for a date found.
type Selection struct {
	Eligible int
	Enqueued int
	Skipped  map[string]int
}

// EnqueueZone selects the users of zone whose streak is at risk on date d
// and enqueues one reminder job each, page by page, each page in one
// transaction with its reminder rows; reminders that exist already are
// left alone. With dryRun it only counts. It records the zone's counts for
// the report.
func (q *Queue) EnqueueZone(ctx context.Context, zone string, d sms.Date, dryRun bool) (Selection, error) {
	sel := Selection{Skipped: map[string]int{}}
	loc, zoneErr := sms.LoadZone(zone)
	var deadline time.Time
	if zoneErr == nil {
		deadline = sms.Deadline(d, loc)
	}
	after := ""
	for {
		var n int
		err := q.eng.insertReminders(ctx, func(tx *smsstore.Tx) ([]ReminderArgs, error) {
			page, err := tx.UsersPage(ctx, zone, d, after, q.cfg.PageSize)
			if err != nil {
				return nil, err
			}
			n = len(page)
			if n > 0 {
				after = page[n-1].ID
			}
			now := q.cfg.Now()
			var sends []sms.Send
			for _, c := range page {
				switch {
				case c.HasSend:
					sel.Eligible++
					continue
				case zoneErr != nil:
					sel.Skipped[sms.SkipBadZone]++
					continue
				}
				if r := sms.Assess(c.User, d, loc); r != "" {
					sel.Skipped[r]++
					continue
				}
				if !now.Before(deadline) {
					sel.Skipped[sms.SkipDeadline]++
					continue
				}
				sel.Eligible++
				sends = append(sends, sms.Send{Key: sms.Key{UserID: c.ID, Date: d}, Zone: zone, Deadline: deadline})
			}
			if dryRun || len(sends) == 0 {
				return nil, nil
			}
			keys, err := tx.InsertSends(ctx, sends, now)
			if err != nil {
				return nil, err
			}
			args := make([]ReminderArgs, len(keys))
			for i, k := range keys {
				// In UTC, the form that workers decode quickest.
				args[i] = ReminderArgs{UserID: k.UserID, Date: d.String(), Deadline: deadline.UTC()}
			}
			sel.Enqueued += len(args)
			return args, nil
		})
		if err != nil {
			return sel, fmt.Errorf("select %s users for %s: %w", zone, d, err)
		}
		if n < q.cfg.PageSize {
			break
		}
	}
	if dryRun {
		return sel, nil
	}
	q.cfg.Metrics.Enqueued(sel.Enqueued)
	for r, n := range sel.Skipped {
		q.cfg.Metrics.Passed(r, n)
	}
	err := q.db.InTx(ctx, func(tx *smsstore.Tx) error {
		return tx.RecordBatch(ctx, d, zone, sel.Eligible, sel.Skipped, q.cfg.Now())
	})
	return sel, err
}

// EnqueueDate runs EnqueueZone for every zone among the users.
func (q *Queue) EnqueueDate(ctx context.Context, d sms.Date, dryRun bool) (Selection, error) {
	zones, err := q.db.Q().Zones(ctx)
	if err != nil {
		return Selection{}, err
	}
	total := Selection{Skipped: map[string]int{}}
	for _, z := range zones {
		s, err := q.EnqueueZone(ctx, z, d, dryRun)
		if err != nil {
			return total, err
		}
		total.Eligible += s.Eligible
		total.Enqueued += s.Enqueued
		for k, v := range s.Skipped {
			total.Skipped[k] += v
		}
	}
	return total, nil
}

// RunSchedule starts each zone's batch at 23:00 local time (owl's clock):
// it wakes at the next 23:00 of any zone, and at least every Sweep, and
// enqueues a batch job for every zone whose night has begun and whose batch
// was not selected yet. Its first look, at start, is the catch-up after a
// process was down at 23:00. Batch jobs are unique per zone and date, so
// any number of processes may run the schedule.
func (q *Queue) RunSchedule(ctx context.Context) error {
	for {
		now := q.cfg.Now()
		next := now.Add(q.cfg.Sweep)
		zones, err := q.db.Q().Zones(ctx)
		if err != nil {
			q.cfg.Log.Warn("sms: schedule could not list zones", "err", err)
		}
		for _, z := range zones {
			loc, err := sms.LoadZone(z)
			if err != nil {
				continue
			}
			d := sms.DateOf(now, loc)
			if !now.Before(sms.ReminderTime(d, loc)) && now.Before(sms.Deadline(d, loc)) {
				done, err := q.db.Q().BatchSelected(ctx, d, z)
				if err != nil {
					q.cfg.Log.Warn("sms: schedule could not read batches", "err", err)
				} else if !done {
					if err := q.eng.insertBatch(ctx, BatchArgs{Zone: z, Date: d.String()}); err != nil {
						q.cfg.Log.Warn("sms: schedule could not enqueue a batch", "zone", z, "err", err)
					} else {
						q.cfg.Log.Info("sms: batch started", "zone", z, "date", d.String())
					}
				}
			}
			if n := (sms.DailyAt{Loc: loc}).Next(now); n.Before(next) {
				next = n
			}
		}
		t := time.NewTimer(max(next.Sub(now), 10*time.Millisecond))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// RunRescue looks for reminders whose worker died every StuckAfter/4 until
// ctx ends.
func (q *Queue) RunRescue(ctx context.Context) error {
	t := time.NewTicker(max(q.cfg.StuckAfter/4, 50*time.Millisecond))
	defer t.Stop()
	for {
		if _, err := q.Rescue(ctx); err != nil && ctx.Err() == nil {
			q.cfg.Log.Warn("sms: rescue failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Rescue gives a new job to every in-flight reminder without a live lease
// whose job is gone, finished, or running for longer than StuckAfter (its
// worker died). It returns how many it rescued. River alone would wait an
// hour, and ignores finished jobs.
func (q *Queue) Rescue(ctx context.Context) (int, error) {
	now := q.cfg.Now()
	cutoff := now.Add(-q.cfg.StuckAfter)
	stale, err := q.db.Q().Stale(ctx, now, cutoff, 200)
	if err != nil {
		return 0, err
	}
	rescued := 0
	for _, s := range stale {
		state, attempted, found, err := q.eng.job(ctx, s.JobID)
		if err != nil {
			return rescued, err
		}
		dead := !found || s.JobID == 0
		switch state {
		case rivertype.JobStateCompleted, rivertype.JobStateCancelled, rivertype.JobStateDiscarded:
			dead = true
		case rivertype.JobStateRunning:
			// Real time: River stamps attempts with the real clock.
			dead = dead || time.Since(attempted) > q.cfg.StuckAfter
		}
		if !dead {
			q.cfg.Log.Debug("sms: reminder in flight has a live job", "user", s.UserID, "job", s.JobID, "state", string(state), "attempted_at", attempted)
			if err := q.db.Q().Touch(ctx, s.Key, now); err != nil {
				return rescued, err
			}
			continue
		}
		ok, err := q.eng.replace(ctx, s, ReminderArgs{UserID: s.UserID, Date: s.Date.String(), Deadline: s.Deadline.UTC(), Generation: time.Now().UnixNano()})
		if err != nil {
			return rescued, err
		}
		if ok {
			rescued++
			q.cfg.Log.Info("sms: reminder rescued from a dead worker", "user", s.UserID, "date", s.Date.String(), "old_job", s.JobID)
		}
	}
	return rescued, nil
}
