package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/owlstack/owl/internal/config"
	"github.com/owlstack/owl/internal/httpserver"
	"github.com/owlstack/owl/internal/landing"
	"github.com/owlstack/owl/internal/runner"
)

// stopTimeout bounds a graceful stop: the HTTP drain plus a margin.
const stopTimeout = 5 * time.Second

// allConfig configures target all, the single-process platform of 'owl up'.
type allConfig struct {
	Addr      string      `yaml:"addr" help:"listen address of the web server: landing page, APIs and web pages"`
	AdminAddr string      `yaml:"admin_addr" help:"listen address of the admin server (pprof, metrics, health); empty turns it off"`
	Data      string      `yaml:"data" help:"folder for embedded state: SQLite files, the local blob store, logs"`
	Log       config.Log  `yaml:"log"`
	HTTP      config.HTTP `yaml:"http"`
}

func defaultAllConfig() *allConfig {
	o := httpserver.DefaultOptions
	return &allConfig{
		Addr:      "127.0.0.1:8080",
		AdminAddr: "127.0.0.1:6060",
		Data:      "./owl-data",
		Log:       config.DefaultLog(),
		HTTP: config.HTTP{
			MaxBodyBytes:      o.MaxBodyBytes,
			ReadHeaderTimeout: o.ReadHeaderTimeout,
			ReadTimeout:       o.ReadTimeout,
			WriteTimeout:      o.WriteTimeout,
			IdleTimeout:       o.IdleTimeout,
			DrainTimeout:      o.DrainTimeout,
		},
	}
}

func (c *allConfig) logConfig() config.Log { return c.Log }

func httpOptions(h config.HTTP) httpserver.Options {
	return httpserver.Options{
		MaxBodyBytes:      h.MaxBodyBytes,
		ReadHeaderTimeout: h.ReadHeaderTimeout,
		ReadTimeout:       h.ReadTimeout,
		WriteTimeout:      h.WriteTimeout,
		IdleTimeout:       h.IdleTimeout,
		DrainTimeout:      h.DrainTimeout,
	}
}

func newUpCmd(e *env) *cobra.Command {
	cfg := defaultAllConfig()
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Run the whole platform in one process on embedded defaults",
		Long: `Run every owl component in one process on embedded defaults: state in
SQLite files and local folders under --data. Prints the URL of each web page.
Stop it with Ctrl-C.`,
		Args: noArgs,
	}
	binding := config.Bind(cmd.Flags(), cfg)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := binding.Load(configPath(cmd, e), e.getenv); err != nil {
			return err
		}
		t, _ := findTarget("all")
		return serve(cmd.Context(), e, t, cfg)
	}
	return cmd
}

// startAll assembles target all: the web server with the landing page and
// every system registered so far, and the admin server.
func startAll(ctx context.Context, p *process, cfg *allConfig) error {
	if err := os.MkdirAll(cfg.Data, 0o755); err != nil {
		return fmt.Errorf("data folder: %w", err)
	}
	opts := httpOptions(cfg.HTTP)

	ln, err := httpserver.Listen(cfg.Addr)
	if err != nil {
		return err
	}
	webOpts := opts
	if webOpts.Trace, err = startTracing(p, cfg.Data); err != nil {
		ln.Close()
		return err
	}
	web := httpserver.New("web", ln, p.mux, webOpts, p.reg, p.health, p.log)
	p.add(runner.Component{Name: "web", Run: web.Run}, landing.Entry{
		Description: "this page, health, readiness and metrics of the process",
		Link:        "/",
	})

	var adminURL string
	if cfg.AdminAddr != "" {
		aln, err := httpserver.Listen(cfg.AdminAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("admin server: %w", err)
		}
		admin := httpserver.New("admin", aln, httpserver.AdminHandler(p.health, p.reg), opts, p.reg, nil, p.log)
		adminURL = admin.URL()
		p.add(runner.Component{Name: "admin", Run: admin.Run}, landing.Entry{
			Description: "pprof profiles and operational endpoints on a separate listener (" + adminURL + ")",
		})
	}

	cache, err := startCourses(ctx, p, cfg.Data)
	if err != nil {
		ln.Close()
		return err
	}
	startSessions(p, cache)
	if err := startAPIFront(ctx, p, cfg.Data, web.URL(), webOpts.Trace); err != nil {
		ln.Close()
		return err
	}

	if err := startSMSDemo(ctx, p, cfg.Data); err != nil {
		ln.Close()
		return err
	}
	if err := startTraceDemo(p, cfg.Data); err != nil {
		ln.Close()
		return err
	}
	if err := startShiftDemo(ctx, p, cfg.Data, cache, web.URL(), webOpts); err != nil {
		ln.Close()
		return err
	}
	if err := startMigrateDemo(p, cfg.Data, web.URL()+"/api/v1/shifts"); err != nil {
		ln.Close()
		return err
	}

	page := &landing.Page{Title: "owl", Version: versionString(), Entries: p.entries, Health: p.health}
	httpserver.HandleOps(p.mux, p.health, p.reg)
	p.mux.HandleFunc("GET /{$}", page.ServeHTML)
	p.mux.HandleFunc("GET /api/v1/components", page.ServeJSON)
	p.mux.HandleFunc("GET /favicon.ico", landing.ServeFavicon)

	fmt.Fprintf(p.stdout, "owl %s is up\n", versionString())
	fmt.Fprintf(p.stdout, "  %-14s %s/\n", "landing page", web.URL())
	for _, e := range p.entries {
		if e.Link != "" && e.Link != "/" {
			fmt.Fprintf(p.stdout, "  %-14s %s%s\n", e.Name, web.URL(), e.Link)
		}
	}
	fmt.Fprintf(p.stdout, "  %-14s %s/metrics\n", "metrics", web.URL())
	if adminURL != "" {
		fmt.Fprintf(p.stdout, "  %-14s %s/debug/pprof/\n", "pprof", adminURL)
	}
	fmt.Fprintf(p.stdout, "Press Ctrl-C to stop.\n")
	return nil
}
