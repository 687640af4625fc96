package smsstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/owlstack/owl/internal/sms"
)

// Group runs concurrent calls in batches (group commit): a call that
// arrives while Parallel batches are being executed waits for a later one,
// so that under load one statement serves many reminders, and a lone call
// runs at once. The first call of each batch executes it for all of them.
type Group[Req, Res any] struct {
	// Max is the largest batch.
	Max int
	// Parallel is how many batches may be executed at once; 0 means 1.
	// More than one keeps a slow database round trip from holding up every
	// caller.
	Parallel int
	// Timeout bounds one execution; it does not depend on any caller's
	// context, since the batch serves them all.
	Timeout time.Duration
	// Exec executes a batch and returns one result per request, in order,
	// or one error for all.
	Exec func(ctx context.Context, reqs []Req) ([]Res, error)

	mu      sync.Mutex
	pending []*groupCall[Req, Res]
	running int
}

type groupCall[Req, Res any] struct {
	req Req
	res Res
	err error
	// batch is set, before wake is closed, on the call that is to lead
	// it; the other calls are woken when their result is in.
	batch []*groupCall[Req, Res]
	wake  chan struct{}
}

// take removes the next batch from the pending calls.
func (g *Group[Req, Res]) take() []*groupCall[Req, Res] {
	n := min(len(g.pending), max(g.Max, 1))
	batch := append([]*groupCall[Req, Res](nil), g.pending[:n]...)
	g.pending = g.pending[n:]
	return batch
}

// Do runs req in the next batch and returns its result.
func (g *Group[Req, Res]) Do(ctx context.Context, req Req) (Res, error) {
	c := &groupCall[Req, Res]{req: req, wake: make(chan struct{})}
	g.mu.Lock()
	g.pending = append(g.pending, c)
	var batch []*groupCall[Req, Res]
	if g.running < max(g.Parallel, 1) {
		// Nobody waits while a slot is free, so c is the only pending call.
		g.running++
		batch = g.take()
		g.mu.Unlock()
	} else {
		g.mu.Unlock()
		<-c.wake
		if c.batch == nil {
			return c.res, c.err
		}
		batch = c.batch
	}
	g.exec(ctx, batch)

	// Hand the slot to the oldest waiting call, with its batch.
	g.mu.Lock()
	if len(g.pending) == 0 {
		g.running--
		g.mu.Unlock()
		return c.res, c.err
	}
	next := g.take()
	g.mu.Unlock()
	next[0].batch = next
	close(next[0].wake)
	return c.res, c.err
}

func (g *Group[Req, Res]) exec(ctx context.Context, batch []*groupCall[Req, Res]) {
	timeout := g.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	reqs := make([]Req, len(batch))
	for i, c := range batch {
		reqs[i] = c.req
	}
	res, err := g.run(ctx, reqs)
	if err == nil && len(res) != len(reqs) {
		err = fmt.Errorf("batch of %d got %d results", len(reqs), len(res))
	}
	for i, c := range batch {
		if err != nil {
			c.err = err
		} else {
			c.res = res[i]
		}
		if i > 0 { // batch[0] is the leader, which is not waiting
			close(c.wake)
		}
	}
}

// run calls Exec; a panic becomes every caller's error rather than leaving
// them all waiting forever.
func (g *Group[Req, Res]) run(ctx context.Context, reqs []Req) (res []Res, err error) {
	defer func() {
		if r := recover(); r != nil {
			res, err = nil, fmt.Errorf("batch of %d panicked: %v", len(reqs), r)
		}
	}()
	return g.Exec(ctx, reqs)
}

// GroupStore is the sms.SendStore of a batch: the leases and intents that
// concurrent workers ask for are written in groups, one statement per
// group. It is safe for concurrent use.
type GroupStore struct {
	db      *DB
	claims  *Group[claimReq, claimRes]
	intents *Group[sms.Intent, bool]
	// claimIntents lease and record intents in one statement per group.
	claimIntents *Group[claimReq, claimRes]

	refMu   sync.Mutex
	ref     string
	refUsed int
}

// refSpan is how many intents recorded with their leases share one
// reference. The batcher gathers reminders of one reference into a
// provider call, so a reference must span several groups of leases for
// the calls to fill up; a number's records are searched by number and
// reference, and a number has one reminder a night.
const refSpan = 1000

// intentRef returns the reference for n more intents.
func (s *GroupStore) intentRef(n int) string {
	s.refMu.Lock()
	defer s.refMu.Unlock()
	if s.ref == "" || s.refUsed >= refSpan {
		s.ref, s.refUsed = sms.BatchRef(), 0
	}
	s.refUsed += n
	return s.ref
}

