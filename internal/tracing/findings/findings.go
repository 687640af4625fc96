// Package findings finds, in owl traces, the problems that hide in how
// services call each other rather than in any one of them:
//
//   - TypeUncompressed: large responses sent without compression to
//     clients that accept it;
//   - TypeRepeatedCall: identical downstream calls (same callee, method,
//     route and fingerprint) repeated inside one handler invocation, with
//     the time a request-scoped cache would save;
//   - TypeNPlusOne: a handler calling the same route of a callee once per
//     item (many calls with different arguments) instead of in a batch;
//   - TypeRepeatedErrors: an edge whose calls keep failing, told apart by
//     whether the callee fails by itself or passes up its callees' failures;
//   - TypeNetworkLatency: an edge with a slow network between the caller's
//     send and the callee's receive.
//
// The detector streams like graph.Builder: feed it one trace at a time;
// it keeps per edge and per route counters, a quantile sketch and a few
// example trace roots, never the traces.
//
//	d := findings.NewDetector(findings.Options{})
//	for each trace t { d.Add(t) }
//	for _, f := range d.Findings() { ... f.Type, f.Severity, f.Summary, f.Examples ... }
package findings

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/owlstack/owl/internal/tracing"
	"github.com/owlstack/owl/internal/tracing/graph"
)

// Finding types.
const (
	TypeUncompressed   = "uncompressed"
	TypeRepeatedCall   = "repeated_call"
	TypeNPlusOne       = "n_plus_one"
	TypeRepeatedErrors = "repeated_errors"
	TypeNetworkLatency = "network_latency"
)

// Severities, from the most to the least urgent.
const (
	High   = "high"
	Medium = "medium"
	Low    = "low"
)

// Options are the detection thresholds; a zero field takes its default.
type Options struct {
	// MinRequests is the number of requests that must show a pattern
	// before it is a finding (default 5): one odd request is no finding.
	MinRequests int64
	// MinUncompressedBytes is the response size from which an
	// uncompressed answer counts (default 1024: below it, compression
	// gains little); MinUncompressedShare the share of an endpoint's
	// answers that must be uncompressed and that large (default 0.5).
	MinUncompressedBytes int64
	MinUncompressedShare float64
	// RequireAcceptEncoding flags an uncompressed answer only when the
	// logs show the request's Accept-Encoding (the "accept_encoding"
	// attribute) offering a compression. By default a request without
	// that record is taken to accept gzip, as browsers and Go's, Java's
	// and Python's HTTP clients send it; a recorded Accept-Encoding
	// without gzip, br, zstd or deflate always clears the response.
	RequireAcceptEncoding bool
	// MinLoop is the number of calls with different arguments to one
	// route from one handler invocation that make an N+1 pattern (default 5).
	MinLoop int
	// MinErrors and MinErrorRate are the failed calls and the share of
	// calls failed that make an edge's errors a finding (defaults 5 and 0.01).
	MinErrors    int64
	MinErrorRate float64
	// MinNetwork is the median send-to-receive time from which an edge's
	// network is slow (default 5ms).
	MinNetwork time.Duration
	// Examples is the number of example trace roots per finding (default 3).
	Examples int
}

func (o Options) withDefaults() Options {
	o.MinRequests = cmp.Or(o.MinRequests, 5)
	o.MinUncompressedBytes = cmp.Or(o.MinUncompressedBytes, 1024)
	o.MinUncompressedShare = cmp.Or(o.MinUncompressedShare, 0.5)
	o.MinLoop = cmp.Or(o.MinLoop, 5)
	o.MinErrors = cmp.Or(o.MinErrors, 5)
	o.MinErrorRate = cmp.Or(o.MinErrorRate, 0.01)
	o.MinNetwork = cmp.Or(o.MinNetwork, 5*time.Millisecond)
	o.Examples = cmp.Or(o.Examples, 3)
	return o
}

