package rca

import (
	"cmp"
	"slices"

	"github.com/owlstack/owl/internal/tracing"
)

// maxExamples is how many example trace roots a suspect keeps.
const maxExamples = 3

// Profile is what Rank needs to know of one window of traces, built one
// trace at a time so that windows far bigger than memory can be read:
// per node and route the durations, self times and errors, and the calls
// between nodes.
type Profile struct {
	symptom Symptom
	traces  int
	groups  map[groupKey]*group
	kinds   map[string]string // node → kind
	edges   map[edge]int      // calls, caller → callee
	ex      map[string][]example
}

type groupKey struct{ node, route string }

type edge struct{ from, to string }

type group struct {
	dur, self     []int64
	errs, ownErrs int
	sorted        bool
	sumDur        int64
}

type example struct {
	root   string
	own    bool
	selfUS int64
}

// NewProfile returns an empty profile of the traces through symptom (the
// zero Symptom: all traces).
func NewProfile(symptom Symptom) *Profile {
	return &Profile{
		symptom: symptom,
		groups:  map[groupKey]*group{},
		kinds:   map[string]string{},
		edges:   map[edge]int{},
		ex:      map[string][]example{},
	}
}

// Add adds one trace; it counts only when it passes through the symptom.
func (p *Profile) Add(t *tracing.Trace) {
	seen := false
	Observe(t, p.symptom, func(o Observation) {
		seen = true
		p.kinds[o.Node] = o.Kind
		k := groupKey{o.Node, o.Route}
		g := p.groups[k]
		if g == nil {
			g = &group{}
			p.groups[k] = g
		}
		g.dur = append(g.dur, o.DurationUS)
		g.self = append(g.self, o.SelfUS)
		g.sumDur += o.DurationUS
		g.sorted = false
		if o.Error {
			g.errs++
		}
		if o.OwnError {
			g.ownErrs++
		}
		if o.Caller != "" && o.Caller != o.Node {
			p.edges[edge{o.Caller, o.Node}]++
		}
		p.example(o)
	})
	if seen {
		p.traces++
	}
}

// Traces is the number of traces added that passed through the symptom.
func (p *Profile) Traces() int { return p.traces }

// example keeps the node's most telling traces: own errors first, then
// the longest self times, one per trace root.
func (p *Profile) example(o Observation) {
	e := example{root: o.Root, own: o.OwnError, selfUS: o.SelfUS}
	list := p.ex[o.Node]
	better := func(a, b example) int {
		if a.own != b.own {
			if a.own {
				return -1
			}
			return 1
		}
		return cmp.Compare(b.selfUS, a.selfUS)
	}
	for i, x := range list {
		if x.root == e.root {
			if better(e, x) < 0 {
				list[i] = e
				slices.SortFunc(list, better)
			}
			return
		}
	}
	if len(list) == maxExamples && better(e, list[len(list)-1]) >= 0 {
		return
	}
	list = append(list, e)
	slices.SortFunc(list, better)
	if len(list) > maxExamples {
		list = list[:maxExamples]
	}
	p.ex[o.Node] = list
}

func (g *group) sort() {
	if !g.sorted {
		slices.Sort(g.dur)
		slices.Sort(g.self)
		g.sorted = true
	}
}
