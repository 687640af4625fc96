package main

import (
	"context"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/owlstack/owl/examples/courses"
	"github.com/owlstack/owl/internal/config"
	"github.com/owlstack/owl/internal/coursecache"
	"github.com/owlstack/owl/internal/coursestore"
	"github.com/owlstack/owl/internal/httpserver"
	"github.com/owlstack/owl/internal/landing"
	"github.com/owlstack/owl/internal/memory"
	"github.com/owlstack/owl/internal/runner"
	"github.com/owlstack/owl/internal/session"
	"github.com/owlstack/owl/internal/tracectx"
)

func newSessionService(p *process, courses session.Courses, maxBytes int64) *session.Service {
	gen := session.New(memory.NewFSRS(memory.FSRS6Defaults))
	svc := session.NewService(gen, courses, time.Now, maxBytes, p.log.With("component", "sessions"))
	svc.Instrument(session.NewMetrics(p.reg))
	return svc
}

// startSessions registers the session API in owl up, served from the
// course cache, with a page that shows a session for a demo learner.
func startSessions(p *process, cache *coursecache.Cache) {
	svc := newSessionService(p, cache, 0)
	svc.Routes(p.mux)
	p.mux.HandleFunc("GET /sessions/demo", func(w http.ResponseWriter, r *http.Request) { serveDemoSession(w, r, svc) })
	p.entries = append(p.entries, landing.Entry{
		Name:        "sessions",
		Description: "POST /v1/sessions generates personalised sessions (OpenAPI at /openapi.json); this page shows one for a demo learner",
		Link:        "/sessions/demo",
	})
}

// demoLearner has answered the demo course's greetings over the last
// nine days, missed one of them three days ago, and starts the animals
// skill.
func demoLearner(now time.Time) session.User {
	day := 24 * time.Hour
	learned := func(word string, grades ...memory.Grade) session.WordState {
		ws := session.WordState{Word: word}
		at := now.Add(-9 * day)
		for _, g := range grades {
			ws.History = append(ws.History, session.Review{At: at, Grade: g})
			at = at.Add(3 * day)
		}
		return ws
	}
	return session.User{ID: "demo", Words: []session.WordState{
		learned("hola", memory.Good, memory.Good),
		learned("adiós", memory.Good, memory.Hard),
		learned("gracias", memory.Good, memory.Good, memory.Again),
		learned("por favor", memory.Easy),
	}}
}

