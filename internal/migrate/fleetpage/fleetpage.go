// Package fleetpage serves the migration fleet view of 'owl up': every
// service with its owner team and migration phase, and the counts per team
// and phase, as HTML and JSON.
package fleetpage

import (
	"context"
	_ "embed"
	"encoding/json"
	"html/template"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/owlstack/owl/internal/migrate"
)

//go:embed fleet.html
var pageHTML string

var pageTmpl = template.Must(template.New("fleet").Parse(pageHTML))

// Loader builds the fleet from its sources. An error from one source may
// come with the fleet built from the others.
type Loader func(ctx context.Context) (*migrate.Fleet, []error)

// Page serves the fleet view; it loads the fleet at most once per TTL.
type Page struct {
	Load Loader
	// Source describes where the fleet comes from, shown on the page.
	Source string
	TTL    time.Duration

	mu     sync.Mutex
	at     time.Time
	fleet  *migrate.Fleet
	errs   []error
	nowFor func() time.Time
}

// Routes registers the page and its JSON on mux:
//
//	GET /migrate/{$}             the fleet view (HTML)
//	GET /api/v1/migrate/fleet    the same as JSON
func (p *Page) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /migrate/{$}", p.serveHTML)
	mux.HandleFunc("GET /api/v1/migrate/fleet", p.serveJSON)
}

func (p *Page) now() time.Time {
	if p.nowFor != nil {
		return p.nowFor()
	}
	return time.Now()
}

func (p *Page) get(ctx context.Context) (*migrate.Fleet, []error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fleet == nil || p.now().Sub(p.at) >= p.TTL {
		p.fleet, p.errs = p.Load(ctx)
		p.at = p.now()
	}
	return p.fleet, p.errs
}

type teamRow struct {
	Name   string
	Counts []int
	Total  int
}

type barPart struct {
	Phase   migrate.Phase
	Count   int
	Percent float64
}

func (p *Page) serveHTML(w http.ResponseWriter, r *http.Request) {
	f, errs := p.get(r.Context())
	data := struct {
		Fleet     *migrate.Fleet
		Source    string
		Errors    []string
		Phases    []migrate.Phase
		Teams     []teamRow
		AllCounts []int
		Bar       []barPart
	}{Fleet: f, Source: p.Source, Phases: migrate.Phases}
	for _, err := range errs {
		data.Errors = append(data.Errors, err.Error())
	}
	if f != nil {
		for name, counts := range f.Teams {
			row := teamRow{Name: name}
			for _, ph := range migrate.Phases {
				row.Counts = append(row.Counts, counts[ph])
				row.Total += counts[ph]
			}
			data.Teams = append(data.Teams, row)
		}
		slices.SortFunc(data.Teams, func(a, b teamRow) int { return strings.Compare(a.Name, b.Name) })
		for _, ph := range migrate.Phases {
			n := f.Phases[ph]
			data.AllCounts = append(data.AllCounts, n)
			if n > 0 {
				data.Bar = append(data.Bar, barPart{Phase: ph, Count: n, Percent: 100 * float64(n) / float64(len(f.Services))})
			}
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = pageTmpl.Execute(w, data) // a client gone away is not our error
}

func (p *Page) serveJSON(w http.ResponseWriter, r *http.Request) {
	f, errs := p.get(r.Context())
	resp := struct {
		*migrate.Fleet
		Errors []string `json:"errors,omitempty"`
	}{Fleet: f}
	for _, err := range errs {
		resp.Errors = append(resp.Errors, err.Error())
	}
	if f == nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_ = json.NewEncoder(w).Encode(resp)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp)
}
