package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/api"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/owlstack/owl/internal/config"
	"github.com/owlstack/owl/internal/coursecache"
	"github.com/owlstack/owl/internal/httpserver"
	"github.com/owlstack/owl/internal/landing"
	"github.com/owlstack/owl/internal/runner"
	"github.com/owlstack/owl/internal/shift"
	"github.com/owlstack/owl/internal/shift/analysis"
	"github.com/owlstack/owl/internal/shift/analysis/source"
	"github.com/owlstack/owl/internal/shift/awspace"
	"github.com/owlstack/owl/internal/shift/shiftapi"
	"github.com/owlstack/owl/internal/shift/shiftproxy"
	"github.com/owlstack/owl/internal/shift/shiftstore"
	"github.com/owlstack/owl/internal/tracectx"
)

// shiftSettings are the shift controller's settings, shared by the
// shift-controller target and the 'owl shift' commands.
type shiftSettings struct {
	Database string        `yaml:"database" help:"PostgreSQL URL (postgres://...); empty: the SQLite file shift/shift.db under --data"`
	Token    string        `yaml:"token" secret:"true" help:"admin token of the shift API (Authorization: Bearer TOKEN); required by the shift-controller target"`
	Tick     time.Duration `yaml:"tick" help:"time between two passes of the controller over the shifts"`
	LeaseTTL time.Duration `yaml:"lease_ttl" help:"how long a controller's lease on a shift lasts without renewal"`
	// ProxyToken is sent to remote shift proxies named by specs.
	ProxyToken string `yaml:"proxy_token" secret:"true" help:"admin token of the remote shift proxies that specs name (data_plane.proxy.url)"`
	// The AWS rates are shared by every shift of the process on one account.
	Route53Rate float64 `yaml:"aws_route53_rate" help:"Route 53 API calls per second per AWS account, retries included, over all shifts of this controller"`
	ELBRate     float64 `yaml:"aws_elb_rate" help:"Elastic Load Balancing API calls per second per AWS account and region, retries included, over all shifts of this controller"`
}

func defaultShiftSettings() shiftSettings {
	return shiftSettings{Tick: 2 * time.Second, LeaseTTL: 30 * time.Second,
		Route53Rate: awspace.DefaultRates[awspace.APIRoute53].PerSecond, ELBRate: awspace.DefaultRates[awspace.APIELBv2].PerSecond}
}

// validate reports settings no controller can run with.
func (s shiftSettings) validate() error {
	if !(s.Route53Rate > 0) || !(s.ELBRate > 0) {
		return fmt.Errorf("shift: --shift-aws-route53-rate (%v) and --shift-aws-elb-rate (%v) must be positive: AWS calls would never go", s.Route53Rate, s.ELBRate)
	}
	return nil
}

// shiftControllerConfig configures target shift-controller.
type shiftControllerConfig struct {
	Addr      string          `yaml:"addr" help:"listen address of the shift API, page, health and metrics"`
	AdminAddr string          `yaml:"admin_addr" help:"listen address of the admin server (pprof, metrics, health); empty turns it off"`
	Data      string          `yaml:"data" help:"folder for embedded state: the SQLite file shift/shift.db"`
	Shift     shiftSettings   `yaml:"shift"`
	Trace     tracectx.Config `yaml:"trace"`
	Log       config.Log      `yaml:"log"`
	HTTP      config.HTTP     `yaml:"http"`
}

func defaultShiftControllerConfig() *shiftControllerConfig {
	all := defaultAllConfig()
	return &shiftControllerConfig{Addr: "127.0.0.1:8095", AdminAddr: "127.0.0.1:6095", Data: all.Data, Shift: defaultShiftSettings(), Trace: tracectx.DefaultConfig("shift-controller"), Log: all.Log, HTTP: all.HTTP}
}

func (c *shiftControllerConfig) logConfig() config.Log { return c.Log }

func shiftControllerTarget() target {
	return target{
		name:        "shift-controller",
		description: "the traffic shift controller: drives shifts step by step with analysis and rollback; JSON API and page",
		newConfig:   func() any { return defaultShiftControllerConfig() },
		start: func(ctx context.Context, p *process, cfg any) error {
			return startShiftController(ctx, p, cfg.(*shiftControllerConfig))
		},
	}
}

// shiftWiring builds the data planes and metrics sources of specs. In owl
// up the demo proxy runs in the same process; elsewhere specs name remote
// proxies, cloud data planes and Prometheus servers.
type shiftWiring struct {
	ctx   context.Context // the process's: proxy-metrics scrapers run in it
	proxy *shiftproxy.Proxy
	reg   prometheus.Gatherer // the in-process proxy's registry
	// proxyToken is the admin token of remote proxies.
	proxyToken string
	// cloud builds ALB, Route 53 and Gateway API data planes.
	cloud *cloudPlanes
}

