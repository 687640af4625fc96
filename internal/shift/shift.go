// Package shift is owl's progressive traffic shifting: a controller moves
// weighted traffic step by step from one target to another (ECS to EKS,
// cluster to cluster), holds each step while an analysis compares the two
// sides, and rolls back gradually when the new side does worse.
//
// This file holds the vocabulary every part shares: the two sides, a split
// of traffic between them, and DataPlane, the small interface each way of
// routing traffic (owl's proxy, an ALB listener rule, Route 53 weighted
// records, a Gateway API HTTPRoute) implements.
package shift

import (
	"context"
	"errors"
	"fmt"
)

// Side names one of the two targets of a shift.
type Side string

// The two sides: traffic moves from From to To.
const (
	From Side = "from"
	To   Side = "to"
)

// FullBP is 100% in basis points.
const FullBP = 10000

// Split is the share of traffic the To side gets, in basis points
// (1/100 of a percent, 0..10000); the From side gets the rest.
type Split struct {
	ToBP int `json:"to_bp"`
}

// Percent returns the To side's share in percent.
func (s Split) Percent() float64 { return float64(s.ToBP) / 100 }

// FromBP is the From side's share in basis points.
func (s Split) FromBP() int { return FullBP - s.ToBP }

// Validate reports a split outside 0..100%.
func (s Split) Validate() error {
	if s.ToBP < 0 || s.ToBP > FullBP {
		return fmt.Errorf("split %d bp: want 0..%d", s.ToBP, FullBP)
	}
	return nil
}

// String formats the split as "to=12.5%".
func (s Split) String() string { return fmt.Sprintf("to=%g%%", s.Percent()) }

// Capacity is what one side can serve now.
type Capacity struct {
	// Ready counts replicas or targets that pass their health checks.
	Ready int `json:"ready"`
	// Desired counts the replicas or targets the side should have.
	Desired int `json:"desired"`
}

// Healthy reports whether the side has all the ready capacity it wants
// (and at least one ready replica).
func (c Capacity) Healthy() bool { return c.Ready > 0 && c.Ready >= c.Desired }

// DataPlane routes traffic between the two sides of one shift.
//
// Implementations map a Split onto their own weight scale (ALB 0..999,
// Route 53 0..255, Gateway API integers, the proxy's buckets); ReadWeights
// maps back, so a read-back equals the last write within Resolution.
type DataPlane interface {
	// SetWeights makes the data plane send split.ToBP of traffic to the
	// To side. fence is the controller's lease token: data planes that can
	// store it reject a write carrying a lower token than one they saw.
	SetWeights(ctx context.Context, split Split, fence uint64) error
	// ReadWeights reads the split the data plane actually applies.
	ReadWeights(ctx context.Context) (Split, error)
	// Capacity reports the ready capacity of one side.
	Capacity(ctx context.Context, side Side) (Capacity, error)
	// Resolution is the smallest difference in basis points the data
	// plane can express (e.g. 1 for the proxy, 11 for ALB's 0..999).
	Resolution() int
}

// ErrStaleFence is returned by a data plane that saw a newer lease token
// than the one a write carries: another controller owns the shift.
var ErrStaleFence = errors.New("stale fencing token: another controller owns this shift")
