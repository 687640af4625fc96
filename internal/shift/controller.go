package shift

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/owlstack/owl/internal/shift/analysis"
)

// Store keeps shifts, their history, operator requests and leases
// (internal/shift/shiftstore implements it on SQLite and PostgreSQL).
type Store interface {
	List(ctx context.Context) ([]*Shift, error)
	Get(ctx context.Context, name string) (*Shift, error)
	Acquire(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (Lease, error)
	Release(ctx context.Context, l Lease) error
	// Save writes sh and appends events, atomically, only while l is the
	// shift's current lease at sh.UpdatedAt (else ErrLeaseLost).
	Save(ctx context.Context, l Lease, sh *Shift, events []Event) error
	Requests(ctx context.Context, name string, after int64) ([]Request, error)
}

// Options configures a Controller.
type Options struct {
	// Plane returns the data plane of a spec; Source its metrics source.
	Plane  func(*Spec) (DataPlane, error)
	Source func(*Spec) (analysis.Source, error)
	// Holder names this controller in leases (e.g. host:pid).
	Holder string
	// Tick is the time between two passes over the shifts (default 2s).
	Tick time.Duration
	// LeaseTTL is how long a lease lasts without renewal (default 30s).
	LeaseTTL time.Duration
	// Client sends gate webhooks (default: a client with no global state).
	Client *http.Client
	// Now is the clock (default time.Now).
	Now     func() time.Time
	Log     *slog.Logger
	Metrics *Metrics
}

// Controller drives every active shift in a store, one tick at a time:
// it moves weight step by step, verifies it, holds and analyses each step,
// promotes or rolls back, and applies operator requests. Every decision is
// saved before the data plane is touched, so a controller stopped at any
// point is resumed by the next one at the same step.
type Controller struct {
	store Store
	opt   Options

	mu     sync.Mutex
	leases map[string]Lease
	planes map[string]DataPlane
	srcs   map[string]analysis.Source
}

// NewController returns a controller over store.
func NewController(store Store, opt Options) *Controller {
	if opt.Tick <= 0 {
		opt.Tick = 2 * time.Second
	}
	if opt.LeaseTTL <= 0 {
		opt.LeaseTTL = 30 * time.Second
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.Client == nil {
		opt.Client = &http.Client{Timeout: 30 * time.Second}
	}
	if opt.Holder == "" {
		opt.Holder = "controller"
	}
	return &Controller{store: store, opt: opt, leases: map[string]Lease{}, planes: map[string]DataPlane{}, srcs: map[string]analysis.Source{}}
}

// Run ticks until ctx ends, then releases the leases it holds so that
// another controller can take over at once.
func (c *Controller) Run(ctx context.Context) error {
	t := time.NewTicker(c.opt.Tick)
	defer t.Stop()
	defer c.releaseAll(context.WithoutCancel(ctx))
	for {
		c.Tick(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (c *Controller) releaseAll(ctx context.Context) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for name, l := range c.leases {
		if err := c.store.Release(ctx, l); err != nil {
			c.opt.Log.Warn("release lease", "shift", name, "err", err)
		}
		delete(c.leases, name)
	}
}

// Tick makes one pass over the active shifts.
func (c *Controller) Tick(ctx context.Context) {
	shifts, err := c.store.List(ctx)
	if err != nil {
		if ctx.Err() == nil {
			c.opt.Log.Error("list shifts", "err", err)
		}
		return
	}
	for _, sh := range shifts {
		if ctx.Err() != nil {
			return
		}
		if sh.State.Final() {
			c.forget(ctx, sh.Name)
			continue
		}
		if err := c.drive(ctx, sh.Name); err != nil && ctx.Err() == nil {
			c.opt.Log.Warn("drive shift", "shift", sh.Name, "err", err)
		}
	}
}

func (c *Controller) forget(ctx context.Context, name string) {
	c.mu.Lock()
	l, ok := c.leases[name]
	delete(c.leases, name)
	delete(c.planes, name)
	delete(c.srcs, name)
	c.mu.Unlock()
	if ok {
		_ = c.store.Release(ctx, l) // it expires anyway
	}
}

// run is one shift's pass: its lease, its stored state, and what the
// controller learns and does while driving it.
type run struct {
	c      *Controller
	ctx    context.Context
	lease  Lease
	sh     *Shift
	plane  DataPlane
	now    time.Time
	events []Event
}

func (c *Controller) drive(ctx context.Context, name string) error {
	now := c.opt.Now()
	lease, err := c.store.Acquire(ctx, name, c.opt.Holder, now, c.opt.LeaseTTL)
	if errors.Is(err, ErrLeaseHeld) {
		c.mu.Lock()
		delete(c.leases, name)
		c.mu.Unlock()
		return nil // another controller drives it
	}
	if err != nil {
		return err
	}
	c.mu.Lock()
	prev, had := c.leases[name]
	c.leases[name] = lease
	c.mu.Unlock()
	if !had || prev.Fence != lease.Fence {
		c.opt.Log.Info("shift lease acquired", "shift", name, "fence", lease.Fence)
	}
	sh, err := c.store.Get(ctx, name)
	if err != nil {
		return err
	}
	if sh.State.Final() {
		return nil
	}
	plane, err := c.plane(sh)
	if err != nil {
		return c.hold(&run{c: c, ctx: ctx, lease: lease, sh: sh, now: now}, "data plane unavailable: "+err.Error())
	}
	r := &run{c: c, ctx: ctx, lease: lease, sh: sh, plane: plane, now: now}
	err = r.step()
	if errors.Is(err, ErrLeaseLost) || errors.Is(err, ErrStaleFence) {
		c.mu.Lock()
		delete(c.leases, name)
		c.mu.Unlock()
		c.opt.Log.Warn("shift lease lost: another controller drives it now", "shift", name, "fence", lease.Fence)
		return nil
	}
	return err
}

func (c *Controller) plane(sh *Shift) (DataPlane, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, ok := c.planes[sh.Name]; ok {
		return p, nil
	}
	if c.opt.Plane == nil {
		return nil, errors.New("no data plane configured")
	}
	p, err := c.opt.Plane(&sh.Spec)
	if err != nil {
		return nil, err
	}
	c.planes[sh.Name] = p
	return p, nil
}

func (c *Controller) source(sh *Shift) (analysis.Source, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.srcs[sh.Name]; ok {
		return s, nil
	}
	if c.opt.Source == nil {
		return nil, errors.New("no metrics source configured")
	}
	s, err := c.opt.Source(&sh.Spec)
	if err != nil {
		return nil, err
	}
	c.srcs[sh.Name] = s
	return s, nil
}

// save persists the shift and the events gathered so far.
func (r *run) save() error {
	r.sh.UpdatedAt = r.now
	err := r.c.store.Save(r.ctx, r.lease, r.sh, r.events)
	if err == nil {
		r.c.opt.Metrics.observe(r.sh, r.events)
		r.events = nil
	}
	return err
}

func (r *run) event(kind, reason string, detail any) {
	e := Event{At: r.now, Kind: kind, State: r.sh.State, Step: r.sh.Step, Split: r.sh.Split, Reason: reason}
	if r.sh.Intent != nil {
		e.Split = r.sh.Intent.Split
	}
	if detail != nil {
		e.Detail, _ = json.Marshal(detail)
	}
	r.events = append(r.events, e)
}

// transition moves the shift to state with a reason, as an event.
func (r *run) transition(state State, reason string) {
	from := r.sh.State
	r.sh.State, r.sh.Reason = state, reason
	r.event(EventTransition, reason, nil)
	log := r.c.opt.Log.Info
	if state == RollingBack || state == RolledBack {
		log = r.c.opt.Log.Warn
	}
	log("shift transition", "shift", r.sh.Name, "from", string(from), "to", string(state), "step", r.sh.Step+1, "split", r.sh.Split.String(), "reason", reason)
}

// hold records why a shift without a usable data plane waits.
func (c *Controller) hold(r *run, reason string) error {
	return r.hold(reason)
}

// hold keeps the shift where it is with a reason, recorded in history when
// the reason changes, and rolls back a step that waited too long.

func (r *run) hold(reason string) error {
	sh := r.sh
	if sh.State == Progressing || sh.State == Pending || sh.State == Promoting {
		start := sh.StepStarted
		if start.IsZero() {
			start = sh.CreatedAt
		}
		waited := r.now.Sub(start) - sh.PausedTotal
		if waited > sh.Spec.StepTimeout && r.plane != nil {
			return r.startRollback(fmt.Sprintf("step %d timed out after %s: %s", sh.Step+1, sh.Spec.StepTimeout, reason), false)
		}
	}
	if sh.Reason == reason {
		return nil
	}
	sh.Reason = reason
	r.event(EventHold, reason, nil)
	r.c.opt.Log.Info("shift holds", "shift", sh.Name, "state", string(sh.State), "step", sh.Step+1, "reason", reason)
	return r.save()
}

// step advances the shift by what this tick allows.
func (r *run) step() error {
	sh := r.sh
	// A weight write in flight finishes before anything else.
	if sh.Intent != nil {
		return r.apply()
	}
	if err := r.requests(); err != nil {
		return err
	}
	switch sh.State {
	case Pending:
		return r.moveTo(0, Promoting, "")
	case Promoting:
		// Saved without an intent only if the write finished: go on holding.
		r.transition(Progressing, "")
		return r.save()
	case Progressing:
		if ok, err := r.readBack(); !ok || err != nil {
			return err
		}
		return r.analyse()
	case Paused:
		_, err := r.readBack()
		return err
	case RollingBack:
		if ok, err := r.readBack(); !ok || err != nil {
			return err
		}
		if r.now.Sub(sh.StepStarted) < sh.Spec.Rollback.Hold {
			return nil
		}
		return r.rollbackStep()
	}
	return nil
}

// requests applies the operator requests queued since the last one applied.
func (r *run) requests() error {
	reqs, err := r.c.store.Requests(r.ctx, r.sh.Name, r.sh.Request)
	if err != nil || len(reqs) == 0 {
		return err
	}
	for _, q := range reqs {
		r.sh.Request = q.ID
		if err := r.apply1(q); err != nil {
			return err
		}
		if r.sh.Intent != nil || r.sh.State.Final() {
			break // a weight write was decided: make it first
		}
	}
	return r.save()
}

func (r *run) apply1(q Request) error {
	sh := r.sh
	by := ""
	if q.By != "" {
		by = " by " + q.By
	}
	ignore := func(why string) {
		r.event(EventRequest, fmt.Sprintf("%s%s ignored: %s", q.Command, by, why), nil)
	}
	r.event(EventRequest, string(q.Command)+by, nil)
	switch q.Command {
	case CmdPause:
		if sh.State != Pending && sh.State != Progressing {
			ignore("only a pending or progressing shift can pause (state " + string(sh.State) + ")")
			return nil
		}
		sh.PausedAt, sh.ResumePromotes = r.now, false
		r.transition(Paused, "paused"+by)
	case CmdResume:
		if sh.State != Paused {
			ignore("not paused (state " + string(sh.State) + ")")
			return nil
		}
		sh.PausedTotal += r.now.Sub(sh.PausedAt)
		if sh.ResumePromotes {
			sh.ResumePromotes = false
			return r.promote("resumed" + by)
		}
		if sh.Step < 0 {
			r.transition(Pending, "resumed"+by)
		} else {
			sh.LastAnalysis = time.Time{}
			r.transition(Progressing, "resumed"+by)
		}
	case CmdPromote:
		if sh.State != Progressing && sh.State != Paused && sh.State != Pending {
			ignore("only a pending, progressing or paused shift can be promoted (state " + string(sh.State) + ")")
			return nil
		}
		if sh.State == Paused {
			sh.PausedTotal += r.now.Sub(sh.PausedAt)
		}
		sh.ResumePromotes = false
		return r.promoteNow("promoted" + by)
	case CmdAbort:
		return r.startRollback("aborted"+by, true)
	}
	return nil
}

// moveTo decides to move the To side's share to step i: it checks the
// To side's capacity, then saves the intent before writing it.
func (r *run) moveTo(i int, state State, reason string) error {
	sh := r.sh
	want := Split{ToBP: sh.Spec.StepBP(i)}
	if ok, err := r.capacity(To); !ok || err != nil {
		return err
	}
	sh.Step = i
	sh.Intent = &Intent{Split: want, Fence: r.lease.Fence, At: r.now}
	if reason == "" {
		reason = fmt.Sprintf("step %d of %d: %s", i+1, len(sh.Spec.Steps), want)
	}
	r.transition(state, reason)
	if err := r.save(); err != nil {
		return err
	}
	return r.apply()
}

// capacity reports whether the side about to gain weight can take it,
// holding the shift when it cannot.
func (r *run) capacity(side Side) (bool, error) {
	capa, err := r.plane.Capacity(r.ctx, side)
	name := r.sh.Spec.From.Name
	if side == To {
		name = r.sh.Spec.To.Name
	}
	if err != nil {
		return false, r.hold(fmt.Sprintf("capacity of %s side %s unknown: %v", side, name, err))
	}
	if !capa.Healthy() {
		return false, r.hold(fmt.Sprintf("%s side %s not ready: %d of %d replicas ready", side, name, capa.Ready, capa.Desired))
	}
	return true, nil
}

// maxRepairs bounds the rewrites of one tick when read-backs disagree.
const maxRepairs = 3

// apply writes the saved intent, reads it back (rewriting on a mismatch),
// and records the verified split.
func (r *run) apply() error {
	sh := r.sh
	want := sh.Intent.Split
	var got Split
	for attempt := 0; ; attempt++ {
		if err := r.plane.SetWeights(r.ctx, want, r.lease.Fence); err != nil {
			if errors.Is(err, ErrStaleFence) {
				return err
			}
			return r.hold(fmt.Sprintf("data plane write of %s failed: %v", want, err))
		}
		var err error
		got, err = r.plane.ReadWeights(r.ctx)
		if err != nil {
			return r.hold(fmt.Sprintf("data plane read-back failed: %v", err))
		}
		if r.matches(got, want) {
			break
		}
		r.mismatch(got, want)
		if attempt+1 >= maxRepairs {
			return r.save() // keep the intent: next tick writes again
		}
	}
	sh.Intent = nil
	sh.Split = got
	sh.StepStarted, sh.LastAnalysis, sh.PausedTotal = r.now, time.Time{}, 0
	// A data plane whose changes take effect later (Route 53: INSYNC, then
	// resolvers' TTL) says when; the step's window starts there.
	if s, ok := r.plane.(interface{ SettleTime() time.Time }); ok {
		if at := s.SettleTime(); at.After(r.now) {
			sh.StepStarted = at
		}
	}
	switch {
	case sh.State == RollingBack && want.ToBP == 0:
		if sh.Abort {
			r.transition(Aborted, sh.Reason)
		} else {
			r.transition(RolledBack, sh.Reason)
		}
	case sh.State == RollingBack:
		r.event(EventTransition, fmt.Sprintf("stepped back to %s", want), nil)
	case sh.State == Paused:
		r.event(EventTransition, fmt.Sprintf("repaired weights at %s while paused", want), nil)
	case want.ToBP == FullBP:
		r.transition(Succeeded, fmt.Sprintf("all traffic on %s", sh.Spec.To.Name))
	default:
		r.transition(Progressing, fmt.Sprintf("step %d of %d at %s verified", sh.Step+1, len(sh.Spec.Steps), want))
	}
	return r.save()
}

func (r *run) matches(got, want Split) bool {
	res := max(r.plane.Resolution(), 1)
	return abs(got.ToBP-want.ToBP) <= res
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func (r *run) mismatch(got, want Split) {
	r.sh.Mismatches++
	reason := fmt.Sprintf("read-back %s differs from written %s: rewriting", got, want)
	r.event(EventMismatch, reason, map[string]int{"read_bp": got.ToBP, "want_bp": want.ToBP})
	r.c.opt.Metrics.readback(r.sh.Name)
	r.c.opt.Log.Warn("shift weight mismatch", "shift", r.sh.Name, "read", got.String(), "want", want.String())
}

// readBack checks that the data plane still applies the verified split; a
// drift (someone edited the weights) is repaired through a new intent.
func (r *run) readBack() (bool, error) {
	got, err := r.plane.ReadWeights(r.ctx)
	if err != nil {
		return false, r.hold(fmt.Sprintf("data plane read-back failed: %v", err))
	}
	if r.matches(got, r.sh.Split) {
		return true, nil
	}
	want := r.sh.Split
	r.mismatch(got, want)
	r.sh.Intent = &Intent{Split: want, Fence: r.lease.Fence, At: r.now}
	if err := r.save(); err != nil {
		return false, err
	}
	// apply restarts the step's clock: the window before the repair saw
	// the wrong split.
	return false, r.apply()
}

// analyse holds the step until its hold, samples and analysis allow a
// decision, and acts on it.
func (r *run) analyse() error {
	sh := r.sh
	spec := &sh.Spec
	if !sh.LastAnalysis.IsZero() && r.now.Sub(sh.LastAnalysis) < spec.Interval {
		return r.hold(sh.Reason)
	}
	if held := r.now.Sub(sh.StepStarted); held < spec.Hold {
		return r.hold(fmt.Sprintf("holding step %d for the minimum hold of %s", sh.Step+1, spec.Hold))
	}
	src, err := r.c.source(sh)
	if err != nil {
		return r.hold("metrics source unavailable: " + err.Error())
	}
	w, err := src.Observe(r.ctx, sh.StepStarted, r.now)
	sh.LastAnalysis = r.now
	if err != nil {
		r.c.opt.Metrics.verdict(sh.Name, "source_down")
		return r.hold("metrics source down: " + err.Error())
	}
	a := &Analysis{At: r.now, Step: sh.Step, Split: sh.Split, Start: w.Start, End: w.End, From: sideMetrics(w.From), To: sideMetrics(w.To)}
	if n := w.From.Requests + w.To.Requests; n > 0 {
		a.ObservedBP = int(math.Round(float64(w.To.Requests) * FullBP / float64(n)))
	}
	sh.Last = a
	if w.From.Requests < spec.MinSamples || w.To.Requests < spec.MinSamples {
		a.Verdict, a.Reason = string(analysis.Inconclusive), fmt.Sprintf("not enough samples: %d from, %d to (want %d each)", w.From.Requests, w.To.Requests, spec.MinSamples)
		r.c.opt.Metrics.verdict(sh.Name, a.Verdict)
		return r.hold(a.Reason)
	}
	if ok, why := splitOK(spec, sh.Split, w); !ok {
		sh.SplitMismatches++
		a.Verdict, a.Reason = string(analysis.Inconclusive), why
		r.event(EventMismatch, why, a)
		r.c.opt.Metrics.splitMismatch(sh.Name)
		r.c.opt.Metrics.verdict(sh.Name, a.Verdict)
		return r.hold(why)
	}
	var st analysis.State
	if len(sh.AnalysisState) > 0 {
		if err := json.Unmarshal(sh.AnalysisState, &st); err != nil {
			return fmt.Errorf("shift %s: stored analysis state: %w", sh.Name, err)
		}
	}
	res, next := analysis.Evaluate(spec.Analysis, st, w)
	sh.AnalysisState, _ = json.Marshal(next)
	a.Verdict, a.Reason = string(res.Verdict), res.Reason
	for _, ch := range res.Checks {
		a.Checks = append(a.Checks, CheckBrief{Name: ch.Name, Verdict: string(ch.Verdict), Detail: ch.Detail})
	}
	r.event(EventAnalysis, fmt.Sprintf("%s: %s", res.Verdict, res.Reason), a)
	r.c.opt.Metrics.verdict(sh.Name, a.Verdict)
	r.c.opt.Log.Info("shift analysis", "shift", sh.Name, "step", sh.Step+1, "verdict", string(res.Verdict), "reason", res.Reason)
	switch res.Verdict {
	case analysis.Pass:
		if spec.PauseAfterStep(sh.Step) {
			sh.PausedAt, sh.ResumePromotes = r.now, true
			r.transition(Paused, fmt.Sprintf("pause point after step %d (%s): resume or promote to go on", sh.Step+1, sh.Split))
			return r.save()
		}
		return r.promote(fmt.Sprintf("analysis passed at step %d", sh.Step+1))
	case analysis.Fail:
		return r.startRollback("analysis failed: "+res.Reason, false)
	default:
		return r.hold(res.Reason)
	}
}

// splitOK compares the observed share of the To side with the set one,
// allowing the spec's tolerance plus three standard errors of sampling.
func splitOK(spec *Spec, set Split, w analysis.Window) (bool, string) {
	n := float64(w.From.Requests + w.To.Requests)
	if n == 0 {
		return false, "no requests observed on either side"
	}
	p := float64(set.ToBP) / FullBP
	obs := float64(w.To.Requests) / n
	tol := spec.SplitTolerance/100 + 3*math.Sqrt(p*(1-p)/n)
	if math.Abs(obs-p) > tol {
		return false, fmt.Sprintf("observed split to=%.2f%% differs from set %s by more than %.2f points: traffic does not follow the weights", obs*100, set, tol*100)
	}
	return true, ""
}

func sideMetrics(o analysis.Observation) SideMetrics {
	m := SideMetrics{Requests: o.Requests, Errors: o.Errors}
	if o.Requests > 0 {
		m.ErrorRate = float64(o.Errors) / float64(o.Requests)
	}
	var xs []float64
	for _, x := range o.Latency {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			xs = append(xs, x)
		}
	}
	if len(xs) > 0 {
		sort.Float64s(xs)
		m.LatencyP50, m.LatencyP99 = quantile(xs, 0.5), quantile(xs, 0.99)
	}
	return m
}

// quantile interpolates linearly between the closest ranks of sorted xs.
func quantile(xs []float64, q float64) float64 {
	pos := q * float64(len(xs)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(xs)-1)
	return xs[lo] + (xs[hi]-xs[lo])*(pos-float64(lo))
}

// promote asks the gates, then moves to the next step.
func (r *run) promote(reason string) error {
	for _, g := range r.sh.Spec.Gates {
		if err := r.c.gate(r.ctx, g, r.sh); err != nil {
			return r.hold(fmt.Sprintf("gate %s refused promotion: %v", g.Name, err))
		}
	}
	return r.promoteNow(reason)
}

func (r *run) promoteNow(reason string) error {
	next := r.sh.Step + 1
	if next >= len(r.sh.Spec.Steps) {
		return nil // at 100% the shift has succeeded already
	}
	return r.moveTo(next, Promoting, reason+fmt.Sprintf(": step %d of %d, %s", next+1, len(r.sh.Spec.Steps), Split{ToBP: r.sh.Spec.StepBP(next)}))
}

// gateRequest is what a gate webhook receives.
type gateRequest struct {
	Shift       string  `json:"shift"`
	From        string  `json:"from"`
	To          string  `json:"to"`
	Step        int     `json:"step"`
	NextStep    int     `json:"next_step"`
	Percent     float64 `json:"percent"`
	NextPercent float64 `json:"next_percent"`
}

func (c *Controller) gate(ctx context.Context, g Gate, sh *Shift) error {
	next := min(sh.Step+1, len(sh.Spec.Steps)-1)
	body, _ := json.Marshal(gateRequest{Shift: sh.Name, From: sh.Spec.From.Name, To: sh.Spec.To.Name, Step: sh.Step + 1, NextStep: next + 1,
		Percent: sh.Split.Percent(), NextPercent: float64(sh.Spec.StepBP(next)) / 100})
	ctx, cancel := context.WithTimeout(ctx, g.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.opt.Client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("answered %d", resp.StatusCode)
	}
	return nil
}

// startRollback turns the shift around.
func (r *run) startRollback(reason string, abort bool) error {
	sh := r.sh
	sh.Abort = abort
	sh.ResumePromotes = false
	if sh.Split.ToBP == 0 && sh.Intent == nil {
		if abort {
			r.transition(Aborted, reason)
		} else {
			r.transition(RolledBack, reason)
		}
		return r.save()
	}
	// A forward write that never verified may have reached the data
	// plane: step back from the last verified split.
	sh.Intent = nil
	r.transition(RollingBack, reason)
	if err := r.save(); err != nil {
		return err
	}
	return r.rollbackStep()
}

// rollbackStep moves one step back toward the From side, once the From
// side has the capacity to take it.
func (r *run) rollbackStep() error {
	sh := r.sh
	if ok, err := r.capacity(From); !ok || err != nil {
		return err
	}
	want := Split{ToBP: nextBack(&sh.Spec, sh.Split.ToBP)}
	if sh.Split.ToBP == 0 {
		want = Split{} // make sure an unverified forward write is undone
	}
	sh.Intent = &Intent{Split: want, Fence: r.lease.Fence, At: r.now}
	r.event(EventTransition, fmt.Sprintf("stepping back to %s", want), nil)
	if err := r.save(); err != nil {
		return err
	}
	return r.apply()
}

// nextBack is the To side's share after one step back from cur.
func nextBack(spec *Spec, cur int) int {
	rb := spec.Rollback
	minBP := percentBP(rb.MinPercent)
	if rb.Mode == RollbackSteps {
		var steps []int
		if len(rb.Steps) > 0 {
			for _, p := range rb.Steps {
				steps = append(steps, percentBP(p))
			}
		} else {
			for i := range spec.Steps {
				steps = append(steps, spec.StepBP(i))
			}
		}
		steps = append(steps, 0)
		slices.Sort(steps)
		next := 0
		for _, s := range steps {
			if s < cur {
				next = s
			}
		}
		return next
	}
	next := cur / 2
	if next < minBP {
		return 0
	}
	return next
}
