package shiftproxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// Transport is the proxy's HTTP/1.1 client for plain-http upstreams: a
// pool of keep-alive connections on which each request is written and
// its response read by the calling goroutine. net/http's Transport hands
// every request to two goroutines per connection (a writer and a reader)
// and back; on a busy proxy those hand-offs cost more than the proxying.
// Requests are written and responses read by hand (wire.go), with a few
// allocations instead of net/http's dozen. Requests it does not handle
// (https, protocol upgrades) go to Fallback.
type Transport struct {
	// Dialer opens upstream connections.
	Dialer net.Dialer
	// MaxIdlePerHost bounds the idle connections kept per upstream.
	MaxIdlePerHost int
	// IdleTimeout is how long an idle connection may be reused.
	IdleTimeout time.Duration
	// Fallback carries what this transport does not.
	Fallback http.RoundTripper

	mu   sync.Mutex
	idle map[string][]*upConn
}

// NewTransport returns a transport tuned for a proxy: up to 512 idle
// keep-alive connections per upstream, 5s to connect, bodies passed
// through untouched.
func NewTransport() *Transport {
	return &Transport{
		Dialer:         net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second},
		MaxIdlePerHost: 512,
		IdleTimeout:    60 * time.Second,
		Fallback: &http.Transport{
			DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:          1024,
			MaxIdleConnsPerHost:   512,
			IdleConnTimeout:       60 * time.Second,
			TLSHandshakeTimeout:   5 * time.Second,
			ExpectContinueTimeout: time.Second,
			DisableCompression:    true,
		},
	}
}

// upConn is one upstream connection.
type upConn struct {
	t      *Transport
	key    string
	c      net.Conn
	br     *bufio.Reader
	bw     *bufio.Writer
	rr     respReader
	cr     countReader
	idleAt time.Time
}

// countReader counts the bytes read from a connection, to know whether an
// upstream answered anything before it failed.
type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// aLongTimeAgo is a deadline in the past: it interrupts blocked I/O.
var aLongTimeAgo = time.Unix(1, 0)

// RoundTrip sends req and returns its response; the connection goes back
// to the pool when the response body has been read to its end and closed.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "http" || req.Header.Get("Upgrade") != "" || req.Method == http.MethodConnect {
		return t.Fallback.RoundTrip(req)
	}
	key := req.URL.Host
	if _, _, err := net.SplitHostPort(key); err != nil {
		key = net.JoinHostPort(key, "80")
	}
	replayable := (req.Body == nil || req.Body == http.NoBody) &&
		(req.Method == http.MethodGet || req.Method == http.MethodHead || req.Method == http.MethodOptions || req.Method == http.MethodTrace)
	for {
		pc, reused, err := t.get(req.Context(), key)
		if err != nil {
			return nil, err
		}
		resp, err := pc.roundTrip(req)
		if err == nil {
			return resp, nil
		}
		pc.c.Close()
		// An idle connection the upstream closed fails before any byte of
		// an answer; a request that is safe to send again gets a new one.
		if reused && replayable && pc.cr.n == 0 && req.Context().Err() == nil {
			continue
		}
		return nil, err
	}
}

// get takes an idle connection to key or dials one.
func (t *Transport) get(ctx context.Context, key string) (*upConn, bool, error) {
	now := time.Now()
	t.mu.Lock()
	for conns := t.idle[key]; len(conns) > 0; conns = t.idle[key] {
		pc := conns[len(conns)-1]
		conns[len(conns)-1] = nil
		t.idle[key] = conns[:len(conns)-1]
		if now.Sub(pc.idleAt) < t.IdleTimeout {
			t.mu.Unlock()
			return pc, true, nil
		}
		pc.c.Close()
	}
	t.mu.Unlock()
	c, err := t.Dialer.DialContext(ctx, "tcp", key)
	if err != nil {
		return nil, false, err
	}
	pc := &upConn{t: t, key: key, c: c}
	pc.cr.r = c
	pc.br = bufio.NewReaderSize(&pc.cr, 32<<10)
	pc.bw = bufio.NewWriterSize(c, 16<<10)
	pc.rr.br = pc.br
	return pc, false, nil
}

// put returns a connection to the pool, or closes it when the pool is full.
func (t *Transport) put(pc *upConn) {
	pc.idleAt = time.Now()
	t.mu.Lock()
	if t.idle == nil {
		t.idle = map[string][]*upConn{}
	}
	if len(t.idle[pc.key]) < t.MaxIdlePerHost {
		t.idle[pc.key] = append(t.idle[pc.key], pc)
		pc = nil
	}
	t.mu.Unlock()
	if pc != nil {
		pc.c.Close()
	}
}

// CloseIdleConnections closes the pooled connections.
func (t *Transport) CloseIdleConnections() {
	t.mu.Lock()
	idle := t.idle
	t.idle = nil
	t.mu.Unlock()
	for _, conns := range idle {
		for _, pc := range conns {
			pc.c.Close()
		}
	}
	if f, ok := t.Fallback.(interface{ CloseIdleConnections() }); ok {
		f.CloseIdleConnections()
	}
}

func (pc *upConn) roundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	// A cancelled request interrupts the connection's I/O; the connection
	// is then closed, never reused. A connection whose deadline cannot be
	// set is closed at once, which interrupts its I/O as well.
	stop := context.AfterFunc(ctx, func() {
		if err := pc.c.SetDeadline(aLongTimeAgo); err != nil {
			pc.c.Close()
		}
	})
	write := writeRequest
	if !canWriteFast(req) {
		write = func(bw *bufio.Writer, req *http.Request) error { return req.Write(bw) }
	}
	if err := write(pc.bw, req); err != nil {
		stop()
		return nil, fmt.Errorf("write request to %s: %w", pc.key, ctxErr(ctx, err))
	}
	if err := pc.bw.Flush(); err != nil {
		stop()
		return nil, fmt.Errorf("write request to %s: %w", pc.key, ctxErr(ctx, err))
	}
	var resp *http.Response
	for {
		var err error
		resp, err = pc.rr.read(req)
		if err != nil {
			stop()
			return nil, fmt.Errorf("read response from %s: %w", pc.key, ctxErr(ctx, err))
		}
		// Informational answers (100 Continue, 103 Early Hints) precede
		// the real one.
		if resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols {
			break
		}
	}
	reusable := !resp.Close && !req.Close && resp.ProtoAtLeast(1, 1)
	if resp.Body == http.NoBody || resp.Body == nil {
		pc.release(stop, reusable)
		return resp, nil
	}
	resp.Body = &upBody{rc: resp.Body, pc: pc, stop: stop, reusable: reusable}
	return resp, nil
}

// release returns pc to the pool if it is reusable and its request was
// not cancelled meanwhile, and closes it otherwise.
func (pc *upConn) release(stop func() bool, reusable bool) {
	if stop() && reusable {
		pc.t.put(pc)
		return
	}
	pc.c.Close()
}

func ctxErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	return err
}

// upBody is a response body that releases its connection when closed.
type upBody struct {
	rc       io.ReadCloser
	pc       *upConn
	stop     func() bool
	reusable bool
	eof      bool
	done     bool
}

func (b *upBody) Read(p []byte) (int, error) {
	if b.done {
		return 0, errors.New("read on a closed response body")
	}
	n, err := b.rc.Read(p)
	if err == io.EOF {
		b.eof = true
	}
	return n, err
}

func (b *upBody) Close() error {
	if b.done {
		return nil
	}
	b.done = true
	// A body not read to its end leaves the connection mid-response.
	b.pc.release(b.stop, b.reusable && b.eof)
	return nil
}
