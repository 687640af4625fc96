package shift_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/owlstack/owl/internal/shift"
	"github.com/owlstack/owl/internal/shift/analysis"
)

func state(e *env, name string) func() bool {
	return func() bool { return e.get(name).State.Final() }
}

func TestHealthyShiftReaches100(t *testing.T) {
	backends(t, func(t *testing.T, dir string) { synctest.Test(t, func(t *testing.T) { healthy(t, dir) }) })
}

func healthy(t *testing.T, dir string) {
	{
		e := newEnv(t, dir)
		e.start(parseSpec(t, testSpec))
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		c := e.controller("a")
		done := make(chan error)
		go func() { done <- c.Run(ctx) }()
		for !e.get("checkout").State.Final() {
			time.Sleep(time.Minute)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		sh := e.get("checkout")
		if sh.State != shift.Succeeded || sh.Split.ToBP != shift.FullBP {
			t.Fatalf("state %s at %s, want succeeded at 100%%\n%s", sh.State, sh.Split, dump(e.history("checkout")))
		}
		if got, want := e.plane.writtenBP(), []int{100, 500, 1000, 2500, 5000, 10000}; !slices.Equal(got, want) {
			t.Errorf("weights written %v, want %v", got, want)
		}
		var passes int
		for _, ev := range e.history("checkout") {
			if ev.Kind == shift.EventAnalysis && strings.HasPrefix(ev.Reason, "pass") {
				passes++
			}
		}
		if passes != 5 {
			t.Errorf("%d passing analyses, want one per step below 100%% (5)", passes)
		}
	}
}

func TestRegressionAtStep3RollsBackGradually(t *testing.T) {
	dir := tempDir(t)
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, dir)
		e.src.regressFromBP = 1000 // step 3 is 10%
		e.start(parseSpec(t, testSpec))
		c := e.controller("a")
		if !tickUntil(t.Context(), c, 3*time.Hour, state(e, "checkout")) {
			t.Fatalf("shift did not finish:\n%s", dump(e.history("checkout")))
		}
		sh := e.get("checkout")
		if sh.State != shift.RolledBack || sh.Split.ToBP != 0 {
			t.Fatalf("state %s at %s, want rolled_back at 0%%\n%s", sh.State, sh.Split, dump(e.history("checkout")))
		}
		if !strings.Contains(sh.Reason, "analysis failed") {
			t.Errorf("reason %q, want the failed analysis", sh.Reason)
		}
		// Up to 10%, then halving back: 5%, 2.5%, 1.25%, 0.
		if got, want := e.plane.writtenBP(), []int{100, 500, 1000, 500, 250, 125, 0}; !slices.Equal(got, want) {
			t.Errorf("weights written %v, want %v", got, want)
		}
		// Each step back is held: rollback took at least 3 holds.
		var first, last time.Time
		for _, ev := range e.history("checkout") {
			if ev.State == shift.RollingBack && first.IsZero() {
				first = ev.At
			}
			last = ev.At
		}
		if d := last.Sub(first); d < 90*time.Second {
			t.Errorf("rollback took %s, want at least 3 holds of 30s", d)
		}
	})
}

