// Package traffic runs a small fleet of demo HTTP services on loopback
// listeners and sends them a steady trickle of user requests, so that 'owl
// up' has live traces to show within seconds.
//
// Every service is wrapped in its own tracectx.Tracer (gateway, profile,
// streaks, lessons, catalog, userdb) and calls the others through traced
// clients; all of them write one shared access log. The fleet carries the
// problems the tracing analyses look for:
//
//   - catalog answers GET /v1/catalog/{course} with a large JSON body,
//     uncompressed, although its callers send Accept-Encoding: gzip (every
//     other service compresses);
//   - streaks queries userdb three times per request with the same route
//     and body (a cache would save two of the three calls);
//   - GET /api/friends calls profile once per friend (an N+1 pattern);
//   - profile fails 3% of its requests and is sometimes slow, and
//     streaks runs two sides, ecs and eks, chosen per request and logged as
//     the "side" attribute; the eks side is slower and fails more often.
package traffic

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/owlstack/owl/internal/tracectx"
)

// Service names of the fleet.
const (
	Gateway = "gateway"
	Profile = "profile"
	Streaks = "streaks"
	Lessons = "lessons"
	Catalog = "catalog"
	UserDB  = "userdb"
)

// Routes that carry the injected problems, as the access logs name them.
const (
	// UncompressedRoute answers a large JSON body without compression.
	UncompressedRoute = "GET /v1/catalog/{course}"
	// RepeatedRoute is called several times per request with the same body.
	RepeatedRoute = "POST /v1/query"
	// RepeatedCaller is the service that makes the repeated calls.
	RepeatedCaller = Streaks
	// Repeats is how many identical calls RepeatedCaller makes per request.
	Repeats = 3
)

// Sides of the streaks service, logged as the "side" attribute.
var Sides = []string{"ecs", "eks"}

// Options configure a Fleet.
type Options struct {
	// LogPath is the access log every service of the fleet appends to.
	LogPath string
	// HashKey keys the access logs' hashes (at least 16 bytes).
	HashKey []byte
	// Rate is the user requests per second Run sends; 0 is 3, negative
	// sends none (the fleet only serves, e.g. for Do in tests).
	Rate float64
	// Log receives the fleet's own warnings; nil discards them.
	Log *slog.Logger
	// Incidents, when set, slows UserDB down on a schedule, so that the
	// root-cause ranking has an incident to find: every Incidents.Every
	// after the fleet starts, from Incidents.At for Incidents.For.
	Incidents *Schedule
}

// Schedule is a repeating incident window: within each period Every, the
// incident lasts from At to At+For.
type Schedule struct {
	Every, At, For time.Duration
	// Slow is the latency the incident adds to each UserDB query.
	Slow time.Duration
}

// active reports whether the incident is on, elapsed after the start.
func (s *Schedule) active(elapsed time.Duration) bool {
	if s == nil || s.Every <= 0 {
		return false
	}
	in := elapsed % s.Every
	return in >= s.At && in < s.At+s.For
}

// Fleet is the demo services and the load that drives them.
type Fleet struct {
	opts      Options
	log       *slog.Logger
	accessLog *tracectx.LogWriter
	instances []*instance
	entry     string // the gateway's base URL
	users     *http.Client
	catalog   []byte

	mu       sync.Mutex
	sent     int64
	failed   int64
	inflight int
}

type instance struct {
	service, side string
	ln            net.Listener
	srv           *http.Server
	url           string
}

// maxInflight bounds the user requests in flight: a stalled fleet does not
// pile up goroutines.
const maxInflight = 16

