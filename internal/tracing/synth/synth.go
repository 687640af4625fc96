// Package synth simulates a fleet of microservices behind AWS load
// balancers and writes what it would log, with the true call trees beside
// it: DIR/alb/ (gzipped ALB access logs, named as AWS names them),
// DIR/app/SERVICE.jsonl (owl access logs) and DIR/truth.jsonl (the trees,
// in owl's trace format, ordered by trace id). Tests check the stitcher
// against the truth; demos and analyses get realistic traffic with faults.
package synth

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/owlstack/owl/internal/tracectx"
	"github.com/owlstack/owl/internal/tracing"
	"github.com/owlstack/owl/internal/tracing/tracingalb"
)

// Config describes a simulation.
type Config struct {
	// Services is the number of services, at least 1; the first is the
	// entry point behind the public load balancer.
	Services int
	// Requests is the number of user requests.
	Requests int
	// Faults are injected misbehaviours (see ParseFaults).
	Faults []Fault
	// Seed makes the run reproducible: same config, same bytes.
	Seed uint64
	// Start is the time of the first request; zero is 2026-01-01T00:00:00Z.
	Start time.Time
	// IncidentFaults start at IncidentAt: requests that arrive at or after
	// it meet them on top of Faults (a baseline, then an incident).
	IncidentFaults []Fault
	// IncidentAt is when IncidentFaults start.
	IncidentAt time.Time
	// Patterns are call patterns the analyses should find (see ParsePatterns).
	Patterns []Pattern
	// CallProb is the chance that a service makes each of its downstream
	// calls while serving a request; 0 means always, so that every request
	// reaches every service.
	CallProb float64
}

// DefaultStart returns the time of the first request when Config.Start is
// zero: 2026-01-01T00:00:00Z.
func DefaultStart() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }

// Summary counts what Write wrote.
type Summary struct {
	Services []string
	Requests int
	Spans    int
	ALBLines int
	AppLines int
}

const (
	publicELB   = "app/owl-public/50dc6c495c0c9188"
	internalELB = "app/owl-internal/7c1f0d2e9a3b4c5d"
	account     = "123456789012"
	region      = "us-east-1"
	dynamo      = "dynamodb." + region + ".amazonaws.com"
	synthKey    = "owl synth fingerprint key"
)

var names = []string{"api", "session", "course", "user", "streak", "cart", "payment", "sms", "search", "notify", "profile", "league", "shop", "ads", "asset"}

// ServiceNames returns the names of the first n simulated services.
func ServiceNames(n int) []string {
	out := make([]string, n)
	for i := range out {
		if i < len(names) {
			out[i] = names[i]
		} else {
			out[i] = "svc" + strconv.Itoa(i)
		}
	}
	return out
}

type call struct {
	to      int  // service index, or -1 for DynamoDB
	viaLB   bool // through the internal load balancer
	repeats int  // identical calls in a row (a cache opportunity)
	// same makes the calls to a service identical (same path and body),
	// as the DynamoDB calls are; otherwise each call asks for another id.
	same bool
	// delay is network time added between the caller's send and the
	// callee's receive (Pattern netdelay).
	delay time.Duration
}

type service struct {
	name     string
	route    string // e.g. GET /v1/cart/{id}
	method   string
	base     int // own work, µs
	resp     int64
	gzip     bool
	calls    []call
	latency  time.Duration
	errRate  float64
	skew     time.Duration
	skewed   bool
	resource string
	// depLatency slows its DynamoDB calls (slowdep); retryRate is its
	// share of transient failures that callers retry (retries); timeout is
	// how long it waits for a callee before giving up (timeout faults);
	// spike is the extra time of a share spikeRate of its requests.
	depLatency time.Duration
	retryRate  float64
	timeout    time.Duration
	spike      time.Duration
	spikeRate  float64
}