// Finding is one problem found, with the numbers behind it and example
// traces. Its JSON form is stable: fields are only ever added.
type Finding struct {
	Type string `json:"type"`
	// Severity is High, Medium or Low (see Findings for the rules).
	Severity string `json:"severity"`
	// Score ranks findings of one type (higher is worse); its unit is
	// the type's: uncompressed bytes per request (uncompressed),
	// µs a cache would save per request (repeated_call), µs spent in the
	// loops per request (n_plus_one), failed calls per 1000 requests
	// (repeated_errors), median network µs (network_latency).
	Score float64 `json:"score"`
	// Caller is the calling node ("" for an endpoint, whoever calls it).
	Caller string `json:"caller,omitempty"`
	// Callee is the service or dependency called.
	Callee string `json:"callee"`
	Method string `json:"method,omitempty"`
	Route  string `json:"route,omitempty"`
	// Summary says what was found in one sentence.
	Summary string `json:"summary"`
	// Numbers are the measurements behind the finding, by stable name:
	// uncompressed: answers, uncompressed, share, mean_bytes, bytes, requests;
	// repeated_call: requests, invocations, redundant_calls, max_calls,
	// saved_us, saved_us_per_request; n_plus_one: requests, invocations,
	// calls_per_invocation, sequential_share, loop_us_mean;
	// repeated_errors: calls, errors, error_rate, own_share (the share of
	// failures the callee did not pass up from its own callees), requests,
	// top_status; network_latency: calls, network_p50_us, network_p99_us,
	// call_p50_us.
	Numbers map[string]float64 `json:"numbers"`
	// Examples are roots of traces that show the problem.
	Examples []string `json:"examples"`
}

// Detector accumulates traces and finds problems in them; it is not safe
// for concurrent use.
type Detector struct {
	opts     Options
	requests int64
	seq      int64

	endpoints map[routeKey]*endpointAcc
	repeats   map[routeKey]*repeatAcc
	loops     map[routeKey]*loopAcc
	errors    map[edgeKey]*errorAcc
	network   map[edgeKey]*networkAcc
}

type edgeKey struct{ caller, callee string }

type routeKey struct{ caller, callee, method, route string }

type examples struct {
	roots []string
	last  int64 // seq of the last trace counted, to count requests once
	reqs  int64
}

// seen counts trace seq once and keeps its root as an example if room.
func (e *examples) seen(seq int64, root string, max int) bool {
	if e.last == seq {
		return false
	}
	e.last = seq
	e.reqs++
	if len(e.roots) < max {
		e.roots = append(e.roots, root)
	}
	return true
}

type endpointAcc struct {
	ex               examples
	answers, flagged int64
	flaggedBytes     int64
}

type repeatAcc struct {
	ex          examples
	invocations int64
	redundant   int64
	savedUS     int64
	maxCalls    int
}

type loopAcc struct {
	ex          examples
	invocations int64
	calls       int64
	loopUS      int64
	sequential  int64
}

type errorAcc struct {
	ex       examples
	calls    int64
	errors   int64
	own      int64
	statuses map[int]int64
}

type networkAcc struct {
	ex    examples
	net   graph.Sketch
	total graph.Sketch
}

// NewDetector returns an empty Detector.
func NewDetector(opts Options) *Detector {
	return &Detector{
		opts:      opts.withDefaults(),
		endpoints: map[routeKey]*endpointAcc{},
		repeats:   map[routeKey]*repeatAcc{},
		loops:     map[routeKey]*loopAcc{},
		errors:    map[edgeKey]*errorAcc{},
		network:   map[edgeKey]*networkAcc{},
	}
}

// Add examines one trace.
func (d *Detector) Add(t *tracing.Trace) {
	if len(t.Spans) == 0 {
		return
	}
	d.requests++
	d.seq++
	calls := graph.Calls(t, "")
	d.addCalls(t.Root, calls)
}

// AddCalls examines the calls of one trace, as graph.Calls lists them:
// for callers that already have them.
func (d *Detector) AddCalls(root string, calls []graph.Call) {
	d.requests++
	d.seq++
	d.addCalls(root, calls)
}

