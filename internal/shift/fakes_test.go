package shift_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/owlstack/owl/internal/pgtest"
	"github.com/owlstack/owl/internal/shift"
	"github.com/owlstack/owl/internal/shift/analysis"
	"github.com/owlstack/owl/internal/shift/shiftstore"
)

// write is one weight write a fakePlane accepted.
type write struct {
	ToBP  int
	Fence uint64
}

// fakePlane is an in-memory data plane with injectable failures: refused
// writes, dropped writes (the read-back shows the old weights), hooks that
// run before a write (to stall or kill a controller), and capacity.
type fakePlane struct {
	mu       sync.Mutex
	split    shift.Split
	fence    uint64
	writes   []write
	stale    int // writes refused for a stale fence
	capacity map[shift.Side]shift.Capacity
	// drop is how many of the next writes are acknowledged but lost.
	drop int
	// failWrites makes SetWeights fail while set.
	failWrites error
	// before runs before each write is applied; an error stops the write.
	before func(ctx context.Context, split shift.Split, fence uint64) error
	// after runs after each write is applied; an error is returned.
	after func(ctx context.Context, split shift.Split, fence uint64) error
}

func newFakePlane() *fakePlane {
	return &fakePlane{capacity: map[shift.Side]shift.Capacity{shift.From: {Ready: 3, Desired: 3}, shift.To: {Ready: 3, Desired: 3}}}
}

func (p *fakePlane) SetWeights(ctx context.Context, split shift.Split, fence uint64) error {
	p.mu.Lock()
	before, after, fail := p.before, p.after, p.failWrites
	p.mu.Unlock()
	if fail != nil {
		return fail
	}
	if before != nil {
		if err := before(ctx, split, fence); err != nil {
			return err
		}
	}
	p.mu.Lock()
	if fence < p.fence {
		p.stale++
		p.mu.Unlock()
		return shift.ErrStaleFence
	}
	p.fence = fence
	if p.drop > 0 {
		p.drop--
	} else {
		p.split = split
		p.writes = append(p.writes, write{split.ToBP, fence})
	}
	p.mu.Unlock()
	if after != nil {
		return after(ctx, split, fence)
	}
	return nil
}

func (p *fakePlane) ReadWeights(context.Context) (shift.Split, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.split, nil
}

func (p *fakePlane) Capacity(_ context.Context, side shift.Side) (shift.Capacity, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.capacity[side], nil
}

func (p *fakePlane) Resolution() int { return 1 }

func (p *fakePlane) current() shift.Split {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.split
}

// writtenBP lists the distinct consecutive weights written.
func (p *fakePlane) writtenBP() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []int
	for _, w := range p.writes {
		if len(out) == 0 || out[len(out)-1] != w.ToBP {
			out = append(out, w.ToBP)
		}
	}
	return out
}

// fakeSource observes the traffic a fakePlane splits: rate requests per
// second divided by the plane's current weights, with noisy per-interval
// latencies, and a regression on the To side from a given weight on.
type fakeSource struct {
	mu    sync.Mutex
	plane *fakePlane
	rate  float64
	// regressFromBP makes the To side twice as slow, with 5% errors, while
	// the plane sends it at least this share (0: never).
	regressFromBP int
	// down makes Observe fail.
	down bool
	// skewBP shifts the observed To share (traffic not following weights).
	skewBP int
	seed   uint64
}