func (w *shiftWiring) plane(spec *shift.Spec) (shift.DataPlane, error) {
	switch spec.DataPlane.Kind {
	case shift.PlaneProxy:
		if spec.DataPlane.Proxy.URL != "" {
			return &shiftproxy.Client{BaseURL: spec.DataPlane.Proxy.URL, Token: w.proxyToken, HTTP: &http.Client{Timeout: 10 * time.Second}}, nil
		}
		if w.proxy == nil {
			return nil, errors.New("data_plane.proxy.url is empty and no proxy runs in this process")
		}
		if w.proxy.Label(shift.From) != spec.From.Name || w.proxy.Label(shift.To) != spec.To.Name {
			return nil, fmt.Errorf("the proxy in this process shifts %s → %s, not %s → %s", w.proxy.Label(shift.From), w.proxy.Label(shift.To), spec.From.Name, spec.To.Name)
		}
		return w.proxy, nil
	case shift.PlaneALB, shift.PlaneRoute53, shift.PlaneGateway:
		return w.cloud.plane(spec)
	}
	return nil, fmt.Errorf("data plane kind %q unknown", spec.DataPlane.Kind)
}

func (w *shiftWiring) source(spec *shift.Spec) (analysis.Source, error) {
	sides := source.Sides{From: spec.From.Name, To: spec.To.Name}
	m := spec.Metrics
	switch m.Kind {
	case shift.MetricsProxy:
		g := w.reg
		if m.URL != "" {
			g = source.Scrape(&http.Client{Timeout: 10 * time.Second}, m.URL)
		} else if w.proxy == nil {
			return nil, errors.New("metrics.url is empty and no proxy runs in this process")
		}
		pm := &source.ProxyMetrics{Gatherer: g, Shift: spec.Name, Sides: sides, Interval: m.Interval}
		go func() { _ = pm.Run(w.ctx) }() // stops with the process; errors show in Observe
		return pm, nil
	case shift.MetricsPrometheus:
		return source.NewPrometheus(api.Config{Address: m.URL}, spec.Name, sides, m.Interval, source.ProxyQueries)
	case shift.MetricsAccessLog:
		return &source.AccessLog{Paths: []string{m.Path}, Sides: sides, Service: m.Service, Interval: m.Interval}, nil
	}
	return nil, fmt.Errorf("metrics kind %q unknown", m.Kind)
}

func holderID() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s:%d", host, os.Getpid())
}

func newShiftController(p *process, store *shiftstore.Store, w *shiftWiring, s shiftSettings) *shift.Controller {
	return shift.NewController(store, shift.Options{
		Plane: w.plane, Source: w.source, Holder: holderID(), Tick: s.Tick, LeaseTTL: s.LeaseTTL,
		Log: p.log.With("component", "shift-controller"), Metrics: shift.NewMetrics(p.reg),
	})
}

func startShiftController(ctx context.Context, p *process, cfg *shiftControllerConfig) error {
	if cfg.Shift.Token == "" {
		return errors.New("shift-controller: --shift-token (or OWL_SHIFT_TOKEN) is required: the API changes live traffic")
	}
	if err := cfg.Shift.validate(); err != nil {
		return fmt.Errorf("shift-controller: %w", err)
	}
	// First, so that every logger made below carries trace roots.
	tracer, err := startTracer(ctx, p, cfg.Trace, cfg.Data)
	if err != nil {
		return fmt.Errorf("shift-controller: %w", err)
	}
	store, err := shiftstore.Open(ctx, cfg.Shift.Database, cfg.Data)
	if err != nil {
		return err
	}
	ln, err := httpserver.Listen(cfg.Addr)
	if err != nil {
		store.Close()
		return err
	}
	opts := httpOptions(cfg.HTTP)
	opts.Trace = tracer
	w := &shiftWiring{ctx: ctx, proxyToken: cfg.Shift.ProxyToken, cloud: newCloudPlanes(ctx, cfg.Shift.Route53Rate, cfg.Shift.ELBRate)}
	ctl := newShiftController(p, store, w, cfg.Shift)
	(&shiftapi.Server{Store: store, Token: cfg.Shift.Token, Log: p.log.With("component", "shift-api")}).Routes(p.mux)
	httpserver.HandleOps(p.mux, p.health, p.reg)
	p.health.Add("shift-store", store.Ping)
	web := httpserver.New("web", ln, p.mux, opts, p.reg, p.health, p.log)
	p.add(runner.Component{Name: "shift-controller", Run: func(ctx context.Context) error {
		defer store.Close()
		return ctl.Run(ctx)
	}}, landing.Entry{Description: "drives the shifts in " + store.Name})
	p.add(runner.Component{Name: "web", Run: web.Run}, landing.Entry{Description: "shift API and page, health and metrics", Link: "/shifts/"})
	if cfg.AdminAddr != "" {
		aln, err := httpserver.Listen(cfg.AdminAddr)
		if err != nil {
			ln.Close()
			store.Close()
			return fmt.Errorf("admin server: %w", err)
		}
		admin := httpserver.New("admin", aln, httpserver.AdminHandler(p.health, p.reg), opts, p.reg, nil, p.log)
		p.add(runner.Component{Name: "admin", Run: admin.Run}, landing.Entry{Description: "pprof and operational endpoints"})
	}
	fmt.Fprintf(p.stdout, "owl shift-controller: API %s/api/v1/shifts, page %s/shifts/\n", web.URL(), web.URL())
	return nil
}