// Write runs the simulation into dir, which must not exist or be empty.
// The files appear at once: they are written to a temporary folder beside
// dir and renamed.
func Write(dir string, cfg Config) (*Summary, error) {
	if cfg.Services < 1 || cfg.Requests < 0 {
		return nil, fmt.Errorf("synth: want at least 1 service and 0 or more requests")
	}
	if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
		return nil, fmt.Errorf("synth: %s is not empty", dir)
	}
	if err := os.MkdirAll(filepath.Dir(filepath.Clean(dir)), 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(filepath.Clean(dir)), ".owl-synth-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	g, err := newGen(tmp, cfg)
	if err != nil {
		return nil, err
	}
	if err := g.run(); err != nil {
		// The run's error is the one to report; the half-written files
		// are removed with tmp.
		_ = g.closeAll()
		return nil, err
	}
	if err := g.closeAll(); err != nil {
		return nil, err
	}
	os.Remove(dir) // an empty folder may be replaced
	if err := os.Rename(tmp, dir); err != nil {
		return nil, err
	}
	return &g.sum, nil
}

type gen struct {
	cfg    Config
	dir    string
	rng    *rand.Rand
	svcs   []*service
	hash   *tracectx.Hasher
	app    map[string]*bufio.Writer
	files  []*os.File
	alb    map[string]*albFile // by file name
	truth  *tracing.Writer
	tfile  *os.File
	batch  []*tracing.Trace
	second int64
	sum    Summary
	buf    []byte
	err    error // the first write error of a load balancer log
	// normal are the services before IncidentAt, incident after it (nil
	// without incident faults); svcs is the set serving the request.
	normal, incident []*service
	// emit receives the traces of an in-memory run (Generate), which
	// writes no files.
	emit func(*tracing.Trace) error
	// resend is the call a retry repeats.
	resend result
}

type albFile struct {
	f  *os.File
	zw *gzip.Writer
	bw *bufio.Writer
}

func newGen(dir string, cfg Config) (*gen, error) {
	if cfg.Start.IsZero() {
		cfg.Start = DefaultStart()
	}
	g := &gen{
		cfg:  cfg,
		dir:  dir,
		rng:  rand.New(rand.NewPCG(cfg.Seed, 0x6f776c73796e7468)),
		hash: tracectx.NewHasher([]byte(synthKey)),
		app:  map[string]*bufio.Writer{},
		alb:  map[string]*albFile{},
	}
	names := ServiceNames(cfg.Services)
	byName := map[string]*service{}
	for i, n := range names {
		s := &service{
			name:     n,
			method:   []string{"GET", "GET", "POST"}[g.rng.IntN(3)],
			base:     500 + g.rng.IntN(4000),
			resp:     int64(200 + g.rng.IntN(8000)),
			gzip:     g.rng.IntN(4) != 0,
			resource: n,
		}
		if i == 0 {
			s.method = "POST"
			s.resource = "sessions"
		}
		s.route = s.method + " /v1/" + s.resource + "/{id}"
		g.svcs = append(g.svcs, s)
		byName[n] = s
	}
	// A random tree rooted at the entry, plus a few extra edges downward.
	for i := 1; i < len(g.svcs); i++ {
		p := g.rng.IntN(i)
		g.svcs[p].calls = append(g.svcs[p].calls, call{to: i, viaLB: i%3 == 1})
	}
	for i := range g.svcs {
		if i+2 < len(g.svcs) && g.rng.IntN(3) == 0 {
			j := i + 2 + g.rng.IntN(len(g.svcs)-i-2)
			g.svcs[i].calls = append(g.svcs[i].calls, call{to: j, viaLB: j%3 == 1})
		}
		if g.rng.IntN(3) == 0 || i == 2 {
			rep := 1
			if i == 2 {
				rep = 3 // the seed's story: one method asking DynamoDB for the same item thrice
			}
			g.svcs[i].calls = append(g.svcs[i].calls, call{to: -1, repeats: rep})
		}
	}
	if err := applyPatterns(g.svcs, byName, cfg.Patterns); err != nil {
		return nil, err
	}
	if err := applyFaults(g.svcs, byName, cfg.Faults); err != nil {
		return nil, err
	}
	g.normal = g.svcs
	if len(cfg.IncidentFaults) > 0 {
		byName = map[string]*service{}
		for _, s := range g.normal {
			c := *s
			g.incident = append(g.incident, &c)
			byName[c.name] = &c
		}
		if err := applyFaults(g.incident, byName, cfg.IncidentFaults); err != nil {
			return nil, err
		}
	}
	if dir == "" {
		g.sum.Services = names
		return g, nil // in memory: no files
	}
	for _, sub := range []string{"alb", "app"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, err
		}
	}
	for _, s := range g.svcs {
		f, err := os.Create(filepath.Join(dir, "app", s.name+".jsonl"))
		if err != nil {
			return nil, err
		}
		g.files = append(g.files, f)
		g.app[s.name] = bufio.NewWriterSize(f, 64<<10)
	}
	tf, err := os.Create(filepath.Join(dir, "truth.jsonl"))
	if err != nil {
		return nil, err
	}
	g.tfile = tf
	g.truth = tracing.NewWriter(tf)
	g.sum.Services = names
	return g, nil
}