// New opens the fleet's listeners on 127.0.0.1 and its access log; Run
// serves them.
func New(opts Options) (*Fleet, error) {
	if opts.Rate == 0 {
		opts.Rate = 3
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	lw, err := tracectx.OpenLog(opts.LogPath)
	if err != nil {
		return nil, fmt.Errorf("traffic: %w", err)
	}
	f := &Fleet{opts: opts, log: log, accessLog: lw, catalog: catalogBody()}
	fail := func(err error) (*Fleet, error) {
		for _, in := range f.instances {
			in.ln.Close()
		}
		lw.Close()
		return nil, fmt.Errorf("traffic: %w", err)
	}
	tracers := map[string]*tracectx.Tracer{}
	for _, name := range []string{Gateway, Profile, Streaks, Lessons, Catalog, UserDB} {
		t, err := tracectx.New(tracectx.Options{Service: name, Log: lw, HashKey: opts.HashKey, UserHeader: "X-Owl-User", Attrs: []string{"side"}})
		if err != nil {
			return fail(err)
		}
		tracers[name] = t
	}
	// Listen first: services need each other's addresses.
	type spec struct{ service, side string }
	specs := []spec{{UserDB, ""}, {Catalog, ""}, {Profile, ""}, {Streaks, "ecs"}, {Streaks, "eks"}, {Lessons, ""}, {Gateway, ""}}
	urls := map[spec]string{}
	for _, s := range specs {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return fail(err)
		}
		in := &instance{service: s.service, side: s.side, ln: ln, url: "http://" + ln.Addr().String()}
		f.instances = append(f.instances, in)
		urls[s] = in.url
	}
	start := time.Now()
	d := &deps{
		incident: func() time.Duration {
			if opts.Incidents.active(time.Since(start)) {
				return opts.Incidents.Slow
			}
			return 0
		},
		userdb:  urls[spec{UserDB, ""}],
		catalog: urls[spec{Catalog, ""}],
		profile: urls[spec{Profile, ""}],
		streaks: map[string]string{"ecs": urls[spec{Streaks, "ecs"}], "eks": urls[spec{Streaks, "eks"}]},
		lessons: urls[spec{Lessons, ""}],
		catBody: f.catalog,
	}
	for _, in := range f.instances {
		t := tracers[in.service]
		c := &http.Client{Transport: t.Transport(&http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 8, IdleConnTimeout: 30 * time.Second}), Timeout: 5 * time.Second}
		mux := http.NewServeMux()
		d.routes(mux, in.service, in.side, c)
		in.srv = &http.Server{Handler: t.Handler(mux), ReadHeaderTimeout: 5 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	}
	f.entry = urls[spec{Gateway, ""}]
	f.users = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: maxInflight}}
	return f, nil
}

// Close releases the listeners and the access log of a fleet whose Run
// was never called.
func (f *Fleet) Close() error {
	for _, in := range f.instances {
		in.ln.Close()
	}
	return f.accessLog.Close()
}

// Services lists the fleet's service names.
func (f *Fleet) Services() []string {
	return []string{Gateway, Profile, Streaks, Lessons, Catalog, UserDB}
}

// EntryURL is the gateway's base URL, where user requests go.
func (f *Fleet) EntryURL() string { return f.entry }

// Sent returns how many user requests were sent and how many failed.
func (f *Fleet) Sent() (sent, failed int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.sent, f.failed
}

