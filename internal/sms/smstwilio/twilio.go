// Package smstwilio sends streak reminders through Twilio's Messages API,
// with the official Go SDK over one shared HTTPS connection pool, and
// receives Twilio's signed inbound-message webhooks (STOP replies).
package smstwilio

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/twilio/twilio-go"
	twclient "github.com/twilio/twilio-go/client"
	openapi "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/owlstack/owl/internal/sms"
)

// Config configures the Twilio adapter.
type Config struct {
	AccountSID string
	AuthToken  string
	// From is the sender number, or empty when MessagingServiceSID is set.
	From                string
	MessagingServiceSID string
	// BaseURL, when set, replaces https://api.twilio.com (the simulator).
	BaseURL string
	// Timeout bounds one API call.
	Timeout time.Duration
	// Concurrency is how many calls may run at once.
	Concurrency int
}

// Provider is the Twilio adapter; it implements sms.Provider.
type Provider struct {
	cfg     Config
	clients chan *client
}

type client struct {
	rest *twilio.RestClient
	rt   *sms.ContextTransport
}

// maxValidity is the longest validity period Twilio accepts, in seconds.
const maxValidity = 36000

// New returns an adapter whose calls all go through transport.
func New(cfg Config, transport http.RoundTripper) (*Provider, error) {
	if cfg.AccountSID == "" || cfg.AuthToken == "" || (cfg.From == "" && cfg.MessagingServiceSID == "") {
		return nil, errors.New("twilio: account SID, auth token and a sender (from number or messaging service) are required")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 16
	}
	var base *url.URL
	if cfg.BaseURL != "" {
		u, err := url.Parse(cfg.BaseURL)
		if err != nil || u.Scheme != "https" || u.Host == "" {
			return nil, fmt.Errorf("twilio: base URL %q: expected https://HOST[:PORT]", cfg.BaseURL)
		}
		base = u
	}
	p := &Provider{cfg: cfg, clients: make(chan *client, cfg.Concurrency)}
	for range cfg.Concurrency {
		rt := &sms.ContextTransport{Base: redirect{base: base, next: transport}}
		hc := &http.Client{Transport: rt, Timeout: cfg.Timeout}
		c := &twclient.Client{Credentials: twclient.NewCredentials(cfg.AccountSID, cfg.AuthToken), HTTPClient: hc}
		c.SetAccountSid(cfg.AccountSID)
		rest := twilio.NewRestClientWithParams(twilio.ClientParams{
			Username: cfg.AccountSID, Password: cfg.AuthToken, AccountSid: cfg.AccountSID, Client: c,
		})
		p.clients <- &client{rest: rest, rt: rt}
	}
	return p, nil
}

// redirect sends requests for api.twilio.com to base instead, when set.
type redirect struct {
	base *url.URL
	next http.RoundTripper
}

func (r redirect) RoundTrip(req *http.Request) (*http.Response, error) {
	if r.base != nil {
		req = req.Clone(req.Context())
		req.URL.Scheme, req.URL.Host, req.Host = r.base.Scheme, r.base.Host, r.base.Host
	}
	return r.next.RoundTrip(req)
}