type claimReq struct {
	lease      Lease
	now, until time.Time
}

type claimRes struct {
	c   Claimed
	err error
}

// GroupParallel is how many statements of one kind the batch runs at once.
const GroupParallel = 2

// NewGroupStore returns a SendStore on db that groups up to max concurrent
// calls into one statement.
func NewGroupStore(db *DB, max int, timeout time.Duration) *GroupStore {
	s := &GroupStore{db: db}
	s.claims = &Group[claimReq, claimRes]{Max: max, Parallel: GroupParallel, Timeout: timeout, Exec: func(ctx context.Context, reqs []claimReq) ([]claimRes, error) {
		return s.claimMany(ctx, reqs, "")
	}}
	// One group shares one reference, so that a reference never covers
	// more than refSpan reminders.
	s.claimIntents = &Group[claimReq, claimRes]{Max: min(max, refSpan), Parallel: GroupParallel, Timeout: timeout, Exec: func(ctx context.Context, reqs []claimReq) ([]claimRes, error) {
		return s.claimMany(ctx, reqs, s.intentRef(len(reqs)))
	}}
	s.intents = &Group[sms.Intent, bool]{Max: max, Parallel: GroupParallel, Timeout: timeout, Exec: s.Intents}
	return s
}

// claimMany leases the reminders of reqs and, with a ref, records their
// intents under it.
func (s *GroupStore) claimMany(ctx context.Context, reqs []claimReq, ref string) ([]claimRes, error) {
	ls := make([]Lease, len(reqs))
	for i, r := range reqs {
		ls[i] = r.lease
	}
	// One clock for the group: its calls arrived within moments.
	got, err := s.db.Q().claimMany(ctx, ls, reqs[0].now, reqs[0].until, ref)
	if err != nil {
		return nil, err
	}
	out := make([]claimRes, len(reqs))
	for i, l := range ls {
		c, ok := got[l]
		if ok {
			out[i] = claimRes{c: c}
			continue
		}
		// Lost to another job, or gone: rare, so asked one by one.
		if _, err := s.db.Q().Send(ctx, l.Key); err != nil {
			out[i] = claimRes{err: err}
		} else {
			out[i] = claimRes{err: sms.ErrLeased}
		}
	}
	return out, nil
}

// ClaimIntent implements sms.IntentClaimer, grouping concurrent calls: a
// group's intents carry one reference.
func (s *GroupStore) ClaimIntent(ctx context.Context, k sms.Key, jobID int64, now, until time.Time) (sms.Send, sms.User, sms.Intent, error) {
	r, err := s.claimIntents.Do(ctx, claimReq{lease: Lease{Key: k, JobID: jobID}, now: now, until: until})
	if err == nil {
		err = r.err
	}
	if err != nil && !errors.Is(err, sms.ErrLeased) && !errors.Is(err, sms.ErrNoSend) {
		return sms.Send{}, sms.User{}, sms.Intent{}, fmt.Errorf("lease reminder: %w", err)
	}
	return r.c.Send, r.c.User, r.c.Intent, err
}

// Intents implements sms.SendStore: one statement for all of ins.
func (s *GroupStore) Intents(ctx context.Context, ins []sms.Intent) ([]bool, error) {
	return s.db.Q().IntentMany(ctx, ins)
}

// Claim implements sms.SendStore.
func (s *GroupStore) Claim(ctx context.Context, k sms.Key, jobID int64, now, until time.Time) (sms.Send, sms.User, error) {
	r, err := s.claims.Do(ctx, claimReq{lease: Lease{Key: k, JobID: jobID}, now: now, until: until})
	if err == nil {
		err = r.err
	}
	if err != nil && !errors.Is(err, sms.ErrLeased) && !errors.Is(err, sms.ErrNoSend) {
		return sms.Send{}, sms.User{}, fmt.Errorf("lease reminder: %w", err)
	}
	return r.c.Send, r.c.User, err
}

// Intent implements sms.SendStore, grouping concurrent calls. It fails
// with sms.ErrLeased when the job lost its lease, so that nothing is sent
// without one.
func (s *GroupStore) Intent(ctx context.Context, in sms.Intent) error {
	ok, err := s.intents.Do(ctx, in)
	switch {
	case err != nil:
		return err
	case !ok:
		return sms.ErrLeased
	}
	return nil
}

// Release implements sms.SendStore.
func (s *GroupStore) Release(ctx context.Context, k sms.Key, jobID int64) error {
	return s.db.Q().Release(ctx, k, jobID)
}

// OptOut implements sms.SendStore.
func (s *GroupStore) OptOut(ctx context.Context, userID string, now time.Time) error {
	return s.db.Q().OptOut(ctx, userID, now)
}
