// Package shiftroute53 shifts traffic with Route 53 weighted records: the
// two sides are two records of one name and type with their own
// SetIdentifier, weighted 0..255.
//
// A DNS change takes effect in two stages: Route 53 reports it INSYNC once
// its name servers answer with it, and resolvers keep the old answer for
// up to the record's TTL after that. SetWeights returns at INSYNC and
// SettleTime says when the clients have all moved, so that the analysis of
// a step starts only then.
package shiftroute53

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/owlstack/owl/internal/shift"
)

// MaxWeight is the largest weight of a Route 53 record.
const MaxWeight = 255

// API is the part of the Route 53 client the data plane calls.
type API interface {
	ListResourceRecordSets(ctx context.Context, in *route53.ListResourceRecordSetsInput, optFns ...func(*route53.Options)) (*route53.ListResourceRecordSetsOutput, error)
	ChangeResourceRecordSets(ctx context.Context, in *route53.ChangeResourceRecordSetsInput, optFns ...func(*route53.Options)) (*route53.ChangeResourceRecordSetsOutput, error)
	GetChange(ctx context.Context, in *route53.GetChangeInput, optFns ...func(*route53.Options)) (*route53.GetChangeOutput, error)
}

// CapacityFunc reports the capacity of a side's endpoint; DNS itself
// knows nothing of it.
type CapacityFunc func(ctx context.Context, side shift.Side) (shift.Capacity, error)

// Options name the two weighted records.
type Options struct {
	// HostedZoneID is the zone of the records (with or without /hostedzone/).
	HostedZoneID string
	// Name and Type are the records' name and type (e.g. api.example.com, A).
	Name string
	Type types.RRType
	// FromSetID and ToSetID are the SetIdentifiers of the two sides.
	FromSetID, ToSetID string
	// PollInterval is the time between GetChange calls (default 5s).
	PollInterval time.Duration
	// AliasTTL is how long resolvers cache an alias record, which has no
	// TTL of its own (default 60s, what alias records to a load balancer use).
	AliasTTL time.Duration
	// Capacity reports the sides' capacity (e.g. the ALB or proxy behind
	// each record); without it Capacity fails and a controller holds.
	Capacity CapacityFunc
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Records is the data plane of one shift on two weighted records; it
// implements shift.DataPlane.
//
// Route 53 has nowhere to keep a fencing token: Records only remembers the
// highest one seen by this process.
type Records struct {
	api    API
	opts   Options
	mu     sync.Mutex
	fence  uint64
	settle time.Time
}

// New returns the data plane of the records in opts, calling AWS through
// api (a *route53.Client, paced with awspace).
func New(api API, opts Options) (*Records, error) {
	opts.HostedZoneID = strings.TrimPrefix(opts.HostedZoneID, "/hostedzone/")
	switch {
	case opts.HostedZoneID == "":
		return nil, errors.New("route53 data plane: hosted zone id is empty")
	case opts.Name == "" || opts.Type == "":
		return nil, fmt.Errorf("route53 data plane in %s: record name and type are required", opts.HostedZoneID)
	case opts.FromSetID == "" || opts.ToSetID == "" || opts.FromSetID == opts.ToSetID:
		return nil, fmt.Errorf("route53 data plane %s %s: want two different set identifiers, got %q and %q", opts.Name, opts.Type, opts.FromSetID, opts.ToSetID)
	}
	if !strings.HasSuffix(opts.Name, ".") {
		opts.Name += "."
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 5 * time.Second
	}
	if opts.AliasTTL <= 0 {
		opts.AliasTTL = 60 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Records{api: api, opts: opts}, nil
}

// Weights maps a split to record weights that sum to MaxWeight (never
// both zero, which Route 53 reads as "equal").
func Weights(s shift.Split) (from, to int64) {
	to = int64(math.Round(float64(s.ToBP) * MaxWeight / shift.FullBP))
	return MaxWeight - to, to
}

// SplitOf maps record weights back to a split; both zero is an even split,
// as Route 53 routes it.
func SplitOf(from, to int64) shift.Split {
	if from+to == 0 {
		return shift.Split{ToBP: shift.FullBP / 2}
	}
	return shift.Split{ToBP: int(math.Round(float64(to) * shift.FullBP / float64(from+to)))}
}

// Resolution is 40 basis points: one step of 255.
func (r *Records) Resolution() int { return int(math.Ceil(shift.FullBP / float64(MaxWeight))) }

// SettleTime is when every client has seen the last weights written: the
// change's INSYNC time plus the records' TTL. It is the zero time before
// the first SetWeights.
func (r *Records) SettleTime() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.settle
}

// records reads the two weighted records.
func (r *Records) records(ctx context.Context) (from, to *types.ResourceRecordSet, err error) {
	in := &route53.ListResourceRecordSetsInput{
		HostedZoneId:    aws.String(r.opts.HostedZoneID),
		StartRecordName: aws.String(r.opts.Name),
		StartRecordType: r.opts.Type,
		MaxItems:        aws.Int32(100),
	}
	for {
		out, err := r.api.ListResourceRecordSets(ctx, in)
		if err != nil {
			return nil, nil, fmt.Errorf("list records %s %s in %s: %w", r.opts.Name, r.opts.Type, r.opts.HostedZoneID, err)
		}
		past := false
		for i := range out.ResourceRecordSets {
			rs := &out.ResourceRecordSets[i]
			if !strings.EqualFold(aws.ToString(rs.Name), r.opts.Name) || rs.Type != r.opts.Type {
				past = true
				break
			}
			switch aws.ToString(rs.SetIdentifier) {
			case r.opts.FromSetID:
				from = rs
			case r.opts.ToSetID:
				to = rs
			}
		}
		if past || !out.IsTruncated || (from != nil && to != nil) {
			break
		}
		in.StartRecordName, in.StartRecordType, in.StartRecordIdentifier = out.NextRecordName, out.NextRecordType, out.NextRecordIdentifier
	}
	if from == nil || to == nil {
		return nil, nil, fmt.Errorf("records %s %s in %s: want weighted records with set identifiers %q and %q (found from=%t to=%t)",
			r.opts.Name, r.opts.Type, r.opts.HostedZoneID, r.opts.FromSetID, r.opts.ToSetID, from != nil, to != nil)
	}
	return from, to, nil
}

// SetWeights upserts both records with the weights of split in one change
// and waits until Route 53 reports it INSYNC. Upserting the same weights
// again is harmless, so a retried call is safe.
func (r *Records) SetWeights(ctx context.Context, split shift.Split, fence uint64) error {
	if err := split.Validate(); err != nil {
		return fmt.Errorf("route53 set weights: %w", err)
	}
	r.mu.Lock()
	if fence < r.fence {
		seen := r.fence
		r.mu.Unlock()
		return fmt.Errorf("route53 set weights on %s with fence %d, already saw %d: %w", r.opts.Name, fence, seen, shift.ErrStaleFence)
	}
	r.fence = fence
	r.mu.Unlock()

	from, to, err := r.records(ctx)
	if err != nil {
		return fmt.Errorf("route53 set weights %s: %w", split, err)
	}
	wf, wt := Weights(split)
	if aws.ToInt64(from.Weight) == wf && aws.ToInt64(to.Weight) == wt && from.Weight != nil && to.Weight != nil {
		return nil
	}
	nf, nt := *from, *to
	nf.Weight, nt.Weight = aws.Int64(wf), aws.Int64(wt)
	out, err := r.api.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{
		HostedZoneId: aws.String(r.opts.HostedZoneID),
		ChangeBatch: &types.ChangeBatch{
			Comment: aws.String(fmt.Sprintf("owl shift: %s (fence %d)", split, fence)),
			Changes: []types.Change{
				{Action: types.ChangeActionUpsert, ResourceRecordSet: &nf},
				{Action: types.ChangeActionUpsert, ResourceRecordSet: &nt},
			},
		},
	})
	if err != nil {
		return fmt.Errorf("route53 set weights %s: change records: %w", split, err)
	}
	if out.ChangeInfo == nil || out.ChangeInfo.Id == nil {
		return fmt.Errorf("route53 set weights %s: change answered without a change id", split)
	}
	insync, err := r.waitInsync(ctx, *out.ChangeInfo.Id, out.ChangeInfo.Status)
	if err != nil {
		return fmt.Errorf("route53 set weights %s: %w", split, err)
	}
	ttl := max(r.ttl(from), r.ttl(to))
	r.mu.Lock()
	r.settle = insync.Add(ttl)
	r.mu.Unlock()
	return nil
}

