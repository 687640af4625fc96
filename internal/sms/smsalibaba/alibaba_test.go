package smsalibaba_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/owlstack/owl/internal/sms"
	"github.com/owlstack/owl/internal/sms/smsalibaba"
	"github.com/owlstack/owl/internal/sms/smssim"
	"github.com/owlstack/owl/internal/sms/smssim/smssimtest"
)

func start(t *testing.T, o smssim.Options) (*smssim.Simulator, *smsalibaba.Provider) {
	t.Helper()
	sim := smssimtest.Start(t, o)
	p, err := smsalibaba.New(smsalibaba.Config{
		Endpoint: strings.TrimPrefix(sim.URL(), "https://"), AccessKeyID: smssim.AlibabaAccessKeyID,
		AccessKeySecret: smssim.AlibabaAccessKeySecret, SignName: "owl", TemplateCode: "SMS_1", Concurrency: 4,
	}, sms.NewTransport(sim.CertPool(), 4))
	if err != nil {
		t.Fatal(err)
	}
	return sim, p
}

func message(to string) sms.Message {
	d := sms.DateOf(time.Now(), time.UTC)
	return sms.Message{To: to, Ref: sms.Ref("u1", d), UserID: "u1", Date: d, StreakDays: 5,
		Deadline: sms.Deadline(d, time.UTC), Validity: time.Hour}
}

func TestSendAndLookup(t *testing.T) {
	sim, p := start(t, smssim.Options{})
	ctx := context.Background()
	m := message("+8613812345678")
	id, err := p.Send(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	got := sim.Messages("+8613812345678")
	if len(got) != 1 || got[0].MessageID != id || got[0].Ref != m.Ref || got[0].Template != "SMS_1" {
		t.Fatalf("simulator records %+v, want one message %s", got, id)
	}
	gid, found, err := p.Lookup(ctx, m)
	if err != nil || !found || gid == "" {
		t.Fatalf("Lookup = %q, %v, %v", gid, found, err)
	}
	other := m
	other.Ref = sms.Ref("u2", m.Date)
	if _, found, err := p.Lookup(ctx, other); err != nil || found {
		t.Fatalf("Lookup of another reference = %v, %v; want not found", found, err)
	}
}

func TestErrorsAreClassifiedWithoutTheNumber(t *testing.T) {
	_, p := start(t, smssim.Options{})
	_, err := p.Send(context.Background(), message("+8612345"))
	var pe *sms.ProviderError
	if !errors.As(err, &pe) || pe.Kind != sms.Rejected || pe.Reason != "invalid_number" {
		t.Fatalf("invalid number: %v", err)
	}
	if strings.Contains(err.Error(), "12345") {
		t.Errorf("error %q contains the number", err)
	}
	_, p2 := start(t, smssim.Options{ThrottleRate: 1})
	_, err = p2.Send(context.Background(), message("+8613812345678"))
	if !errors.As(err, &pe) || pe.Kind != sms.Throttled {
		t.Fatalf("throttled: %v", err)
	}
}
