// Package tracestore keeps the most recent stitched traces in memory and
// searches them: by trace root, service, route, status, minimum duration
// and time range. Memory is bounded by a number of traces and of spans;
// the oldest traces (by start time) go first.
//
// A Follower feeds a Store from live access logs: it tails the files,
// groups their lines by trace, and stitches each trace once its lines have
// stopped arriving (with the stitch package, so that live traces are built
// exactly as 'owl trace stitch' builds them).
package tracestore

import (
	"cmp"
	"container/heap"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/owlstack/owl/internal/tracing"
)

// Options bound a Store.
type Options struct {
	// MaxTraces is the most traces kept; 0 is 20,000.
	MaxTraces int
	// MaxSpans is the most spans kept over all traces; 0 is 400,000.
	MaxSpans int
}

// Store is an in-memory index of recent traces, safe for concurrent use.
// Traces handed to Put and returned by Get are never modified afterwards.
type Store struct {
	mu      sync.RWMutex
	opts    Options
	byID    map[string]*entry
	heap    byStart
	spans   int
	evicted int64
}

type entry struct {
	t   *tracing.Trace
	sum Summary
	idx int // in the heap
}

// Summary is what a search result shows of one trace.
type Summary struct {
	Root     string        `json:"root"`
	TraceID  string        `json:"trace_id"`
	Start    time.Time     `json:"start"`
	Duration time.Duration `json:"duration_ns"`
	// Service, Method and Route (or Path) describe the root span.
	Service string `json:"service"`
	Method  string `json:"method,omitempty"`
	Route   string `json:"route,omitempty"`
	Status  int    `json:"status"`
	Spans   int    `json:"spans"`
	// Errors counts spans with an error class.
	Errors int `json:"errors"`
	// Services lists every service in the trace, sorted.
	Services []string `json:"services"`
}

// New returns an empty Store.
func New(opts Options) *Store {
	if opts.MaxTraces <= 0 {
		opts.MaxTraces = 20000
	}
	if opts.MaxSpans <= 0 {
		opts.MaxSpans = 400000
	}
	return &Store{opts: opts, byID: map[string]*entry{}}
}

// Put adds t, replacing a trace with the same id, then evicts the oldest
// traces while the store is over its bounds.
func (s *Store) Put(t *tracing.Trace) {
	if t == nil || len(t.Spans) == 0 {
		return
	}
	e := &entry{t: t, sum: summarize(t)}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.byID[t.TraceID]; ok {
		s.spans += len(t.Spans) - len(old.t.Spans)
		e.idx = old.idx
		s.heap[e.idx] = e
		s.byID[t.TraceID] = e
		heap.Fix(&s.heap, e.idx)
	} else {
		s.byID[t.TraceID] = e
		heap.Push(&s.heap, e)
		s.spans += len(t.Spans)
	}
	for len(s.heap) > 1 && (len(s.heap) > s.opts.MaxTraces || s.spans > s.opts.MaxSpans) {
		old := heap.Pop(&s.heap).(*entry)
		delete(s.byID, old.t.TraceID)
		s.spans -= len(old.t.Spans)
		s.evicted++
	}
}

// Stats are the store's counts.
type Stats struct {
	Traces  int   `json:"traces"`
	Spans   int   `json:"spans"`
	Evicted int64 `json:"evicted"`
	// Oldest and Newest are the start times of the oldest and newest trace.
	Oldest time.Time `json:"oldest"`
	Newest time.Time `json:"newest"`
}

// Stats returns the current counts.
func (s *Store) Stats() Stats {
	s.mu.RLock()
	defer s.mu.RUnlock()
	st := Stats{Traces: len(s.heap), Spans: s.spans, Evicted: s.evicted}
	if len(s.heap) > 0 {
		st.Oldest = s.heap[0].sum.Start
		for _, e := range s.heap {
			if e.sum.Start.After(st.Newest) {
				st.Newest = e.sum.Start
			}
		}
	}
	return st
}

