package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/owlstack/owl/internal/config"
	"github.com/owlstack/owl/internal/httpserver"
	"github.com/owlstack/owl/internal/landing"
	"github.com/owlstack/owl/internal/runner"
	"github.com/owlstack/owl/internal/tracectx"
	"github.com/owlstack/owl/internal/tracing/tracestore"
	"github.com/owlstack/owl/internal/tracing/traceui"
	"github.com/owlstack/owl/internal/tracing/traffic"
)

// traceUIPrefix is where the trace pages live on a web server.
const traceUIPrefix = "/traces"

// traceUIConfig configures target trace-ui: the trace web pages over
// access logs followed live and stitched trace files.
type traceUIConfig struct {
	Addr       string          `yaml:"addr" help:"listen address of the trace pages, health and metrics"`
	AdminAddr  string          `yaml:"admin_addr" help:"listen address of the admin server (pprof, metrics, health); empty turns it off"`
	AccessLogs []string        `yaml:"access_logs" help:"owl access-log files or folders, followed as they grow"`
	ALBLogs    []string        `yaml:"alb_logs" help:"AWS ALB access-log files or folders (plain or gzip), read as they appear"`
	Traces     []string        `yaml:"traces" help:"owl-format trace files or folders ('owl trace stitch' output), loaded at start"`
	MaxTraces  int             `yaml:"max_traces" help:"most traces kept in memory; the oldest go first"`
	MaxSpans   int             `yaml:"max_spans" help:"most spans kept in memory over all traces"`
	Poll       time.Duration   `yaml:"poll" help:"time between looks at the access logs"`
	Settle     time.Duration   `yaml:"settle" help:"how long a trace must go without new log lines before it is stitched"`
	Data       string          `yaml:"data" help:"folder of the trace UI's own access log and the trace hash key (<data>/logs/access.jsonl, <data>/trace/hash.key)"`
	Trace      tracectx.Config `yaml:"trace"`
	Log        config.Log      `yaml:"log"`
	HTTP       config.HTTP     `yaml:"http"`
}

func defaultTraceUIConfig() *traceUIConfig {
	all := defaultAllConfig()
	return &traceUIConfig{
		Addr: "127.0.0.1:8070", AdminAddr: "127.0.0.1:6070",
		AccessLogs: []string{filepath.Join(all.Data, "logs")},
		MaxTraces:  20000, MaxSpans: 400000, Poll: 2 * time.Second, Settle: 3 * time.Second,
		Data: all.Data, Trace: tracectx.DefaultConfig("trace-ui"), Log: all.Log, HTTP: all.HTTP,
	}
}

func (c *traceUIConfig) logConfig() config.Log { return c.Log }

func traceUITarget() target {
	return target{
		name:        "trace-ui",
		description: "trace web pages (search, waterfall, dependency graph, findings, incident ranking) over access logs and trace files",
		newConfig:   func() any { return defaultTraceUIConfig() },
		start: func(ctx context.Context, p *process, cfg any) error {
			return startTraceUITarget(ctx, p, cfg.(*traceUIConfig))
		},
	}
}

func startTraceUITarget(ctx context.Context, p *process, cfg *traceUIConfig) error {
	if len(cfg.AccessLogs) == 0 && len(cfg.ALBLogs) == 0 && len(cfg.Traces) == 0 {
		return fmt.Errorf("trace-ui: nothing to show: set --access-logs, --alb-logs or --traces")
	}
	if cfg.MaxTraces < 1 || cfg.MaxSpans < 1 {
		return fmt.Errorf("trace-ui: --max-traces and --max-spans must be at least 1")
	}
	// Before the loggers below are made, so that they carry trace roots.
	tracer, err := startTracer(ctx, p, cfg.Trace, cfg.Data)
	if err != nil {
		return fmt.Errorf("trace-ui: %w", err)
	}
	store := tracestore.New(tracestore.Options{MaxTraces: cfg.MaxTraces, MaxSpans: cfg.MaxSpans})
	n, err := tracestore.LoadTraces(store, cfg.Traces)
	if err != nil {
		return fmt.Errorf("trace-ui: %w", err)
	}
	opts := httpOptions(cfg.HTTP)
	opts.Trace = tracer
	ln, err := httpserver.Listen(cfg.Addr)
	if err != nil {
		return err
	}
	if err := mountTraceUI(p, store, cfg.AccessLogs, cfg.ALBLogs, cfg.Poll, cfg.Settle); err != nil {
		ln.Close()
		return err
	}
	p.mux.Handle("GET /{$}", http.RedirectHandler(traceUIPrefix+"/", http.StatusFound))
	httpserver.HandleOps(p.mux, p.health, p.reg)
	web := httpserver.New("web", ln, p.mux, opts, p.reg, p.health, p.log)
	p.add(runner.Component{Name: "web", Run: web.Run}, landing.Entry{Description: "trace pages, health and metrics", Link: traceUIPrefix + "/"})
	if cfg.AdminAddr != "" {
		aln, err := httpserver.Listen(cfg.AdminAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("admin server: %w", err)
		}
		admin := httpserver.New("admin", aln, httpserver.AdminHandler(p.health, p.reg), opts, p.reg, nil, p.log)
		p.add(runner.Component{Name: "admin", Run: admin.Run}, landing.Entry{Description: "pprof and operational endpoints"})
	}
	fmt.Fprintf(p.stdout, "owl trace-ui: %s%s/ (%d traces loaded)\n", web.URL(), traceUIPrefix, n)
	return nil
}