func (s *fakeSource) Observe(_ context.Context, start, end time.Time) (analysis.Window, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return analysis.Window{}, errors.New("connection refused")
	}
	s.seed++
	rng := rand.New(rand.NewPCG(s.seed, 7))
	split := s.plane.current()
	share := float64(split.ToBP+s.skewBP) / shift.FullBP
	d := end.Sub(start).Seconds()
	total := s.rate * d
	w := analysis.Window{Start: start, End: end}
	w.To.Requests = int64(math.Round(total * share))
	w.From.Requests = int64(math.Round(total)) - w.To.Requests
	toErr, toLat := 0.005, 1.0
	if s.regressFromBP > 0 && split.ToBP >= s.regressFromBP {
		toErr, toLat = 0.05, 2.0
	}
	w.From.Errors = int64(math.Round(float64(w.From.Requests) * 0.005))
	w.To.Errors = int64(math.Round(float64(w.To.Requests) * toErr))
	for i := 0; i < int(d/10); i++ {
		w.From.Latency = append(w.From.Latency, 0.1*(1+0.1*rng.NormFloat64()))
		w.To.Latency = append(w.To.Latency, toLat*0.1*(1+0.1*rng.NormFloat64()))
	}
	return w, nil
}

func (s *fakeSource) set(f func(s *fakeSource)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

const testSpec = `
name: checkout
from: {name: ecs}
to: {name: eks}
data_plane: {kind: proxy}
steps: [1, 5, 10, 25, 50, 100]
hold: 1m
interval: 30s
min_samples: 50
step_timeout: 20m
rollback: {mode: halve, hold: 30s}
`

func parseSpec(t *testing.T, text string) *shift.Spec {
	t.Helper()
	spec, err := shift.ParseSpec("test.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

// env is one test's store, plane and source.
type env struct {
	t     *testing.T
	store *shiftstore.Store
	plane *fakePlane
	src   *fakeSource
	dir   string
}

// newEnv opens the store in dir: a folder for SQLite, or a postgres:// URL.
func newEnv(t *testing.T, dir string) *env {
	t.Helper()
	db := ""
	if strings.HasPrefix(dir, "postgres://") {
		db = dir
	}
	store, err := shiftstore.Open(t.Context(), db, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	plane := newFakePlane()
	return &env{t: t, store: store, plane: plane, src: &fakeSource{plane: plane, rate: 50}, dir: dir}
}

func (e *env) controller(holder string) *shift.Controller {
	return shift.NewController(e.store, shift.Options{
		Plane:    func(*shift.Spec) (shift.DataPlane, error) { return e.plane, nil },
		Source:   func(*shift.Spec) (analysis.Source, error) { return e.src, nil },
		Holder:   holder,
		Tick:     5 * time.Second,
		LeaseTTL: 30 * time.Second,
	})
}

func (e *env) start(spec *shift.Spec) {
	e.t.Helper()
	now := time.Now()
	if err := e.store.Create(e.t.Context(), &shift.Shift{Name: spec.Name, Spec: *spec, State: shift.Pending, Step: -1, CreatedAt: now, UpdatedAt: now}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) get(name string) *shift.Shift {
	e.t.Helper()
	sh, err := e.store.Get(context.Background(), name)
	if err != nil {
		e.t.Fatal(err)
	}
	return sh
}

// tickUntil ticks c every 5 s of fake time until cond holds or limit passes.
func tickUntil(ctx context.Context, c *shift.Controller, limit time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if ctx.Err() != nil {
			return false
		}
		c.Tick(ctx)
		if cond() {
			return true
		}
		time.Sleep(5 * time.Second)
	}
	return false
}

func (e *env) history(name string) []shift.Event {
	e.t.Helper()
	h, err := e.store.History(context.Background(), name, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	return h
}

func dump(events []shift.Event) string {
	s := ""
	for _, e := range events {
		s += fmt.Sprintf("  %s %-10s %-12s step %d %s %s\n", e.At.Format("15:04:05"), e.Kind, e.State, e.Step+1, e.Split, e.Reason)
	}
	return s
}

func tempDir(t *testing.T) string { return filepath.Join(t.TempDir(), "data") }

// backends runs test on SQLite and on PostgreSQL (skipped without a server).
func backends(t *testing.T, test func(t *testing.T, dir string)) {
	t.Run("sqlite", func(t *testing.T) { test(t, tempDir(t)) })
	t.Run("postgres", func(t *testing.T) { test(t, pgtest.NewDatabase(t)) })
}
