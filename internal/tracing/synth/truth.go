package synth

import (
	"cmp"
	"slices"
	"strings"
	"time"
)

// GroundTruth is what a simulation's topology makes true, for checking
// the analyses: which edges exist, which services answer uncompressed,
// which calls repeat, where errors come from, where the network is slow.
// Node names are the ones package graph gives: services by name, the
// public load balancer as its logs name it, DynamoDB by its host.
type GroundTruth struct {
	// Entry is the public load balancer.
	Entry string
	// Edges are every caller → callee pair some request may use (all of
	// them when Config.CallProb is 0), sorted.
	Edges []TrueEdge
	// Uncompressed are the services that answer without compression, with
	// the mean size of their answers.
	Uncompressed []TrueEndpoint
	// Multi are the calls a caller makes more than once per request it
	// serves: Identical ones (same arguments: a cache opportunity) or one
	// id at a time (N+1).
	Multi []MultiCall
	// Failing are the edges whose calls fail now and then (with the
	// faults of Config.Faults; IncidentFaults are left out).
	Failing []FailingEdge
	// NetDelay are the edges with extra network time (PatternNetDelay).
	NetDelay []TrueEdge
}

// TrueEdge is one caller → callee pair.
type TrueEdge struct {
	Caller, Callee string
	// Via is the internal load balancer in between, if any.
	Via string
	// Delay is the extra network time of a PatternNetDelay edge.
	Delay time.Duration
}

// TrueEndpoint is a service and the mean size of its answers in bytes.
type TrueEndpoint struct {
	Service   string
	RespBytes int64
}

// MultiCall is a caller calling a callee Calls times per request it serves.
type MultiCall struct {
	Caller, Callee string
	Calls          int
	Identical      bool
}

// FailingEdge is an edge whose calls sometimes fail; Origin is true when
// the callee fails by itself (errors, retries, a timeout at this edge)
// rather than passing up the failure of its own callees.
type FailingEdge struct {
	Caller, Callee string
	Origin         bool
}

// Truth computes the ground truth of the simulation cfg describes,
// without running it.
func Truth(cfg Config) (*GroundTruth, error) {
	g, err := newGen("", cfg)
	if err != nil {
		return nil, err
	}
	svcs := g.normal
	gt := &GroundTruth{Entry: publicELB}
	gt.Edges = append(gt.Edges, TrueEdge{Caller: publicELB, Callee: svcs[0].name})
	callee := func(c call) string {
		if c.to < 0 {
			return dynamo
		}
		return svcs[c.to].name
	}
	// fails[i]: service i answers 5xx now and then; slow[i]: how much
	// longer than usual it takes (for timeouts).
	fails := make([]bool, len(svcs))
	for i := len(svcs) - 1; i >= 0; i-- { // callees come after callers
		s := svcs[i]
		fails[i] = s.errRate > 0 || s.retryRate > 0
		for _, c := range s.calls {
			if c.to >= 0 && (fails[c.to] || timesOut(s, svcs[c.to])) {
				fails[i] = true
			}
		}
	}
	if fails[0] {
		gt.Failing = append(gt.Failing, FailingEdge{Caller: publicELB, Callee: svcs[0].name, Origin: svcs[0].errRate > 0 || svcs[0].retryRate > 0})
	}
	for _, s := range svcs {
		if !s.gzip {
			gt.Uncompressed = append(gt.Uncompressed, TrueEndpoint{Service: s.name, RespBytes: s.resp + 50})
		}
		perCallee := map[string]*MultiCall{}
		for _, c := range s.calls {
			to := callee(c)
			e := TrueEdge{Caller: s.name, Callee: to}
			if c.viaLB && c.to >= 0 {
				e.Via = internalELB
			}
			if !slices.ContainsFunc(gt.Edges, func(x TrueEdge) bool { return x.Caller == e.Caller && x.Callee == e.Callee }) {
				gt.Edges = append(gt.Edges, e)
			}
			if c.delay > 0 {
				e.Delay = c.delay
				gt.NetDelay = append(gt.NetDelay, e)
			}
			identical := c.to < 0 || c.same
			key := to
			if identical {
				key += "\x00same"
			}
			m := perCallee[key]
			if m == nil {
				m = &MultiCall{Caller: s.name, Callee: to, Identical: identical}
				perCallee[key] = m
			}
			m.Calls += max(c.repeats, 1)
			if c.to >= 0 {
				origin := svcs[c.to].errRate > 0 || svcs[c.to].retryRate > 0 || timesOut(s, svcs[c.to])
				if (fails[c.to] || origin) && !slices.ContainsFunc(gt.Failing, func(f FailingEdge) bool { return f.Caller == s.name && f.Callee == to }) {
					gt.Failing = append(gt.Failing, FailingEdge{Caller: s.name, Callee: to, Origin: origin})
				}
			}
		}
		for _, m := range perCallee {
			if m.Calls >= 2 {
				gt.Multi = append(gt.Multi, *m)
			}
		}
	}
	byPair := func(a, b, c, d string) int { return cmp.Or(strings.Compare(a, c), strings.Compare(b, d)) }
	slices.SortFunc(gt.Edges, func(a, b TrueEdge) int { return byPair(a.Caller, a.Callee, b.Caller, b.Callee) })
	slices.SortFunc(gt.NetDelay, func(a, b TrueEdge) int { return byPair(a.Caller, a.Callee, b.Caller, b.Callee) })
	slices.SortFunc(gt.Failing, func(a, b FailingEdge) int { return byPair(a.Caller, a.Callee, b.Caller, b.Callee) })
	slices.SortFunc(gt.Multi, func(a, b MultiCall) int {
		return cmp.Or(byPair(a.Caller, a.Callee, b.Caller, b.Callee), cmp.Compare(b2i(a.Identical), b2i(b.Identical)))
	})
	slices.SortFunc(gt.Uncompressed, func(a, b TrueEndpoint) int { return strings.Compare(a.Service, b.Service) })
	return gt, nil
}

// timesOut reports whether caller gives up on callee (timeout faults):
// callee's added latency is beyond caller's timeout.
func timesOut(caller, callee *service) bool {
	return caller.timeout > 0 && callee.latency >= caller.timeout
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
