// Package shiftproxy is owl's built-in traffic-shifting data plane: a
// reverse proxy in front of the two sides of a shift that sends each user
// to one side by weight.
//
// A user (named by a request header, or pinned by a cookie the proxy sets)
// falls in bucket hash(shift, user) mod 10000 and goes to the To side when
// the bucket is below the To weight in basis points. As the weight grows a
// user can only move from From to To, never back and forth. Weights change
// atomically between requests; requests in flight finish where they began.
//
// Every request is labelled with the side that served it: the access-log
// record and trace get the attribute side=<label> (tracectx.SetAttr), and
// the metrics owl_shift_proxy_requests_total{shift,side,code} and
// owl_shift_proxy_request_duration_seconds{shift,side} count it.
package shiftproxy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/owlstack/owl/internal/shift"
	"github.com/owlstack/owl/internal/tracectx"
)

// Buckets is the number of stickiness buckets: one per basis point.
const Buckets = shift.FullBP

// DefaultUserHeader is the request header that names the user when
// Options.UserHeader is empty.
const DefaultUserHeader = "X-Owl-User"

// Upstream is one side of the shift as the proxy reaches it.
type Upstream struct {
	// Label names the side in metrics, access logs and traces (e.g. "ecs");
	// empty means "from" or "to".
	Label string
	// URL is where the side is served; its path is a prefix of every
	// forwarded path.
	URL *url.URL
}

// Options configure a Proxy.
type Options struct {
	// Shift names the shift in metrics and salts the user hash, so that two
	// shifts move different users first.
	Shift string
	// From and To are the two sides.
	From, To Upstream
	// Initial is the split before the first SetWeights (default: all to From).
	Initial shift.Split
	// UserHeader names the request header carrying the user id
	// (DefaultUserHeader when empty).
	UserHeader string
	// Cookie, when set, names a cookie that pins requests without a user id
	// to one random id; when empty each such request picks a side at random.
	Cookie string
	// HealthPath is the path probed on each side for Capacity ("/healthz"
	// when empty); HealthInterval is the time between probes (5s when 0).
	HealthPath     string
	HealthInterval time.Duration
	// Transport carries the forwarded requests (NewTransport() when nil).
	Transport http.RoundTripper
	// Tracer, when set, propagates trace context to the upstreams and logs
	// each upstream call.
	Tracer *tracectx.Tracer
	// Registerer receives the proxy's metrics; nil registers none.
	Registerer prometheus.Registerer
	// Log receives weight changes and upstream failures (slog.Default when nil).
	Log *slog.Logger
}

// Proxy is a weighted, sticky reverse proxy between two sides; it
// implements shift.DataPlane.
type Proxy struct {
	shift      string
	salt       uint64
	userHeader string
	cookie     string
	healthPath string
	interval   time.Duration
	rt         http.RoundTripper
	probe      *http.Client
	log        *slog.Logger
	sides      [2]side
	weights    atomic.Pointer[weights]
	toWeight   prometheus.Gauge
	requests   *prometheus.CounterVec
	duration   *prometheus.HistogramVec
}

// weights is one immutable weight setting; SetWeights swaps it whole.
type weights struct {
	toBP  int
	fence uint64
}

// side is one upstream with its pre-resolved metrics and last health probe.
type side struct {
	label    string
	url      *url.URL
	basePath string
	single   bool // the base URL has no path: forwarded paths pass unchanged
	dur      prometheus.Observer
	codes    [600]atomic.Pointer[prometheus.Counter]
	requests *prometheus.CounterVec
	shift    string
	health   atomic.Pointer[probeResult]
}

type probeResult struct {
	at  time.Time
	err error
}

