package tracectx

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// Transport wraps base (nil: http.DefaultTransport) so that every call
// made with it continues the trace of its request's context (or starts
// one), names this service as the Caller, and writes a client access-log
// record when the response body is closed or fully read.
func (t *Tracer) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{t: t, base: base}
}

// Client returns an HTTP client that uses Transport(nil) and timeout.
func (t *Tracer) Client(timeout time.Duration) *http.Client {
	return &http.Client{Transport: t.Transport(nil), Timeout: timeout}
}

type transport struct {
	t    *Tracer
	base http.RoundTripper
}

func (tr *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	t := tr.t
	start := t.now()
	var sc SpanContext
	if st := stateFrom(req.Context()); st != nil {
		sc = st.sc
	} else {
		// A call outside any request: it is the root of its own trace.
		sc = NewTrace(start)
		sc.SpanID = SpanID{}
	}
	call := NewSpanID()
	out := *req // a RoundTripper must not modify the caller's request
	out.Header = req.Header.Clone()
	if out.Header == nil {
		out.Header = http.Header{}
	}
	Inject(out.Header, sc, call, t.service)
	c := &clientCall{t: t, sc: sc, call: call, req: req, start: start}
	if req.Body != nil && req.Body != http.NoBody {
		c.body = &bodyCounter{rc: req.Body}
		out.Body = c.body
	}
	resp, err := tr.base.RoundTrip(&out)
	c.headers = t.now()
	if err != nil {
		c.finish(0, clientErrorClass(req.Context(), err), nil)
		return nil, err
	}
	c.resp = resp
	resp.Body = &respBody{rc: resp.Body, c: c}
	return resp, nil
}

// clientCall is one outgoing call until its response body is done.
type clientCall struct {
	t       *Tracer
	sc      SpanContext
	call    SpanID
	req     *http.Request
	body    *bodyCounter
	resp    *http.Response
	start   time.Time
	headers time.Time
	once    sync.Once
}

func (c *clientCall) finish(read int64, errClass string, _ error) {
	c.once.Do(func() {
		t := c.t
		end := t.now()
		req := c.req
		rec := Record{
			Time:           c.start,
			Kind:           KindClient,
			Service:        t.service,
			TraceRoot:      c.sc.TraceID.Root(),
			Span:           c.call.String(),
			Peer:           req.URL.Host,
			Method:         req.Method,
			Path:           req.URL.Path,
			DurationUS:     end.Sub(c.start).Microseconds(),
			TTFBUS:         c.headers.Sub(c.start).Microseconds(),
			RespBytes:      read,
			AcceptEncoding: req.Header.Get("Accept-Encoding"),
			Error:          errClass,
		}
		if !c.sc.SpanID.IsZero() {
			rec.Parent = c.sc.SpanID.String()
		}
		if resp := c.resp; resp != nil {
			rec.Status = resp.StatusCode
			rec.ContentType = mediaType(resp.Header.Get("Content-Type"))
			rec.Encoding = resp.Header.Get("Content-Encoding")
			if resp.Uncompressed {
				// The transport asked for gzip and unzipped it for us.
				rec.Encoding = "gzip"
				rec.AcceptEncoding = "gzip"
			}
			if rec.Error == "" {
				switch {
				case resp.StatusCode >= 500:
					rec.Error = "server_error"
				case resp.StatusCode >= 400:
					rec.Error = "client_error"
				}
			}
		}
		var bodySum []byte
		if c.body != nil {
			rec.ReqBytes = c.body.n
			bodySum = c.body.sum()
		}
		if req.URL.RawQuery != "" {
			rec.QueryHash = t.hash.Sum(req.URL.RawQuery)
		}
		rec.Fingerprint = t.hash.Fingerprint(req.Method, req.URL.Host+req.URL.Path, req.URL.RawQuery, bodySum)
		if t.log != nil {
			t.log.Write(&rec)
		}
		if t.otel != nil {
			t.otel.export(req.Context(), c.sc, &rec, c.start, end)
		}
	})
}

// respBody counts the response body and finishes the call record at EOF,
// on a read error or on Close, whichever comes first.
type respBody struct {
	rc io.ReadCloser
	c  *clientCall
	n  int64
}

func (b *respBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	b.n += int64(n)
	if err == io.EOF {
		b.c.finish(b.n, "", nil)
	} else if err != nil {
		b.c.finish(b.n, clientErrorClass(b.c.req.Context(), err), err)
	}
	return n, err
}

func (b *respBody) Close() error {
	err := b.rc.Close()
	b.c.finish(b.n, "", nil)
	return err
}

func clientErrorClass(ctx context.Context, err error) string {
	var ne net.Error
	var oe *net.OpError
	switch {
	case errors.Is(err, context.Canceled) || errors.Is(ctx.Err(), context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.As(err, &oe) && oe.Op == "dial":
		return "connection"
	}
	return "transport"
}
