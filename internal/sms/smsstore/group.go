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
// arrives while a batch is being executed waits for the next one, so that
// under load one statement serves many reminders, and a lone call runs at
// once. The first call of each batch executes it for all of them.
type Group[Req, Res any] struct {
	// Max is the largest batch.
	Max int
	// Timeout bounds one execution; it does not depend on any caller's
	// context, since the batch serves them all.
	Timeout time.Duration
	// Exec executes a batch and returns one result per request, in order,
	// or one error for all.
	Exec func(ctx context.Context, reqs []Req) ([]Res, error)

	mu      sync.Mutex
	pending []*groupCall[Req, Res]
	busy    bool
}

type groupCall[Req, Res any] struct {
	req  Req
	res  Res
	err  error
	lead bool
	wake chan struct{}
}

// Do runs req in the next batch and returns its result.
func (g *Group[Req, Res]) Do(ctx context.Context, req Req) (Res, error) {
	c := &groupCall[Req, Res]{req: req, wake: make(chan struct{})}
	g.mu.Lock()
	g.pending = append(g.pending, c)
	if g.busy {
		g.mu.Unlock()
		<-c.wake
		if !c.lead {
			return c.res, c.err
		}
		g.mu.Lock()
	}
	// c leads: it is the oldest pending call.
	g.busy = true
	n := min(len(g.pending), max(g.Max, 1))
	batch := append([]*groupCall[Req, Res](nil), g.pending[:n]...)
	g.pending = g.pending[n:]
	g.mu.Unlock()

	g.exec(ctx, batch)

	g.mu.Lock()
	if len(g.pending) > 0 {
		next := g.pending[0]
		next.lead = true
		close(next.wake)
	} else {
		g.busy = false
	}
	g.mu.Unlock()
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
	res, err := g.Exec(ctx, reqs)
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

// GroupStore is the sms.SendStore of a batch: the leases and intents that
// concurrent workers ask for are written in groups, one statement per
// group. It is safe for concurrent use.
type GroupStore struct {
	db      *DB
	claims  *Group[claimReq, claimRes]
	intents *Group[Lease, bool]
}

type claimReq struct {
	lease      Lease
	now, until time.Time
}

type claimRes struct {
	c   Claimed
	err error
}

// NewGroupStore returns a SendStore on db that groups up to max concurrent
// calls into one statement.
func NewGroupStore(db *DB, max int, timeout time.Duration) *GroupStore {
	s := &GroupStore{db: db}
	s.claims = &Group[claimReq, claimRes]{Max: max, Timeout: timeout, Exec: s.claimMany}
	s.intents = &Group[Lease, bool]{Max: max, Timeout: timeout, Exec: s.intentMany}
	return s
}

func (s *GroupStore) claimMany(ctx context.Context, reqs []claimReq) ([]claimRes, error) {
	ls := make([]Lease, len(reqs))
	for i, r := range reqs {
		ls[i] = r.lease
	}
	// One clock for the group: its calls arrived within moments.
	got, err := s.db.Q().ClaimMany(ctx, ls, reqs[0].now, reqs[0].until)
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

func (s *GroupStore) intentMany(ctx context.Context, ls []Lease) ([]bool, error) {
	got, err := s.db.Q().IntentMany(ctx, ls)
	if err != nil {
		return nil, err
	}
	out := make([]bool, len(ls))
	for i, l := range ls {
		out[i] = got[Lease{Key: l.Key, JobID: l.JobID}]
	}
	return out, nil
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

// Intent implements sms.SendStore. It fails with sms.ErrLeased when jobID
// lost its lease, so that nothing is sent without one.
func (s *GroupStore) Intent(ctx context.Context, k sms.Key, jobID int64, now time.Time) error {
	ok, err := s.intents.Do(ctx, Lease{Key: k, JobID: jobID, At: now})
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