func (r *Records) ttl(rs *types.ResourceRecordSet) time.Duration {
	if rs.TTL == nil {
		return r.opts.AliasTTL
	}
	return time.Duration(*rs.TTL) * time.Second
}

// waitInsync polls GetChange until the change is INSYNC and returns when
// it saw that.
func (r *Records) waitInsync(ctx context.Context, id string, status types.ChangeStatus) (time.Time, error) {
	t := time.NewTimer(r.opts.PollInterval)
	defer t.Stop()
	for status != types.ChangeStatusInsync {
		select {
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("wait for change %s to be INSYNC: %w", id, ctx.Err())
		case <-t.C:
		}
		out, err := r.api.GetChange(ctx, &route53.GetChangeInput{Id: aws.String(id)})
		if err != nil {
			return time.Time{}, fmt.Errorf("get change %s: %w", id, err)
		}
		if out.ChangeInfo == nil {
			return time.Time{}, fmt.Errorf("get change %s: no ChangeInfo in the answer", id)
		}
		status = out.ChangeInfo.Status
		t.Reset(r.opts.PollInterval)
	}
	return r.opts.Now(), nil
}

// ReadWeights reads the weights the two records have now.
func (r *Records) ReadWeights(ctx context.Context) (shift.Split, error) {
	from, to, err := r.records(ctx)
	if err != nil {
		return shift.Split{}, fmt.Errorf("route53 read weights: %w", err)
	}
	return SplitOf(aws.ToInt64(from.Weight), aws.ToInt64(to.Weight)), nil
}

// Capacity asks Options.Capacity: the endpoints behind the records know
// their capacity, DNS does not.
func (r *Records) Capacity(ctx context.Context, sd shift.Side) (shift.Capacity, error) {
	if r.opts.Capacity == nil {
		return shift.Capacity{}, fmt.Errorf("route53 capacity of %s behind %s: no capacity source configured (Options.Capacity)", sd, r.opts.Name)
	}
	c, err := r.opts.Capacity(ctx, sd)
	if err != nil {
		return shift.Capacity{}, fmt.Errorf("route53 capacity of %s: %w", sd, err)
	}
	return c, nil
}
