package traceui

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/owlstack/owl/internal/tracing/findings"
	"github.com/owlstack/owl/internal/tracing/graph"
	"github.com/owlstack/owl/internal/tracing/rca"
	"github.com/owlstack/owl/internal/tracing/tracestore"
)

// available lists the analysis pages this build serves.
var available = features{Graph: true, Findings: true, Ranking: true}

// analysisRoutes registers the pages of the analyses.
func (u *UI) analysisRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+u.prefix+"/graph", u.graphPage)
	mux.HandleFunc("GET "+u.prefix+"/findings", u.findingsPage)
	mux.HandleFunc("GET "+u.prefix+"/ranking", u.rankingPage)
}

// window reads a time window from the parameters prefix+"from",
// prefix+"to" and prefix+"last" (a duration ending now); def is the "last"
// used when none is given.
func (u *UI) window(v url.Values, prefix, def string) (from, to time.Time, err error) {
	w := url.Values{}
	for _, k := range []string{"from", "to", "last"} {
		if s := v.Get(prefix + k); s != "" {
			w.Set(k, s)
		}
	}
	if len(w) == 0 && def != "" {
		w.Set("last", def)
	}
	q, err := tracestore.ParseQuery(w, u.now())
	if err != nil {
		var fe *tracestore.FieldError
		if errors.As(err, &fe) {
			fe.Field = prefix + fe.Field
		}
		return from, to, err
	}
	return q.From, q.To, nil
}

// form keeps the parameters a page shows back in its form.
func form(v url.Values, keys ...string) map[string]string {
	m := map[string]string{}
	for _, k := range keys {
		m[k] = v.Get(k)
	}
	return m
}

type graphPage struct {
	base
	Form        map[string]string
	LastChoices []choice
	Graph       *graph.Graph
	SVG         template.HTML
	Links       map[string]string
}

var graphFields = []string{"last", "from", "to", "split", "attr", "min_calls", "min_bytes", "min_req", "min_resp", "errors", "latency", "service", "depth"}

// graphQuery reads the graph page's parameters.
func (u *UI) graphQuery(v url.Values) (graph.Options, graph.Filter, error) {
	var o graph.Options
	var f graph.Filter
	var err error
	if o.From, o.To, err = u.window(v, "", "15m"); err != nil {
		return o, f, err
	}
	if s := strings.TrimSpace(v.Get("split")); s != "" {
		if !validAttr(s) {
			return o, f, &tracestore.FieldError{Field: "split", Value: s, Want: "an attribute name: letters, digits, '_', '.' or '-'"}
		}
		o.SplitBy = s
	}
	if s := strings.TrimSpace(v.Get("attr")); s != "" {
		k, val, ok := strings.Cut(s, "=")
		if !ok || !validAttr(k) || val == "" {
			return o, f, &tracestore.FieldError{Field: "attr", Value: s, Want: "key=value, e.g. side=eks"}
		}
		o.Attrs = map[string]string{k: val}
	}
	intParam := func(name string, dst *int64) error {
		if s := strings.TrimSpace(v.Get(name)); s != "" {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil || n < 0 {
				return &tracestore.FieldError{Field: name, Value: s, Want: "a whole number, at least 0"}
			}
			*dst = n
		}
		return nil
	}
	floatParam := func(name string, dst *float64) error {
		if s := strings.TrimSpace(v.Get(name)); s != "" {
			n, err := strconv.ParseFloat(s, 64)
			if err != nil || n < 0 || n > 1e15 {
				return &tracestore.FieldError{Field: name, Value: s, Want: "a number of bytes, at least 0"}
			}
			*dst = n
		}
		return nil
	}
	var depth int64
	for _, err := range []error{
		intParam("min_calls", &f.MinCalls), intParam("min_bytes", &f.MinBytes),
		floatParam("min_req", &f.MinReqBytes), floatParam("min_resp", &f.MinRespBytes),
		intParam("depth", &depth),
	} {
		if err != nil {
			return o, f, err
		}
	}
	if depth > 20 {
		return o, f, &tracestore.FieldError{Field: "depth", Value: v.Get("depth"), Want: "a depth from 0 to 20"}
	}
	f.Depth = int(depth)
	switch s := v.Get("errors"); s {
	case "", "0", "off":
	case "1", "on", "true":
		f.ErrorsOnly = true
	default:
		return o, f, &tracestore.FieldError{Field: "errors", Value: s, Want: "on or off"}
	}
	if s := strings.TrimSpace(v.Get("latency")); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			ms, perr := strconv.ParseFloat(s, 64)
			if perr != nil || !(ms >= 0 && ms < 1e9) { // NaN too
				return o, f, &tracestore.FieldError{Field: "latency", Value: s, Want: "a duration such as 50ms, or a number of milliseconds"}
			}
			d = time.Duration(ms * float64(time.Millisecond))
		}
		f.LatencyAbove = d
	}
	f.Service = strings.TrimSpace(v.Get("service"))
	return o, f, nil
}