// Run serves the fleet and sends it user requests until ctx ends, then
// lets requests in flight finish and closes the access log.
func (f *Fleet) Run(ctx context.Context) error {
	logCtx, stopLog := context.WithCancel(context.WithoutCancel(ctx))
	logDone := make(chan error, 1)
	go func() { logDone <- f.accessLog.Run(logCtx) }()

	g, gctx := errgroup.WithContext(ctx)
	for _, in := range f.instances {
		g.Go(func() error {
			if err := in.srv.Serve(in.ln); !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("traffic: %s: %w", in.service, err)
			}
			return nil
		})
	}
	var load sync.WaitGroup
	if f.opts.Rate > 0 {
		load.Go(func() { f.generate(gctx) })
	}
	g.Go(func() error {
		<-gctx.Done()
		load.Wait()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
		defer cancel()
		var errs []error
		for i := len(f.instances) - 1; i >= 0; i-- { // callers first
			err := f.instances[i].srv.Shutdown(sctx)
			if errors.Is(err, context.DeadlineExceeded) {
				// A demo service that cannot drain in time (e.g. a
				// connection dialled but never used, which Shutdown waits
				// out for 5 s) is closed: its requests are synthetic.
				f.log.Warn("traffic: closing a service that did not drain in time", "service", f.instances[i].service)
				err = nil
			}
			if err != nil {
				errs = append(errs, err)
			}
			f.instances[i].srv.Close()
		}
		return errors.Join(errs...)
	})
	err := g.Wait()
	f.users.CloseIdleConnections()
	stopLog()
	if lerr := <-logDone; err == nil {
		err = lerr
	}
	if cerr := f.accessLog.Close(); err == nil {
		err = cerr
	}
	return err
}

// generate sends user requests at the configured rate, with jitter so
// that they do not arrive in lockstep.
func (f *Fleet) generate(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	mean := time.Duration(float64(time.Second) / f.opts.Rate)
	timer := time.NewTimer(mean)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		timer.Reset(time.Duration(float64(mean) * (0.5 + rand.Float64())))
		f.mu.Lock()
		busy := f.inflight >= maxInflight
		if !busy {
			f.inflight++
		}
		f.mu.Unlock()
		if busy {
			continue
		}
		wg.Go(func() {
			defer func() { f.mu.Lock(); f.inflight--; f.mu.Unlock() }()
			if err := f.Do(ctx, ""); err != nil && ctx.Err() == nil {
				f.log.Debug("synthetic request failed", "err", err)
			}
		})
	}
}

// Entry points of the gateway, with their share of user requests.
var entries = []struct {
	path  string
	share float64
}{
	{"/api/home", 0.6},
	{"/api/friends", 0.2},
	{"/api/lesson/", 0.2},
}

// ErrServerError is wrapped by the error Do returns when the gateway
// answered 500 or more, as it does for the failures the fleet injects.
var ErrServerError = errors.New("server error")

