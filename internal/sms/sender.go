package sms

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"
)

// ErrLeased reports that another job holds the lease of a reminder.
var ErrLeased = errors.New("reminder is being worked by another job")

// ErrNoSend reports a job whose reminder row does not exist.
var ErrNoSend = errors.New("no such reminder")

// SendStore is what the Sender needs of the database. Every method commits
// before it returns.
type SendStore interface {
	// Claim leases the reminder k to jobID until until, unless another job
	// holds an unexpired lease (ErrLeased), and returns the reminder and its
	// user.
	Claim(ctx context.Context, k Key, jobID int64, now, until time.Time) (Send, User, error)
	// Intent records that a provider call is about to be made for a
	// reminder whose lease in.JobID holds: state Pending, one more attempt,
	// and the call's reference. Without the lease it fails with ErrLeased.
	Intent(ctx context.Context, in Intent) error
	// Intents records many intents in one write and reports, for each,
	// whether it was recorded (its job still held the lease).
	Intents(ctx context.Context, ins []Intent) ([]bool, error)
	// Release gives up jobID's lease on k, leaving its state as it is.
	Release(ctx context.Context, k Key, jobID int64) error
	// OptOut marks the user as opted out.
	OptOut(ctx context.Context, userID string, now time.Time) error
}

// IntentClaimer is a SendStore that can record the intent of a reminder's
// first provider call together with its lease, in one write instead of
// two. The Sender uses it for batched sends.
type IntentClaimer interface {
	// ClaimIntent claims as Claim does and, when the reminder is queued,
	// records the intent of a provider call (Intent's Ref set, chosen by
	// the store); the Send is then the row as it was before, queued.
	ClaimIntent(ctx context.Context, k Key, jobID int64, now, until time.Time) (Send, User, Intent, error)
}

// Finisher records a final outcome and completes the reminder's job in one
// transaction.
type Finisher func(ctx context.Context, f Final) error

// Decrypter opens a stored phone number; userID is the associated data.
type Decrypter interface {
	DecryptPhone(ciphertext []byte, userID string) (string, error)
}

// Limiter paces provider calls (golang.org/x/time/rate.Limiter).
type Limiter interface {
	Wait(ctx context.Context) error
}

// Crash points the Sender announces to its Hook: the places where a crash
// is most dangerous for exactly-once delivery.
const (
	PointBeforeSend  = "before_send"  // intent committed, provider not yet called
	PointAfterAccept = "after_accept" // provider accepted, outcome not yet committed
	PointAfterCommit = "after_commit" // outcome and job completion committed
)

// Sender works reminders, each in its own call of Work: it decides, sends
// at most once, and records the outcome. It is safe for concurrent use, and
// with a BatchProvider it gathers the sends of concurrent calls into batch
// calls of the provider.
type Sender struct {
	Store    SendStore
	Phones   Decrypter
	Provider Provider
	// Limiter paces provider calls; nil means no limit.
	Limiter Limiter
	Log     *slog.Logger
	Metrics *Metrics
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Lease is how long a job may hold a reminder; it must exceed the
	// job timeout.
	Lease time.Duration
	// LookupDelay is how long after a provider call its records can be
	// trusted to show the message: an unclear outcome is looked up only
	// after it.
	LookupDelay time.Duration
	// MaxInlineWait is the longest wait for LookupDelay that a job spends
	// in place; a longer one snoozes the job.
	MaxInlineWait time.Duration
	// RunTimeout, when above 0, bounds the provider calls of one Work as
	// the reminder's deadline does, with the same timer.
	RunTimeout time.Duration
	// Backoff bounds the waits between retries of a throttled call.
	BackoffBase, BackoffMax time.Duration
	// Hook, when set, is called at each crash point (tests).
	Hook func(point string)
	// CPU measures the process CPU time spent on reminders.
	CPU *CPUMeter
	// BatchSize, when above 1 and the Provider is a BatchProvider, gathers
	// the sends of up to that many concurrent reminders into one provider
	// call; BatchLinger is the longest a send waits for its group to fill.
	BatchSize   int
	BatchLinger time.Duration

	zones     Zones
	batchOnce sync.Once
	batch     *batcher
}

// batcher returns the Sender's batcher, or nil when sends go one by one.
func (s *Sender) batcher() *batcher {
	s.batchOnce.Do(func() {
		bp, ok := s.Provider.(BatchProvider)
		if !ok || s.BatchSize < 2 {
			return
		}
		size := min(s.BatchSize, bp.MaxBatch())
		if size < 2 {
			return
		}
		linger := s.BatchLinger
		if linger <= 0 {
			linger = 5 * time.Millisecond
		}
		s.batch = &batcher{s: s, p: bp, max: size, linger: linger}
	})
	return s.batch
}

// Result tells the job queue what to do with the job after Work.
type Result struct {
	// Snooze, when positive, asks for the job to run again after it.
	Snooze time.Duration
	// Finished reports that the Finisher completed the job.
	Finished bool
}

