// Package traceui serves owl's trace web pages: trace search, a trace's
// waterfall with its critical path, the service dependency graph with
// filters, the findings and the incident ranking.
//
// Pages are rendered on the server as HTML with inline SVG; the CSS and a
// little JavaScript that only enhances them are embedded in the binary, so
// the UI needs no build step and no network beyond the server itself.
package traceui

import (
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/owlstack/owl/internal/tracing"
	"github.com/owlstack/owl/internal/tracing/graph/graphsvg"
	"github.com/owlstack/owl/internal/tracing/tracestore"
)

// Traces is what the UI reads traces from (a *tracestore.Store).
type Traces interface {
	Search(q tracestore.Query) tracestore.Result
	Get(id string) (*tracing.Trace, bool)
	Window(from, to time.Time) []*tracing.Trace
	Stats() tracestore.Stats
}

// Options configure the UI.
type Options struct {
	// Prefix is the path the pages live under, e.g. "/traces" (no
	// trailing slash; "" serves them at the root).
	Prefix string
	// Traces are the traces to show.
	Traces Traces
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// Log receives errors that cannot reach the client; nil discards them.
	Log *slog.Logger
}

// UI is the trace web UI's handlers.
type UI struct {
	prefix string
	traces Traces
	now    func() time.Time
	log    *slog.Logger
	pages  map[string]*template.Template
	static http.Handler
	// renderer draws dependency graphs; created with the UI, closed by Close.
	renderer *graphsvg.Renderer
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// New returns the UI.
func New(opts Options) (*UI, error) {
	if opts.Traces == nil {
		return nil, fmt.Errorf("trace ui: no traces")
	}
	if opts.Prefix != "" && (!strings.HasPrefix(opts.Prefix, "/") || strings.HasSuffix(opts.Prefix, "/")) {
		return nil, fmt.Errorf("trace ui: prefix %q: want a path starting with / and not ending with one", opts.Prefix)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	u := &UI{prefix: opts.Prefix, traces: opts.Traces, now: opts.Now, log: opts.Log, pages: map[string]*template.Template{}}
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("trace ui: %w", err)
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("trace ui: %w", err)
	}
	for _, name := range names {
		page := strings.TrimSuffix(strings.TrimPrefix(name, "templates/"), ".html")
		if page == "layout" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(templateFS, name)
		if err != nil {
			return nil, fmt.Errorf("trace ui: %w", err)
		}
		u.pages[page] = t
	}
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, fmt.Errorf("trace ui: %w", err)
	}
	u.static = http.StripPrefix(u.prefix+"/static/", http.FileServerFS(sub))
	u.renderer = graphsvg.NewRenderer(32)
	return u, nil
}

// Close frees the graph renderer.
func (u *UI) Close() error { return u.renderer.Close() }

// features says which pages the nav bar links to.
type features struct {
	Graph, Findings, Ranking bool
}

// base is what every page's layout needs.
type base struct {
	Prefix string
	Title  string
	Page   string
	Error  string
	Has    features
	Stats  tracestore.Stats
}

func (u *UI) base(page, title string) base {
	return base{Prefix: u.prefix, Title: title, Page: page, Has: available, Stats: u.traces.Stats()}
}

// render writes page with data, or a plain 500 if the template fails
// before anything was written.
func (u *UI) render(w http.ResponseWriter, r *http.Request, status int, page string, data any) {
	t := u.pages[page]
	var b strings.Builder
	if err := t.ExecuteTemplate(&b, page+".html", data); err != nil {
		u.log.ErrorContext(r.Context(), "render trace page", "page", page, "err", err)
		http.Error(w, "trace ui: cannot render "+page, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(b.String())) // a client gone away is not our error
}

var funcs = template.FuncMap{
	"utc":      func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05.000") },
	"utcMicro": func(t time.Time) string { return t.UTC().Format("15:04:05.000000") },
	"dur":      fmtDur,
	"bytes":    func(n int64) string { return fmtBytes(float64(n)) },
	"fbytes":   fmtBytes,
	"join":     strings.Join,
	"statusClass": func(status int) string {
		if status >= 400 {
			return fmt.Sprint(status / 100)
		}
		return "ok"
	},
	"inc": func(i int) int { return i + 1 },
	"pct": func(f float64) string { return fmt.Sprintf("%.1f%%", 100*f) },
	"us":  func(us float64) string { return fmtDur(time.Duration(us * float64(time.Microsecond))) },
}

func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%dµs", d.Microseconds())
}

func fmtBytes(f float64) string {
	switch {
	case f >= 1<<20:
		return fmt.Sprintf("%.1f MB", f/(1<<20))
	case f >= 1<<10:
		return fmt.Sprintf("%.1f kB", f/(1<<10))
	}
	return fmt.Sprintf("%.0f B", f)
}
