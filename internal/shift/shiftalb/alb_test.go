package shiftalb

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"golang.org/x/time/rate"

	"github.com/owlstack/owl/internal/shift"
	"github.com/owlstack/owl/internal/shift/awsfake"
	"github.com/owlstack/owl/internal/shift/awspace"
)

func TestWeightsRoundTrip(t *testing.T) {
	a := &ALB{}
	for bp := 0; bp <= shift.FullBP; bp++ {
		from, to := Weights(shift.Split{ToBP: bp})
		if from+to != MaxWeight || from < 0 || to < 0 {
			t.Fatalf("%d bp: weights %d/%d", bp, from, to)
		}
		back, err := SplitOf(from, to)
		if err != nil {
			t.Fatal(err)
		}
		if d := back.ToBP - bp; d > a.Resolution() || -d > a.Resolution() {
			t.Fatalf("%d bp reads back as %d bp, resolution %d", bp, back.ToBP, a.Resolution())
		}
	}
	if _, err := SplitOf(0, 0); err == nil {
		t.Fatal("both weights zero accepted")
	}
}

func newClient(fake *awsfake.Server, pacer *awspace.Pacer) *elbv2.Client {
	base := fake.Config()
	base.HTTPClient = awsfake.StampSent(awshttp.NewBuildableClient())
	cfg := pacer.Config(base, awspace.APIELBv2, "123456789012", awspace.Options{MaxBackoff: 500 * time.Millisecond})
	return elbv2.NewFromConfig(cfg)
}

func rule(i int) (ruleARN, from, to string) {
	return fmt.Sprintf("arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/web/1/2/%d", i),
		fmt.Sprintf("arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/ecs-%d/1", i),
		fmt.Sprintf("arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/eks-%d/2", i)
}

func TestFiftyConcurrentShiftsUnderThrottling(t *testing.T) {
	const perSecond = 200
	fake := awsfake.Start(awsfake.Options{
		Limits:        map[string]rate.Limit{awsfake.ELBv2: perSecond},
		Burst:         5,
		ThrottleShare: 0.1,
		Seed:          1,
	})
	defer fake.Close()
	pacer := awspace.NewPacer(map[string]awspace.Rate{awspace.APIELBv2: {PerSecond: perSecond, Burst: 1}})
	client := newClient(fake, pacer)
	const shifts = 50
	for i := range shifts {
		r, from, to := rule(i)
		fake.AddRule(r, awsfake.WeightedGroup{Arn: from, Weight: MaxWeight}, awsfake.WeightedGroup{Arn: to, Weight: 0})
		fake.SetTargets(from, awsfake.Target{ID: "10.0.0.1", Port: 80, State: "healthy"})
		fake.SetTargets(to, awsfake.Target{ID: "10.0.1.1", Port: 80, State: "healthy"}, awsfake.Target{ID: "10.0.1.2", Port: 80, State: "healthy"})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	for i := range shifts {
		wg.Go(func() {
			r, from, to := rule(i)
			alb, err := New(client, Options{RuleARN: r, FromGroupARN: from, ToGroupARN: to})
			if err != nil {
				t.Error(err)
				return
			}
			c, err := alb.Capacity(ctx, shift.To)
			if err != nil || c.Ready != 2 || !c.Healthy() {
				t.Errorf("shift %d: capacity %+v, %v", i, c, err)
				return
			}
			for _, bp := range []int{100, 2500, 5000, 10000} {
				if err := alb.SetWeights(ctx, shift.Split{ToBP: bp}, 1); err != nil {
					t.Errorf("shift %d step %d: %v", i, bp, err)
					return
				}
				got, err := alb.ReadWeights(ctx)
				if err != nil || abs(got.ToBP-bp) > alb.Resolution() {
					t.Errorf("shift %d step %d: read back %v, %v", i, bp, got, err)
					return
				}
			}
		})
	}
	wg.Wait()
	calls := fake.Calls()
	throttled := 0
	for _, c := range calls {
		if c.Error != "" {
			throttled++
		}
	}
	if throttled == 0 {
		t.Fatalf("no call of %d was throttled: the test did not exercise retries", len(calls))
	}
	summary, err := awsfake.CheckPace(calls, awsfake.ELBv2, perSecond, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(summary)
	for i := range shifts {
		r, from, to := rule(i)
		got, _ := fake.Rule(r)
		tg := got.Actions[0].TargetGroups
		if tg[0].Arn != from || tg[0].Weight != 0 || tg[1].Arn != to || tg[1].Weight != MaxWeight {
			t.Fatalf("rule %d ends with %+v", i, tg)
		}
	}
	t.Logf("%d calls, %d throttled", len(calls), throttled)
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func TestCapacityFenceAndErrors(t *testing.T) {
	fake := awsfake.Start(awsfake.Options{})
	defer fake.Close()
	client := newClient(fake, awspace.NewPacer(map[string]awspace.Rate{awspace.APIELBv2: {PerSecond: 1000, Burst: 10}}))
	r, from, to := rule(1)
	other := "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/mirror/3"
	fake.AddRule(r, awsfake.WeightedGroup{Arn: from, Weight: 999}, awsfake.WeightedGroup{Arn: to, Weight: 0}, awsfake.WeightedGroup{Arn: other, Weight: 0})
	fake.SetTargets(to,
		awsfake.Target{ID: "a", Port: 80, State: "healthy"},
		awsfake.Target{ID: "b", Port: 80, State: "initial"},
		awsfake.Target{ID: "c", Port: 80, State: "draining"})
	alb, err := New(client, Options{RuleARN: r, FromGroupARN: from, ToGroupARN: to})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c, err := alb.Capacity(ctx, shift.To)
	if err != nil || c != (shift.Capacity{Ready: 1, Desired: 2}) || c.Healthy() {
		t.Fatalf("capacity %+v, %v: want 1 ready of 2 (draining not counted)", c, err)
	}
	if err := alb.SetWeights(ctx, shift.Split{ToBP: 5000}, 4); err != nil {
		t.Fatal(err)
	}
	got, _ := fake.Rule(r)
	if w := got.Actions[0].TargetGroups; w[0].Weight != 499 || w[1].Weight != 500 || w[2].Arn != other || w[2].Weight != 0 {
		t.Fatalf("weights after 50%%: %+v", w)
	}
	before := len(fake.Calls())
	if err := alb.SetWeights(ctx, shift.Split{ToBP: 5000}, 4); err != nil {
		t.Fatal(err)
	}
	if n := len(fake.Calls()) - before; n != 1 {
		t.Fatalf("repeating the same weights made %d calls, want 1 (describe only)", n)
	}
	if err := alb.SetWeights(ctx, shift.Split{ToBP: 0}, 3); !errors.Is(err, shift.ErrStaleFence) {
		t.Fatalf("stale fence: %v", err)
	}
	bad, _ := New(client, Options{RuleARN: r + "-missing", FromGroupARN: from, ToGroupARN: to})
	if _, err := bad.ReadWeights(ctx); err == nil {
		t.Fatal("a missing rule read without error")
	}
	for _, o := range []Options{{}, {RuleARN: r}, {RuleARN: r, FromGroupARN: from, ToGroupARN: from}} {
		if _, err := New(client, o); err == nil {
			t.Errorf("options %+v accepted", o)
		}
	}
}
