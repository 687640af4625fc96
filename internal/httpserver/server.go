// Package httpserver is the HTTP scaffolding every owl service shares:
// liveness, readiness and metrics endpoints, pprof on a separate admin
// listener, request limits and timeouts, and graceful shutdown.
package httpserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/owlstack/owl/internal/metrics"
	"github.com/owlstack/owl/internal/tracectx"
)

// Options are the limits and timeouts of one HTTP server.
type Options struct {
	// MaxBodyBytes caps the size of a request body; larger bodies get 413.
	MaxBodyBytes int64
	// ReadHeaderTimeout, ReadTimeout, WriteTimeout and IdleTimeout are passed
	// to http.Server.
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	// DrainTimeout is how long in-flight requests may take to finish once
	// shutdown starts.
	DrainTimeout time.Duration
	// Trace, when set, continues or starts the trace of every request and
	// writes its access-log record (tracectx.Tracer.Handler).
	Trace *tracectx.Tracer
}

// DefaultOptions are the limits used when a service sets none.
var DefaultOptions = Options{
	MaxBodyBytes:      1 << 20,
	ReadHeaderTimeout: 5 * time.Second,
	ReadTimeout:       30 * time.Second,
	WriteTimeout:      60 * time.Second,
	IdleTimeout:       2 * time.Minute,
	DrainTimeout:      4 * time.Second,
}

// Server is one HTTP listener with owl's conventions.
type Server struct {
	name   string
	ln     net.Listener
	srv    *http.Server
	opts   Options
	log    *slog.Logger
	health *Health
}

// Listen opens a TCP listener; an address with port 0 picks a free port.
func Listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return ln, nil
}

// New wraps handler in owl's middleware (panic recovery, body limit, request
// metrics registered in reg) and prepares it to serve on ln. The name labels
// metrics and logs. When health is non-nil it is marked as stopping as soon
// as shutdown begins.
func New(name string, ln net.Listener, handler http.Handler, opts Options, reg prometheus.Registerer, health *Health, log *slog.Logger) *Server {
	// The mux records the matched route on the request it is given, so the
	// instrumenting layer must pass its request through unchanged; the body
	// limit copies the request and therefore goes outside. Tracing copies
	// the request too (to add its context) and reads the route from its
	// copy, so it goes between the two.
	inner := instrument(name, reg, recoverPanics(log, handler))
	if opts.Trace != nil {
		inner = opts.Trace.Handler(inner)
	}
	h := http.MaxBytesHandler(inner, opts.MaxBodyBytes)
	return &Server{
		name: name,
		ln:   ln,
		opts: opts,
		log:  log,
		srv: &http.Server{
			Handler:           h,
			ReadHeaderTimeout: opts.ReadHeaderTimeout,
			ReadTimeout:       opts.ReadTimeout,
			WriteTimeout:      opts.WriteTimeout,
			IdleTimeout:       opts.IdleTimeout,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		},
		health: health,
	}
}

// URL is the base URL of the server, e.g. http://127.0.0.1:8080.
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() }

// Run serves until ctx ends, then stops accepting connections and lets
// in-flight requests finish within the drain timeout.
func (s *Server) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(s.ln) }()
	s.log.Info("http server listening", "server", s.name, "url", s.URL())
	select {
	case err := <-errc:
		return fmt.Errorf("serve %s: %w", s.ln.Addr(), err)
	case <-ctx.Done():
	}
	if s.health != nil {
		s.health.SetStopping()
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.DrainTimeout)
	defer cancel()
	err := s.srv.Shutdown(dctx)
	if errors.Is(err, context.DeadlineExceeded) {
		s.srv.Close()
		s.log.Warn("http server drain timed out; open connections closed", "server", s.name, "drain_timeout", s.opts.DrainTimeout)
		return nil
	}
	if err != nil {
		return fmt.Errorf("shut down %s: %w", s.name, err)
	}
	s.log.Info("http server stopped", "server", s.name)
	return nil
}

// HandleOps registers the operational endpoints every owl service exposes:
// GET /healthz, GET /readyz and GET /metrics.
func HandleOps(mux *http.ServeMux, health *Health, reg *prometheus.Registry) {
	mux.HandleFunc("GET /healthz", handleHealthz)
	mux.HandleFunc("GET /readyz", health.handleReadyz)
	mux.Handle("GET /metrics", metrics.Handler(reg))
}

// AdminHandler serves pprof and the operational endpoints; it belongs on a
// listener that is not exposed to users.
func AdminHandler(health *Health, reg *prometheus.Registry) http.Handler {
	mux := http.NewServeMux()
	HandleOps(mux, health, reg)
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("POST /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	return mux
}

func recoverPanics(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil || v == http.ErrAbortHandler { //nolint:errorlint // a recovered value, never wrapped
				if v != nil {
					panic(v)
				}
				return
			}
			// The path only: the query string may carry personal data.
			log.ErrorContext(r.Context(), "handler panic", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v))
			http.Error(w, "internal server error", http.StatusInternalServerError)
		}()
		next.ServeHTTP(w, r)
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func instrument(server string, reg prometheus.Registerer, next http.Handler) http.Handler {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name:        "owl_http_requests_total",
		Help:        "HTTP requests served, by route pattern, method and status code.",
		ConstLabels: prometheus.Labels{"server": server},
	}, []string{"route", "method", "code"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:        "owl_http_request_duration_seconds",
		Help:        "Time to serve an HTTP request, by route pattern.",
		ConstLabels: prometheus.Labels{"server": server},
		Buckets:     []float64{.0001, .0005, .001, .005, .01, .05, .1, .5, 1, 5},
	}, []string{"route"})
	reg.MustRegister(requests, duration)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		// The mux records the matched pattern on the request; unmatched
		// paths share one label so that scanners cannot blow up cardinality.
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		requests.WithLabelValues(route, r.Method, strconv.Itoa(sw.status)).Inc()
		duration.WithLabelValues(route).Observe(time.Since(start).Seconds())
	})
}