// New returns a proxy for opts.
func New(opts Options) (*Proxy, error) {
	if opts.Shift == "" {
		return nil, errors.New("shift proxy: shift name is empty")
	}
	if err := opts.Initial.Validate(); err != nil {
		return nil, fmt.Errorf("shift proxy %s: initial %w", opts.Shift, err)
	}
	for _, u := range []struct {
		name string
		up   Upstream
	}{{"from", opts.From}, {"to", opts.To}} {
		if u.up.URL == nil || u.up.URL.Host == "" || (u.up.URL.Scheme != "http" && u.up.URL.Scheme != "https") {
			return nil, fmt.Errorf("shift proxy %s: %s upstream URL %v: want an http:// or https:// URL with a host", opts.Shift, u.name, u.up.URL)
		}
	}
	p := &Proxy{
		shift:      opts.Shift,
		salt:       fnvString(fnvOffset, opts.Shift),
		userHeader: http.CanonicalHeaderKey(opts.UserHeader),
		cookie:     opts.Cookie,
		healthPath: opts.HealthPath,
		interval:   opts.HealthInterval,
		rt:         opts.Transport,
		log:        opts.Log,
	}
	if p.userHeader == "" {
		p.userHeader = DefaultUserHeader
	}
	if p.healthPath == "" {
		p.healthPath = "/healthz"
	}
	if p.interval <= 0 {
		p.interval = 5 * time.Second
	}
	if p.rt == nil {
		p.rt = NewTransport()
	}
	// Health probes use the base transport: they are not user traffic.
	p.probe = &http.Client{Transport: p.rt, Timeout: 2 * time.Second}
	if opts.Tracer != nil {
		p.rt = opts.Tracer.Transport(p.rt)
	}
	if p.log == nil {
		p.log = slog.Default()
	}
	p.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "owl_shift_proxy_requests_total",
		Help: "Requests the shift proxy forwarded, by shift, side label and response status code (502: upstream unreachable, 499: client went away).",
	}, []string{"shift", "side", "code"})
	p.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "owl_shift_proxy_request_duration_seconds",
		Help:    "Time from a request's arrival at the shift proxy to the end of its response body, by shift and side label.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"shift", "side"})
	p.toWeight = prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "owl_shift_proxy_to_weight_bp",
		Help:        "Share of users the shift proxy sends to the To side, in basis points.",
		ConstLabels: prometheus.Labels{"shift": opts.Shift},
	})
	info := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "owl_shift_proxy_side_info",
		Help: "Always 1; maps each side label of a shift to its role (from or to).",
	}, []string{"shift", "side", "role"})
	for i, up := range [2]Upstream{opts.From, opts.To} {
		role := [2]string{string(shift.From), string(shift.To)}[i]
		label := up.Label
		if label == "" {
			label = role
		}
		s := &p.sides[i]
		s.label, s.url, s.shift, s.requests = label, up.URL, opts.Shift, p.requests
		s.basePath = strings.TrimSuffix(up.URL.Path, "/")
		if s.basePath != "" && s.basePath[0] != '/' {
			s.basePath = "/" + s.basePath
		}
		s.single = s.basePath == "" && up.URL.RawQuery == ""
		s.dur = p.duration.WithLabelValues(opts.Shift, label)
		info.WithLabelValues(opts.Shift, label, role).Set(1)
	}
	if p.sides[0].label == p.sides[1].label {
		return nil, fmt.Errorf("shift proxy %s: both sides are labelled %q; give them distinct labels", opts.Shift, p.sides[0].label)
	}
	p.weights.Store(&weights{toBP: opts.Initial.ToBP})
	p.toWeight.Set(float64(opts.Initial.ToBP))
	if opts.Registerer != nil {
		for _, c := range []prometheus.Collector{p.requests, p.duration, p.toWeight, info} {
			if err := opts.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("shift proxy %s: register metrics: %w", opts.Shift, err)
			}
		}
	}
	return p, nil
}

// counter returns the request counter of code, resolving it once.
func (s *side) counter(code int) prometheus.Counter {
	if code < 0 || code >= len(s.codes) {
		return s.requests.WithLabelValues(s.shift, s.label, strconv.Itoa(code))
	}
	if c := s.codes[code].Load(); c != nil {
		return *c
	}
	c := s.requests.WithLabelValues(s.shift, s.label, strconv.Itoa(code))
	s.codes[code].Store(&c)
	return c
}

