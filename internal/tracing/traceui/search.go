package traceui

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/owlstack/owl/internal/tracing/tracestore"
)

type choice struct{ Value, Label string }

var lastChoices = []choice{{"5m", "5 minutes"}, {"15m", "15 minutes"}, {"1h", "hour"}, {"6h", "6 hours"}, {"", "any time"}}

type searchPage struct {
	base
	Form        map[string]string
	LastChoices []choice
	Services    []string
	Result      *tracestore.Result
}

// formFields are the search parameters the form shows back.
var formFields = []string{"root", "service", "route", "status", "min", "last", "from", "to", "limit"}

func (u *UI) searchPage(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	p := searchPage{base: u.base("search", "Traces"), Form: map[string]string{}, LastChoices: lastChoices}
	for _, k := range formFields {
		p.Form[k] = v.Get(k)
	}
	if p.Form["limit"] == "" {
		p.Form["limit"] = "50"
	}
	p.Services = u.services()
	q, err := tracestore.ParseQuery(v, u.now())
	if err != nil {
		p.Error = err.Error()
		u.render(w, r, http.StatusBadRequest, "search", p)
		return
	}
	res := u.traces.Search(q)
	p.Result = &res
	u.render(w, r, http.StatusOK, "search", p)
}

// services lists the services of the traces of the last hour, for the
// search form's suggestions.
func (u *UI) services() []string {
	var out []string
	res := u.traces.Search(tracestore.Query{From: u.now().Add(-time.Hour), Limit: 200})
	for _, t := range res.Traces {
		for _, s := range t.Services {
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	slices.Sort(out)
	return out
}

func (u *UI) searchJSON(w http.ResponseWriter, r *http.Request) {
	q, err := tracestore.ParseQuery(r.URL.Query(), u.now())
	if err != nil {
		writeJSONError(w, http.StatusBadRequest, err)
		return
	}
	writeJSON(w, http.StatusOK, u.traces.Search(q))
}

func (u *UI) traceJSON(w http.ResponseWriter, r *http.Request) {
	t, ok := u.traces.Get(r.PathValue("id"))
	if !ok {
		writeJSONError(w, http.StatusNotFound, errors.New("trace "+r.PathValue("id")+" is not in memory (too old, not stitched yet, or not a trace id)"))
		return
	}
	writeJSON(w, http.StatusOK, t)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v) // a client gone away is not our error
}

func writeJSONError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, map[string]string{"error": err.Error()})
}
