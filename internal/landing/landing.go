// Package landing serves the page at / of a running owl process: what is
// running, whether it is healthy, and links to each component's pages.
package landing

import (
	"context"
	_ "embed"
	"encoding/json"
	"html/template"
	"net/http"
	"time"

	"github.com/owlstack/owl/internal/httpserver"
)

// Entry is one running component as the landing page shows it.
type Entry struct {
	// Name is the component's name; a readiness check of the same name
	// gives its health.
	Name        string `json:"name"`
	Description string `json:"description"`
	// Link is the path of the component's web page, if it has one.
	Link string `json:"link,omitempty"`
}

// Status is an Entry with its current health.
type Status struct {
	Entry
	// Health is "ready", "not ready" or "running" (no readiness check).
	Health string `json:"health"`
	Error  string `json:"error,omitempty"`
}

// Page renders the landing page of one process.
type Page struct {
	Title   string
	Version string
	Entries []Entry
	Health  *httpserver.Health
}

//go:embed landing.html
var pageHTML string

var pageTmpl = template.Must(template.New("landing").Parse(pageHTML))

// Statuses returns every entry with its health, in the order entries were given.
func (p *Page) Statuses(ctx context.Context) []Status {
	results, _ := p.Health.Run(ctx, 2*time.Second)
	byName := map[string]httpserver.CheckResult{}
	for _, r := range results {
		byName[r.Name] = r
	}
	out := make([]Status, len(p.Entries))
	for i, e := range p.Entries {
		s := Status{Entry: e, Health: "running"}
		if r, ok := byName[e.Name]; ok {
			s.Health, s.Error = "ready", r.Error
			if !r.Ready {
				s.Health = "not ready"
			}
		}
		out[i] = s
	}
	return out
}

// ServeHTML serves the page.
func (p *Page) ServeHTML(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = pageTmpl.Execute(w, struct { // a client gone away is not our error
		*Page
		Components []Status
	}{p, p.Statuses(r.Context())})
}

// ServeJSON serves the component list as JSON.
func (p *Page) ServeJSON(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(struct { // a client gone away is not our error
		Version    string   `json:"version"`
		Components []Status `json:"components"`
	}{p.Version, p.Statuses(r.Context())})
}

//go:embed favicon.svg
var favicon []byte

// ServeFavicon serves owl's icon, for the /favicon.ico that browsers ask
// for (they read an SVG served there).
func ServeFavicon(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", "max-age=86400")
	_, _ = w.Write(favicon) // a client gone away is not our error
}