// shiftDemoSpec moves the demo proxy's traffic from the ecs to the eks
// session generator fast enough to watch: a step every half minute or so.
func shiftDemoSpec(name string) *shift.Spec {
	spec := shift.DefaultSpec()
	spec.Name = name
	spec.Service = "owl-session" // as owl's own fleet names it (deploy/ecs)
	spec.From, spec.To = shift.Endpoint{Name: "ecs"}, shift.Endpoint{Name: "eks"}
	spec.Steps = []float64{5, 25, 50, 100}
	spec.Hold, spec.Interval, spec.StepTimeout = 20*time.Second, 5*time.Second, 5*time.Minute
	spec.MinSamples = 20
	spec.SplitTolerance = 10
	spec.Metrics.Interval = 2 * time.Second
	spec.Analysis.MinRequests = 20
	spec.Analysis.MinIntervals = 5
	spec.Analysis.PlannedChecks = 20
	spec.Rollback.Hold = 10 * time.Second
	return &spec
}

// shiftToken reads the owl up admin token of the shift API from
// <data>/shift/admin.token, creating it (mode 0600) on first start.
func shiftToken(data string) (string, error) {
	path := filepath.Join(data, "shift", "admin.token")
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) >= 16 {
		return strings.TrimSpace(string(b)), nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	b := make([]byte, 24)
	_, _ = rand.Read(b) // never fails
	tok := hex.EncodeToString(b)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(tok+"\n"), 0o600); err != nil {
		return "", err
	}
	return tok, os.Rename(tmp, path)
}

// startShiftDemo runs, in owl up, the demo proxy between two session
// generators, a shift controller over it with the proxy-metrics analysis
// source, and the shift page; it starts a demo shift when none is active.
func startShiftDemo(ctx context.Context, p *process, data string, cache *coursecache.Cache, webURL string, opts httpserver.Options) error {
	proxy, err := startShiftProxyDemo(p, cache, webURL, opts, 20)
	if err != nil {
		return fmt.Errorf("shift demo: %w", err)
	}
	store, err := shiftstore.Open(ctx, "", data)
	if err != nil {
		return fmt.Errorf("shift demo: %w", err)
	}
	token, err := shiftToken(data)
	if err != nil {
		store.Close()
		return fmt.Errorf("shift demo token: %w", err)
	}
	shifts, err := store.List(ctx)
	if err != nil {
		store.Close()
		return fmt.Errorf("shift demo: %w", err)
	}
	active := false
	for _, sh := range shifts {
		active = active || !sh.State.Final()
	}
	if !active {
		name := fmt.Sprintf("%s-%d", shiftDemoName, len(shifts)+1)
		if len(shifts) == 0 {
			name = shiftDemoName
		}
		if err := store.Create(ctx, shift.New(shiftDemoSpec(name), time.Now())); err != nil {
			store.Close()
			return fmt.Errorf("shift demo: %w", err)
		}
	}
	s := defaultShiftSettings()
	s.Tick, s.LeaseTTL = time.Second, 15*time.Second
	w := &shiftWiring{ctx: ctx, proxy: proxy, reg: p.reg, cloud: newCloudPlanes(ctx, s.Route53Rate, s.ELBRate)}
	ctl := newShiftController(p, store, w, s)
	(&shiftapi.Server{Store: store, Token: token, PublicPage: true, Log: p.log.With("component", "shift-api")}).Routes(p.mux)
	p.health.Add("shift-store", store.Ping)
	p.add(runner.Component{Name: "shift-controller", Run: func(ctx context.Context) error {
		defer store.Close()
		return ctl.Run(ctx)
	}}, landing.Entry{
		Description: "traffic shifts: the demo shift moves session traffic from ecs to eks through owl's proxy, step by step with analysis; API /api/v1/shifts (token in " + filepath.Join(data, "shift", "admin.token") + ")",
		Link:        "/shifts/",
	})
	return nil
}
