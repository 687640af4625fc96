package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/owlstack/owl/examples/courses"
	"github.com/owlstack/owl/internal/config"
	"github.com/owlstack/owl/internal/coursecache"
	"github.com/owlstack/owl/internal/httpserver"
	"github.com/owlstack/owl/internal/landing"
	"github.com/owlstack/owl/internal/runner"
	"github.com/owlstack/owl/internal/session"
	"github.com/owlstack/owl/internal/shift"
	"github.com/owlstack/owl/internal/shift/shiftproxy"
	"github.com/owlstack/owl/internal/tracectx"
)

// shiftProxyConfig configures target shift-proxy: owl's weighted, sticky
// reverse proxy between the two sides of one shift.
type shiftProxyConfig struct {
	Addr           string          `yaml:"addr" help:"listen address of the proxy, its weights API (/shift-proxy/v1/weights), health and metrics"`
	AdminAddr      string          `yaml:"admin_addr" help:"listen address of the admin server (pprof, metrics, health); empty turns it off"`
	Shift          string          `yaml:"shift" help:"name of the shift: labels the metrics and salts the user hash"`
	From           string          `yaml:"from" help:"URL of the side traffic moves from, e.g. http://orders.ecs.internal:8080"`
	To             string          `yaml:"to" help:"URL of the side traffic moves to, e.g. http://orders.eks.internal:8080"`
	FromLabel      string          `yaml:"from_label" help:"label of the from side in metrics, access logs and traces (e.g. ecs)"`
	ToLabel        string          `yaml:"to_label" help:"label of the to side in metrics, access logs and traces (e.g. eks)"`
	Weight         int             `yaml:"weight" help:"share of users sent to the to side at start, in basis points (0..10000)"`
	UserHeader     string          `yaml:"user_header" help:"request header naming the user; a user stays on one side"`
	Cookie         string          `yaml:"cookie" help:"cookie that pins requests without a user header to one side; empty picks a side per request"`
	AdminToken     string          `yaml:"admin_token" secret:"true" help:"bearer token required to change weights through the weights API; empty makes the weights read-only"`
	HealthPath     string          `yaml:"health_path" help:"path probed on each side to report its capacity"`
	HealthInterval time.Duration   `yaml:"health_interval" help:"time between health probes of each side"`
	Data           string          `yaml:"data" help:"folder for the access log (<data>/logs/access.jsonl) and the trace hash key"`
	Trace          tracectx.Config `yaml:"trace"`
	Log            config.Log      `yaml:"log"`
	HTTP           config.HTTP     `yaml:"http"`
}

func defaultShiftProxyConfig() *shiftProxyConfig {
	all := defaultAllConfig()
	return &shiftProxyConfig{
		Addr: "127.0.0.1:8088", AdminAddr: "127.0.0.1:6088",
		FromLabel: "from", ToLabel: "to",
		UserHeader: traceUserHeader, Cookie: "owl_shift",
		HealthPath: "/healthz", HealthInterval: 5 * time.Second,
		Data: all.Data, Trace: tracectx.DefaultConfig("shift-proxy"), Log: all.Log, HTTP: all.HTTP,
	}
}

func (c *shiftProxyConfig) logConfig() config.Log { return c.Log }

func shiftProxyTarget() target {
	return target{
		name:        "shift-proxy",
		description: "weighted, sticky reverse proxy between the two sides of a shift, with a weights API for the shift controller",
		newConfig:   func() any { return defaultShiftProxyConfig() },
		start: func(ctx context.Context, p *process, cfg any) error {
			return startShiftProxyTarget(ctx, p, cfg.(*shiftProxyConfig))
		},
	}
}

// parseSideURL checks one side's URL setting.
func parseSideURL(flag, s string) (*url.URL, error) {
	if s == "" {
		return nil, fmt.Errorf("shift-proxy: --%s is required (the URL of that side, e.g. http://10.0.0.5:8080)", flag)
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("shift-proxy: --%s %q: want an http:// or https:// URL with a host", flag, s)
	}
	return u, nil
}

