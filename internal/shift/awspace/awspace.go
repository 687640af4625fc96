// Package awspace paces AWS API calls so that many concurrent shifts stay
// under an account's API rate limits: one shared token bucket per API and
// account, taken by every attempt (retries included), and an SDK retryer
// that waits out throttling instead of surfacing it.
//
// AWS throttles per account and region, not per client: 50 shifts moving
// at once share Route 53's five requests per second. Pacing each client
// alone would still exceed the account's budget, and the SDK's default
// retry budget gives up after a burst of throttling errors; both are what
// makes large migrations fail halfway.
package awspace

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"golang.org/x/time/rate"
)

// Rate is the pace of one API.
type Rate struct {
	// PerSecond is the sustained number of requests per second.
	PerSecond float64
	// Burst is how many requests may go at once after a quiet period.
	Burst int
}

// The APIs owl's data planes call, with conservative default rates:
// Route 53 documents five requests per second per account; Elastic Load
// Balancing throttles mutating calls well below its describe calls.
const (
	APIRoute53 = "route53"
	APIELBv2   = "elasticloadbalancing"
)

// DefaultRates are the rates used for APIs a Pacer was not told about.
var DefaultRates = map[string]Rate{
	APIRoute53: {PerSecond: 5, Burst: 1},
	APIELBv2:   {PerSecond: 10, Burst: 2},
}

// Pacer hands out the shared token buckets, one per API and account.
type Pacer struct {
	mu      sync.Mutex
	rates   map[string]Rate
	buckets map[bucketKey]*rate.Limiter
}

type bucketKey struct{ api, account string }

// NewPacer returns a pacer with rates for the APIs named (DefaultRates
// for the others).
func NewPacer(rates map[string]Rate) *Pacer {
	p := &Pacer{rates: map[string]Rate{}, buckets: map[bucketKey]*rate.Limiter{}}
	for k, v := range DefaultRates {
		p.rates[k] = v
	}
	for k, v := range rates {
		p.rates[k] = v
	}
	return p
}

// Limiter returns the one token bucket of api in account; every client of
// that API and account must take its tokens from it.
func (p *Pacer) Limiter(api, account string) *rate.Limiter {
	p.mu.Lock()
	defer p.mu.Unlock()
	k := bucketKey{api, account}
	if l, ok := p.buckets[k]; ok {
		return l
	}
	r, ok := p.rates[api]
	if !ok {
		r = Rate{PerSecond: 1, Burst: 1}
	}
	if r.Burst < 1 {
		r.Burst = 1
	}
	l := rate.NewLimiter(rate.Limit(r.PerSecond), r.Burst)
	p.buckets[k] = l
	return l
}

// Options tune the retryer of a paced client.
type Options struct {
	// MaxAttempts bounds the attempts of one call (default 30: with
	// backoff that is minutes; the caller's context is the real bound).
	MaxAttempts int
	// MaxBackoff caps the wait between two attempts (default 20s).
	MaxBackoff time.Duration
}

// Config returns a copy of cfg whose clients take one token from the
// bucket of api in account before every HTTP attempt, and retry throttling
// (Throttling, ThrottlingException, PriorRequestNotComplete, ...), 5xx and
// network errors with exponential backoff and without the SDK's retry
// quota, so that throttling never reaches the caller.
func (p *Pacer) Config(cfg aws.Config, api, account string, opts Options) aws.Config {
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 30
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 20 * time.Second
	}
	base := cfg.HTTPClient
	if base == nil {
		base = awshttp.NewBuildableClient()
	}
	out := cfg.Copy()
	out.HTTPClient = &Client{Base: base, Limiter: p.Limiter(api, account)}
	out.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = opts.MaxAttempts
			o.MaxBackoff = opts.MaxBackoff
			o.Backoff = retry.NewExponentialJitterBackoff(opts.MaxBackoff)
			// The shared bucket already paces attempts; a client-side
			// retry quota would only turn throttling into failures.
			o.RateLimiter = ratelimit.None
		})
	}
	out.RetryMaxAttempts = 0
	out.RetryMode = ""
	return out
}

// HTTPClient is what the SDK sends one attempt with.
type HTTPClient interface {
	Do(*http.Request) (*http.Response, error)
}

// Client takes a token from Limiter before each request it sends with Base.
type Client struct {
	Base    HTTPClient
	Limiter *rate.Limiter
}

// Do waits for a token (or the request's context) and sends req; the
// request's context then carries the token's time (TokenTime).
func (c *Client) Do(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	now := time.Now()
	res := c.Limiter.ReserveN(now, 1)
	if !res.OK() {
		return nil, fmt.Errorf("wait for %s API token: the bucket has no burst", req.URL.Host)
	}
	if d := res.DelayFrom(now); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			res.Cancel()
			return nil, fmt.Errorf("wait for %s API token: %w", req.URL.Host, ctx.Err())
		}
		now = now.Add(d)
	}
	return c.Base.Do(req.WithContext(context.WithValue(ctx, tokenKey{}, now)))
}

type tokenKey struct{}

// TokenTime is when the attempt of ctx was scheduled by its token bucket:
// the times the bucket hands out respect its rate exactly, whatever delay
// the scheduler and network add after.
func TokenTime(ctx context.Context) (time.Time, bool) {
	t, ok := ctx.Value(tokenKey{}).(time.Time)
	return t, ok
}
