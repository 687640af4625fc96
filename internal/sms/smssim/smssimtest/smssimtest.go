// Package smssimtest starts the SMS provider simulator for tests: served
// over HTTPS on 127.0.0.1 for the length of one test.
package smssimtest

import (
	"context"
	"testing"

	"github.com/owlstack/owl/internal/sms/smssim"
)

// Start serves a simulator with o until t ends, and fails t if it cannot
// start or does not stop cleanly.
func Start(t testing.TB, o smssim.Options) *smssim.Simulator {
	t.Helper()
	sim, err := smssim.New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sim.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("simulator: %v", err)
		}
	})
	return sim
}