func TestRollbackStepsModeAndFromCapacity(t *testing.T) {
	dir := tempDir(t)
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, dir)
		e.src.regressFromBP = 2500
		e.start(parseSpec(t, strings.Replace(testSpec, "mode: halve", "mode: steps", 1)))
		c := e.controller("a")
		// While rolling back, the From side loses its capacity: the
		// rollback waits instead of piling traffic onto it.
		if !tickUntil(t.Context(), c, 3*time.Hour, func() bool { return e.get("checkout").State == shift.RollingBack }) {
			t.Fatal("never rolled back")
		}
		e.plane.mu.Lock()
		e.plane.capacity[shift.From] = shift.Capacity{Ready: 1, Desired: 3}
		e.plane.mu.Unlock()
		tickUntil(t.Context(), c, 10*time.Minute, func() bool { return false })
		sh := e.get("checkout")
		if sh.State != shift.RollingBack || !strings.Contains(sh.Reason, "from side ecs not ready: 1 of 3") {
			t.Fatalf("state %s reason %q, want a rollback waiting for the from side", sh.State, sh.Reason)
		}
		held := e.plane.current()
		e.plane.mu.Lock()
		e.plane.capacity[shift.From] = shift.Capacity{Ready: 3, Desired: 3}
		e.plane.mu.Unlock()
		if !tickUntil(t.Context(), c, time.Hour, state(e, "checkout")) {
			t.Fatal("rollback did not finish")
		}
		got := e.plane.writtenBP()
		if want := []int{100, 500, 1000, 2500, 1000, 500, 100, 0}; !slices.Equal(got, want) {
			t.Errorf("weights written %v, want %v (held at %s while from was not ready)", got, want, held)
		}
	})
}

func TestSourceDownHolds(t *testing.T) {
	dir := tempDir(t)
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, dir)
		e.start(parseSpec(t, testSpec))
		c := e.controller("a")
		if !tickUntil(t.Context(), c, time.Hour, func() bool { return e.get("checkout").Step == 1 }) {
			t.Fatal("never reached step 2")
		}
		e.src.set(func(s *fakeSource) { s.down = true })
		tickUntil(t.Context(), c, 15*time.Minute, func() bool { return false })
		sh := e.get("checkout")
		if sh.State != shift.Progressing || sh.Step != 1 || sh.Split.ToBP != 500 {
			t.Fatalf("state %s step %d split %s with the source down, want progressing at step 2 (5%%)", sh.State, sh.Step+1, sh.Split)
		}
		if !strings.Contains(sh.Reason, "metrics source down: connection refused") {
			t.Errorf("reason %q, want the source named as down", sh.Reason)
		}
		e.src.set(func(s *fakeSource) { s.down = false })
		if !tickUntil(t.Context(), c, 10*time.Minute, func() bool { return e.get("checkout").Step == 2 }) {
			t.Fatalf("did not go on once the source was back:\n%s", dump(e.history("checkout")))
		}
	})
}

func TestSourceDownPastTimeoutRollsBack(t *testing.T) {
	dir := tempDir(t)
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, dir)
		e.start(parseSpec(t, testSpec))
		c := e.controller("a")
		if !tickUntil(t.Context(), c, time.Hour, func() bool { return e.get("checkout").Step == 1 }) {
			t.Fatal("never reached step 2")
		}
		e.src.set(func(s *fakeSource) { s.down = true })
		if !tickUntil(t.Context(), c, time.Hour, state(e, "checkout")) {
			t.Fatal("did not finish")
		}
		sh := e.get("checkout")
		if sh.State != shift.RolledBack || !strings.Contains(sh.Reason, "step 2 timed out after 20m0s: metrics source down") {
			t.Fatalf("state %s reason %q, want rolled back for the timeout", sh.State, sh.Reason)
		}
	})
}

func TestSplitMismatchHolds(t *testing.T) {
	dir := tempDir(t)
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, dir)
		e.src.skewBP = 800 // traffic does not follow the weights
		e.start(parseSpec(t, testSpec))
		c := e.controller("a")
		tickUntil(t.Context(), c, 10*time.Minute, func() bool { return false })
		sh := e.get("checkout")
		if sh.Step != 0 || sh.SplitMismatches == 0 || !strings.Contains(sh.Reason, "traffic does not follow the weights") {
			t.Fatalf("step %d, %d split mismatches, reason %q: want a hold at step 1", sh.Step+1, sh.SplitMismatches, sh.Reason)
		}
	})
}

