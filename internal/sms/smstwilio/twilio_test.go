package smstwilio_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/owlstack/owl/internal/logging"
	"github.com/owlstack/owl/internal/sms"
	"github.com/owlstack/owl/internal/sms/smssim"
	"github.com/owlstack/owl/internal/sms/smssim/smssimtest"
	"github.com/owlstack/owl/internal/sms/smstwilio"
)

func start(t *testing.T, o smssim.Options) (*smssim.Simulator, *smstwilio.Provider) {
	t.Helper()
	sim := smssimtest.Start(t, o)
	p, err := smstwilio.New(smstwilio.Config{AccountSID: smssim.TwilioAccountSID, AuthToken: smssim.TwilioAuthToken,
		From: smssim.TwilioFrom, BaseURL: sim.URL(), Concurrency: 2}, sms.NewTransport(sim.CertPool(), 2))
	if err != nil {
		t.Fatal(err)
	}
	return sim, p
}

func message(to string) sms.Message {
	d := sms.DateOf(time.Now(), time.UTC)
	return sms.Message{To: to, Ref: sms.Ref("u1", d), UserID: "u1", Date: d, StreakDays: 9,
		Deadline: sms.Deadline(d, time.UTC), Validity: 2 * time.Hour}
}

func TestSendLookupAndErrors(t *testing.T) {
	sim, p := start(t, smssim.Options{})
	ctx := context.Background()
	m := message("+14155552671")
	id, err := p.Send(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	if got, found, err := p.Lookup(ctx, m); err != nil || !found || got != id {
		t.Fatalf("Lookup = %q, %v, %v; want %q", got, found, err, id)
	}
	if _, found, _ := p.Lookup(ctx, message("+14155552672")); found {
		t.Error("Lookup found a message to another number")
	}
	if got := sim.Messages("+14155552671"); len(got) != 1 || !strings.Contains(got[0].Body, "9-day streak") {
		t.Errorf("simulator: %+v", got)
	}
	var pe *sms.ProviderError
	_, err = p.Send(ctx, message("+861012345678")) // a landline
	if !errors.As(err, &pe) || pe.Reason != "invalid_number" || pe.Code != "21614" || strings.Contains(err.Error(), "12345678") {
		t.Errorf("landline: %v", err)
	}
	if err := sim.Reply("twilio", "+14155552671", "STOP"); err != nil {
		t.Fatal(err)
	}
	_, err = p.Send(ctx, m)
	if !errors.As(err, &pe) || pe.Kind != sms.OptedOut || pe.Code != "21610" {
		t.Errorf("after STOP: %v", err)
	}
}

func TestThrottledIsRetryable(t *testing.T) {
	_, p := start(t, smssim.Options{ThrottleRate: 1})
	_, err := p.Send(context.Background(), message("+14155552671"))
	var pe *sms.ProviderError
	if !errors.As(err, &pe) || pe.Kind != sms.Throttled || pe.Code != "20429" {
		t.Fatalf("throttled: %v", err)
	}
}

func TestInboundWebhookChecksTheSignature(t *testing.T) {
	var got []string
	srv := httptest.NewServer(nil)
	defer srv.Close()
	hookURL := srv.URL + "/sms/twilio/inbound"
	srv.Config.Handler = smstwilio.InboundHandler(smssim.TwilioAuthToken, hookURL, func(_ context.Context, from, body string) error {
		got = append(got, from+" "+body)
		return nil
	}, nil, logging.Discard())
	post := func(sig string) int {
		form := url.Values{"From": {"+14155552671"}, "Body": {"STOP"}}
		req, _ := http.NewRequest("POST", hookURL, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("forged"); code != http.StatusForbidden {
		t.Errorf("forged signature: %d", code)
	}
	sig := smssim.TwilioSignature(smssim.TwilioAuthToken, hookURL, map[string]string{"From": "+14155552671", "Body": "STOP"})
	if code := post(sig); code != http.StatusOK || len(got) != 1 || got[0] != "+14155552671 STOP" {
		t.Errorf("signed reply: %d, %q", code, got)
	}
}