func (s *Sender) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Sender) hook(p string) {
	if s.Hook != nil {
		s.Hook(p)
	}
}

// Work advances the reminder k, worked by job jobID with the deadline from
// its arguments. An error asks the queue to retry the job later; nothing was
// sent that is not recorded or findable by Lookup.
func (s *Sender) Work(ctx context.Context, k Key, jobID int64, deadline time.Time, finish Finisher) (Result, error) {
	s.CPU.Begin()
	res, err := s.work(ctx, k, jobID, deadline, func(ctx context.Context, f Final) error {
		f.CPU = s.CPU.End()
		s.Metrics.final(f)
		return finish(ctx, f)
	})
	if !res.Finished {
		s.CPU.End()
	}
	return res, err
}

func (s *Sender) work(ctx context.Context, k Key, jobID int64, deadline time.Time, finish Finisher) (Result, error) {
	now := s.now()
	batch := s.batcher()
	var send Send
	var user User
	// claimed is the intent that the lease recorded, if any.
	var claimed Intent
	var err error
	if ic, ok := s.Store.(IntentClaimer); ok && batch != nil {
		send, user, claimed, err = ic.ClaimIntent(ctx, k, jobID, now, now.Add(s.Lease))
	} else {
		send, user, err = s.Store.Claim(ctx, k, jobID, now, now.Add(s.Lease))
	}
	switch {
	case errors.Is(err, ErrLeased):
		return Result{Snooze: s.Lease / 4}, nil
	case errors.Is(err, ErrNoSend):
		// Nothing to do: the job outlived its row (deleted data).
		return Result{}, nil
	case err != nil:
		return Result{}, fmt.Errorf("claim reminder: %w", err)
	}
	if send.State.Final() {
		return Result{}, s.Store.Release(ctx, k, jobID)
	}
	if !send.Deadline.IsZero() {
		deadline = send.Deadline
	}
	final := func(state State, reason, id string) (Result, error) {
		err := finish(ctx, Final{Key: k, JobID: jobID, State: state, Reason: reason, MessageID: id, At: s.now()})
		if err != nil {
			return Result{}, fmt.Errorf("record outcome: %w", err)
		}
		s.hook(PointAfterCommit)
		return Result{Finished: true}, nil
	}

	loc, err := s.zones.Load(user.TimeZone)
	if err != nil {
		return final(Skipped, SkipBadZone, "")
	}
	if send.State == Queued {
		// The user may have practised or opted out since the batch chose them.
		if reason := Assess(user, k.Date, loc); reason != "" {
			return final(Skipped, reason, "")
		}
		if !now.Before(deadline) {
			return final(Skipped, SkipDeadline, "")
		}
	}
	phone, err := s.Phones.DecryptPhone(user.PhoneCiphertext, user.ID)
	if err != nil {
		s.Log.Warn("sms: phone number does not decrypt", "user", user.ID, "date", k.Date.String())
		return final(Failed, "decrypt", "")
	}
	m := Message{To: phone, UserID: k.UserID, Date: k.Date, StreakDays: user.StreakDays, Deadline: deadline}

	// The deadline is on owl's clock, which may be shifted; contexts run
	// on the real one.
	limit := deadline.Sub(s.now())
	if s.RunTimeout > 0 {
		limit = min(limit, s.RunTimeout)
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	intentAt := send.IntentAt
	// ref is what the latest provider call carried, to find it again;
	// empty means Ref(k.UserID, k.Date).
	ref := send.AttemptRef
	for attempt := 0; ; attempt++ {
		if send.State == Pending {
			// A previous attempt may have reached the provider: look before
			// sending again, once its records can be trusted.
			if wait := intentAt.Add(s.LookupDelay).Sub(s.now()); wait > 0 {
				if wait > s.MaxInlineWait {
					if err := s.Store.Release(context.WithoutCancel(ctx), k, jobID); err != nil {
						return Result{}, err
					}
					return Result{Snooze: wait}, nil
				}
				if err := sleep(ctx, wait); err != nil {
					return s.giveUp(ctx, k, jobID, deadline, final, "unknown_outcome")
				}
			}
			if ref == "" {
				ref = Ref(k.UserID, k.Date)
			}
			m.Ref = ref
			id, found, err := s.Provider.Lookup(ctx, m)
			s.Metrics.call("lookup", err)
			now := s.now()
			switch {
			case err != nil && !now.Before(deadline):
				return final(Failed, "unknown_outcome", "")
			case err != nil:
				_ = s.Store.Release(context.WithoutCancel(ctx), k, jobID)
				return Result{}, fmt.Errorf("look up earlier attempt: %w", err)
			case found:
				return final(Sent, "", id)
			case !now.Before(deadline):
				// Not sent, and too late now.
				return final(Failed, SkipDeadline, "")
			}
			if reason := Assess(user, k.Date, loc); reason != "" {
				return final(Skipped, reason, "")
			}
		}
		if s.Limiter != nil {
			if err := s.Limiter.Wait(ctx); err != nil {
				// The rate limit cannot let us through before the deadline.
				return s.giveUp(ctx, k, jobID, deadline, final, "rate_limited")
			}
		}
		var id string
		var err error
		batched := batch != nil
		if batched {
			c := &batchCall{in: Intent{Key: k, JobID: jobID}, m: m, deadline: deadline}
			if claimed.Ref != "" {
				// The first attempt's intent came with the lease.
				c.in, c.prerecorded, claimed = claimed, true, Intent{}
			}
			batch.send(c)
			switch {
			case c.storeErr != nil:
				return Result{}, fmt.Errorf("record intent: %w", c.storeErr)
			case !c.recorded:
				// The deadline passed while the group formed; nothing
				// was sent for this attempt, nor found for earlier ones.
				return final(Failed, SkipDeadline, "")
			}
			send.State, intentAt, ref = Pending, c.in.At, c.in.Ref
			id, err = c.id, c.err
			// A lone reminder's refusal is its own.
			batched = c.size > 1
		} else {
			intentAt, ref = s.now(), Ref(k.UserID, k.Date)
			if err := s.Store.Intent(ctx, Intent{Key: k, JobID: jobID, At: intentAt, Ref: ref}); err != nil {
				return Result{}, fmt.Errorf("record intent: %w", err)
			}
			send.State = Pending
			s.hook(PointBeforeSend)
			start := time.Now()
			m.Ref, m.Validity = ref, deadline.Sub(s.now())
			id, err = s.Provider.Send(ctx, m)
			s.Metrics.call("send", err)
			s.Metrics.observe(time.Since(start))
			if err == nil {
				s.hook(PointAfterAccept)
			}
		}
		if err == nil {
			return final(Sent, "", id)
		}
		pe := Classify(err)
		switch pe.Kind {
		case Rejected, OptedOut:
			if batched {
				// One number can refuse a whole batch call, and the
				// provider does not say which: nothing was accepted, so
				// each reminder now goes alone and meets its own answer.
				s.Log.Info("sms: provider refused a batch; sending its reminders one by one", "user", k.UserID, "date", k.Date.String(), "reason", pe.Reason, "code", pe.Code)
				batch, send.State = nil, Queued
				continue
			}
			if pe.Kind == OptedOut {
				if err := s.Store.OptOut(ctx, user.ID, s.now()); err != nil {
					return Result{}, fmt.Errorf("record opt-out: %w", err)
				}
				return final(Skipped, SkipOptedOut, "")
			}
			s.Log.Warn("sms: provider rejected a reminder", "user", k.UserID, "date", k.Date.String(), "reason", pe.Reason, "code", pe.Code)
			return final(Failed, pe.Reason, "")
		case Ambiguous:
			// Maybe sent: never resend before looking it up (next turn).
			s.Log.Info("sms: unclear provider outcome; will look it up", "user", k.UserID, "date", k.Date.String(), "reason", pe.Reason)
			if ctx.Err() != nil {
				return s.giveUp(ctx, k, jobID, deadline, final, "unknown_outcome")
			}
			continue
		}
		// Throttled: not accepted, safe to retry after a jittered backoff
		// that still ends before the deadline.
		wait := s.backoff(attempt, pe.RetryAfter)
		if !s.now().Add(wait).Before(deadline) {
			return final(Failed, pe.Reason, "")
		}
		if err := sleep(ctx, wait); err != nil {
			return s.giveUp(ctx, k, jobID, deadline, final, pe.Reason)
		}
		// Refused outright: nothing to look up before the next try.
		send.State = Queued
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// giveUp ends a reminder that cannot be sent before its deadline. When the
// job itself was stopped instead (shutdown, job timeout), it leaves the
// reminder for a later run.
func (s *Sender) giveUp(ctx context.Context, k Key, jobID int64, deadline time.Time, final func(State, string, string) (Result, error), reason string) (Result, error) {
	if ctx.Err() != nil && s.now().Before(deadline) {
		_ = s.Store.Release(context.WithoutCancel(ctx), k, jobID)
		return Result{}, fmt.Errorf("stopped while %s: %w", reason, context.Cause(ctx))
	}
	// Every attempt so far was refused outright, so nothing was sent.
	return final(Failed, reason, "")
}

func (s *Sender) backoff(attempt int, hint time.Duration) time.Duration {
	base, limit := s.BackoffBase, s.BackoffMax
	if base <= 0 {
		base = 200 * time.Millisecond
	}
	if limit <= 0 {
		limit = 30 * time.Second
	}
	d := base << min(attempt, 20)
	if d > limit || d <= 0 {
		d = limit
	}
	// Full jitter keeps a throttled fleet from retrying in step.
	d = d/2 + rand.N(d/2+1)
	return max(d, hint)
}
