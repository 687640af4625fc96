package shiftroute53

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"golang.org/x/time/rate"

	"github.com/owlstack/owl/internal/shift"
	"github.com/owlstack/owl/internal/shift/awsfake"
	"github.com/owlstack/owl/internal/shift/awspace"
)

func TestWeightsRoundTrip(t *testing.T) {
	r := &Records{}
	for bp := 0; bp <= shift.FullBP; bp++ {
		from, to := Weights(shift.Split{ToBP: bp})
		if from+to != MaxWeight {
			t.Fatalf("%d bp: weights %d/%d", bp, from, to)
		}
		if d := SplitOf(from, to).ToBP - bp; d > r.Resolution() || -d > r.Resolution() {
			t.Fatalf("%d bp reads back as %v", bp, SplitOf(from, to))
		}
	}
	if s := SplitOf(0, 0); s.ToBP != 5000 {
		t.Fatalf("both zero reads as %v, want the even split Route 53 applies", s)
	}
}

func newClient(fake *awsfake.Server, pacer *awspace.Pacer) *route53.Client {
	base := fake.Config()
	base.HTTPClient = awsfake.StampSent(awshttp.NewBuildableClient())
	cfg := pacer.Config(base, awspace.APIRoute53, "123456789012", awspace.Options{MaxBackoff: 500 * time.Millisecond})
	return route53.NewFromConfig(cfg)
}

const zone = "Z0123456789ABC"

func addRecords(fake *awsfake.Server, name string, ttl int64) {
	fake.AddRecord(zone, awsfake.RecordSet{Name: name, Type: "A", SetIdentifier: "ecs", Weight: aws.Int64(255), TTL: aws.Int64(ttl), Values: []string{"192.0.2.1"}})
	fake.AddRecord(zone, awsfake.RecordSet{Name: name, Type: "A", SetIdentifier: "eks", Weight: aws.Int64(0), TTL: aws.Int64(ttl), Values: []string{"192.0.2.2"}})
	// A neighbour with another type must not be mistaken for ours.
	fake.AddRecord(zone, awsfake.RecordSet{Name: name, Type: "TXT", TTL: aws.Int64(300), Values: []string{`"owl"`}})
}