// mountTraceUI serves the trace pages on p.mux under traceUIPrefix, from a
// store that a follower of the access and ALB logs fills, and registers the
// follower as component "traces" with its readiness check and metrics.
func mountTraceUI(p *process, store *tracestore.Store, accessLogs, albLogs []string, poll, settle time.Duration) error {
	f := tracestore.NewFollower(store, tracestore.FollowOptions{
		App: accessLogs, ALB: albLogs, Interval: poll, Settle: settle,
		Log: p.log.With("component", "traces"),
	})
	ui, err := traceui.New(traceui.Options{Prefix: traceUIPrefix, Traces: store, Log: p.log.With("component", "trace-ui")})
	if err != nil {
		return err
	}
	ui.Routes(p.mux)
	p.health.Add("traces", func(context.Context) error {
		if f.Stats().Polls == 0 {
			return errors.New("access logs not read yet")
		}
		return nil
	})
	for _, c := range []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "owl_trace_store_traces", Help: "Traces kept in memory by the trace UI."},
			func() float64 { return float64(store.Stats().Traces) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "owl_trace_store_spans", Help: "Spans kept in memory by the trace UI."},
			func() float64 { return float64(store.Stats().Spans) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "owl_trace_follow_lines_total", Help: "Access-log lines the trace UI has read."},
			func() float64 { return float64(f.Stats().Lines) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "owl_trace_follow_malformed_total", Help: "Access-log lines the trace UI could not read."},
			func() float64 { return float64(f.Stats().Malformed) }),
	} {
		if err := p.reg.Register(c); err != nil {
			return fmt.Errorf("trace ui metrics: %w", err)
		}
	}
	p.add(runner.Component{Name: "traces", Run: func(ctx context.Context) error {
		defer ui.Close()
		return f.Run(ctx)
	}}, landing.Entry{
		Description: "trace search, waterfalls with the critical path, dependency graph, findings and incident ranking, stitched live from the access logs",
		Link:        traceUIPrefix + "/",
	})
	return nil
}

// demoIncidents slows userdb down for 90 s of every 5 minutes of owl up,
// from minute 2, so that the incident ranking page (last 2 minutes against
// the 15 before) has a guilty service to find.
var demoIncidents = traffic.Schedule{Every: 5 * time.Minute, At: 2 * time.Minute, For: 90 * time.Second, Slow: 60 * time.Millisecond}

// startTraceDemo adds the trace UI and the synthetic traffic to 'owl up':
// a fleet of demo services (gateway, profile, streaks on two sides, lessons,
// catalog, userdb) writes DATA/logs/traffic.jsonl, and the UI follows it and
// owl's own access log.
func startTraceDemo(p *process, data string) error {
	key, err := loadOrCreateKey(filepath.Join(data, "trace", "hash.key"))
	if err != nil {
		return fmt.Errorf("trace hash key: %w", err)
	}
	logs := filepath.Join(data, "logs")
	fleetLog := filepath.Join(logs, "traffic.jsonl")
	fleet, err := traffic.New(traffic.Options{LogPath: fleetLog, HashKey: key, Log: p.log.With("component", "traffic"), Incidents: &demoIncidents})
	if err != nil {
		return err
	}
	store := tracestore.New(tracestore.Options{})
	if err := mountTraceUI(p, store, []string{filepath.Join(logs, "access.jsonl"), fleetLog}, nil, time.Second, 2*time.Second); err != nil {
		fleet.Close()
		return err
	}
	p.add(runner.Component{Name: "traffic", Run: fleet.Run}, landing.Entry{
		Description: "synthetic traffic: demo services on loopback (" + fleet.EntryURL() + ") answering a few requests a second, with an uncompressed endpoint, repeated calls, errors, two sides of streaks, and a userdb slowdown from minute 2 to 3:30 of every 5 minutes",
	})
	return nil
}
