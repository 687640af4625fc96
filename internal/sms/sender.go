package sms

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
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
	// Intent records that a provider call for k is about to be made: state
	// Pending, one more attempt.
	Intent(ctx context.Context, k Key, jobID int64, now time.Time) error
	// Release gives up jobID's lease on k, leaving its state as it is.
	Release(ctx context.Context, k Key, jobID int64) error
	// OptOut marks the user as opted out.
	OptOut(ctx context.Context, userID string, now time.Time) error
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

// Sender works one reminder at a time: it decides, sends at most once, and
// records the outcome. It is safe for concurrent use.
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
	// Backoff bounds the waits between retries of a throttled call.
	BackoffBase, BackoffMax time.Duration
	// Hook, when set, is called at each crash point (tests).
	Hook func(point string)
	// CPU measures the process CPU time spent on reminders.
	CPU *CPUMeter

	zones Zones
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
	send, user, err := s.Store.Claim(ctx, k, jobID, now, now.Add(s.Lease))
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
	m := Message{To: phone, Ref: Ref(k.UserID, k.Date), UserID: k.UserID, Date: k.Date, StreakDays: user.StreakDays, Deadline: deadline}

	// The deadline is on owl's clock, which may be shifted; contexts run
	// on the real one.
	ctx, cancel := context.WithTimeout(ctx, deadline.Sub(s.now()))
	defer cancel()
	intentAt := send.IntentAt
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
		intentAt = s.now()
		if err := s.Store.Intent(ctx, k, jobID, intentAt); err != nil {
			return Result{}, fmt.Errorf("record intent: %w", err)
		}
		send.State = Pending
		s.hook(PointBeforeSend)
		start := time.Now()
		m.Validity = deadline.Sub(s.now())
		id, err := s.Provider.Send(ctx, m)
		s.Metrics.call("send", err)
		s.Metrics.observe(time.Since(start))
		if err == nil {
			s.hook(PointAfterAccept)
			return final(Sent, "", id)
		}
		pe := Classify(err)
		switch pe.Kind {
		case Rejected:
			s.Log.Warn("sms: provider rejected a reminder", "user", k.UserID, "date", k.Date.String(), "reason", pe.Reason, "code", pe.Code)
			return final(Failed, pe.Reason, "")
		case OptedOut:
			if err := s.Store.OptOut(ctx, user.ID, s.now()); err != nil {
				return Result{}, fmt.Errorf("record opt-out: %w", err)
			}
			return final(Skipped, SkipOptedOut, "")
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
