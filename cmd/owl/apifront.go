package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/owlstack/owl/internal/config"
	"github.com/owlstack/owl/internal/httpserver"
	"github.com/owlstack/owl/internal/landing"
	"github.com/owlstack/owl/internal/memory"
	"github.com/owlstack/owl/internal/runner"
	"github.com/owlstack/owl/internal/tracectx"
	"github.com/owlstack/owl/internal/userstate"
)

// apiFrontConfig configures target api-front: the learner-facing API that
// owns user state and calls the session generator with it injected.
type apiFrontConfig struct {
	Addr      string          `yaml:"addr" help:"listen address of the API front, health and metrics"`
	AdminAddr string          `yaml:"admin_addr" help:"listen address of the admin server (pprof, metrics, health); empty turns it off"`
	Sessions  string          `yaml:"sessions" help:"base URL of the session generator (owl serve --target=session)"`
	Database  string          `yaml:"database" help:"user-state database: postgres://... or sqlite://PATH; empty: the SQLite file users/users.db under --data"`
	Data      string          `yaml:"data" help:"folder for embedded state: the SQLite file, access logs and the trace hash key"`
	Timeout   time.Duration   `yaml:"timeout" help:"timeout of each call to the session generator"`
	Trace     tracectx.Config `yaml:"trace"`
	Log       config.Log      `yaml:"log"`
	HTTP      config.HTTP     `yaml:"http"`
}

func defaultAPIFrontConfig() *apiFrontConfig {
	all := defaultAllConfig()
	return &apiFrontConfig{
		Addr: "127.0.0.1:8082", AdminAddr: "127.0.0.1:6062", Sessions: "http://127.0.0.1:8081",
		Data: all.Data, Timeout: 2 * time.Second, Trace: tracectx.DefaultConfig("api-front"), Log: all.Log, HTTP: all.HTTP,
	}
}

func (c *apiFrontConfig) logConfig() config.Log { return c.Log }

func apiFrontTarget() target {
	return target{
		name:        "api-front",
		description: "the API front: learners' state in SQLite or PostgreSQL, sessions with it injected, results applied back",
		newConfig:   func() any { return defaultAPIFrontConfig() },
		start: func(ctx context.Context, p *process, cfg any) error {
			return startAPIFrontTarget(ctx, p, cfg.(*apiFrontConfig))
		},
	}
}

// sessionTransport is the pooled transport of calls to the session
// generator: many idle connections kept per host, since every learner
// request makes one call.
func sessionTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 128
	t.IdleConnTimeout = 90 * time.Second
	return t
}

// newAPIFront opens and migrates the user-state store and builds the API
// front, calling the session generator at sessionsURL through a pooled
// client that propagates the trace (tracer may be nil).
func newAPIFront(ctx context.Context, p *process, database, data, sessionsURL string, timeout time.Duration, tracer *tracectx.Tracer) (*userstate.Front, *userstate.Store, error) {
	store, err := userstate.Open(ctx, database, data)
	if err != nil {
		return nil, nil, err
	}
	if err := store.Migrate(ctx); err != nil {
		store.Close()
		return nil, nil, err
	}
	var rt http.RoundTripper = sessionTransport()
	if tracer != nil {
		rt = tracer.Transport(rt)
	}
	client := &userstate.SessionClient{URL: sessionsURL, HTTP: &http.Client{Transport: rt, Timeout: timeout}}
	front := userstate.NewFront(store, client, memory.NewFSRS(memory.FSRS6Defaults), time.Now, p.log.With("component", "api-front"), p.reg)
	p.health.Add("users", store.Ping)
	return front, store, nil
}

// startAPIFront registers the API front in owl up, calling the session API
// of the same process over HTTP at webURL, so that its calls are traced
// like those between separate services.
func startAPIFront(ctx context.Context, p *process, data, webURL string, tracer *tracectx.Tracer) error {
	front, store, err := newAPIFront(ctx, p, "", data, webURL, 2*time.Second, tracer)
	if err != nil {
		return fmt.Errorf("api front: %w", err)
	}
	front.Routes(p.mux)
	p.mux.HandleFunc("GET /api-front/openapi.json", userstate.ServeOpenAPI)
	// Requests still draining when the store closes get a clean error.
	p.add(runner.Component{Name: "api-front", Run: func(ctx context.Context) error {
		<-ctx.Done()
		return store.Close()
	}}, landing.Entry{
		Description: "learners' state in " + store.Name() + ": GET /v1/users/{id}/session injects it into the session API, POST /v1/users/{id}/results applies graded answers (OpenAPI)",
		Link:        "/api-front/openapi.json",
	})
	return nil
}

func startAPIFrontTarget(ctx context.Context, p *process, cfg *apiFrontConfig) error {
	if cfg.Sessions == "" {
		return fmt.Errorf("api-front: --sessions is required")
	}
	opts := httpOptions(cfg.HTTP)
	tracer, err := startTracer(ctx, p, cfg.Trace, cfg.Data)
	if err != nil {
		return fmt.Errorf("api-front: %w", err)
	}
	opts.Trace = tracer
	front, store, err := newAPIFront(ctx, p, cfg.Database, cfg.Data, cfg.Sessions, cfg.Timeout, tracer)
	if err != nil {
		return err
	}
	ln, err := httpserver.Listen(cfg.Addr)
	if err != nil {
		store.Close()
		return err
	}
	var aln net.Listener
	if cfg.AdminAddr != "" {
		if aln, err = httpserver.Listen(cfg.AdminAddr); err != nil {
			ln.Close()
			store.Close()
			return fmt.Errorf("admin server: %w", err)
		}
	}
	front.Routes(p.mux)
	p.mux.HandleFunc("GET /openapi.json", userstate.ServeOpenAPI)
	httpserver.HandleOps(p.mux, p.health, p.reg)
	web := httpserver.New("web", ln, p.mux, opts, p.reg, p.health, p.log)
	// The store closes once the server has drained its requests.
	p.add(runner.Component{Name: "web", Run: func(ctx context.Context) error {
		err := web.Run(ctx)
		if cerr := store.Close(); err == nil {
			err = cerr
		}
		return err
	}}, landing.Entry{Description: "API front on learners' state in " + store.Name() + ", health and metrics", Link: "/openapi.json"})
	if cfg.AdminAddr != "" {
		admin := httpserver.New("admin", aln, httpserver.AdminHandler(p.health, p.reg), opts, p.reg, nil, p.log)
		p.add(runner.Component{Name: "admin", Run: admin.Run}, landing.Entry{Description: "pprof and operational endpoints"})
	}
	fmt.Fprintf(p.stdout, "owl api-front: GET %s/v1/users/{id}/session, POST %s/v1/users/{id}/results (OpenAPI at %s/openapi.json), sessions from %s\n",
		web.URL(), web.URL(), web.URL(), cfg.Sessions)
	return nil
}