// applyFaults gives the services of svcs (by name in byName) their faults.
func applyFaults(svcs []*service, byName map[string]*service, faults []Fault) error {
	for _, f := range faults {
		s, ok := byName[f.Service]
		if !ok {
			names := make([]string, len(svcs))
			for i, s := range svcs {
				names[i] = s.name
			}
			return fmt.Errorf("synth: fault %s names service %q; services: %s", f, f.Service, strings.Join(names, ", "))
		}
		ms := time.Duration(f.MS) * time.Millisecond
		switch f.Kind {
		case FaultLatency:
			s.latency += ms
		case FaultErrors:
			s.errRate = f.Rate
		case FaultSkew:
			s.skew, s.skewed = ms, true
		case FaultUncompressed:
			s.gzip = false
		case FaultSlowDep:
			s.depLatency += ms
		case FaultRetries:
			s.retryRate = f.Rate
		case FaultTimeout:
			s.latency += ms
			for _, o := range svcs {
				if o.timeout == 0 || o.timeout > ms/2 {
					o.timeout = ms / 2
				}
			}
		case FaultSpikes:
			s.spike, s.spikeRate = ms, f.Rate
		}
	}
	return nil
}

// Generate runs the simulation in memory and passes each true trace to
// emit, in the order the requests arrive, writing no logs: for analyses
// that need many simulated fleets fast. It stops at emit's first error.
func Generate(cfg Config, emit func(*tracing.Trace) error) (*Summary, error) {
	if cfg.Services < 1 || cfg.Requests < 0 {
		return nil, fmt.Errorf("synth: want at least 1 service and 0 or more requests")
	}
	g, err := newGen("", cfg)
	if err != nil {
		return nil, err
	}
	g.emit = emit
	if err := g.run(); err != nil {
		return nil, err
	}
	return &g.sum, nil
}

func (g *gen) closeAll() error {
	var first error
	keep := func(err error) {
		if err != nil && first == nil {
			first = err
		}
	}
	keep(g.flushBatch())
	keep(g.truth.Flush())
	keep(g.tfile.Close())
	for _, s := range g.svcs {
		keep(g.app[s.name].Flush())
	}
	for _, f := range g.files {
		keep(f.Close())
	}
	names := make([]string, 0, len(g.alb))
	for n := range g.alb {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		a := g.alb[n]
		keep(a.bw.Flush())
		keep(a.zw.Close())
		keep(a.f.Close())
	}
	return first
}

func (g *gen) us(lo, hi int) time.Duration {
	return time.Duration(lo+g.rng.IntN(hi-lo+1)) * time.Microsecond
}

func (g *gen) spanID() string {
	var b [8]byte
	for {
		binary.BigEndian.PutUint64(b[:], g.rng.Uint64())
		if b != [8]byte{} {
			return hex.EncodeToString(b[:])
		}
	}
}

func (g *gen) run() error {
	t := g.cfg.Start.Truncate(time.Microsecond)
	for i := range g.cfg.Requests {
		t = t.Add(g.us(2000, 30000))
		if err := g.request(t, i); err != nil {
			return err
		}
		if i%100 == 99 {
			// Now and then a request so malformed the ALB forwards nothing
			// and logs no trace header: counted, but it makes no trace.
			if err := g.untraced(t.Add(500 * time.Microsecond)); err != nil {
				return err
			}
		}
	}
	return g.err
}