func TestReadBackMismatchRepaired(t *testing.T) {
	dir := tempDir(t)
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, dir)
		e.plane.drop = 2 // the first write of step 1 is lost twice
		e.start(parseSpec(t, testSpec))
		c := e.controller("a")
		if !tickUntil(t.Context(), c, time.Hour, func() bool { return e.get("checkout").Step == 2 }) {
			t.Fatalf("never reached step 3:\n%s", dump(e.history("checkout")))
		}
		// Someone edits the weights by hand mid-step.
		e.plane.mu.Lock()
		e.plane.split = shift.Split{ToBP: 4200}
		e.plane.mu.Unlock()
		c.Tick(t.Context())
		if got := e.plane.current(); got.ToBP != 1000 {
			t.Errorf("after a drift the plane applies %s, want the repaired 10%%", got)
		}
		sh := e.get("checkout")
		if sh.Mismatches != 3 {
			t.Errorf("%d mismatches counted, want 3 (two lost writes, one drift)", sh.Mismatches)
		}
		var n int
		for _, ev := range e.history("checkout") {
			if ev.Kind == shift.EventMismatch {
				n++
			}
		}
		if n != 3 {
			t.Errorf("%d mismatch events in history, want 3:\n%s", n, dump(e.history("checkout")))
		}
	})
}

// TestKilledControllerResumes kills a controller between saving the
// intent of step 3 and writing it, and again after writing it but before
// verifying: a second controller resumes the same shift at the same step.
func TestKilledControllerResumes(t *testing.T) {
	for _, tc := range []struct {
		name   string
		before bool
	}{{"between intent and write", true}, {"after write", false}} {
		t.Run(tc.name, func(t *testing.T) {
			backends(t, func(t *testing.T, dir string) {
				synctest.Test(t, func(t *testing.T) { killAndResume(t, dir, tc.before) })
			})
		})
	}
}

func killAndResume(t *testing.T, dir string, before bool) {
	{
		{
			e := newEnv(t, dir)
			e.start(parseSpec(t, testSpec))
			ctx1, kill := context.WithCancel(t.Context())
			var once sync.Once
			hook := func(ctx context.Context, split shift.Split, _ uint64) error {
				if split.ToBP != 1000 {
					return nil
				}
				killed := false
				once.Do(func() { kill(); killed = true })
				if killed {
					return context.Canceled
				}
				return nil
			}
			if before {
				e.plane.before = hook
			} else {
				e.plane.after = hook
			}
			c1 := e.controller("a")
			tickUntil(ctx1, c1, 2*time.Hour, func() bool { return false })
			if ctx1.Err() == nil {
				t.Fatal("controller a never reached step 3")
			}
			sh := e.get("checkout")
			if sh.Step != 2 || sh.Intent == nil || sh.Intent.Split.ToBP != 1000 {
				t.Fatalf("after the kill: step %d intent %+v, want the intent of step 3 saved", sh.Step+1, sh.Intent)
			}
			applied := e.plane.current().ToBP
			if before && applied != 500 || !before && applied != 1000 {
				t.Fatalf("plane at %d bp after the kill", applied)
			}
			// Controller a is gone without releasing its lease: b waits
			// for it to expire, then takes the shift with a new fence.
			c2 := e.controller("b")
			if !tickUntil(t.Context(), c2, 3*time.Hour, state(e, "checkout")) {
				t.Fatalf("b did not finish:\n%s", dump(e.history("checkout")))
			}
			sh = e.get("checkout")
			if sh.State != shift.Succeeded {
				t.Fatalf("state %s, want succeeded", sh.State)
			}
			if got, want := e.plane.writtenBP(), []int{100, 500, 1000, 2500, 5000, 10000}; !slices.Equal(got, want) {
				t.Errorf("weights written %v, want %v", got, want)
			}
			e.plane.mu.Lock()
			defer e.plane.mu.Unlock()
			if e.plane.fence != 2 {
				t.Errorf("last fence %d, want 2 (b's)", e.plane.fence)
			}
			for _, w := range e.plane.writes {
				if w.ToBP > 1000 && w.Fence != 2 {
					t.Errorf("write %d bp with fence %d after the kill", w.ToBP, w.Fence)
				}
			}
		}
	}
}

