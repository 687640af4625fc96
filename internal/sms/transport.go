package sms

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"time"
)

// NewTransport returns the one HTTP transport a provider adapter shares
// among all its calls: keep-alive on, and enough idle connections per host
// for conns concurrent calls, so that a batch reuses a few TLS sessions
// instead of paying a handshake per message. roots, when non-nil, replaces
// the system's certificate authorities (the simulator's certificate).
func NewTransport(roots *x509.CertPool, conns int) *http.Transport {
	if conns < 2 {
		conns = 2
	}
	return &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:     &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout: 5 * time.Second,
		MaxIdleConns:        conns * 2,
		MaxIdleConnsPerHost: conns,
		MaxConnsPerHost:     conns,
		IdleConnTimeout:     90 * time.Second,
		ForceAttemptHTTP2:   false,
	}
}

// ContextTransport sends each request with the context set by WithContext:
// it lets an SDK that takes no context (Alibaba's, Twilio's) honour a job's
// deadline. One ContextTransport serves one call at a time.
type ContextTransport struct {
	Base http.RoundTripper
	ctx  context.Context
}

// Use sets the context of the next requests.
func (t *ContextTransport) Use(ctx context.Context) { t.ctx = ctx }

// RoundTrip implements http.RoundTripper.
func (t *ContextTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.ctx != nil {
		req = req.WithContext(t.ctx)
	}
	return t.Base.RoundTrip(req)
}