func startShiftProxyTarget(ctx context.Context, p *process, cfg *shiftProxyConfig) error {
	if cfg.Shift == "" {
		return errors.New("shift-proxy: --shift is required (the name of the shift)")
	}
	from, err := parseSideURL("from", cfg.From)
	if err != nil {
		return err
	}
	to, err := parseSideURL("to", cfg.To)
	if err != nil {
		return err
	}
	if err := (shift.Split{ToBP: cfg.Weight}).Validate(); err != nil {
		return fmt.Errorf("shift-proxy: --weight: %w", err)
	}
	opts := httpOptions(cfg.HTTP)
	ln, err := httpserver.Listen(cfg.Addr)
	if err != nil {
		return err
	}
	if opts.Trace, err = startTracer(ctx, p, cfg.Trace, cfg.Data); err != nil {
		ln.Close()
		return fmt.Errorf("shift-proxy: %w", err)
	}
	proxy, err := shiftproxy.New(shiftproxy.Options{
		Shift:          cfg.Shift,
		From:           shiftproxy.Upstream{Label: cfg.FromLabel, URL: from},
		To:             shiftproxy.Upstream{Label: cfg.ToLabel, URL: to},
		Initial:        shift.Split{ToBP: cfg.Weight},
		UserHeader:     cfg.UserHeader,
		Cookie:         cfg.Cookie,
		HealthPath:     cfg.HealthPath,
		HealthInterval: cfg.HealthInterval,
		Tracer:         opts.Trace,
		Registerer:     p.reg,
		Log:            p.log.With("component", "shift-proxy"),
	})
	if err != nil {
		ln.Close()
		return err
	}
	p.health.Add("shift-upstreams", func(ctx context.Context) error { return servingSidesReady(ctx, proxy) })
	api := proxy.Handler(cfg.AdminToken)
	p.mux.Handle(shiftproxy.WeightsPath, api)
	p.mux.Handle(shiftproxy.CapacityPath, api)
	httpserver.HandleOps(p.mux, p.health, p.reg)
	p.mux.Handle("/", proxy) // everything else goes to the sides
	web := httpserver.New("web", ln, p.mux, opts, p.reg, p.health, p.log)
	p.add(runner.Component{Name: "shift-proxy", Run: proxy.Run}, landing.Entry{Description: fmt.Sprintf("health probes of %s (%s) and %s (%s)", cfg.FromLabel, from.Redacted(), cfg.ToLabel, to.Redacted())})
	p.add(runner.Component{Name: "web", Run: web.Run}, landing.Entry{Description: "the proxy, its weights API, health and metrics", Link: shiftproxy.WeightsPath})
	if cfg.AdminAddr != "" {
		aln, err := httpserver.Listen(cfg.AdminAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("admin server: %w", err)
		}
		admin := httpserver.New("admin", aln, httpserver.AdminHandler(p.health, p.reg), httpOptions(cfg.HTTP), p.reg, nil, p.log)
		p.add(runner.Component{Name: "admin", Run: admin.Run}, landing.Entry{Description: "pprof and operational endpoints"})
	}
	if cfg.AdminToken == "" {
		p.log.Warn("shift-proxy: no --admin-token: the weights API is read-only")
	}
	fmt.Fprintf(p.stdout, "owl shift-proxy %s: %s (%s) -> %s (%s) at %s; weights at %s%s\n",
		cfg.Shift, cfg.FromLabel, from.Redacted(), cfg.ToLabel, to.Redacted(), web.URL(), web.URL(), shiftproxy.WeightsPath)
	return nil
}

// servingSidesReady reports the proxy ready while every side that gets
// traffic answers its health probe.
func servingSidesReady(ctx context.Context, proxy *shiftproxy.Proxy) error {
	split, err := proxy.ReadWeights(ctx)
	if err != nil {
		return err
	}
	for _, sd := range []shift.Side{shift.From, shift.To} {
		if (sd == shift.From && split.FromBP() == 0) || (sd == shift.To && split.ToBP == 0) {
			continue
		}
		c, err := proxy.Capacity(ctx, sd)
		if err != nil {
			return err
		}
		if c.Ready == 0 {
			return fmt.Errorf("side %s gets %s of traffic but fails its health probe", proxy.Label(sd), split)
		}
	}
	return nil
}

// shiftDemoPrefix is where owl up serves the demo shift's proxy: POST
// /shift-proxy/v1/sessions reaches one of two session generators.
const shiftDemoPrefix = "/shift-proxy"

// shiftDemoName is the name of owl up's demo shift.
const shiftDemoName = "sessions-ecs-to-eks"