func (g *gen) keep(err error) {
	if err != nil && g.err == nil {
		g.err = err
	}
}

// request simulates one user request arriving at the public ALB at t0.
func (g *gen) request(t0 time.Time, n int) error {
	var id tracectx.TraceID
	binary.BigEndian.PutUint32(id[:4], uint32(t0.Unix()))
	binary.BigEndian.PutUint64(id[4:12], g.rng.Uint64())
	binary.BigEndian.PutUint32(id[12:], g.rng.Uint32())
	tr := &tracing.Trace{Root: id.Root(), TraceID: id.String()}
	g.svcs = g.normal
	if g.incident != nil && !t0.Before(g.cfg.IncidentAt) {
		g.svcs = g.incident
	}
	root := tr.Root
	lbID := tracing.LBSpanID(root, "")
	entry := g.svcs[0]
	path := fmt.Sprintf("/v1/%s/%d", entry.resource, 1000+n)
	reqBytes := int64(40 + g.rng.IntN(400))
	srvStart := t0.Add(g.us(150, 400))
	res := g.serve(tr, 0, srvStart, path, reqBytes, lbID, "", "", "")
	lbEnd := res.end.Add(g.us(80, 300))
	lb := tracing.Span{
		SpanID: lbID, Kind: tracing.KindLB, Service: publicELB, Method: entry.method, Path: path, Status: res.status,
		Start: t0, DurationUS: lbEnd.Sub(t0).Microseconds(), ReqBytes: reqBytes, RespBytes: res.bytes, Error: tracectx.StatusErrorClass(res.status),
	}
	tr.Spans = append(tr.Spans, lb)
	amzn := tracectx.Amzn{Root: id}
	if err := g.albLine(publicELB, lb, res, "api.owl.example", amzn.String(), fmt.Sprintf("203.0.113.%d:%d", 1+g.rng.IntN(250), 1024+g.rng.IntN(60000)), "?lang=fr"); err != nil {
		return err
	}
	tracing.Order(tr)
	g.sum.Requests++
	g.sum.Spans += len(tr.Spans)
	return g.addTruth(tr)
}

type result struct {
	end    time.Time
	status int
	bytes  int64
	target string // ip:port of the server
	// path and reqBytes are what a call sent, so that a retry resends it.
	path     string
	reqBytes int64
}