// Do sends one user request to the gateway: to path (one of /api/home,
// /api/friends, /api/lesson/ID) or, when path is "", to one picked at
// random. An answer of 500 or more is returned as an error wrapping
// ErrServerError; a request that got no whole answer, as another error.
func (f *Fleet) Do(ctx context.Context, path string) error {
	if path == "" {
		x := rand.Float64()
		for _, e := range entries {
			path = e.path
			if x < e.share {
				break
			}
			x -= e.share
		}
	}
	if path == "/api/lesson/" {
		path += strconv.Itoa(1 + rand.IntN(40))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.entry+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("X-Owl-User", "u"+strconv.Itoa(rand.IntN(500)))
	req.Header.Set("User-Agent", "owl-traffic/1")
	resp, err := f.users.Do(req)
	if err == nil {
		// Read to the end, so that the connection is reused.
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		switch {
		case err != nil:
			err = fmt.Errorf("GET %s: read the answer: %w", path, err)
		case resp.StatusCode >= 500:
			err = fmt.Errorf("GET %s: %s: %w", path, resp.Status, ErrServerError)
		}
	}
	f.mu.Lock()
	f.sent++
	if err != nil {
		f.failed++
	}
	f.mu.Unlock()
	return err
}

// deps are the base URLs services call.
type deps struct {
	// incident is the latency an incident adds to UserDB now (0: none).
	incident                          func() time.Duration
	userdb, catalog, profile, lessons string
	streaks                           map[string]string
	catBody                           []byte
}

// routes registers what service (on side) serves; c is its traced client.
func (d *deps) routes(mux *http.ServeMux, service, side string, c *http.Client) {
	switch service {
	case Gateway:
		mux.Handle("GET /api/home", gzipped(d.home(c)))
		mux.Handle("GET /api/friends", gzipped(d.friends(c)))
		mux.Handle("GET /api/lesson/{id}", gzipped(d.lesson(c)))
	case Profile:
		mux.Handle("GET /v1/profile/{id}", gzipped(d.profileHandler(c)))
	case Streaks:
		mux.Handle("GET /v1/streaks/{id}", gzipped(d.streaksHandler(c, side)))
	case Lessons:
		mux.Handle("GET /v1/lessons/next", gzipped(d.nextLesson(c)))
		mux.Handle("GET /v1/lessons/{id}", gzipped(d.lessonByID(c)))
	case Catalog:
		// The injected finding: a large body, never compressed.
		mux.HandleFunc(UncompressedRoute, func(w http.ResponseWriter, r *http.Request) {
			pause(r.Context(), 2*time.Millisecond, 6*time.Millisecond, 0.02, 40*time.Millisecond)
			w.Header().Set("Content-Type", "application/json")
			w.Write(d.catBody)
		})
		mux.Handle("GET /v1/catalog/{course}/summary", gzipped(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, map[string]any{"course": r.PathValue("course"), "skills": 40, "words": 1200})
		})))
	case UserDB:
		mux.HandleFunc(RepeatedRoute, func(w http.ResponseWriter, r *http.Request) {
			var q struct {
				Table string `json:"table"`
				Key   string `json:"key"`
			}
			if err := json.NewDecoder(r.Body).Decode(&q); err != nil || q.Table == "" {
				http.Error(w, "want {\"table\",\"key\"}", http.StatusBadRequest)
				return
			}
			lo := time.Millisecond + d.incident()
			pause(r.Context(), lo, lo+3*time.Millisecond, 0.03, 30*time.Millisecond)
			writeJSON(w, map[string]any{"table": q.Table, "key": q.Key, "items": []int{1, 2, 3}})
		})
	}
}

func (d *deps) home(c *http.Client) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		user := userOf(r)
		side := "ecs"
		if rand.Float64() < 0.4 {
			side = "eks"
		}
		var prof, streak map[string]any
		g, gctx := errgroup.WithContext(ctx)
		g.Go(func() error { return call(gctx, c, "GET", d.profile+"/v1/profile/"+user, nil, &prof) })
		g.Go(func() error { return call(gctx, c, "GET", d.streaks[side]+"/v1/streaks/"+user, nil, &streak) })
		if err := g.Wait(); err != nil {
			fail(w, r, err)
			return
		}
		var next map[string]any
		if err := call(ctx, c, "GET", d.lessons+"/v1/lessons/next?user="+user, nil, &next); err != nil {
			fail(w, r, err)
			return
		}
		writeJSON(w, map[string]any{"profile": prof, "streak": streak, "next": next, "news": filler(40)})
	}
}

func (d *deps) friends(c *http.Client) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var out []map[string]any
		// One call per friend, in a row: the N+1 pattern.
		for i := range 5 {
			var p map[string]any
			if err := call(r.Context(), c, "GET", d.profile+"/v1/profile/f"+strconv.Itoa(i+rand.IntN(100)*5), nil, &p); err != nil {
				fail(w, r, err)
				return
			}
			out = append(out, p)
		}
		writeJSON(w, map[string]any{"friends": out})
	}
}

func (d *deps) lesson(c *http.Client) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var l map[string]any
		if err := call(r.Context(), c, "GET", d.lessons+"/v1/lessons/"+r.PathValue("id"), nil, &l); err != nil {
			fail(w, r, err)
			return
		}
		writeJSON(w, l)
	}
}

