package smssystem

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/owlstack/owl/internal/logging"
	"github.com/owlstack/owl/internal/runner"
)

func TestBatchSendsEachEligibleUserOnce(t *testing.T) {
	dir := t.TempDir()
	n := newNight()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sys, err := Open(ctx, testConfig(), Options{Data: dir, Now: n.now, Log: logging.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Close()
	csv, eligible := population(t, dir, 50, n.date)
	f, _ := os.Open(csv)
	defer f.Close()
	if _, err := Import(ctx, sys.DB, sys.Keys.Cipher(), f, csv, "", n.now(), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := sys.Queue.EnqueueDate(ctx, n.date, false); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- runner.Run(ctx, logging.Discard(), 10*time.Second, sys.Components(false)...) }()
	r := waitDone(t, ctx, sys, n.date, 30*time.Second)
	if r.Sent != len(eligible) {
		t.Errorf("sent %d, want %d: %+v", r.Sent, len(eligible), r)
	}
	for _, p := range eligible {
		if got := len(sys.Sim.Messages(p)); got != 1 {
			t.Errorf("number %d: %d messages, want 1", len(p), got)
		}
	}
	if got := len(sys.Sim.Messages("")); got != len(eligible) {
		t.Errorf("simulator accepted %d messages, want %d", got, len(eligible))
	}
	want := map[string]int{"opted_out": 3, "active_today": 3, "no_streak": 2, "streak_lost": 2}
	for k, v := range want {
		if r.Skipped[k] != v {
			t.Errorf("skipped[%s] = %d, want %d (%v)", k, r.Skipped[k], v, r.Skipped)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
