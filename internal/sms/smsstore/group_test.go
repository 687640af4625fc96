package smsstore

import (
	"testing"
	"time"
)

// TestIntentGroupsStayWithinARef checks that a group of leases with
// intents, which shares one reference, never exceeds refSpan however many
// workers there are.
func TestIntentGroupsStayWithinARef(t *testing.T) {
	for _, workers := range []int{10, refSpan, 4 * refSpan} {
		s := NewGroupStore(nil, workers, time.Second)
		if got, want := s.claimIntents.Max, min(workers, refSpan); got != want {
			t.Errorf("%d workers: groups of %d, want %d", workers, got, want)
		}
	}
}
