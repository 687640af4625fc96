package smsqueue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivertype"

	"github.com/owlstack/owl/internal/sms"
	"github.com/owlstack/owl/internal/sms/smsstore"
)

// riverEngine is the engine for one River driver.
type riverEngine[TD riverdriver.Driver[TTx], TTx any] struct {
	q      *Queue
	client *river.Client[TTx]
	inTx   func(ctx context.Context, fn func(tx TTx) error) error
	wrap   func(tx TTx) *smsstore.Tx
	// finish records outcomes and completes their jobs, a group of
	// reminders per transaction.
	finish *smsstore.Group[sms.Final, struct{}]
	// finishJobs, when set, records outcomes and completes their jobs
	// itself; nil means in a transaction, with River's driver completing
	// the jobs.
	finishJobs func(ctx context.Context, fs []sms.Final, ids []int64, at time.Time) error
}

func newPgxEngine(q *Queue) (engine, error) {
	e := &riverEngine[*riverpgxv5.Driver, pgx.Tx]{
		q:    q,
		wrap: q.db.PgxTx,
		inTx: func(ctx context.Context, fn func(pgx.Tx) error) error {
			return pgx.BeginFunc(ctx, q.db.Pool, fn)
		},
	}
	e.finishJobs = func(ctx context.Context, fs []sms.Final, ids []int64, at time.Time) error {
		return q.db.FinishManyWith(ctx, fs, completeJobs, ids, at)
	}
	return e, e.init(riverpgxv5.New(q.db.Pool), false)
}

func newSQLiteEngine(q *Queue) (engine, error) {
	e := &riverEngine[*riversqlite.Driver, *sql.Tx]{
		q:    q,
		wrap: q.db.SQLTx,
		inTx: func(ctx context.Context, fn func(*sql.Tx) error) error {
			tx, err := q.db.SQL.BeginTx(ctx, nil)
			if err != nil {
				return err
			}
			// A no-op after Commit; when fn failed, its error is the one to report.
			defer func() { _ = tx.Rollback() }()
			if err := fn(tx); err != nil {
				return err
			}
			return tx.Commit()
		},
	}
	// SQLite has no LISTEN/NOTIFY: River polls.
	return e, e.init(riversqlite.New(q.db.SQL), true)
}

func (e *riverEngine[TD, TTx]) init(driver TD, pollOnly bool) error {
	e.finish = &smsstore.Group[sms.Final, struct{}]{Max: e.q.cfg.Group, Parallel: smsstore.GroupParallel, Timeout: e.q.cfg.JobTimeout, Exec: e.finishMany}
	workers := river.NewWorkers()
	if e.q.sender != nil {
		if err := river.AddWorkerSafely(workers, &reminderWorker[TD, TTx]{e: e}); err != nil {
			return err
		}
	}
	if err := river.AddWorkerSafely(workers, &batchWorker[TD, TTx]{e: e}); err != nil {
		return err
	}
	c, err := river.NewClient(driver, e.q.riverConfig(workers, pollOnly))
	if err != nil {
		return err
	}
	e.client = c
	return nil
}

func (e *riverEngine[TD, TTx]) start(ctx context.Context) error { return e.client.Start(ctx) }

func (e *riverEngine[TD, TTx]) stop(ctx context.Context) error { return e.client.Stop(ctx) }

func (e *riverEngine[TD, TTx]) hardStop(ctx context.Context) error {
	return e.client.StopAndCancel(ctx)
}

func (e *riverEngine[TD, TTx]) insertReminders(ctx context.Context, fn func(*smsstore.Tx) ([]ReminderArgs, error)) error {
	return e.inTx(ctx, func(tx TTx) error {
		st := e.wrap(tx)
		args, err := fn(st)
		if err != nil || len(args) == 0 {
			return err
		}
		params := make([]river.InsertManyParams, len(args))
		for i, a := range args {
			params[i] = river.InsertManyParams{Args: a}
		}
		res, err := e.client.InsertManyTx(ctx, tx, params)
		if err != nil {
			return fmt.Errorf("insert jobs: %w", err)
		}
		jobs := make([]smsstore.Lease, len(res))
		for i, r := range res {
			d, err := sms.ParseDate(args[i].Date)
			if err != nil {
				return err
			}
			jobs[i] = smsstore.Lease{Key: sms.Key{UserID: args[i].UserID, Date: d}, JobID: r.Job.ID}
		}
		return st.SetJobs(ctx, jobs)
	})
}

// completeJobs marks running jobs completed: what River's JobCompleteTx
// writes for a job (state and finalized_at; a completed job keeps its
// uniqueness), for a whole group in one light statement. River's own
// JobSetStateIfRunningMany would do it too, at the cost of returning and
// decoding every job row.
const completeJobs = `UPDATE river_job SET state = 'completed', finalized_at = $2 WHERE id = ANY($1::bigint[]) AND state = 'running'`