// startShiftProxyDemo serves, for owl up, two more session generators on
// their own 127.0.0.1 listeners, sharing the course cache: the "ecs" and
// "eks" sides of the demo shift. owl's proxy between them is mounted on
// the web mux at /shift-proxy/v1/sessions (and its read-only weights API
// at /shift-proxy/v1/weights). With trafficPerSecond > 0, a synthetic
// learner population sends session requests through the proxy, so that
// both sides have traffic to compare. The proxy is the demo shift's data
// plane (shift.DataPlane); the shift controller drives its weights.
func startShiftProxyDemo(p *process, cache *coursecache.Cache, webURL string, opts httpserver.Options, trafficPerSecond float64) (*shiftproxy.Proxy, error) {
	var sides [2]*url.URL
	for i, label := range []string{"ecs", "eks"} {
		ln, err := httpserver.Listen("127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("session %s: %w", label, err)
		}
		mux := http.NewServeMux()
		newSessionService(p, cache, 0).Routes(mux)
		health := &httpserver.Health{}
		health.Add("courses", cache.Ready)
		httpserver.HandleOps(mux, health, p.reg)
		srv := httpserver.New("session-"+label, ln, mux, opts, p.reg, health, p.log)
		p.add(runner.Component{Name: "session-" + label, Run: srv.Run}, landing.Entry{
			Description: fmt.Sprintf("session generator instance %q, the %s side of the demo shift (%s)", label, []string{"from", "to"}[i], srv.URL()),
		})
		sides[i], _ = url.Parse(srv.URL())
	}
	proxy, err := shiftproxy.New(shiftproxy.Options{
		Shift:          shiftDemoName,
		From:           shiftproxy.Upstream{Label: "ecs", URL: sides[0]},
		To:             shiftproxy.Upstream{Label: "eks", URL: sides[1]},
		UserHeader:     traceUserHeader,
		Cookie:         "owl_shift",
		HealthInterval: 2 * time.Second,
		Tracer:         opts.Trace,
		Registerer:     p.reg,
		Log:            p.log.With("component", "shift-proxy"),
	})
	if err != nil {
		return nil, err
	}
	p.mux.Handle("POST "+shiftDemoPrefix+"/v1/sessions", http.StripPrefix(shiftDemoPrefix, proxy))
	p.mux.Handle("GET "+shiftproxy.WeightsPath, proxy.Handler(""))
	p.add(runner.Component{Name: "shift-proxy", Run: proxy.Run}, landing.Entry{
		Description: "owl's weighted proxy between the ecs and eks session generators: POST " + shiftDemoPrefix + "/v1/sessions; access logs and traces carry side=ecs|eks",
		Link:        shiftproxy.WeightsPath,
	})
	if trafficPerSecond > 0 {
		t := &shiftDemoTraffic{url: strings.TrimSuffix(webURL, "/") + shiftDemoPrefix + "/v1/sessions", perSecond: trafficPerSecond,
			client: &http.Client{Timeout: 5 * time.Second}}
		p.add(runner.Component{Name: "shift-traffic", Run: t.Run}, landing.Entry{
			Description: fmt.Sprintf("synthetic learners: %g session requests per second through the demo shift's proxy", trafficPerSecond),
		})
	}
	return proxy, nil
}

// shiftDemoTraffic sends session requests of 500 synthetic learners
// through the demo shift's proxy at a steady rate.
type shiftDemoTraffic struct {
	url       string
	perSecond float64
	client    *http.Client
}

// Run sends requests until ctx ends; failed requests are the data the
// shift's analysis looks at, so they are not errors of the generator.
func (t *shiftDemoTraffic) Run(ctx context.Context) error {
	tick := time.NewTicker(time.Duration(float64(time.Second) / t.perSecond))
	defer tick.Stop()
	for n := uint64(1); ; n++ {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		user := fmt.Sprintf("learner-%03d", n%500)
		body, _ := json.Marshal(session.APIRequest{Course: courses.DemoID, Skill: "102", Length: 10, Seed: n, User: session.User{ID: user}})
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(traceUserHeader, user)
		resp, err := t.client.Do(req)
		if err != nil {
			continue
		}
		resp.Body.Close()
	}
}

var _ shift.DataPlane = (*shiftproxy.Proxy)(nil)