// Label returns the label of one side.
func (p *Proxy) Label(sd shift.Side) string { return p.sides[sideIndex(sd)].label }

func sideIndex(sd shift.Side) int {
	if sd == shift.To {
		return 1
	}
	return 0
}

// FNV-1a, 64 bits: cheap, allocation-free and stable across releases,
// which stickiness needs (a user must land in the same bucket tomorrow).
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func fnvString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return h
}

// Bucket returns the stickiness bucket (0..Buckets-1) of a user in this
// shift; the user goes to the To side while Bucket < the To weight.
func (p *Proxy) Bucket(user string) int {
	h := fnvString(p.salt, user)
	// Finish with a 64-bit mixer so that similar ids spread evenly.
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return int(h % Buckets)
}

// choose picks the side of r under w, and the cookie to set when the
// request had no user id and the proxy pins such users.
func (p *Proxy) choose(r *http.Request, w *weights) (int, *http.Cookie) {
	var user string
	if v := r.Header[p.userHeader]; len(v) > 0 {
		user = v[0]
	}
	var set *http.Cookie
	if user == "" && p.cookie != "" {
		if c, err := r.Cookie(p.cookie); err == nil && c.Value != "" {
			user = c.Value
		} else {
			var b [12]byte
			_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
			user = hex.EncodeToString(b[:])
			set = &http.Cookie{Name: p.cookie, Value: user, Path: "/", MaxAge: 30 * 24 * 3600, HttpOnly: true, SameSite: http.SameSiteLaxMode}
		}
	}
	var b int
	if user == "" {
		b = mrand.IntN(Buckets)
	} else {
		b = p.Bucket(user)
	}
	if b < w.toBP {
		return 1, set
	}
	return 0, set
}

// ServeHTTP forwards r to the side its user belongs to.
func (p *Proxy) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	start := time.Now()
	i, cookie := p.choose(r, p.weights.Load())
	s := &p.sides[i]
	tracectx.SetAttr(r.Context(), "side", s.label)
	if cookie != nil {
		http.SetCookie(rw, cookie)
	}
	code := p.forward(rw, r, s)
	s.counter(code).Inc()
	s.dur.Observe(time.Since(start).Seconds())
}

// statusClientGone is what the metrics count when the client left before
// the answer (nginx's 499).
const statusClientGone = 499

var bufPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// forward sends r to s and copies the answer back; it returns the status
// code to count.
func (p *Proxy) forward(rw http.ResponseWriter, r *http.Request, s *side) int {
	ctx := r.Context()
	out := r.WithContext(ctx) // a shallow copy: the server owns r
	out.URL = s.target(r.URL)
	out.Host = s.url.Host
	out.RequestURI = ""
	out.Close = false
	out.Header = outHeader(r)
	if r.ContentLength == 0 {
		out.Body = nil // no body: let the transport send none instead of chunking
	}
	resp, err := p.rt.RoundTrip(out)
	if err != nil {
		if ctx.Err() != nil {
			return statusClientGone
		}
		p.log.WarnContext(ctx, "shift proxy: upstream unreachable", "shift", p.shift, "side", s.label, "method", r.Method, "path", r.URL.Path, "err", err)
		rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
		rw.WriteHeader(http.StatusBadGateway)
		_, _ = io.WriteString(rw, "bad gateway: upstream "+s.label+" unreachable\n")
		return http.StatusBadGateway
	}
	defer resp.Body.Close()

	h := rw.Header()
	connTokens := resp.Header["Connection"]
	for k, vv := range resp.Header {
		if isHopByHop(k) || inTokens(connTokens, k) {
			continue
		}
		h[k] = vv
	}
	if len(resp.Trailer) > 0 {
		names := make([]string, 0, len(resp.Trailer))
		for k := range resp.Trailer {
			names = append(names, k)
		}
		h["Trailer"] = []string{strings.Join(names, ", ")}
	}
	rw.WriteHeader(resp.StatusCode)

	// Streams (no length, or server-sent events) are flushed after every
	// read so that the client sees each event when the upstream sends it.
	var flusher *http.ResponseController
	if resp.ContentLength == -1 || strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		flusher = http.NewResponseController(rw)
		_ = flusher.Flush() // headers now: the first event may take a while
	}
	bp := bufPool.Get().(*[]byte)
	readErr, writeErr := copyBody(rw, resp.Body, *bp, flusher)
	bufPool.Put(bp)
	if writeErr != nil {
		// The client went away: nothing more to say to it.
		return statusClientGone
	}
	if readErr != nil {
		p.log.WarnContext(ctx, "shift proxy: upstream body broke off", "shift", p.shift, "side", s.label, "path", r.URL.Path, "err", readErr)
		// Abort the response so that the client sees a truncated body as
		// an error, not as a complete answer.
		s.counter(http.StatusBadGateway).Inc()
		panic(http.ErrAbortHandler)
	}
	for k, vv := range resp.Trailer {
		h[k] = vv
	}
	return resp.StatusCode
}