func (d *Detector) addCalls(root string, calls []graph.Call) {
	o := &d.opts
	failedBelow := map[string]bool{} // serving spans with a failed call
	for i := range calls {
		if calls[i].Failed && calls[i].Parent != "" {
			failedBelow[calls[i].Parent] = true
		}
	}
	type group struct{ parent, callee, method, route string }
	groups := map[group][]int{}
	for i := range calls {
		c := &calls[i]
		d.uncompressed(root, c)
		// Errors.
		ek := edgeKey{c.Caller, c.Callee}
		ea := d.errors[ek]
		if ea == nil {
			ea = &errorAcc{statuses: map[int]int64{}}
			d.errors[ek] = ea
		}
		ea.calls++
		if c.Failed {
			ea.errors++
			if c.Server == "" || !failedBelow[c.Server] {
				ea.own++
			}
			ea.statuses[c.Status]++
			ea.ex.seen(d.seq, root, o.Examples)
		}
		// Network.
		if c.NetworkUS >= 0 {
			na := d.network[ek]
			if na == nil {
				na = &networkAcc{}
				d.network[ek] = na
			}
			na.net.Add(float64(c.NetworkUS))
			na.total.Add(float64(c.DurationUS))
			if float64(c.NetworkUS) >= float64(o.MinNetwork.Microseconds()) {
				na.ex.seen(d.seq, root, o.Examples)
			}
		}
		if c.Parent != "" && c.CallerKind == graph.KindService {
			g := group{c.Parent, c.Callee, c.Method, c.Route}
			groups[g] = append(groups[g], i)
		}
	}
	for g, idx := range groups {
		if len(idx) < 2 {
			continue
		}
		slices.SortFunc(idx, func(a, b int) int { return calls[a].Start.Compare(calls[b].Start) })
		first := &calls[idx[0]]
		rk := routeKey{first.Caller, g.callee, g.method, g.route}
		// Identical calls: same fingerprint; the ones after a success
		// could have been served from a cache (the ones after a failure
		// are retries).
		byFP := map[string][]int{}
		distinct := 0
		for _, i := range idx {
			fp := calls[i].Fingerprint
			if fp == "" {
				distinct++
				continue
			}
			if len(byFP[fp]) == 0 {
				distinct++
			}
			byFP[fp] = append(byFP[fp], i)
		}
		for _, same := range byFP {
			if len(same) < 2 {
				continue
			}
			redundant, saved, ok := int64(0), int64(0), false
			for _, i := range same {
				if ok {
					redundant++
					saved += calls[i].DurationUS
				}
				if !calls[i].Failed {
					ok = true
				}
			}
			if redundant == 0 {
				continue
			}
			ra := d.repeats[rk]
			if ra == nil {
				ra = &repeatAcc{}
				d.repeats[rk] = ra
			}
			ra.ex.seen(d.seq, root, o.Examples)
			ra.invocations++
			ra.redundant += redundant
			ra.savedUS += saved
			ra.maxCalls = max(ra.maxCalls, len(same))
		}
		if distinct >= o.MinLoop {
			la := d.loops[rk]
			if la == nil {
				la = &loopAcc{}
				d.loops[rk] = la
			}
			la.ex.seen(d.seq, root, o.Examples)
			la.invocations++
			la.calls += int64(len(idx))
			last := first.Start
			seq := true
			prevEnd := first.Start
			for k, i := range idx {
				c := &calls[i]
				end := c.Start.Add(time.Duration(c.DurationUS) * time.Microsecond)
				if end.After(last) {
					last = end
				}
				if k > 0 && c.Start.Before(prevEnd) {
					seq = false
				}
				prevEnd = end
			}
			la.loopUS += last.Sub(first.Start).Microseconds()
			if seq {
				la.sequential++
			}
		}
	}
}

func (d *Detector) uncompressed(root string, c *graph.Call) {
	if c.Failed || c.Status >= 300 || c.RespBytes <= 0 {
		return
	}
	k := routeKey{callee: c.Callee, method: c.Method, route: c.Route}
	a := d.endpoints[k]
	if a == nil {
		a = &endpointAcc{}
		d.endpoints[k] = a
	}
	a.answers++
	if c.Encoding != "" && c.Encoding != "identity" {
		return
	}
	if c.RespBytes < d.opts.MinUncompressedBytes || !compressible(c.ContentType) || !d.accepts(c.AcceptEncoding) {
		return
	}
	a.flagged++
	a.flaggedBytes += c.RespBytes
	a.ex.seen(d.seq, root, d.opts.Examples)
}

// compressible reports whether a response of this media type gains from
// compression; an unknown type is taken to be an API's JSON.
func compressible(ct string) bool {
	ct, _, _ = strings.Cut(strings.ToLower(strings.TrimSpace(ct)), ";")
	switch {
	case ct == "", strings.HasPrefix(ct, "text/"), strings.HasSuffix(ct, "json"), strings.HasSuffix(ct, "xml"),
		strings.Contains(ct, "javascript"), ct == "application/x-ndjson", ct == "image/svg+xml", ct == "application/wasm",
		ct == "application/x-protobuf", ct == "application/protobuf", ct == "application/grpc", ct == "application/x-www-form-urlencoded":
		return true
	}
	return false
}

