package smsalibaba_test

import (
	"context"
	"errors"
	"fmt"
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

func TestSendBatch(t *testing.T) {
	sim, p := start(t, smssim.Options{})
	ctx := context.Background()
	var ms []sms.Message
	for i := range 3 {
		m := message(fmt.Sprintf("+86138123456%02d", i))
		m.StreakDays = 3 + i
		ms = append(ms, m)
	}
	ref := "owlbtest1"
	for i := range ms {
		ms[i].Ref = ref
	}
	id, err := p.SendBatch(ctx, ref, ms)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range ms {
		got := sim.Messages(m.To)
		if len(got) != 1 || got[0].Ref != ref || got[0].Template != "SMS_1" || got[0].Params != fmt.Sprintf(`{"days":"%d"}`, 3+i) || got[0].Sign != "owl" {
			t.Fatalf("simulator records %+v for message %d of batch %s", got, i, id)
		}
		// An unclear outcome is looked up per number, by the batch's reference.
		if _, found, err := p.Lookup(ctx, m); err != nil || !found {
			t.Errorf("Lookup of message %d = %v, %v", i, found, err)
		}
	}
	other := ms[0]
	other.Ref = "owlbtest2"
	if _, found, err := p.Lookup(ctx, other); err != nil || found {
		t.Errorf("Lookup under another batch's reference = %v, %v; want not found", found, err)
	}

	// One bad number refuses the whole call, and says nothing of which.
	bad := append([]sms.Message{message("+8613899990000")}, message("+8612345"))
	_, err = p.SendBatch(ctx, "owlbtest3", bad)
	var pe *sms.ProviderError
	if !errors.As(err, &pe) || pe.Kind != sms.Rejected || pe.Reason != "invalid_number" {
		t.Fatalf("batch with an invalid number: %v", err)
	}
	if strings.Contains(err.Error(), "12345") || strings.Contains(err.Error(), "899990000") {
		t.Errorf("error %q contains a number", err)
	}
	if got := sim.Messages("+8613899990000"); len(got) != 0 {
		t.Errorf("the refused batch's good number got %d messages, want none", len(got))
	}

	if _, err := p.SendBatch(ctx, "owlbtest4", make([]sms.Message, p.MaxBatch()+1)); err == nil {
		t.Error("a batch over MaxBatch was sent")
	}
	_, p2 := start(t, smssim.Options{ThrottleRate: 1})
	if _, err := p2.SendBatch(ctx, "owlbtest5", ms[:1]); !errors.As(err, &pe) || pe.Kind != sms.Throttled {
		t.Errorf("throttled batch: %v", err)
	}
}