var demoPage = template.Must(template.New("demo").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>owl: a session for a demo learner</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem}table{border-collapse:collapse}td,th{padding:.3rem .8rem;border-bottom:1px solid #ddd;text-align:left}code{color:#555}</style>
</head><body>
<h1>A session for a demo learner</h1>
<p>Course <code>{{.Session.Course}}</code> version {{.Session.CourseVersion}}, skill {{.Session.Skill}}{{if .Session.Level}}, new material of level {{.Session.Level}}{{end}}.
The learner has answered the greetings over the last nine days and missed one of them three days ago. <a href="/openapi.json">API</a></p>
<table><thead><tr><th>#</th><th>type</th><th>challenge</th><th>skill</th><th>why</th></tr></thead><tbody>
{{range $i, $c := .Rows}}<tr><td>{{$c.N}}</td><td>{{$c.Type}}</td><td>{{$c.Prompt}}</td><td>{{$c.Skill}}</td><td>{{$c.Why}}</td></tr>
{{end}}</tbody></table>
{{if .Session.ShortBy}}<p>Short by {{.Session.ShortBy}}.</p>{{end}}
</body></html>
`))

type sessionRow struct {
	N                        int
	Type, Prompt, Skill, Why string
}

func sessionRows(s *session.Session) []sessionRow {
	rows := make([]sessionRow, len(s.Challenges))
	for i, it := range s.Challenges {
		rows[i] = sessionRow{N: i + 1, Type: string(it.Challenge.ChallengeType()), Prompt: session.Prompt(it.Challenge), Skill: it.Skill, Why: it.WhyText()}
	}
	return rows
}

func serveDemoSession(w http.ResponseWriter, r *http.Request, svc *session.Service) {
	now := time.Now()
	s, err := svc.Generate(&session.APIRequest{Course: courses.DemoID, Skill: "102", Length: 12, Seed: 1, User: demoLearner(now)})
	if err != nil {
		http.Error(w, "demo session: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = demoPage.Execute(w, map[string]any{"Session": s, "Rows": sessionRows(s)}) // a client gone away is not our error
}

// sessionConfig configures target session: the session API on courses
// loaded from a course store.
type sessionConfig struct {
	Addr      string          `yaml:"addr" help:"listen address of the session API, health and metrics"`
	AdminAddr string          `yaml:"admin_addr" help:"listen address of the admin server (pprof, metrics, health); empty turns it off"`
	Store     string          `yaml:"store" help:"course store URL: a folder, file:///path or s3://bucket?region=..."`
	Courses   []string        `yaml:"courses" help:"ids of the courses to serve; empty serves every course in the store"`
	Data      string          `yaml:"data" help:"folder for the last-known-good course copies (<data>/courses/cache), the access log and the trace hash key"`
	Refresh   time.Duration   `yaml:"refresh" help:"time between course refreshes (plus up to 20% jitter)"`
	MaxBody   int64           `yaml:"max_body" help:"largest session request body in bytes"`
	Trace     tracectx.Config `yaml:"trace"`
	Log       config.Log      `yaml:"log"`
	HTTP      config.HTTP     `yaml:"http"`
}

func defaultSessionConfig() *sessionConfig {
	all := defaultAllConfig()
	return &sessionConfig{
		Addr: "127.0.0.1:8081", AdminAddr: "127.0.0.1:6061", Store: filepath.Join(all.Data, "courses", "store"),
		Data: all.Data, Refresh: 10 * time.Second, MaxBody: session.DefaultMaxRequestBytes,
		Trace: tracectx.DefaultConfig("session"), Log: all.Log, HTTP: all.HTTP,
	}
}

func (c *sessionConfig) logConfig() config.Log { return c.Log }

func sessionTarget() target {
	return target{
		name:        "session",
		description: "the session generator: POST /v1/sessions from courses in memory, refreshed from the course store",
		newConfig:   func() any { return defaultSessionConfig() },
		start: func(ctx context.Context, p *process, cfg any) error {
			return startSessionTarget(ctx, p, cfg.(*sessionConfig))
		},
	}
}

func startSessionTarget(ctx context.Context, p *process, cfg *sessionConfig) error {
	if cfg.Store == "" {
		return fmt.Errorf("session: --store is required")
	}
	// First, so that every logger made below carries trace roots.
	tracer, err := startTracer(ctx, p, cfg.Trace, cfg.Data)
	if err != nil {
		return fmt.Errorf("session: %w", err)
	}
	store, err := coursestore.Open(ctx, cfg.Store)
	if err != nil {
		return err
	}
	cache := coursecache.New(store, coursecache.Options{
		Courses:  cfg.Courses,
		Dir:      filepath.Join(cfg.Data, "courses", "cache"),
		Interval: cfg.Refresh,
		Jitter:   cfg.Refresh / 5,
		Timeout:  5 * time.Second,
	}, p.log.With("component", "courses"), p.reg)
	cache.LoadDisk()
	p.health.Add("courses", cache.Ready)

	opts := httpOptions(cfg.HTTP)
	opts.Trace = tracer
	if opts.MaxBodyBytes < cfg.MaxBody {
		opts.MaxBodyBytes = cfg.MaxBody
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
	svc := newSessionService(p, cache, cfg.MaxBody)
	svc.Routes(p.mux)
	httpserver.HandleOps(p.mux, p.health, p.reg)
	web := httpserver.New("web", ln, p.mux, opts, p.reg, p.health, p.log)
	p.add(runner.Component{Name: "courses", Run: func(ctx context.Context) error {
		defer store.Close()
		return cache.Run(ctx)
	}}, landing.Entry{Description: "compiled courses in memory, refreshed from " + cfg.Store})
	p.add(runner.Component{Name: "web", Run: web.Run}, landing.Entry{Description: "session API, health and metrics", Link: "/openapi.json"})
	if cfg.AdminAddr != "" {
		admin := httpserver.New("admin", aln, httpserver.AdminHandler(p.health, p.reg), opts, p.reg, nil, p.log)
		p.add(runner.Component{Name: "admin", Run: admin.Run}, landing.Entry{Description: "pprof and operational endpoints"})
	}
	fmt.Fprintf(p.stdout, "owl session: POST %s/v1/sessions (OpenAPI at %s/openapi.json)\n", web.URL(), web.URL())
	return nil
}