// finishMany records the outcomes of a group of reminders and completes
// their jobs, in one transaction: River's JobCompleteTx for many jobs at
// once. A job whose outcome is committed is complete, and the other way
// round.
func (e *riverEngine[TD, TTx]) finishMany(ctx context.Context, fs []sms.Final) ([]struct{}, error) {
	now := time.Now().UTC()
	if e.finishJobs != nil {
		ids := make([]int64, len(fs))
		for i, f := range fs {
			ids[i] = f.JobID
		}
		if err := e.finishJobs(ctx, fs, ids, now); err != nil {
			return nil, err
		}
		return make([]struct{}, len(fs)), nil
	}
	p := &riverdriver.JobSetStateIfRunningManyParams{}
	for _, f := range fs {
		c := riverdriver.JobSetStateCompleted(f.JobID, now, nil)
		p.ID = append(p.ID, c.ID)
		p.Attempt = append(p.Attempt, c.Attempt)
		p.ErrData = append(p.ErrData, c.ErrData)
		p.FinalizedAt = append(p.FinalizedAt, c.FinalizedAt)
		p.MetadataDoMerge = append(p.MetadataDoMerge, c.MetadataDoMerge)
		p.MetadataUpdates = append(p.MetadataUpdates, c.MetadataUpdates)
		p.ScheduledAt = append(p.ScheduledAt, c.ScheduledAt)
		p.State = append(p.State, c.State)
	}
	err := e.inTx(ctx, func(tx TTx) error {
		if _, err := e.wrap(tx).FinishMany(ctx, fs); err != nil {
			return err
		}
		if _, err := e.client.Driver().UnwrapExecutor(tx).JobSetStateIfRunningMany(ctx, p); err != nil {
			return fmt.Errorf("complete jobs: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return make([]struct{}, len(fs)), nil
}

func (e *riverEngine[TD, TTx]) insertBatch(ctx context.Context, a BatchArgs) error {
	_, err := e.client.Insert(ctx, a, nil)
	return err
}

func (e *riverEngine[TD, TTx]) job(ctx context.Context, id int64) (rivertype.JobState, time.Time, bool, error) {
	if id == 0 {
		return "", time.Time{}, false, nil
	}
	j, err := e.client.JobGet(ctx, id)
	if errors.Is(err, river.ErrNotFound) {
		return "", time.Time{}, false, nil
	}
	if err != nil {
		return "", time.Time{}, false, fmt.Errorf("get job %d: %w", id, err)
	}
	var at time.Time
	if j.AttemptedAt != nil {
		at = *j.AttemptedAt
	}
	return j.State, at, true, nil
}

func (e *riverEngine[TD, TTx]) replace(ctx context.Context, s sms.Send, a ReminderArgs) (bool, error) {
	moved := false
	err := e.inTx(ctx, func(tx TTx) error {
		res, err := e.client.InsertTx(ctx, tx, a, nil)
		if err != nil {
			return fmt.Errorf("insert job: %w", err)
		}
		ok, err := e.wrap(tx).MoveJob(ctx, s.Key, s.JobID, res.Job.ID)
		if err != nil {
			return err
		}
		if !ok {
			return errLost
		}
		moved = true
		return nil
	})
	if errors.Is(err, errLost) {
		return false, nil
	}
	return moved, err
}

var errLost = errors.New("another process rescued the reminder first")

// reminderWorker works one reminder job.
type reminderWorker[TD riverdriver.Driver[TTx], TTx any] struct {
	river.WorkerDefaults[ReminderArgs]
	e *riverEngine[TD, TTx]
}

// Timeout turns River's own timeout off for reminders: Work bounds its run
// by JobTimeout itself. With a timeout, River also starts a goroutine and
// two timers per job to watch for stuck jobs, a tenth of the worker's CPU
// in a batch of cheap jobs; owl's rescue already covers stuck reminders.
func (w *reminderWorker[TD, TTx]) Timeout(*river.Job[ReminderArgs]) time.Duration { return -1 }

// Work sends the reminder through the Sender, recording its outcome in the
// transaction that completes the job. One run lasts at most JobTimeout
// (the sender's RunTimeout, when it is no longer, bounds it with the same
// timer as the reminder's deadline); the lease outlasts it.
func (w *reminderWorker[TD, TTx]) Work(ctx context.Context, job *river.Job[ReminderArgs]) error {
	if rt := w.e.q.sender.RunTimeout; rt <= 0 || rt > w.e.q.cfg.JobTimeout {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, w.e.q.cfg.JobTimeout)
		defer cancel()
	}
	d, err := sms.ParseDate(job.Args.Date)
	if err != nil {
		return river.JobCancel(fmt.Errorf("reminder job %d: %w", job.ID, err))
	}
	k := sms.Key{UserID: job.Args.UserID, Date: d}
	res, err := w.e.q.sender.Work(ctx, k, job.ID, job.Args.Deadline, func(ctx context.Context, f sms.Final) error {
		_, err := w.e.finish.Do(ctx, f)
		return err
	})
	switch {
	case err != nil:
		return err
	case res.Snooze > 0:
		return river.JobSnooze(res.Snooze)
	}
	return nil
}

// batchWorker selects one zone's users and enqueues their reminders.
type batchWorker[TD riverdriver.Driver[TTx], TTx any] struct {
	river.WorkerDefaults[BatchArgs]
	e *riverEngine[TD, TTx]
}

// Timeout allows a selection of millions of users.
func (w *batchWorker[TD, TTx]) Timeout(*river.Job[BatchArgs]) time.Duration { return time.Hour }

// Work selects and enqueues.
func (w *batchWorker[TD, TTx]) Work(ctx context.Context, job *river.Job[BatchArgs]) error {
	d, err := sms.ParseDate(job.Args.Date)
	if err != nil {
		return river.JobCancel(err)
	}
	sel, err := w.e.q.EnqueueZone(ctx, job.Args.Zone, d, false)
	if err != nil {
		return err
	}
	w.e.q.cfg.Log.Info("sms: batch selected", "zone", job.Args.Zone, "date", job.Args.Date, "eligible", sel.Eligible, "enqueued", sel.Enqueued)
	return nil
}