func TestFiftyConcurrentShiftsUnderThrottling(t *testing.T) {
	const perSecond = 200
	fake := awsfake.Start(awsfake.Options{
		Limits:            map[string]rate.Limit{awsfake.Route53: perSecond},
		Burst:             5,
		ThrottleShare:     0.08,
		PriorRequestShare: 0.1,
		InsyncAfter:       60 * time.Millisecond,
		Seed:              2,
	})
	defer fake.Close()
	pacer := awspace.NewPacer(map[string]awspace.Rate{awspace.APIRoute53: {PerSecond: perSecond, Burst: 1}})
	client := newClient(fake, pacer)
	const shifts = 50
	for i := range shifts {
		addRecords(fake, fmt.Sprintf("svc%d.example.com", i), 30)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	for i := range shifts {
		wg.Go(func() {
			recs, err := New(client, Options{HostedZoneID: "/hostedzone/" + zone, Name: fmt.Sprintf("svc%d.example.com", i), Type: "A",
				FromSetID: "ecs", ToSetID: "eks", PollInterval: 30 * time.Millisecond})
			if err != nil {
				t.Error(err)
				return
			}
			for _, bp := range []int{500, 5000, 10000} {
				before := time.Now()
				if err := recs.SetWeights(ctx, shift.Split{ToBP: bp}, 1); err != nil {
					t.Errorf("shift %d step %d: %v", i, bp, err)
					return
				}
				// Clients may use the old answer for the TTL after INSYNC,
				// which comes at least InsyncAfter after the change.
				if settle := recs.SettleTime(); settle.Before(before.Add(30*time.Second + 60*time.Millisecond)) {
					t.Errorf("shift %d step %d: settles at %v, before INSYNC + TTL", i, bp, settle.Sub(before))
				}
				got, err := recs.ReadWeights(ctx)
				if err != nil || abs(got.ToBP-bp) > recs.Resolution() {
					t.Errorf("shift %d step %d: read back %v, %v", i, bp, got, err)
					return
				}
			}
		})
	}
	wg.Wait()
	calls := fake.Calls()
	// Injected errors are counted apart from the fake's own rate limit, so
	// that a run whose only throttling came from arrival jitter does not
	// pass for one that exercised the retries. checkPace bounds the calls
	// that arrive over the rate; how many of them the fake then refuses
	// depends on the machine's scheduling, so it is only logged.
	count := map[string]int{}
	limited := 0
	for _, c := range calls {
		if c.RateLimited {
			limited++
			continue
		}
		count[c.Error]++
	}
	t.Logf("%d of %d calls refused by the fake's rate limit (arrival jitter)", limited, len(calls))
	if count["Throttling"] == 0 || count["PriorRequestNotComplete"] == 0 {
		t.Fatalf("errors injected %v: the test did not exercise retries", count)
	}
	summary, err := awsfake.CheckPace(calls, awsfake.Route53, perSecond, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(summary)
	for i := range shifts {
		from, _ := fake.Record(zone, fmt.Sprintf("svc%d.example.com", i), "A", "ecs")
		to, _ := fake.Record(zone, fmt.Sprintf("svc%d.example.com", i), "A", "eks")
		if *from.Weight != 0 || *to.Weight != 255 || to.Values[0] != "192.0.2.2" || *to.TTL != 30 {
			t.Fatalf("shift %d ends with from %+v to %+v", i, from, to)
		}
	}
	t.Logf("%d calls: %v", len(calls), count)
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func TestFenceCapacityAndMissingRecords(t *testing.T) {
	fake := awsfake.Start(awsfake.Options{})
	defer fake.Close()
	client := newClient(fake, awspace.NewPacer(map[string]awspace.Rate{awspace.APIRoute53: {PerSecond: 1000, Burst: 10}}))
	addRecords(fake, "api.example.com", 60)
	capa := func(_ context.Context, sd shift.Side) (shift.Capacity, error) {
		return shift.Capacity{Ready: 3, Desired: 3}, nil
	}
	ctx := context.Background()
	recs, err := New(client, Options{HostedZoneID: zone, Name: "api.example.com.", Type: "A", FromSetID: "ecs", ToSetID: "eks", PollInterval: time.Millisecond, Capacity: capa})
	if err != nil {
		t.Fatal(err)
	}
	if c, err := recs.Capacity(ctx, shift.To); err != nil || !c.Healthy() {
		t.Fatalf("capacity %+v, %v", c, err)
	}
	if err := recs.SetWeights(ctx, shift.Split{ToBP: 2500}, 9); err != nil {
		t.Fatal(err)
	}
	if err := recs.SetWeights(ctx, shift.Split{ToBP: 0}, 8); !errors.Is(err, shift.ErrStaleFence) {
		t.Fatalf("stale fence: %v", err)
	}
	before := len(fake.Calls())
	if err := recs.SetWeights(ctx, shift.Split{ToBP: 2500}, 9); err != nil {
		t.Fatal(err)
	}
	if n := len(fake.Calls()) - before; n != 1 {
		t.Fatalf("the same weights again made %d calls, want 1 (list only)", n)
	}
	noCap, _ := New(client, Options{HostedZoneID: zone, Name: "api.example.com", Type: "A", FromSetID: "ecs", ToSetID: "eks"})
	if _, err := noCap.Capacity(ctx, shift.To); err == nil {
		t.Fatal("capacity without a source answered")
	}
	missing, _ := New(client, Options{HostedZoneID: zone, Name: "other.example.com", Type: "A", FromSetID: "ecs", ToSetID: "eks"})
	if _, err := missing.ReadWeights(ctx); err == nil {
		t.Fatal("missing records read without error")
	}
	for _, o := range []Options{{}, {HostedZoneID: zone}, {HostedZoneID: zone, Name: "a", Type: "A", FromSetID: "x", ToSetID: "x"}} {
		if _, err := New(client, o); err == nil {
			t.Errorf("options %+v accepted", o)
		}
	}
}