func copyBody(dst http.ResponseWriter, src io.Reader, buf []byte, flusher *http.ResponseController) (readErr, writeErr error) {
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return nil, werr
			}
			if flusher != nil {
				if ferr := flusher.Flush(); ferr != nil && !errors.Is(ferr, http.ErrNotSupported) {
					return nil, ferr
				}
			}
		}
		if err == io.EOF {
			return nil, nil
		}
		if err != nil {
			return err, nil
		}
	}
}

// target is the upstream URL of an incoming request URL.
func (s *side) target(in *url.URL) *url.URL {
	u := &url.URL{Scheme: s.url.Scheme, Host: s.url.Host, Path: in.Path, RawPath: in.RawPath, RawQuery: in.RawQuery}
	if s.single {
		return u
	}
	u.Path = s.basePath + in.Path
	if in.RawPath != "" {
		u.RawPath = s.basePath + in.RawPath
	}
	if q := s.url.RawQuery; q != "" {
		if u.RawQuery == "" {
			u.RawQuery = q
		} else {
			u.RawQuery = q + "&" + u.RawQuery
		}
	}
	return u
}

// hopByHop are the headers that concern one connection, not the request
// (RFC 9110 section 7.6.1); a proxy must not forward them.
var hopByHop = [...]string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

func isHopByHop(k string) bool {
	for _, h := range hopByHop {
		if k == h {
			return true
		}
	}
	return false
}

// inTokens reports whether the header k is named in a Connection header.
func inTokens(values []string, k string) bool {
	for _, v := range values {
		for tok := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(tok), k) {
				return true
			}
		}
	}
	return false
}

// outHeader is the header of the forwarded request: r's end-to-end
// headers (values shared, never modified) plus X-Forwarded-*.
func outHeader(r *http.Request) http.Header {
	h := make(http.Header, len(r.Header)+3)
	conn := r.Header["Connection"]
	for k, vv := range r.Header {
		if isHopByHop(k) || inTokens(conn, k) {
			if k == "Te" && inTokens(vv, "trailers") {
				h[k] = []string{"trailers"} // the one TE value a proxy passes on
			}
			continue
		}
		h[k] = vv
	}
	// One backing array for the values added here: one allocation.
	xf := make([]string, 0, 2)
	if ip, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		if prior := r.Header["X-Forwarded-For"]; len(prior) > 0 {
			ip = strings.Join(prior, ", ") + ", " + ip
		}
		xf = append(xf, ip)
		h["X-Forwarded-For"] = xf[0:1:1]
	}
	if _, ok := r.Header["X-Forwarded-Host"]; !ok && r.Host != "" {
		xf = append(xf, r.Host)
		h["X-Forwarded-Host"] = xf[len(xf)-1 : len(xf) : len(xf)]
	}
	if _, ok := r.Header["X-Forwarded-Proto"]; !ok {
		if r.TLS != nil {
			h["X-Forwarded-Proto"] = protoHTTPS
		} else {
			h["X-Forwarded-Proto"] = protoHTTP
		}
	}
	return h
}

