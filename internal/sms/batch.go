package sms

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// BatchProvider is a Provider that can also hand many reminders over in one
// call (Alibaba Cloud's SendBatchSms).
type BatchProvider interface {
	Provider
	// SendBatch hands ms over in one call that carries the reference ref
	// and returns the provider's id of the call. The call succeeds or fails
	// as a whole: an error means that none of ms was accepted (Throttled,
	// Rejected, OptedOut) or that it is unclear whether they all were
	// (Ambiguous).
	SendBatch(ctx context.Context, ref string, ms []Message) (id string, err error)
	// MaxBatch is the most messages one call may carry.
	MaxBatch() int
}

// batcher gathers the sends of concurrent reminders into provider calls of
// up to max messages: a group leaves when it is full or linger after its
// first message, whichever comes first, and several groups may be in
// flight at once. Each group commits the intents of all its reminders in
// one statement before the call, under one reference, unless their
// leases recorded them already (IntentClaimer): those go in groups of
// their own reference.
type batcher struct {
	s      *Sender
	p      BatchProvider
	max    int
	linger time.Duration

	mu sync.Mutex
	// open holds the group that is filling up for each reference; ""
	// for calls whose intents the group is to record.
	open map[string]*sendGroup
}

type sendGroup struct {
	ref   string
	calls []*batchCall
	timer *time.Timer
}

// batchCall is one reminder's place in a group.
type batchCall struct {
	in       Intent
	m        Message
	deadline time.Time
	// prerecorded: in (At and Ref) was committed with the lease.
	prerecorded bool
	done        chan struct{}

	// Set by the group before done is closed.
	size     int   // reminders in the provider call
	recorded bool  // the intent was committed (At, Ref set) and the call made
	storeErr error // the intents could not be recorded
	id       string
	err      error // the provider's answer
}

// send adds c to the open group of its reference and waits for the
// group's outcome. The wait does not end with ctx: the group's call serves
// every member, and it is bounded by the earliest deadline and the
// provider's timeout.
func (b *batcher) send(c *batchCall) {
	c.done = make(chan struct{})
	ref := ""
	if c.prerecorded {
		ref = c.in.Ref
	}
	b.mu.Lock()
	if b.open == nil {
		b.open = map[string]*sendGroup{}
	}
	g := b.open[ref]
	if g == nil {
		g = &sendGroup{ref: ref, calls: make([]*batchCall, 0, b.max)}
		b.open[ref] = g
		g.timer = time.AfterFunc(b.linger, func() { b.flush(g) })
	}
	g.calls = append(g.calls, c)
	full := len(g.calls) >= b.max
	if full {
		delete(b.open, ref)
		g.timer.Stop()
	}
	b.mu.Unlock()
	if full {
		b.exec(g)
	}
	<-c.done
}

// flush sends g when its linger is over, unless it left full already.
func (b *batcher) flush(g *sendGroup) {
	b.mu.Lock()
	if b.open[g.ref] != g {
		b.mu.Unlock()
		return
	}
	delete(b.open, g.ref)
	b.mu.Unlock()
	b.exec(g)
}

// BatchRef is a new reference for provider calls that carry many
// reminders: random, so that a search of the provider's records by number
// and reference finds exactly the call that carried that number.
func BatchRef() string {
	return fmt.Sprintf("owlb%016x%08x", rand.Uint64(), rand.Uint32())
}

// exec records the intents of g's reminders, makes the call and hands each
// member its outcome.
func (b *batcher) exec(g *sendGroup) {
	s := b.s
	defer func() {
		for _, c := range g.calls {
			close(c.done)
		}
	}()
	now := s.now()
	ref := g.ref
	if ref == "" {
		ref = BatchRef()
	}
	live := make([]*batchCall, 0, len(g.calls))
	var earliest time.Time
	for _, c := range g.calls {
		if !now.Before(c.deadline) {
			continue // too late: never sent
		}
		if !c.prerecorded {
			c.in.At, c.in.Ref = now, ref
		}
		live = append(live, c)
		if earliest.IsZero() || c.deadline.Before(earliest) {
			earliest = c.deadline
		}
	}
	if len(live) == 0 {
		return
	}
	sendable := live
	if g.ref == "" {
		ins := make([]Intent, len(live))
		for i, c := range live {
			ins[i] = c.in
		}
		sctx, scancel := context.WithTimeout(context.Background(), max(s.Lease, time.Second))
		ok, err := s.Store.Intents(sctx, ins)
		scancel()
		if err != nil {
			for _, c := range live {
				c.storeErr = err
			}
			return
		}
		sendable = live[:0]
		for i, c := range live {
			if !ok[i] {
				c.storeErr = ErrLeased
				continue
			}
			sendable = append(sendable, c)
		}
		if len(sendable) == 0 {
			return
		}
	}
	for _, c := range sendable {
		c.recorded = true
	}
	ms := make([]Message, len(sendable))
	for i, c := range sendable {
		c.m.Ref = ref
		c.m.Validity = c.deadline.Sub(now)
		ms[i] = c.m
		c.size = len(sendable)
		// Crash points stay per reminder, as on the one-by-one path.
		s.hook(PointBeforeSend)
	}
	// No message may go out after its deadline: the call ends at the
	// group's earliest one (owl's clock may be shifted; contexts run on
	// the real one).
	ctx, cancel := context.WithTimeout(context.Background(), earliest.Sub(s.now()))
	defer cancel()
	start := time.Now()
	id, err := b.p.SendBatch(ctx, ref, ms)
	s.Metrics.call("send_batch", err)
	s.Metrics.observe(time.Since(start))
	s.Metrics.batchSize(len(ms))
	for _, c := range sendable {
		c.id, c.err = id, err
		if err == nil {
			s.hook(PointAfterAccept)
		}
	}
}
