package runner

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/owlstack/owl/internal/logging"
)

func waiter(name string) Component {
	return Component{Name: name, Run: func(ctx context.Context) error {
		<-ctx.Done()
		return ctx.Err()
	}}
}

func TestRunStopsCleanlyWhenContextEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		go func() {
			time.Sleep(time.Second)
			cancel()
		}()
		if err := Run(ctx, logging.Discard(), 5*time.Second, waiter("a"), waiter("b")); err != nil {
			t.Fatalf("Run = %v, want nil", err)
		}
	})
}

func TestRunOneFailureStopsAll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		boom := errors.New("boom")
		stopped := false
		other := Component{Name: "other", Run: func(ctx context.Context) error {
			<-ctx.Done()
			stopped = true
			return nil
		}}
		failing := Component{Name: "failing", Run: func(ctx context.Context) error {
			time.Sleep(time.Second)
			return boom
		}}
		err := Run(t.Context(), logging.Discard(), 5*time.Second, other, failing)
		if !errors.Is(err, boom) || !strings.HasPrefix(err.Error(), "failing: ") {
			t.Fatalf("Run = %v, want the failing component's error", err)
		}
		if !stopped {
			t.Error("the other component was not stopped")
		}
	})
}

func TestRunReportsComponentsThatDoNotStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		release := make(chan struct{})
		stuck := Component{Name: "stuck", Run: func(ctx context.Context) error {
			<-release
			return nil
		}}
		cancel()
		err := Run(ctx, logging.Discard(), 3*time.Second, waiter("fine"), stuck)
		close(release)
		if err == nil || err.Error() != "stop: stuck did not stop within 3s" {
			t.Fatalf("Run = %v, want the stuck component named", err)
		}
	})
}

func TestRunReturnOfOneShotComponentIsNotAFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		oneShot := Component{Name: "seed", Run: func(context.Context) error { return nil }}
		go func() {
			time.Sleep(time.Minute)
			cancel()
		}()
		if err := Run(ctx, logging.Discard(), time.Second, oneShot, waiter("server")); err != nil {
			t.Fatalf("Run = %v", err)
		}
	})
}
