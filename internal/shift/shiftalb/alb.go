// Package shiftalb shifts traffic with an AWS Application Load Balancer:
// the two sides are target groups of one listener rule's forward action,
// weighted 0..999.
package shiftalb

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/owlstack/owl/internal/shift"
)

// MaxWeight is the largest weight ALB accepts for a target group.
const MaxWeight = 999

// API is the part of the ELBv2 client the data plane calls.
type API interface {
	DescribeRules(ctx context.Context, in *elbv2.DescribeRulesInput, optFns ...func(*elbv2.Options)) (*elbv2.DescribeRulesOutput, error)
	ModifyRule(ctx context.Context, in *elbv2.ModifyRuleInput, optFns ...func(*elbv2.Options)) (*elbv2.ModifyRuleOutput, error)
	DescribeTargetHealth(ctx context.Context, in *elbv2.DescribeTargetHealthInput, optFns ...func(*elbv2.Options)) (*elbv2.DescribeTargetHealthOutput, error)
}

// Options name the rule and the two target groups.
type Options struct {
	// RuleARN is the listener rule whose forward action is weighted.
	RuleARN string
	// FromGroupARN and ToGroupARN are the target groups of the two sides;
	// both must be in the rule's forward action.
	FromGroupARN, ToGroupARN string
}

// ALB is the data plane of one shift on one listener rule; it implements
// shift.DataPlane.
//
// ALB keeps no fencing token: ALB only remembers the highest token seen by
// this process, so a stale controller in another process is stopped by
// the controller's lease, not here.
type ALB struct {
	api   API
	opts  Options
	mu    sync.Mutex
	fence uint64
}

// New returns the data plane of the rule in opts, calling AWS through api
// (an *elbv2.Client, paced with awspace).
func New(api API, opts Options) (*ALB, error) {
	switch {
	case opts.RuleARN == "":
		return nil, errors.New("alb data plane: rule ARN is empty")
	case opts.FromGroupARN == "" || opts.ToGroupARN == "":
		return nil, fmt.Errorf("alb data plane %s: both target group ARNs are required", opts.RuleARN)
	case opts.FromGroupARN == opts.ToGroupARN:
		return nil, fmt.Errorf("alb data plane %s: from and to are the same target group %s", opts.RuleARN, opts.FromGroupARN)
	}
	return &ALB{api: api, opts: opts}, nil
}

// Weights maps a split to ALB weights that sum to MaxWeight.
func Weights(s shift.Split) (from, to int32) {
	to = int32(math.Round(float64(s.ToBP) * MaxWeight / shift.FullBP))
	return MaxWeight - to, to
}

// SplitOf maps ALB weights back to a split; both zero is an error (ALB
// then forwards nothing).
func SplitOf(from, to int32) (shift.Split, error) {
	if from < 0 || to < 0 || from+to == 0 {
		return shift.Split{}, fmt.Errorf("weights from=%d to=%d: want non-negative with a positive sum", from, to)
	}
	return shift.Split{ToBP: int(math.Round(float64(to) * shift.FullBP / float64(from+to)))}, nil
}

// Resolution is 11 basis points: one step of 999.
func (a *ALB) Resolution() int { return int(math.Ceil(shift.FullBP / float64(MaxWeight))) }

// SetWeights rewrites the rule's forward action with the weights of split,
// keeping its other actions and settings. It is idempotent: a rule that
// already has the weights is not modified.
func (a *ALB) SetWeights(ctx context.Context, split shift.Split, fence uint64) error {
	if err := split.Validate(); err != nil {
		return fmt.Errorf("alb set weights: %w", err)
	}
	a.mu.Lock()
	if fence < a.fence {
		seen := a.fence
		a.mu.Unlock()
		return fmt.Errorf("alb set weights on %s with fence %d, already saw %d: %w", a.opts.RuleARN, fence, seen, shift.ErrStaleFence)
	}
	a.fence = fence
	a.mu.Unlock()

	rule, err := a.rule(ctx)
	if err != nil {
		return fmt.Errorf("alb set weights %s: %w", split, err)
	}
	from, to := Weights(split)
	actions := make([]types.Action, len(rule.Actions))
	changed := false
	found := false
	for i, act := range rule.Actions {
		actions[i] = act
		if act.Type == types.ActionTypeEnumAuthenticateOidc && act.AuthenticateOidcConfig != nil {
			// DescribeRules never returns the client secret.
			c := *act.AuthenticateOidcConfig
			c.UseExistingClientSecret = aws.Bool(true)
			actions[i].AuthenticateOidcConfig = &c
		}
		if !a.isOurs(act) {
			continue
		}
		found = true
		fc := *act.ForwardConfig
		fc.TargetGroups = make([]types.TargetGroupTuple, len(act.ForwardConfig.TargetGroups))
		for j, g := range act.ForwardConfig.TargetGroups {
			w := aws.ToInt32(g.Weight)
			switch aws.ToString(g.TargetGroupArn) {
			case a.opts.FromGroupARN:
				w = from
			case a.opts.ToGroupARN:
				w = to
			}
			if g.Weight == nil || *g.Weight != w {
				changed = true
			}
			fc.TargetGroups[j] = types.TargetGroupTuple{TargetGroupArn: g.TargetGroupArn, Weight: aws.Int32(w)}
		}
		actions[i].ForwardConfig = &fc
		actions[i].TargetGroupArn = nil // ForwardConfig names the groups
	}
	if !found {
		return fmt.Errorf("alb set weights %s: rule %s has no forward action over %s and %s", split, a.opts.RuleARN, a.opts.FromGroupARN, a.opts.ToGroupARN)
	}
	if !changed {
		return nil
	}
	if _, err := a.api.ModifyRule(ctx, &elbv2.ModifyRuleInput{RuleArn: aws.String(a.opts.RuleARN), Actions: actions}); err != nil {
		return fmt.Errorf("alb set weights %s: modify rule %s: %w", split, a.opts.RuleARN, err)
	}
	return nil
}