// TestTwoControllersOneDrives runs two controllers on one shift; one of
// them stalls inside a write for longer than its lease, the other takes
// over, and the stalled one's late write is refused by its stale fence.
func TestTwoControllersOneDrives(t *testing.T) {
	backends(t, func(t *testing.T, dir string) { synctest.Test(t, func(t *testing.T) { twoControllers(t, dir) }) })
}

func twoControllers(t *testing.T, dir string) {
	{
		e := newEnv(t, dir)
		e.start(parseSpec(t, testSpec))
		var once sync.Once
		e.plane.before = func(ctx context.Context, split shift.Split, fence uint64) error {
			if split.ToBP == 500 && fence == 1 {
				once.Do(func() { time.Sleep(45 * time.Second) }) // a long GC pause
			}
			return nil
		}
		ctx, cancel := context.WithCancel(t.Context())
		var wg sync.WaitGroup
		for _, h := range []string{"a", "b"} {
			c := e.controller(h)
			wg.Go(func() { _ = c.Run(ctx) })
			time.Sleep(time.Second)
		}
		for !e.get("checkout").State.Final() {
			time.Sleep(time.Minute)
		}
		cancel()
		wg.Wait()
		sh := e.get("checkout")
		if sh.State != shift.Succeeded {
			t.Fatalf("state %s:\n%s", sh.State, dump(e.history("checkout")))
		}
		e.plane.mu.Lock()
		defer e.plane.mu.Unlock()
		if e.plane.stale != 1 {
			t.Errorf("%d stale writes refused, want 1 (the stalled controller's)", e.plane.stale)
		}
		var last uint64
		for _, w := range e.plane.writes {
			if w.Fence < last {
				t.Errorf("accepted write %d bp with fence %d after fence %d", w.ToBP, w.Fence, last)
			}
			last = w.Fence
		}
		if last != 2 {
			t.Errorf("final fence %d, want 2", last)
		}
	}
}

func TestOperatorRequests(t *testing.T) {
	dir := tempDir(t)
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, dir)
		spec := parseSpec(t, testSpec+"pause_after: [5]\n")
		e.start(spec)
		c := e.controller("a")
		ctx := t.Context()
		if !tickUntil(ctx, c, time.Hour, func() bool { return e.get("checkout").State == shift.Paused }) {
			t.Fatal("never paused at the pause point")
		}
		sh := e.get("checkout")
		if sh.Step != 1 || !strings.Contains(sh.Reason, "pause point after step 2") {
			t.Fatalf("paused at step %d: %q", sh.Step+1, sh.Reason)
		}
		tickUntil(ctx, c, 30*time.Minute, func() bool { return false })
		if sh := e.get("checkout"); sh.State != shift.Paused || sh.Split.ToBP != 500 {
			t.Fatalf("a pause point must hold without a timeout: %s at %s", sh.State, sh.Split)
		}
		enqueue := func(cmd shift.Command) {
			if _, err := e.store.Enqueue(ctx, "checkout", cmd, "ana", time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		enqueue(shift.CmdResume)
		c.Tick(ctx)
		if sh := e.get("checkout"); sh.Step != 2 || sh.Split.ToBP != 1000 {
			t.Fatalf("resume at a pause point: step %d at %s, want step 3 at 10%%", sh.Step+1, sh.Split)
		}
		enqueue(shift.CmdPause)
		c.Tick(ctx)
		if sh := e.get("checkout"); sh.State != shift.Paused {
			t.Fatalf("state %s after pause", sh.State)
		}
		enqueue(shift.CmdPromote)
		c.Tick(ctx)
		if sh := e.get("checkout"); sh.Step != 3 || sh.State != shift.Progressing {
			t.Fatalf("promote: step %d state %s, want step 4 progressing", sh.Step+1, sh.State)
		}
		enqueue(shift.CmdResume) // not paused: ignored, recorded
		enqueue(shift.CmdAbort)
		if !tickUntil(ctx, c, time.Hour, state(e, "checkout")) {
			t.Fatal("abort did not finish")
		}
		sh = e.get("checkout")
		if sh.State != shift.Aborted || !strings.Contains(sh.Reason, "aborted by ana") {
			t.Fatalf("state %s reason %q, want aborted by ana", sh.State, sh.Reason)
		}
		if got, want := e.plane.writtenBP(), []int{100, 500, 1000, 2500, 1250, 625, 312, 156, 0}; !slices.Equal(got, want) {
			t.Errorf("weights written %v, want %v (abort steps back gradually)", got, want)
		}
		var ignored bool
		for _, ev := range e.history("checkout") {
			ignored = ignored || strings.Contains(ev.Reason, "resume by ana ignored: not paused")
		}
		if !ignored {
			t.Errorf("the ignored resume is not in history:\n%s", dump(e.history("checkout")))
		}
		if _, err := e.store.Enqueue(ctx, "checkout", shift.CmdResume, "", time.Now()); !errors.Is(err, shift.ErrFinal) {
			t.Errorf("request to a final shift: %v, want ErrFinal", err)
		}
	})
}