// Get returns the trace with id, given as a trace root (1-xxxxxxxx-...) or
// as 32 hex digits.
func (s *Store) Get(id string) (*tracing.Trace, bool) {
	key, ok := normalizeID(id)
	if !ok {
		return nil, false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	e, ok := s.byID[key]
	if !ok {
		return nil, false
	}
	return e.t, true
}

// Window returns the traces that started in [from, to), oldest first; a
// zero from or to leaves that side open.
func (s *Store) Window(from, to time.Time) []*tracing.Trace {
	s.mu.RLock()
	out := make([]*tracing.Trace, 0, len(s.heap))
	for _, e := range s.heap {
		if inRange(e.sum.Start, from, to) {
			out = append(out, e.t)
		}
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b *tracing.Trace) int {
		if c := a.Spans[0].Start.Compare(b.Spans[0].Start); c != 0 {
			return c
		}
		return cmp.Compare(a.TraceID, b.TraceID)
	})
	return out
}

func inRange(t, from, to time.Time) bool {
	return (from.IsZero() || !t.Before(from)) && (to.IsZero() || t.Before(to))
}

// Result is the answer to a search.
type Result struct {
	// Traces are the matches, newest first, at most the query's limit.
	Traces []Summary `json:"traces"`
	// Matched counts every match, also those beyond the limit.
	Matched int `json:"matched"`
	// Searched is how many traces the store held.
	Searched int `json:"searched"`
}

// Search returns the traces q matches, newest first.
func (s *Store) Search(q Query) Result {
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	var matches []*entry
	s.mu.RLock()
	searched := len(s.heap)
	if key, ok := normalizeID(q.Root); ok {
		if e, ok := s.byID[key]; ok && q.matches(e) {
			matches = append(matches, e)
		}
	} else {
		for _, e := range s.heap {
			if q.matches(e) {
				matches = append(matches, e)
			}
		}
	}
	s.mu.RUnlock()
	slices.SortFunc(matches, func(a, b *entry) int {
		if c := b.sum.Start.Compare(a.sum.Start); c != 0 {
			return c
		}
		return cmp.Compare(a.t.TraceID, b.t.TraceID)
	})
	res := Result{Matched: len(matches), Searched: searched}
	for _, e := range matches[:min(limit, len(matches))] {
		res.Traces = append(res.Traces, e.sum)
	}
	return res
}

func (q *Query) matches(e *entry) bool {
	sum := &e.sum
	if !inRange(sum.Start, q.From, q.To) || sum.Duration < q.MinDuration {
		return false
	}
	if q.Service != "" && !slices.Contains(sum.Services, q.Service) {
		return false
	}
	if q.Status != nil && !q.Status.match(sum, e.t) {
		return false
	}
	if q.Route != "" {
		found := false
		for i := range e.t.Spans {
			sp := &e.t.Spans[i]
			if strings.Contains(sp.Route, q.Route) || strings.Contains(sp.Path, q.Route) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func summarize(t *tracing.Trace) Summary {
	root := &t.Spans[0]
	sum := Summary{
		Root:     t.Root,
		TraceID:  t.TraceID,
		Start:    root.Start,
		Duration: t.Duration(),
		Service:  root.Service,
		Method:   root.Method,
		Route:    root.Route,
		Status:   root.Status,
		Spans:    len(t.Spans),
	}
	if sum.Route == "" {
		sum.Route = root.Path
	}
	for i := range t.Spans {
		sp := &t.Spans[i]
		if sp.Error != "" {
			sum.Errors++
		}
		if !slices.Contains(sum.Services, sp.Service) {
			sum.Services = append(sum.Services, sp.Service)
		}
	}
	slices.Sort(sum.Services)
	return sum
}

// byStart is a min-heap of entries by start time: the eviction order.
type byStart []*entry

func (h byStart) Len() int { return len(h) }
func (h byStart) Less(i, j int) bool {
	if c := h[i].sum.Start.Compare(h[j].sum.Start); c != 0 {
		return c < 0
	}
	return h[i].t.TraceID < h[j].t.TraceID
}
func (h byStart) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].idx = i
	h[j].idx = j
}
func (h *byStart) Push(x any) {
	e := x.(*entry)
	e.idx = len(*h)
	*h = append(*h, e)
}
func (h *byStart) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return e
}