func (d *Detector) accepts(ae string) bool {
	if ae == "" {
		return !d.opts.RequireAcceptEncoding
	}
	for _, part := range strings.Split(strings.ToLower(ae), ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.ReplaceAll(strings.TrimSpace(params), " ", "") == "q=0" {
			continue
		}
		switch strings.TrimSpace(coding) {
		case "gzip", "br", "zstd", "deflate", "*":
			return true
		}
	}
	return false
}

// Requests is the number of traces examined.
func (d *Detector) Requests() int64 { return d.requests }

// Findings returns what the traces so far show, most severe first, then
// by score. Severity: for patterns that affect requests (uncompressed,
// repeated_call, n_plus_one) High when they affect at least a quarter of
// all requests, Medium from 5%; for repeated_errors High from a 10% error
// rate, Medium from 1%; for network_latency High from 4× MinNetwork,
// Medium from 2×; Low otherwise.
func (d *Detector) Findings() []Finding {
	o := &d.opts
	reqs := float64(max(d.requests, 1))
	byShare := func(affected int64) string {
		switch share := float64(affected) / reqs; {
		case share >= 0.25:
			return High
		case share >= 0.05:
			return Medium
		}
		return Low
	}
	var out []Finding
	for k, a := range d.endpoints {
		share := float64(a.flagged) / float64(max(a.answers, 1))
		if a.ex.reqs < o.MinRequests || share < o.MinUncompressedShare {
			continue
		}
		mean := float64(a.flaggedBytes) / float64(a.flagged)
		out = append(out, Finding{
			Type: TypeUncompressed, Severity: byShare(a.ex.reqs), Score: float64(a.flaggedBytes) / reqs,
			Callee: k.callee, Method: k.method, Route: k.route,
			Summary: fmt.Sprintf("%s answers %s uncompressed in %.0f%% of %d answers (mean %s) though its clients accept compression",
				k.callee, routeName(k.method, k.route), 100*share, a.answers, bytesStr(mean)),
			Numbers: map[string]float64{
				"answers": float64(a.answers), "uncompressed": float64(a.flagged), "share": share,
				"mean_bytes": mean, "bytes": float64(a.flaggedBytes), "requests": float64(a.ex.reqs),
			},
			Examples: a.ex.roots,
		})
	}
	for k, a := range d.repeats {
		if a.ex.reqs < o.MinRequests {
			continue
		}
		out = append(out, Finding{
			Type: TypeRepeatedCall, Severity: byShare(a.ex.reqs), Score: float64(a.savedUS) / reqs,
			Caller: k.caller, Callee: k.callee, Method: k.method, Route: k.route,
			Summary: fmt.Sprintf("%s calls %s %s with identical arguments up to %d times per request it serves; a cache would save %s in each of %d requests",
				k.caller, k.callee, routeName(k.method, k.route), a.maxCalls, usStr(float64(a.savedUS)/float64(a.ex.reqs)), a.ex.reqs),
			Numbers: map[string]float64{
				"requests": float64(a.ex.reqs), "invocations": float64(a.invocations), "redundant_calls": float64(a.redundant),
				"max_calls": float64(a.maxCalls), "saved_us": float64(a.savedUS), "saved_us_per_request": float64(a.savedUS) / float64(a.ex.reqs),
			},
			Examples: a.ex.roots,
		})
	}
	for k, a := range d.loops {
		if a.ex.reqs < o.MinRequests {
			continue
		}
		per := float64(a.calls) / float64(a.invocations)
		out = append(out, Finding{
			Type: TypeNPlusOne, Severity: byShare(a.ex.reqs), Score: float64(a.loopUS) / reqs,
			Caller: k.caller, Callee: k.callee, Method: k.method, Route: k.route,
			Summary: fmt.Sprintf("%s calls %s %s %.1f times per request it serves, one item at a time (%.0f%% in sequence), spending %s; batch them",
				k.caller, k.callee, routeName(k.method, k.route), per, 100*float64(a.sequential)/float64(a.invocations), usStr(float64(a.loopUS)/float64(a.invocations))),
			Numbers: map[string]float64{
				"requests": float64(a.ex.reqs), "invocations": float64(a.invocations), "calls_per_invocation": per,
				"sequential_share": float64(a.sequential) / float64(a.invocations), "loop_us_mean": float64(a.loopUS) / float64(a.invocations),
			},
			Examples: a.ex.roots,
		})
	}
	for k, a := range d.errors {
		rate := float64(a.errors) / float64(max(a.calls, 1))
		if a.errors < o.MinErrors || rate < o.MinErrorRate || a.ex.reqs < min(o.MinRequests, o.MinErrors) {
			continue
		}
		sev := Low
		if rate >= 0.1 {
			sev = High
		} else if rate >= 0.01 {
			sev = Medium
		}
		own := float64(a.own) / float64(a.errors)
		where := fmt.Sprintf("%s fails by itself", k.callee)
		if own < 0.5 {
			where = fmt.Sprintf("%s passes up failures of its own callees", k.callee)
		}
		top, topN := 0, int64(0)
		for s, n := range a.statuses {
			if n > topN || n == topN && s < top {
				top, topN = s, n
			}
		}
		out = append(out, Finding{
			Type: TypeRepeatedErrors, Severity: sev, Score: 1000 * float64(a.errors) / reqs,
			Caller: k.caller, Callee: k.callee,
			Summary: fmt.Sprintf("%d of %d calls from %s to %s failed (%.1f%%, mostly %s); %s (%.0f%% of the failures)",
				a.errors, a.calls, k.caller, k.callee, 100*rate, statusStr(top), where, 100*max(own, 1-own)),
			Numbers: map[string]float64{
				"calls": float64(a.calls), "errors": float64(a.errors), "error_rate": rate, "own_share": own,
				"requests": float64(a.ex.reqs), "top_status": float64(top),
			},
			Examples: a.ex.roots,
		})
	}
	minUS := float64(o.MinNetwork.Microseconds())
	for k, a := range d.network {
		p50 := a.net.Quantile(0.5)
		if p50 < minUS || int64(a.net.Count()) < o.MinRequests {
			continue
		}
		sev := Low
		if p50 >= 4*minUS {
			sev = High
		} else if p50 >= 2*minUS {
			sev = Medium
		}
		out = append(out, Finding{
			Type: TypeNetworkLatency, Severity: sev, Score: p50,
			Caller: k.caller, Callee: k.callee,
			Summary: fmt.Sprintf("calls from %s to %s spend %s (median; p99 %s) between send and receive, %.0f%% of the call's median time",
				k.caller, k.callee, usStr(p50), usStr(a.net.Quantile(0.99)), 100*p50/max(a.total.Quantile(0.5), 1)),
			Numbers: map[string]float64{
				"calls": float64(a.net.Count()), "network_p50_us": p50, "network_p99_us": a.net.Quantile(0.99),
				"call_p50_us": a.total.Quantile(0.5),
			},
			Examples: a.ex.roots,
		})
	}
	rank := map[string]int{High: 0, Medium: 1, Low: 2}
	slices.SortFunc(out, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(rank[a.Severity], rank[b.Severity]), cmp.Compare(b.Score, a.Score),
			strings.Compare(a.Type, b.Type), strings.Compare(a.Caller, b.Caller), strings.Compare(a.Callee, b.Callee),
			strings.Compare(a.Route, b.Route))
	})
	for i := range out {
		if out[i].Examples == nil {
			out[i].Examples = []string{}
		}
	}
	return out
}

func routeName(method, route string) string {
	if method == "" || strings.HasPrefix(route, method+" ") {
		return route
	}
	return method + " " + route
}

func bytesStr(b float64) string {
	switch {
	case b >= 1<<20:
		return fmt.Sprintf("%.1f MiB", b/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%.1f KiB", b/(1<<10))
	}
	return fmt.Sprintf("%.0f B", b)
}

func usStr(us float64) string {
	switch {
	case us >= 1e6:
		return fmt.Sprintf("%.2fs", us/1e6)
	case us >= 1e3:
		return fmt.Sprintf("%.1fms", us/1e3)
	}
	return fmt.Sprintf("%.0fµs", us)
}

func statusStr(s int) string {
	if s == 0 {
		return "no answer"
	}
	return fmt.Sprint(s)
}