func TestToSideWithoutCapacityHolds(t *testing.T) {
	dir := tempDir(t)
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, dir)
		e.plane.capacity[shift.To] = shift.Capacity{Ready: 0, Desired: 2}
		e.start(parseSpec(t, testSpec))
		c := e.controller("a")
		tickUntil(t.Context(), c, 10*time.Minute, func() bool { return false })
		sh := e.get("checkout")
		if sh.State != shift.Pending || len(e.plane.writtenBP()) != 0 || !strings.Contains(sh.Reason, "to side eks not ready: 0 of 2") {
			t.Fatalf("state %s reason %q writes %v: want a pending shift waiting for capacity", sh.State, sh.Reason, e.plane.writtenBP())
		}
	})
}

// gateTransport answers gate webhooks without a network: 503 until open.
type gateTransport struct {
	mu    sync.Mutex
	open  bool
	calls []string
}

func (g *gateTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	body, _ := io.ReadAll(r.Body)
	g.calls = append(g.calls, string(body))
	code := http.StatusServiceUnavailable
	if g.open {
		code = http.StatusNoContent
	}
	return &http.Response{StatusCode: code, Status: http.StatusText(code), Body: io.NopCloser(strings.NewReader("")), Request: r}, nil
}

func TestGateHoldsPromotion(t *testing.T) {
	dir := tempDir(t)
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, dir)
		e.start(parseSpec(t, testSpec+"gates: [{name: qa, url: 'http://gate.example/approve', timeout: 2s}]\n"))
		gt := &gateTransport{}
		c := shift.NewController(e.store, shift.Options{
			Plane:  func(*shift.Spec) (shift.DataPlane, error) { return e.plane, nil },
			Source: func(*shift.Spec) (analysis.Source, error) { return e.src, nil },
			Client: &http.Client{Transport: gt},
		})
		tickUntil(t.Context(), c, 10*time.Minute, func() bool { return false })
		sh := e.get("checkout")
		if sh.Step != 0 || !strings.Contains(sh.Reason, "gate qa refused promotion: answered 503") {
			t.Fatalf("step %d reason %q: want step 1 held by the gate", sh.Step+1, sh.Reason)
		}
		gt.mu.Lock()
		if len(gt.calls) == 0 || !strings.Contains(gt.calls[0], `"shift":"checkout"`) || !strings.Contains(gt.calls[0], `"next_percent":5`) {
			t.Errorf("gate calls %v", gt.calls)
		}
		gt.open = true
		gt.mu.Unlock()
		if !tickUntil(t.Context(), c, 10*time.Minute, func() bool { return e.get("checkout").Step == 1 }) {
			t.Fatal("an open gate did not let the shift go on")
		}
	})
}