// serve simulates service i serving a request that starts at start; the
// true parent span is parent, and the request carried self, rawParent and
// caller in its X-Amzn-Trace-Id header.
func (g *gen) serve(tr *tracing.Trace, i int, start time.Time, path string, reqBytes int64, parent, self, rawParent, caller string) result {
	s := g.svcs[i]
	id := g.spanID()
	work := time.Duration(s.base)*time.Microsecond + g.us(0, s.base/2) + s.latency
	if s.spikeRate > 0 && g.rng.Float64() < s.spikeRate {
		work += s.spike
	}
	if s.retryRate > 0 {
		// The retries' extra load slows every request.
		work += time.Duration(float64(work) * s.retryRate)
	}
	pre := (work / 3).Truncate(time.Microsecond)
	t := start.Add(pre)
	status := 200
	for _, c := range s.calls {
		if g.cfg.CallProb > 0 && g.rng.Float64() >= g.cfg.CallProb {
			continue
		}
		for range max(c.repeats, 1) {
			cs := g.call(tr, s, id, c, t)
			// A callee with transient failures is retried, up to 3
			// attempts, with exponential backoff.
			for try := 1; cs.status >= 500 && cs.status != 504 && try < 3 && c.to >= 0 && g.svcs[c.to].retryRate > 0; try++ {
				g.resend = cs
				cs = g.call(tr, s, id, c, cs.end.Add(g.us(2000<<try, 4000<<try)))
				g.resend = result{}
			}
			if cs.status >= 500 {
				status = 502
			}
			t = cs.end.Add(g.us(30, 200))
		}
	}
	end := t.Add(work - pre)
	if s.errRate > 0 && g.rng.Float64() < s.errRate {
		status = 500
	}
	if s.retryRate > 0 && g.rng.Float64() < s.retryRate {
		status = 503
	}
	resp := s.resp + int64(g.rng.IntN(100))
	enc := ""
	if s.gzip {
		enc = "gzip"
	}
	if status >= 500 {
		resp, enc = 21, ""
	}
	sp := tracing.Span{
		SpanID: id, ParentID: parent, Kind: tracing.KindServer, Service: s.name, Caller: caller, Method: s.method, Route: s.route, Path: path,
		Status: status, Start: start, DurationUS: end.Sub(start).Microseconds(), ReqBytes: reqBytes, RespBytes: resp,
		ContentType: "application/json", Encoding: enc, AcceptEncoding: "gzip", Fingerprint: g.hash.Fingerprint(s.method, s.route, "", bodyOf(reqBytes)),
		Error: tracectx.StatusErrorClass(status),
	}
	tr.Spans = append(tr.Spans, sp)
	rec := tracectx.Record{
		Time: start, Kind: tracectx.KindServer, Service: s.name, TraceRoot: tr.Root, Span: id, Parent: rawParent, Self: self, Caller: caller,
		Method: s.method, Route: s.route, Path: path, Status: status, DurationUS: sp.DurationUS, TTFBUS: sp.DurationUS - 50,
		ReqBytes: reqBytes, RespBytes: resp, ContentType: sp.ContentType, Encoding: enc, AcceptEncoding: sp.AcceptEncoding,
		Fingerprint: sp.Fingerprint, UAHash: g.hash.Sum("owl-synth/1.0"), Error: sp.Error,
	}
	g.writeApp(s, &rec)
	return result{end: end, status: status, bytes: resp, target: fmt.Sprintf("10.0.%d.%d:8080", 1+i/200, 10+i%200)}
}

