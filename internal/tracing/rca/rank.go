package rca

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
)

// Options tune Rank; the zero value uses the defaults.
type Options struct {
	// Damping is the chance that the walker follows an arc rather than
	// jumping back to an anomalous node (default 0.85).
	Damping float64
	// Backward is the weight of walking from a callee back to its caller,
	// relative to walking to a callee (default 0.2; MonitorRank's ρ).
	Backward float64
	// Top limits the suspects returned (default all).
	Top int
}

// Suspect is one node of the ranking with the evidence against it.
type Suspect struct {
	Node string `json:"node"`
	Kind string `json:"kind"`
	// Score is the node's share of the personalised PageRank (all
	// suspects sum to 1).
	Score float64 `json:"score"`
	// Anomaly (0..1) is how far the node's own work and own errors moved
	// from the baseline; Seen is how far what its callers see moved
	// (duration and all errors, inherited ones included).
	Anomaly float64 `json:"anomaly"`
	Seen    float64 `json:"seen"`
	// Evidence is from the node's most anomalous route.
	Evidence Evidence `json:"evidence"`
}

// Evidence is what the ranking saw of a suspect's most anomalous route.
type Evidence struct {
	Route         string `json:"route"`
	BaselineCalls int    `json:"baseline_calls"`
	IncidentCalls int    `json:"incident_calls"`
	// Medians of self time and duration, in milliseconds, in the baseline
	// and the incident, and the shift's robust z score.
	SelfMSBaseline     float64 `json:"self_ms_baseline"`
	SelfMSIncident     float64 `json:"self_ms_incident"`
	SelfZ              float64 `json:"self_z"`
	DurationMSBaseline float64 `json:"duration_ms_baseline"`
	DurationMSIncident float64 `json:"duration_ms_incident"`
	DurationZ          float64 `json:"duration_z"`
	// Own error rates (no failed call of its own explains them) and all
	// error rates, baseline and incident.
	OwnErrorsBaseline float64 `json:"own_errors_baseline"`
	OwnErrorsIncident float64 `json:"own_errors_incident"`
	ErrorsBaseline    float64 `json:"errors_baseline"`
	ErrorsIncident    float64 `json:"errors_incident"`
	// Examples are incident trace roots where the node did worst.
	Examples []string `json:"examples"`
}

// ErrNoTraces is returned when a window holds no trace through the
// symptom.
var ErrNoTraces = errors.New("no traces")

// Rank scores every node of the incident window against the baseline and
// ranks them, most likely root cause first.
func Rank(baseline, incident *Profile, opts Options) ([]Suspect, error) {
	if incident.traces == 0 {
		return nil, fmt.Errorf("incident window: %w%s", ErrNoTraces, through(incident.symptom))
	}
	if baseline.traces == 0 {
		return nil, fmt.Errorf("baseline window: %w%s", ErrNoTraces, through(baseline.symptom))
	}
	if opts.Damping <= 0 || opts.Damping >= 1 {
		opts.Damping = 0.85
	}
	if opts.Backward <= 0 {
		opts.Backward = 0.2
	}
	names := make([]string, 0, len(incident.kinds))
	for n := range incident.kinds {
		names = append(names, n)
	}
	slices.Sort(names)
	idx := make(map[string]int, len(names))
	for i, n := range names {
		idx[n] = i
	}
	sus := make([]Suspect, len(names))
	own := make([]float64, len(names))
	seen := make([]float64, len(names))
	best := make([]float64, len(names))
	for i := range best {
		best[i] = -1
	}
	for k, g := range incident.groups {
		i := idx[k.node]
		b := baseline.groups[k]
		s := scoreGroup(b, g)
		own[i] = max(own[i], s.own)
		seen[i] = max(seen[i], s.seen)
		// The evidence comes from the route that looks worst.
		if rank := s.own + s.seen/10; rank > best[i] {
			best[i] = rank
			sus[i].Evidence = evidence(k.route, b, g, s)
		}
	}
	for i, n := range names {
		sus[i].Node, sus[i].Kind = n, incident.kinds[n]
		sus[i].Anomaly, sus[i].Seen = round(own[i]), round(seen[i])
		sus[i].Evidence.Examples = []string{}
		for _, e := range incident.ex[n] {
			sus[i].Evidence.Examples = append(sus[i].Evidence.Examples, e.root)
		}
	}
	// The walk goes from a caller to its callees, towards causes, in
	// proportion to how anomalous each callee looks to its callers and to
	// how little the caller's own anomaly explains what it suffers; back
	// to a caller with a weight below 1; and stays at a node in
	// proportion to its own anomaly. It restarts at anomalous nodes.
	out := make([][]arc, len(names))
	for e := range incident.edges {
		if _, ok := incident.kinds[e.from]; !ok {
			continue
		}
		u, v := idx[e.from], idx[e.to]
		out[u] = append(out[u], arc{v, seen[v] * (1 - own[u])})
		out[v] = append(out[v], arc{u, opts.Backward * seen[u]})
	}
	pers := make([]float64, len(names))
	for i := range names {
		out[i] = append(out[i], arc{i, own[i]})
		slices.SortFunc(out[i], func(a, b arc) int { return cmp.Compare(a.to, b.to) }) // deterministic sums
		pers[i] = own[i] + seen[i]/2
	}
	pr := pageRank(len(names), out, pers, opts.Damping)
	for i := range sus {
		sus[i].Score = round(pr[i])
	}
	order := make([]int, len(names))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		if c := cmp.Compare(pr[b], pr[a]); c != 0 {
			return c
		}
		if c := cmp.Compare(own[b], own[a]); c != 0 {
			return c
		}
		return cmp.Compare(names[a], names[b])
	})
	ranked := make([]Suspect, 0, len(order))
	for _, i := range order {
		ranked = append(ranked, sus[i])
	}
	if opts.Top > 0 && len(ranked) > opts.Top {
		ranked = ranked[:opts.Top]
	}
	return ranked, nil
}

func through(s Symptom) string {
	if s.Service == "" {
		return ""
	}
	return " through " + s.String()
}

func evidence(route string, b, g *group, s groupScore) Evidence {
	ev := Evidence{
		Route: route, IncidentCalls: len(g.dur),
		SelfMSIncident: ms(quantile(g.self, 0.5)), DurationMSIncident: ms(quantile(g.dur, 0.5)),
		SelfZ: round(s.selfZ), DurationZ: round(s.durZ),
		OwnErrorsIncident: rate(g.ownErrs, len(g.dur)), ErrorsIncident: rate(g.errs, len(g.dur)),
	}
	if b != nil {
		ev.BaselineCalls = len(b.dur)
		ev.SelfMSBaseline, ev.DurationMSBaseline = ms(quantile(b.self, 0.5)), ms(quantile(b.dur, 0.5))
		ev.OwnErrorsBaseline, ev.ErrorsBaseline = rate(b.ownErrs, len(b.dur)), rate(b.errs, len(b.dur))
	}
	return ev
}

func ms(us float64) float64 { return round(us / 1000) }

func rate(k, n int) float64 {
	if n == 0 {
		return 0
	}
	return round(float64(k) / float64(n))
}

// round keeps 4 decimals, so that output is stable and readable.
func round(x float64) float64 { return math.Round(x*1e4) / 1e4 }
