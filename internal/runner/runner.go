// Package runner runs the long-lived components of one owl process together.
//
// Every component is a Run(ctx) error function that returns when its context
// ends. The runner starts them all, and when one fails it cancels the others
// and reports which component failed and why.
package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
)

// Component is one long-lived part of a process, such as an HTTP server or a
// background refresher.
type Component struct {
	// Name identifies the component in logs and errors.
	Name string
	// Run does the component's work until ctx ends. A nil or context error
	// after ctx ended is a clean stop; any other error stops the process.
	Run func(ctx context.Context) error
}

// Run starts every component and blocks until all have returned. It returns
// nil when ctx ended and every component stopped cleanly; otherwise the first
// failure, naming its component. Components that have not returned within
// stopTimeout of the stop being asked for are reported by name.
func Run(ctx context.Context, log *slog.Logger, stopTimeout time.Duration, components ...Component) error {
	g, gctx := errgroup.WithContext(ctx)
	var mu sync.Mutex
	running := map[string]bool{}
	for _, c := range components {
		mu.Lock()
		running[c.Name] = true
		mu.Unlock()
		g.Go(func() error {
			err := c.Run(gctx)
			mu.Lock()
			delete(running, c.Name)
			mu.Unlock()
			if err != nil && !(gctx.Err() != nil && errors.Is(err, context.Canceled)) {
				log.Error("component failed", "component", c.Name, "err", err)
				return fmt.Errorf("%s: %w", c.Name, err)
			}
			log.Debug("component stopped", "component", c.Name)
			return nil
		})
	}

	done := make(chan error, 1)
	go func() { done <- g.Wait() }()
	select {
	case err := <-done:
		return err
	case <-gctx.Done():
	}
	timer := time.NewTimer(stopTimeout)
	defer timer.Stop()
	select {
	case err := <-done:
		return err
	case <-timer.C:
		mu.Lock()
		names := make([]string, 0, len(running))
		for n := range running {
			names = append(names, n)
		}
		mu.Unlock()
		sort.Strings(names)
		return fmt.Errorf("stop: %s did not stop within %s", strings.Join(names, ", "), stopTimeout)
	}
}