// call simulates caller s (serving span from) calling c at t.
func (g *gen) call(tr *tracing.Trace, s *service, from string, c call, t time.Time) result {
	id := g.spanID()
	cs := tracing.Span{SpanID: id, ParentID: from, Kind: tracing.KindClient, Service: s.name, Start: t, ContentType: "application/json", AcceptEncoding: "gzip"}
	var end time.Time
	var res result
	if c.to < 0 {
		cs.Peer, cs.Method, cs.Path = dynamo, "POST", "/"
		cs.ReqBytes, cs.RespBytes = 120, 512
		cs.Status = 200
		end = t.Add(g.us(400, 3000) + s.depLatency)
		res = result{status: 200, bytes: 512}
		cs.Fingerprint = g.hash.Fingerprint("POST", dynamo+"/", "", []byte("GetItem "+s.name))
	} else {
		to := g.svcs[c.to]
		path := fmt.Sprintf("/v1/%s/%d", to.resource, g.rng.IntN(100000))
		reqBytes := int64(20 + g.rng.IntN(300))
		if c.same {
			path, reqBytes = fmt.Sprintf("/v1/%s/%d", to.resource, 4242), 64
		}
		if g.resend.path != "" {
			path, reqBytes = g.resend.path, g.resend.reqBytes
		}
		cs.Method, cs.Path, cs.ReqBytes = to.method, path, reqBytes
		cs.Fingerprint = g.hash.Fingerprint(to.method, to.name+".internal:8080"+path, "", bodyOf(reqBytes))
		arrive := t.Add(g.us(80, 400) + c.delay)
		if c.viaLB {
			cs.Peer = "internal-owl-internal-1234567890.us-east-1.elb.amazonaws.com"
			cs.Fingerprint = g.hash.Fingerprint(to.method, cs.Peer+path, "", bodyOf(reqBytes))
			var sid [12]byte
			binary.BigEndian.PutUint64(sid[:8], g.rng.Uint64())
			binary.BigEndian.PutUint32(sid[8:], g.rng.Uint32())
			self := fmt.Sprintf("1-%08x-%s", uint32(arrive.Unix()), hex.EncodeToString(sid[:]))
			root, _ := tracectx.ParseRoot(tr.Root)
			lbID := tracing.LBSpanID(tr.Root, self)
			callSpan, _ := tracectx.ParseSpanID(id)
			res = g.serve(tr, c.to, arrive.Add(g.us(100, 300)), path, reqBytes, lbID, self, id, s.name)
			lbEnd := res.end.Add(g.us(60, 200))
			lb := tracing.Span{
				SpanID: lbID, ParentID: id, Kind: tracing.KindLB, Service: internalELB, Caller: s.name, Method: to.method, Path: path,
				Status: res.status, Start: arrive, DurationUS: lbEnd.Sub(arrive).Microseconds(), ReqBytes: reqBytes, RespBytes: res.bytes,
				Error: tracectx.StatusErrorClass(res.status),
			}
			tr.Spans = append(tr.Spans, lb)
			hdr := tracectx.Amzn{Root: root, Parent: callSpan, Self: self, Caller: s.name}
			g.keep(g.albLine(internalELB, lb, res, "", hdr.String(), fmt.Sprintf("10.0.9.%d:%d", 1+g.rng.IntN(250), 1024+g.rng.IntN(60000)), ""))
			end = lbEnd.Add(g.us(80, 400))
		} else {
			cs.Peer = to.name + ".internal:8080"
			res = g.serve(tr, c.to, arrive, path, reqBytes, id, "", id, s.name)
			end = res.end.Add(g.us(80, 400))
		}
		cs.Status, cs.RespBytes = res.status, res.bytes
		res.path, res.reqBytes = path, reqBytes
		if s.timeout > 0 && end.Sub(t) > s.timeout {
			// The caller gives up; the callee works on regardless.
			end = t.Add(s.timeout)
			res.status, res.bytes = 504, 0
			cs.Status, cs.RespBytes = 504, 0
		}
		if res.status < 500 && to.gzip {
			cs.Encoding = "gzip"
		}
	}
	cs.DurationUS = end.Sub(t).Microseconds()
	cs.Error = tracectx.StatusErrorClass(cs.Status)
	tr.Spans = append(tr.Spans, cs)
	rec := tracectx.Record{
		Time: t, Kind: tracectx.KindClient, Service: s.name, TraceRoot: tr.Root, Span: id, Parent: from, Peer: cs.Peer,
		Method: cs.Method, Path: cs.Path, Status: cs.Status, DurationUS: cs.DurationUS, TTFBUS: cs.DurationUS - 20,
		ReqBytes: cs.ReqBytes, RespBytes: cs.RespBytes, ContentType: cs.ContentType, Encoding: cs.Encoding, AcceptEncoding: cs.AcceptEncoding,
		Fingerprint: cs.Fingerprint, Error: cs.Error,
	}
	g.writeApp(s, &rec)
	res.end = end
	return res
}

func bodyOf(n int64) []byte { return []byte(strconv.FormatInt(n, 10)) }

// writeApp logs rec as s's clock sees it.
func (g *gen) writeApp(s *service, rec *tracectx.Record) {
	if s.skewed {
		rec.Time = rec.Time.Add(s.skew)
	}
	g.buf = rec.AppendJSON(g.buf[:0])
	g.buf = append(g.buf, '\n')
	// A bufio.Writer keeps its first error and returns it from every later
	// Write and from Flush, which closeAll checks.
	g.sum.AppLines++
	if w := g.app[s.name]; w != nil {
		_, _ = w.Write(g.buf)
	}
}