func (d *deps) profileHandler(c *http.Client) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		pause(ctx, 2*time.Millisecond, 8*time.Millisecond, 0.05, 150*time.Millisecond)
		if rand.Float64() < 0.03 {
			http.Error(w, "profile store unavailable (trace "+tracectx.RootFrom(ctx)+")", http.StatusInternalServerError)
			return
		}
		var row map[string]any
		if err := call(ctx, c, "POST", d.userdb+RepeatedRoute[len("POST "):], query{"profiles", r.PathValue("id")}, &row); err != nil {
			fail(w, r, err)
			return
		}
		writeJSON(w, map[string]any{"id": r.PathValue("id"), "name": "learner", "row": row, "bio": filler(8)})
	}
}

func (d *deps) streaksHandler(c *http.Client, side string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		tracectx.SetAttr(ctx, "side", side)
		if side == "eks" {
			pause(ctx, 6*time.Millisecond, 15*time.Millisecond, 0.05, 80*time.Millisecond)
			if rand.Float64() < 0.04 {
				http.Error(w, "streak shard timeout (trace "+tracectx.RootFrom(ctx)+")", http.StatusServiceUnavailable)
				return
			}
		} else {
			pause(ctx, time.Millisecond, 4*time.Millisecond, 0.01, 40*time.Millisecond)
		}
		// The injected finding: the same query, several times per request.
		var row map[string]any
		for range Repeats {
			if err := call(ctx, c, "POST", d.userdb+RepeatedRoute[len("POST "):], query{"streaks", r.PathValue("id")}, &row); err != nil {
				fail(w, r, err)
				return
			}
		}
		writeJSON(w, map[string]any{"user": r.PathValue("id"), "days": 12, "side": side})
	}
}

func (d *deps) nextLesson(c *http.Client) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		var cat map[string]any
		if err := call(ctx, c, "GET", d.catalog+"/v1/catalog/es-en", nil, &cat); err != nil {
			fail(w, r, err)
			return
		}
		var row map[string]any
		if err := call(ctx, c, "POST", d.userdb+RepeatedRoute[len("POST "):], query{"progress", r.URL.Query().Get("user")}, &row); err != nil {
			fail(w, r, err)
			return
		}
		pause(ctx, 2*time.Millisecond, 6*time.Millisecond, 0.02, 60*time.Millisecond)
		writeJSON(w, map[string]any{"skill": "animals", "challenges": 12})
	}
}

func (d *deps) lessonByID(c *http.Client) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		n, err := strconv.Atoi(r.PathValue("id"))
		if err != nil || n < 1 {
			http.Error(w, "lesson id: want a positive number", http.StatusNotFound)
			return
		}
		if n > 36 { // some lessons do not exist: client errors
			http.Error(w, "no such lesson", http.StatusNotFound)
			return
		}
		var sum map[string]any
		if err := call(ctx, c, "GET", d.catalog+"/v1/catalog/es-en/summary", nil, &sum); err != nil {
			fail(w, r, err)
			return
		}
		var cat map[string]any
		if err := call(ctx, c, "GET", d.catalog+"/v1/catalog/es-en", nil, &cat); err != nil {
			fail(w, r, err)
			return
		}
		writeJSON(w, map[string]any{"lesson": n, "summary": sum, "text": filler(30)})
	}
}

type query struct {
	Table string `json:"table"`
	Key   string `json:"key"`
}

// statusError is a downstream answer of 400 or more.
type statusError struct {
	url    string
	status int
}

func (e *statusError) Error() string { return fmt.Sprintf("%s answered %d", e.url, e.status) }

// call makes one traced call and decodes its JSON answer into out,
// accepting gzip as real clients do.
func call(ctx context.Context, c *http.Client, method, url string, body any, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Accept-Encoding", "gzip")
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var r io.Reader = resp.Body
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			return fmt.Errorf("%s: %w", url, err)
		}
		r = zr
	}
	if resp.StatusCode >= 400 {
		serr := &statusError{url: url, status: resp.StatusCode}
		// The error body is read only so that the connection is reused.
		if _, err := io.Copy(io.Discard, r); err != nil {
			return errors.Join(serr, fmt.Errorf("%s: read the error body: %w", url, err))
		}
		return serr
	}
	if err := json.NewDecoder(r).Decode(out); err != nil {
		return fmt.Errorf("%s: %w", url, err)
	}
	// Reading to the end checks a gzip body's checksum and lets the
	// connection be reused.
	if _, err := io.Copy(io.Discard, r); err != nil {
		return fmt.Errorf("%s: %w", url, err)
	}
	return nil
}