// protoHTTP and protoHTTPS are shared, never modified: headers of
// forwarded requests are only read.
var (
	protoHTTP  = []string{"http"}
	protoHTTPS = []string{"https"}
)

// SetWeights sends split.ToBP of the users to the To side from the next
// request on. A fence below the highest one seen is refused with
// shift.ErrStaleFence.
func (p *Proxy) SetWeights(_ context.Context, split shift.Split, fence uint64) error {
	if err := split.Validate(); err != nil {
		return fmt.Errorf("shift proxy %s: set weights: %w", p.shift, err)
	}
	for {
		cur := p.weights.Load()
		if fence < cur.fence {
			return fmt.Errorf("shift proxy %s: set weights with fence %d, already saw %d: %w", p.shift, fence, cur.fence, shift.ErrStaleFence)
		}
		if p.weights.CompareAndSwap(cur, &weights{toBP: split.ToBP, fence: fence}) {
			p.toWeight.Set(float64(split.ToBP))
			if cur.toBP != split.ToBP {
				p.log.Info("shift proxy weights changed", "shift", p.shift, "from_bp", cur.toBP, "to_bp", split.ToBP, "fence", fence)
			}
			return nil
		}
	}
}

// ReadWeights returns the split the proxy applies now.
func (p *Proxy) ReadWeights(context.Context) (shift.Split, error) {
	return shift.Split{ToBP: p.weights.Load().toBP}, nil
}

// Fence returns the highest fencing token the proxy has seen.
func (p *Proxy) Fence() uint64 { return p.weights.Load().fence }

// Resolution is one basis point: the proxy has one bucket per basis point.
func (p *Proxy) Resolution() int { return 1 }

// Capacity reports whether a side's upstream answers its health path: one
// desired replica, ready when the last probe (at most two intervals old,
// else probed now) succeeded.
func (p *Proxy) Capacity(ctx context.Context, sd shift.Side) (shift.Capacity, error) {
	if sd != shift.From && sd != shift.To {
		return shift.Capacity{}, fmt.Errorf("shift proxy %s: capacity of side %q: want from or to", p.shift, sd)
	}
	s := &p.sides[sideIndex(sd)]
	res := s.health.Load()
	if res == nil || time.Since(res.at) > 2*p.interval {
		res = p.check(ctx, s)
	}
	c := shift.Capacity{Desired: 1}
	if res.err == nil {
		c.Ready = 1
	}
	return c, nil
}

// Run probes both sides every health interval until ctx ends.
func (p *Proxy) Run(ctx context.Context) error {
	t := time.NewTicker(p.interval)
	defer t.Stop()
	for {
		for i := range p.sides {
			p.check(ctx, &p.sides[i])
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// check probes one side's health path and records the result.
func (p *Proxy) check(ctx context.Context, s *side) *probeResult {
	res := &probeResult{at: time.Now(), err: p.probeOnce(ctx, s)}
	if old := s.health.Swap(res); old != nil && (old.err == nil) != (res.err == nil) {
		if res.err != nil {
			p.log.Warn("shift proxy: side unhealthy", "shift", p.shift, "side", s.label, "err", res.err)
		} else {
			p.log.Info("shift proxy: side healthy again", "shift", p.shift, "side", s.label)
		}
	}
	return res
}

func (p *Proxy) probeOnce(ctx context.Context, s *side) error {
	u := s.target(&url.URL{Path: p.healthPath})
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	resp, err := p.probe.Do(req)
	if err != nil {
		return fmt.Errorf("probe %s: %w", u.Redacted(), err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("probe %s: status %d", u.Redacted(), resp.StatusCode)
	}
	return nil
}
