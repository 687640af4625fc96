package smssystem

import (
	"context"
	"os"
	"runtime/debug"
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

func TestTuneGC(t *testing.T) {
	t.Setenv("GOGC", "") // unset for TuneGC; the runtime read it at start
	old := debug.SetGCPercent(100)
	defer debug.SetGCPercent(old)
	TuneGC(400)
	if got := debug.SetGCPercent(100); got != 400 {
		t.Errorf("after TuneGC(400): GOGC %d, want 400", got)
	}
	debug.SetGCPercent(800)
	TuneGC(400) // never lowers it
	if got := debug.SetGCPercent(100); got != 800 {
		t.Errorf("TuneGC(400) over 800: GOGC %d, want 800", got)
	}
	TuneGC(0) // leaves it
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("TuneGC(0): GOGC %d, want 100", got)
	}
	t.Setenv("GOGC", "150")
	TuneGC(400) // the variable wins
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("TuneGC with GOGC set: GOGC %d, want 100", got)
	}
}