// fail answers a failed downstream call: 502 for a server error or a
// transport failure, the same status for a client error.
func fail(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusBadGateway
	var se *statusError
	if errors.As(err, &se) && se.status < 500 {
		status = se.status
	}
	if r.Context().Err() != nil {
		status = http.StatusGatewayTimeout
	}
	http.Error(w, fmt.Sprintf("%s (trace %s)", http.StatusText(status), tracectx.RootFrom(r.Context())), status)
}

func userOf(r *http.Request) string {
	if u := r.Header.Get("X-Owl-User"); u != "" && len(u) < 32 {
		return u
	}
	return "anonymous"
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v) //nolint:errcheck // a client gone away is not our error
}

// pause waits a uniform time in [lo, hi), or with probability pSlow a
// slow time around slow: the latency variety of a real fleet, at no CPU cost.
func pause(ctx context.Context, lo, hi time.Duration, pSlow float64, slow time.Duration) {
	d := lo + time.Duration(rand.Int64N(int64(hi-lo)))
	if rand.Float64() < pSlow {
		d = slow/2 + time.Duration(rand.Int64N(int64(slow)))
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// gzipped compresses answers of 1 KiB or more when the client accepts gzip.
func gzipped(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !acceptsGzip(r.Header.Get("Accept-Encoding")) {
			h.ServeHTTP(w, r)
			return
		}
		bw := &bufferedWriter{h: http.Header{}}
		h.ServeHTTP(bw, r)
		for k, v := range bw.h {
			w.Header()[k] = v
		}
		status := bw.status
		if status == 0 {
			status = http.StatusOK
		}
		if bw.buf.Len() < 1024 {
			w.WriteHeader(status)
			w.Write(bw.buf.Bytes())
			return
		}
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Add("Vary", "Accept-Encoding")
		w.Header().Del("Content-Length")
		w.WriteHeader(status)
		zw, _ := gzip.NewWriterLevel(w, gzip.BestSpeed) // a valid level: no error
		if _, err := zw.Write(bw.buf.Bytes()); err != nil {
			return // the client went away: the gzip footer would go nowhere
		}
		zw.Close()
	})
}

func acceptsGzip(ae string) bool {
	for part := range strings.SplitSeq(ae, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), "gzip") {
			continue
		}
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return err == nil && q > 0
		}
		return true
	}
	return false
}

type bufferedWriter struct {
	h      http.Header
	buf    bytes.Buffer
	status int
}

func (b *bufferedWriter) Header() http.Header { return b.h }
func (b *bufferedWriter) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}
func (b *bufferedWriter) Write(p []byte) (int, error) { return b.buf.Write(p) }

// catalogBody is the catalog's large answer: about 150 KB of JSON.
func catalogBody() []byte {
	type word struct {
		ID, Text, Translation, Audio string
		Level                        int
	}
	words := make([]word, 1200)
	for i := range words {
		words[i] = word{
			ID:          "w" + strconv.Itoa(i),
			Text:        "palabra-" + strconv.Itoa(i),
			Translation: "word number " + strconv.Itoa(i),
			Audio:       "https://assets.example/audio/es/" + strconv.Itoa(i) + ".mp3",
			Level:       1 + i%8,
		}
	}
	b, _ := json.Marshal(map[string]any{"course": "es-en", "words": words})
	return b
}

func filler(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "lorem ipsum dolor sit amet " + strconv.Itoa(i)
	}
	return out
}