func validAttr(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// buildGraph builds the filtered graph of the stored traces.
func (u *UI) buildGraph(o graph.Options, f graph.Filter) *graph.Graph {
	b := graph.NewBuilder(o)
	for _, t := range u.traces.Window(o.From, o.To) {
		b.Add(t)
	}
	return b.Build().Filter(f)
}

func (u *UI) graphPage(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	p := graphPage{base: u.base("graph", "Dependency graph"), Form: form(v, graphFields...), LastChoices: lastChoices}
	if p.Form["last"] == "" && p.Form["from"] == "" && p.Form["to"] == "" {
		p.Form["last"] = "15m"
	}
	o, f, err := u.graphQuery(v)
	if err != nil {
		p.Error = err.Error()
		u.render(w, r, http.StatusBadRequest, "graph", p)
		return
	}
	g := u.buildGraph(o, f)
	switch format := v.Get("format"); format {
	case "":
	case "json":
		w.Header().Set("Content-Type", "application/json")
		_ = g.WriteJSON(w) // a client gone away is not our error
		return
	case "dot":
		w.Header().Set("Content-Type", "text/vnd.graphviz; charset=utf-8")
		_ = g.WriteDOT(w) // a client gone away is not our error
		return
	case "svg":
		svg, err := u.renderer.SVG(r.Context(), g.DOT())
		if err != nil {
			http.Error(w, "render graph: "+err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "image/svg+xml")
		_, _ = w.Write(svg) // a client gone away is not our error
		return
	default:
		p.Error = (&tracestore.FieldError{Field: "format", Value: format, Want: "json, dot or svg"}).Error()
		u.render(w, r, http.StatusBadRequest, "graph", p)
		return
	}
	p.Graph = g
	if len(g.Nodes) > 0 {
		svg, err := u.renderer.SVG(r.Context(), g.DOT())
		if err != nil {
			u.log.ErrorContext(r.Context(), "render graph", "err", err)
			p.Error = "The graph could not be drawn (" + err.Error() + "); its edges are listed below."
		} else {
			p.SVG = inlineSVG(svg)
		}
	}
	p.Links = map[string]string{}
	for _, f := range []string{"json", "dot", "svg"} {
		q := r.URL.Query()
		q.Set("format", f)
		p.Links[f] = u.prefix + "/graph?" + q.Encode()
	}
	u.render(w, r, http.StatusOK, "graph", p)
}

// inlineSVG drops the XML prolog and doctype of a Graphviz SVG document so
// that it can sit inside HTML. Graphviz escapes every label it writes.
func inlineSVG(svg []byte) template.HTML {
	if i := bytes.Index(svg, []byte("<svg")); i >= 0 {
		svg = svg[i:]
	}
	return template.HTML(svg) //nolint:gosec // Graphviz output: labels are XML-escaped, no scripts or links
}

type findingsPage struct {
	base
	Form        map[string]string
	LastChoices []choice
	Types       []string
	Requests    int64
	Findings    []findings.Finding
}

var findingTypes = []string{findings.TypeUncompressed, findings.TypeRepeatedCall, findings.TypeNPlusOne, findings.TypeRepeatedErrors, findings.TypeNetworkLatency}

func (u *UI) findingsPage(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	p := findingsPage{base: u.base("findings", "Findings"), Form: form(v, "last", "from", "to", "type"), LastChoices: lastChoices, Types: findingTypes}
	if p.Form["last"] == "" && p.Form["from"] == "" && p.Form["to"] == "" {
		p.Form["last"] = "15m"
	}
	from, to, err := u.window(v, "", "15m")
	if err == nil && p.Form["type"] != "" && !slices.Contains(findingTypes, p.Form["type"]) {
		err = &tracestore.FieldError{Field: "type", Value: p.Form["type"], Want: strings.Join(findingTypes, ", ")}
	}
	if err != nil {
		p.Error = err.Error()
		u.render(w, r, http.StatusBadRequest, "findings", p)
		return
	}
	d := findings.NewDetector(findings.Options{})
	for _, t := range u.traces.Window(from, to) {
		d.Add(t)
	}
	p.Requests = d.Requests()
	for _, f := range d.Findings() {
		if p.Form["type"] == "" || f.Type == p.Form["type"] {
			p.Findings = append(p.Findings, f)
		}
	}
	if v.Get("format") == "json" {
		writeJSON(w, http.StatusOK, map[string]any{"requests": p.Requests, "findings": p.Findings})
		return
	}
	u.render(w, r, http.StatusOK, "findings", p)
}

type rankingPage struct {
	base
	Form             map[string]string
	Baseline         int
	Incident         int
	BaselineFrom     time.Time
	BaselineTo       time.Time
	IncidentFrom     time.Time
	IncidentTo       time.Time
	Suspects         []rca.Suspect
	Ran              bool
	DefaultedWindows bool
}

var rankingFields = []string{"baseline_from", "baseline_to", "incident_from", "incident_to", "incident_last", "symptom"}

func (u *UI) rankingPage(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	p := rankingPage{base: u.base("ranking", "Incident ranking"), Form: form(v, rankingFields...)}
	now := u.now().UTC()
	// Default windows: the incident is the last 2 minutes, the baseline
	// the 15 minutes before it.
	if p.Form["incident_from"] == "" && p.Form["incident_last"] == "" {
		p.Form["incident_last"] = "2m"
	}
	var err error
	if p.IncidentFrom, p.IncidentTo, err = u.window(url.Values{"incident_from": {p.Form["incident_from"]}, "incident_to": {p.Form["incident_to"]}, "incident_last": {p.Form["incident_last"]}}, "incident_", ""); err != nil {
		p.Error = err.Error()
		u.render(w, r, http.StatusBadRequest, "ranking", p)
		return
	}
	if p.IncidentTo.IsZero() {
		p.IncidentTo = now
	}
	if p.Form["baseline_from"] == "" && p.Form["baseline_to"] == "" {
		p.Form["baseline_to"] = p.IncidentFrom.Format("2006-01-02T15:04:05")
		p.Form["baseline_from"] = p.IncidentFrom.Add(-15 * time.Minute).Format("2006-01-02T15:04:05")
	}
	if p.BaselineFrom, p.BaselineTo, err = u.window(url.Values{"baseline_from": {p.Form["baseline_from"]}, "baseline_to": {p.Form["baseline_to"]}}, "baseline_", ""); err != nil {
		p.Error = err.Error()
		u.render(w, r, http.StatusBadRequest, "ranking", p)
		return
	}
	var sym rca.Symptom
	if s := strings.TrimSpace(p.Form["symptom"]); s != "" {
		if sym, err = rca.ParseSymptom(s); err != nil {
			p.Error = (&tracestore.FieldError{Field: "symptom", Value: s, Want: fmt.Sprintf("service or service/route (%v)", err)}).Error()
			u.render(w, r, http.StatusBadRequest, "ranking", p)
			return
		}
	}
	base, inc := rca.NewProfile(sym), rca.NewProfile(sym)
	for _, t := range u.traces.Window(p.BaselineFrom, p.BaselineTo) {
		base.Add(t)
	}
	for _, t := range u.traces.Window(p.IncidentFrom, p.IncidentTo) {
		inc.Add(t)
	}
	p.Baseline, p.Incident = base.Traces(), inc.Traces()
	if p.Baseline == 0 || p.Incident == 0 {
		p.Error = fmt.Sprintf("The baseline window holds %d traces and the incident window %d through the symptom: both need some. Pick other windows.", p.Baseline, p.Incident)
		u.render(w, r, http.StatusOK, "ranking", p)
		return
	}
	p.Suspects, err = rca.Rank(base, inc, rca.Options{Top: 20})
	if err != nil {
		p.Error = "Ranking failed: " + err.Error()
		u.render(w, r, http.StatusOK, "ranking", p)
		return
	}
	p.Ran = true
	if v.Get("format") == "json" {
		writeJSON(w, http.StatusOK, map[string]any{"baseline_traces": p.Baseline, "incident_traces": p.Incident, "suspects": p.Suspects})
		return
	}
	u.render(w, r, http.StatusOK, "ranking", p)
}
