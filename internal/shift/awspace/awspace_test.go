package awspace

import (
	"context"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

type recordingClient struct{ tokens []time.Time }

func (c *recordingClient) Do(req *http.Request) (*http.Response, error) {
	at, ok := TokenTime(req.Context())
	if !ok {
		panic("no token time on a paced request")
	}
	c.tokens = append(c.tokens, at)
	return &http.Response{StatusCode: 200, Body: http.NoBody}, nil
}

func TestBucketsAreSharedPerAPIAndAccount(t *testing.T) {
	p := NewPacer(nil)
	first := p.Limiter(APIRoute53, "1")
	if p.Limiter(APIRoute53, "1") != first {
		t.Fatal("two buckets for one API and account")
	}
	if p.Limiter(APIRoute53, "1") == p.Limiter(APIRoute53, "2") || p.Limiter(APIRoute53, "1") == p.Limiter(APIELBv2, "1") {
		t.Fatal("one bucket shared across accounts or APIs")
	}
	if l := p.Limiter(APIRoute53, "1"); l.Limit() != 5 || l.Burst() != 1 {
		t.Fatalf("route53 default %v/s burst %d, want 5/s burst 1", l.Limit(), l.Burst())
	}
}

func TestEveryAttemptTakesAToken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := NewPacer(map[string]Rate{APIRoute53: {PerSecond: 5, Burst: 1}})
		rec := &recordingClient{}
		// Two clients of one account share the bucket.
		cfg := p.Config(aws.Config{HTTPClient: rec}, APIRoute53, "1", Options{})
		a, b := cfg.HTTPClient, p.Config(aws.Config{HTTPClient: rec}, APIRoute53, "1", Options{}).HTTPClient
		start := time.Now()
		for i := range 11 {
			c := a
			if i%2 == 1 {
				c = b
			}
			req, err := http.NewRequest("GET", "https://route53.amazonaws.com/", nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
		if got := time.Since(start); got != 2*time.Second {
			t.Fatalf("11 calls at 5/s took %v, want 2s", got)
		}
		for i := 1; i < len(rec.tokens); i++ {
			if d := rec.tokens[i].Sub(rec.tokens[i-1]); d != 200*time.Millisecond {
				t.Fatalf("tokens %d and %d %v apart, want 200ms", i-1, i, d)
			}
		}
		r := cfg.Retryer()
		if r.MaxAttempts() != 30 {
			t.Fatalf("retryer allows %d attempts, want 30", r.MaxAttempts())
		}
		// No client-side retry quota: a long run of throttling errors
		// never turns into a "retry quota exceeded" failure.
		for range 1000 {
			release, err := r.GetRetryToken(context.Background(), &throttle{})
			if err != nil {
				t.Fatalf("retry token refused: %v", err)
			}
			if err := release(nil); err != nil {
				t.Fatalf("release a retry token: %v", err)
			}
		}
	})
}

func TestCancelledWaitReturnsTheToken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := NewPacer(map[string]Rate{APIELBv2: {PerSecond: 1, Burst: 1}})
		c := p.Config(aws.Config{HTTPClient: &recordingClient{}}, APIELBv2, "1", Options{}).HTTPClient
		req, err := http.NewRequest("GET", "https://elasticloadbalancing.us-east-1.amazonaws.com/", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := c.Do(req) // takes the burst
		if err != nil {
			t.Fatalf("the first call, within the burst: %v", err)
		}
		resp.Body.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		resp, err = c.Do(req.WithContext(ctx))
		if err == nil {
			resp.Body.Close()
			t.Fatal("a call waited past its context")
		}
	})
}

type throttle struct{}

func (throttle) Error() string     { return "Throttling: Rate exceeded" }
func (throttle) ErrorCode() string { return "Throttling" }