// isOurs reports whether act is the forward action over both groups.
func (a *ALB) isOurs(act types.Action) bool {
	if act.Type != types.ActionTypeEnumForward || act.ForwardConfig == nil {
		return false
	}
	var from, to bool
	for _, g := range act.ForwardConfig.TargetGroups {
		switch aws.ToString(g.TargetGroupArn) {
		case a.opts.FromGroupARN:
			from = true
		case a.opts.ToGroupARN:
			to = true
		}
	}
	return from && to
}

func (a *ALB) rule(ctx context.Context) (*types.Rule, error) {
	out, err := a.api.DescribeRules(ctx, &elbv2.DescribeRulesInput{RuleArns: []string{a.opts.RuleARN}})
	if err != nil {
		return nil, fmt.Errorf("describe rule %s: %w", a.opts.RuleARN, err)
	}
	if len(out.Rules) != 1 {
		return nil, fmt.Errorf("describe rule %s: %d rules answered, want 1", a.opts.RuleARN, len(out.Rules))
	}
	return &out.Rules[0], nil
}

// ReadWeights reads the weights the rule applies now.
func (a *ALB) ReadWeights(ctx context.Context) (shift.Split, error) {
	rule, err := a.rule(ctx)
	if err != nil {
		return shift.Split{}, fmt.Errorf("alb read weights: %w", err)
	}
	for _, act := range rule.Actions {
		if !a.isOurs(act) {
			continue
		}
		var from, to int32
		for _, g := range act.ForwardConfig.TargetGroups {
			w := int32(1) // ALB's default weight when none is given
			if g.Weight != nil {
				w = *g.Weight
			}
			switch aws.ToString(g.TargetGroupArn) {
			case a.opts.FromGroupARN:
				from = w
			case a.opts.ToGroupARN:
				to = w
			}
		}
		s, err := SplitOf(from, to)
		if err != nil {
			return shift.Split{}, fmt.Errorf("alb read weights of %s: %w", a.opts.RuleARN, err)
		}
		return s, nil
	}
	return shift.Split{}, fmt.Errorf("alb read weights: rule %s has no forward action over %s and %s", a.opts.RuleARN, a.opts.FromGroupARN, a.opts.ToGroupARN)
}

// Capacity counts a side's healthy targets (Ready) against its targets
// that are not draining (Desired).
func (a *ALB) Capacity(ctx context.Context, sd shift.Side) (shift.Capacity, error) {
	arn := a.opts.FromGroupARN
	switch sd {
	case shift.From:
	case shift.To:
		arn = a.opts.ToGroupARN
	default:
		return shift.Capacity{}, fmt.Errorf("alb capacity of side %q: want from or to", sd)
	}
	out, err := a.api.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(arn)})
	if err != nil {
		return shift.Capacity{}, fmt.Errorf("alb capacity of %s: describe target health %s: %w", sd, arn, err)
	}
	var c shift.Capacity
	for _, d := range out.TargetHealthDescriptions {
		if d.TargetHealth == nil {
			continue
		}
		switch d.TargetHealth.State {
		case types.TargetHealthStateEnumDraining, types.TargetHealthStateEnumUnhealthyDraining:
			continue
		case types.TargetHealthStateEnumHealthy:
			c.Ready++
		}
		c.Desired++
	}
	return c, nil
}