func (p *Provider) take(ctx context.Context) (*client, error) {
	select {
	case c := <-p.clients:
		c.rt.Use(ctx)
		return c, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (p *Provider) give(c *client) {
	// Drop the job's context: the client must not keep it alive or
	// cancel a later call with it.
	c.rt.Use(context.Background())
	p.clients <- c
}

// Send implements sms.Provider: the rendered text, with a validity period
// that ends at the user's local midnight so that a late message is dropped
// by Twilio rather than delivered.
func (p *Provider) Send(ctx context.Context, m sms.Message) (string, error) {
	validity := int(m.Validity / time.Second)
	if validity < 1 {
		return "", &sms.ProviderError{Kind: sms.Rejected, Reason: "deadline", Code: "validity"}
	}
	c, err := p.take(ctx)
	if err != nil {
		return "", sms.Classify(err)
	}
	defer p.give(c)
	params := &openapi.CreateMessageParams{}
	params.SetTo(m.To)
	if p.cfg.MessagingServiceSID != "" {
		params.SetMessagingServiceSid(p.cfg.MessagingServiceSID)
	} else {
		params.SetFrom(p.cfg.From)
	}
	params.SetBody(sms.Text(m))
	params.SetValidityPeriod(min(validity, maxValidity))
	msg, err := c.rest.Api.CreateMessage(params)
	if err != nil {
		return "", classify(err)
	}
	if msg.Sid == nil {
		return "", &sms.ProviderError{Kind: sms.Ambiguous, Reason: "bad_answer", Code: "no sid"}
	}
	return *msg.Sid, nil
}

// Lookup implements sms.Provider with the message list filtered by To and
// DateSent (UTC dates), matched by text and send time within the
// reminder's local date.
func (p *Provider) Lookup(ctx context.Context, m sms.Message) (string, bool, error) {
	c, err := p.take(ctx)
	if err != nil {
		return "", false, sms.Classify(err)
	}
	defer p.give(c)
	start := m.Deadline.Add(-24 * time.Hour)
	days := []time.Time{dayUTC(start)}
	if last := dayUTC(m.Deadline.Add(-time.Nanosecond)); !last.Equal(days[0]) {
		days = append(days, last)
	}
	text := sms.Text(m)
	for _, day := range days {
		params := &openapi.ListMessageParams{}
		params.SetTo(m.To)
		params.SetDateSent(day)
		params.SetPageSize(50)
		msgs, err := c.rest.Api.ListMessage(params)
		if err != nil {
			return "", false, classify(err)
		}
		for _, msg := range msgs {
			if msg.Sid == nil || msg.Body == nil || *msg.Body != text {
				continue
			}
			if msg.Status != nil && (*msg.Status == "failed" || *msg.Status == "undelivered" || *msg.Status == "canceled") {
				continue
			}
			if msg.DateSent != nil {
				if t, err := time.Parse(time.RFC1123Z, *msg.DateSent); err == nil && (t.Before(start) || !t.Before(m.Deadline)) {
					continue
				}
			}
			return *msg.Sid, true, nil
		}
	}
	return "", false, nil
}

func dayUTC(t time.Time) time.Time {
	y, mo, d := t.UTC().Date()
	return time.Date(y, mo, d, 0, 0, 0, 0, time.UTC)
}

// classify maps a Twilio answer to what may safely follow. Twilio's own
// messages quote the number, so only the code is kept.
func classify(err error) error {
	var te *twclient.TwilioRestError
	if errors.As(err, &te) {
		code := strconv.Itoa(te.Code)
		switch {
		case te.Code == 20429 || te.Status == http.StatusTooManyRequests:
			return &sms.ProviderError{Kind: sms.Throttled, Reason: "throttled", Code: code, RetryAfter: time.Second}
		case te.Code == 21610:
			return &sms.ProviderError{Kind: sms.OptedOut, Reason: "opted_out", Code: code}
		case te.Code == 21211 || te.Code == 21614 || te.Code == 21612 || te.Code == 21408:
			return &sms.ProviderError{Kind: sms.Rejected, Reason: "invalid_number", Code: code}
		case te.Status >= 500:
			return &sms.ProviderError{Kind: sms.Ambiguous, Reason: "server_error", Code: code}
		default:
			return &sms.ProviderError{Kind: sms.Rejected, Reason: "rejected", Code: code}
		}
	}
	return sms.Classify(scrub(err))
}

// scrub drops an error's text, keeping whether it was a timeout: net/http
// errors quote the URL, and a list URL holds the number.
func scrub(err error) error {
	var ne interface{ Timeout() bool }
	if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) {
		return context.DeadlineExceeded
	}
	return errors.New("transport error")
}