// albLine writes the load balancer's access log line for lb.
func (g *gen) albLine(elb string, lb tracing.Span, res result, domain, traceHeader, client, query string) error {
	end := lb.End()
	total := time.Duration(lb.DurationUS) * time.Microsecond
	target := time.Duration(0)
	if len(res.target) > 0 {
		target = total - 300*time.Microsecond
	}
	host := domain
	scheme, port, typ := "https", "443", "https"
	if host == "" {
		host, scheme, port, typ = "internal-owl-internal-1234567890.us-east-1.elb.amazonaws.com", "http", "80", "http"
	}
	f := []string{
		typ, end.Format("2006-01-02T15:04:05.000000Z"), elb, client, res.target,
		"0.000", fmt.Sprintf("%.6f", target.Seconds()), "0.000",
		strconv.Itoa(lb.Status), strconv.Itoa(res.status), strconv.FormatInt(lb.ReqBytes, 10), strconv.FormatInt(lb.RespBytes, 10),
		tracingalb.Quote(fmt.Sprintf("%s %s://%s:%s%s%s HTTP/1.1", lb.Method, scheme, host, port, lb.Path, query)),
		tracingalb.Quote("owl-synth/1.0"), "ECDHE-RSA-AES128-GCM-SHA256", "TLSv1.2",
		"arn:aws:elasticloadbalancing:" + region + ":" + account + ":targetgroup/owl/73e2d6bc24d8a067",
		tracingalb.Quote(traceHeader), tracingalb.Quote(domain), tracingalb.Quote(""), "1", lb.Start.Format("2006-01-02T15:04:05.000000Z"),
		tracingalb.Quote("forward"), tracingalb.Quote(""), tracingalb.Quote(""), tracingalb.Quote(res.target), tracingalb.Quote(strconv.Itoa(res.status)),
		tracingalb.Quote(""), tracingalb.Quote(""), "TID_" + hex.EncodeToString([]byte(lb.SpanID[:8])), tracingalb.Quote(""), tracingalb.Quote(""), tracingalb.Quote(""),
	}
	return g.writeALB(elb, end, strings.Join(f, " "))
}

// untraced logs a request the ALB could not parse: no target, no trace.
func (g *gen) untraced(t time.Time) error {
	line := strings.Join([]string{
		"https", t.Format("2006-01-02T15:04:05.000000Z"), publicELB, "198.51.100.7:40000", "-", "-1", "-1", "-1", "400", "-", "0", "0",
		`"- https://api.owl.example:443- -"`, `"-"`, "-", "-", "-", `"-"`, `"-"`, `"-"`, "-", t.Format("2006-01-02T15:04:05.000000Z"),
		`"-"`, `"-"`, `"-"`, `"-"`, `"-"`, `"-"`, `"-"`, "-", `"-"`, `"-"`, `"-"`,
	}, " ")
	return g.writeALB(publicELB, t, line)
}

// writeALB appends line to the file AWS would have put it in: one per
// load balancer and five-minute window.
func (g *gen) writeALB(elb string, at time.Time, line string) error {
	window := at.Truncate(5 * time.Minute).Add(5 * time.Minute)
	node := "10.0.0.1"
	if elb == internalELB {
		node = "10.0.9.1"
	}
	rnd := fmt.Sprintf("%08x", uint32(window.Unix())^uint32(len(elb)*2654435761))
	name := tracingalb.FileName(account, region, elb, window, node, rnd)
	if g.dir == "" {
		g.sum.ALBLines++
		return nil
	}
	a, ok := g.alb[name]
	if !ok {
		f, err := os.Create(filepath.Join(g.dir, "alb", name))
		if err != nil {
			return err
		}
		zw := gzip.NewWriter(f)
		a = &albFile{f: f, zw: zw, bw: bufio.NewWriterSize(zw, 64<<10)}
		g.alb[name] = a
	}
	g.sum.ALBLines++
	if _, err := io.WriteString(a.bw, line); err != nil {
		return err
	}
	return a.bw.WriteByte('\n')
}

// addTruth buffers the traces of one second and writes them sorted by
// trace id (the epoch second leads the id), as the stitcher orders them.
func (g *gen) addTruth(t *tracing.Trace) error {
	if g.emit != nil {
		return g.emit(t)
	}
	sec, _ := strconv.ParseInt(t.TraceID[:8], 16, 64)
	if len(g.batch) > 0 && sec != g.second {
		if err := g.flushBatch(); err != nil {
			return err
		}
	}
	g.second = sec
	g.batch = append(g.batch, t)
	return nil
}

func (g *gen) flushBatch() error {
	slices.SortFunc(g.batch, func(a, b *tracing.Trace) int { return strings.Compare(a.TraceID, b.TraceID) })
	for _, t := range g.batch {
		if err := g.truth.WriteTrace(t); err != nil {
			return err
		}
	}
	g.batch = g.batch[:0]
	return nil
}
