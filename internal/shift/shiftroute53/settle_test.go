package shiftroute53

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/owlstack/owl/internal/shift"
)

// stubAPI answers with two records and a change that turns INSYNC at a
// given time, counting the polls.
type stubAPI struct {
	insyncAt time.Time
	polls    int
	ttl      *int64
}

func (s *stubAPI) ListResourceRecordSets(context.Context, *route53.ListResourceRecordSetsInput, ...func(*route53.Options)) (*route53.ListResourceRecordSetsOutput, error) {
	rec := func(id string, w int64) types.ResourceRecordSet {
		rs := types.ResourceRecordSet{Name: aws.String("api.example.com."), Type: types.RRTypeA, SetIdentifier: aws.String(id), Weight: aws.Int64(w), TTL: s.ttl}
		if s.ttl == nil {
			rs.AliasTarget = &types.AliasTarget{DNSName: aws.String("lb.example.com."), HostedZoneId: aws.String("Z1")}
		} else {
			rs.ResourceRecords = []types.ResourceRecord{{Value: aws.String("192.0.2.1")}}
		}
		return rs
	}
	return &route53.ListResourceRecordSetsOutput{ResourceRecordSets: []types.ResourceRecordSet{rec("ecs", 255), rec("eks", 0)}}, nil
}

func (s *stubAPI) ChangeResourceRecordSets(context.Context, *route53.ChangeResourceRecordSetsInput, ...func(*route53.Options)) (*route53.ChangeResourceRecordSetsOutput, error) {
	return &route53.ChangeResourceRecordSetsOutput{ChangeInfo: &types.ChangeInfo{Id: aws.String("/change/C1"), Status: types.ChangeStatusPending}}, nil
}

func (s *stubAPI) GetChange(context.Context, *route53.GetChangeInput, ...func(*route53.Options)) (*route53.GetChangeOutput, error) {
	s.polls++
	status := types.ChangeStatusPending
	if !time.Now().Before(s.insyncAt) {
		status = types.ChangeStatusInsync
	}
	return &route53.GetChangeOutput{ChangeInfo: &types.ChangeInfo{Id: aws.String("/change/C1"), Status: status}}, nil
}

func TestSettleTimeIsInsyncPlusTTL(t *testing.T) {
	for name, tc := range map[string]struct {
		ttl  *int64
		want time.Duration
	}{
		"record ttl": {aws.Int64(300), 300 * time.Second},
		"alias":      {nil, 60 * time.Second},
	} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				api := &stubAPI{insyncAt: start.Add(42 * time.Second), ttl: tc.ttl}
				r, err := New(api, Options{HostedZoneID: "Z1", Name: "api.example.com", Type: types.RRTypeA, FromSetID: "ecs", ToSetID: "eks", PollInterval: 10 * time.Second})
				if err != nil {
					t.Fatal(err)
				}
				if !r.SettleTime().IsZero() {
					t.Fatal("a settle time before any change")
				}
				if err := r.SetWeights(context.Background(), shift.Split{ToBP: 1000}, 1); err != nil {
					t.Fatal(err)
				}
				// Polls at 10, 20, 30, 40 s are PENDING; at 50 s INSYNC.
				if api.polls != 5 || time.Since(start) != 50*time.Second {
					t.Fatalf("%d polls, returned after %v; want 5 polls, 50s", api.polls, time.Since(start))
				}
				if got := r.SettleTime().Sub(start); got != 50*time.Second+tc.want {
					t.Fatalf("settles %v after the change, want INSYNC (50s) + %v", got, tc.want)
				}
			})
		})
	}
}

func TestWaitInsyncStopsWithContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := &stubAPI{insyncAt: time.Now().Add(time.Hour), ttl: aws.Int64(60)}
		r, _ := New(api, Options{HostedZoneID: "Z1", Name: "api.example.com", Type: types.RRTypeA, FromSetID: "ecs", ToSetID: "eks"})
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := r.SetWeights(ctx, shift.Split{ToBP: 1000}, 1); err == nil {
			t.Fatal("a change that never gets INSYNC returned without error")
		}
		if !r.SettleTime().IsZero() {
			t.Fatal("a settle time for a change that never got INSYNC")
		}
	})
}
