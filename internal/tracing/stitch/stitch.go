// Package stitch builds call trees from ALB and application access logs.
//
// It streams: lines are parsed into spans and buffered; when the buffer
// reaches its memory budget it is sorted by trace and span and spilled to a
// temporary file (a sorted run). The runs are then merged, so that each
// trace's spans arrive together and memory stays flat however big the logs
// are. Duplicated lines are dropped by trace root and span id, out-of-order
// lines need nothing special, spans whose parent is missing are attached to
// the root and flagged, and clock skew between hosts is corrected so that
// every child fits inside its parent.
package stitch

import (
	"bufio"
	"bytes"
	"cmp"
	"container/heap"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"
	"unsafe"

	"github.com/owlstack/owl/internal/tracectx"
	"github.com/owlstack/owl/internal/tracing"
	"github.com/owlstack/owl/internal/tracing/tracingalb"
)

// Options tune a Stitch run.
type Options struct {
	// TempDir holds the sorted runs; "" is the system's temporary folder.
	TempDir string
	// MemBytes is the memory budget of the buffer before it spills;
	// 0 is 64 MiB.
	MemBytes int64
	// Progress, when set, is called now and then with the bytes of input
	// read so far (as stored: compressed bytes for gzip files).
	Progress func(read int64)
}

// Sink receives the stitched traces, ordered by trace id.
type Sink interface {
	WriteTrace(*tracing.Trace) error
}

// Summary counts what a run read and made.
type Summary struct {
	Files      int   `json:"files"`
	Lines      int64 `json:"lines"`
	ALBLines   int64 `json:"alb_lines"`
	AppLines   int64 `json:"app_lines"`
	Parsed     int64 `json:"parsed"`
	Malformed  int64 `json:"malformed"`
	NoTrace    int64 `json:"no_trace"`
	Duplicates int64 `json:"duplicates"`
	Traces     int64 `json:"traces"`
	Spans      int64 `json:"spans"`
	Unmatched  int64 `json:"unmatched"`
	Skewed     int64 `json:"skew_corrected"`
	Runs       int   `json:"spilled_runs"`
	// Problems are the first malformed lines, as file:line: reason.
	Problems []string `json:"problems,omitempty"`
}

const maxProblems = 100

func (s *Summary) problem(file string, line int64, err error) {
	s.Malformed++
	if len(s.Problems) < maxProblems {
		s.Problems = append(s.Problems, fmt.Sprintf("%s:%d: %v", file, line, err))
	}
}

// Stitch reads the ALB and application log files, builds one call tree per
// trace and hands them to sink in trace id order. Malformed lines are
// counted and reported in the summary, never fatal; an unreadable file is.
func Stitch(ctx context.Context, albFiles, appFiles []string, sink Sink, opts Options) (*Summary, error) {
	if opts.MemBytes <= 0 {
		opts.MemBytes = 64 << 20
	}
	s := &stitcher{opts: opts, sum: &Summary{}}
	// The buffer gets the room a budget's worth of typical nodes needs at
	// once, instead of growing (and copying) as lines come.
	s.buf = make([]node, 0, opts.MemBytes/(int64(unsafe.Sizeof(node{}))+typicalLine)/2)
	defer s.cleanup()
	for _, f := range albFiles {
		if err := s.readFile(ctx, f, s.albLine); err != nil {
			return s.sum, err
		}
		s.sum.Files++
	}
	for _, f := range appFiles {
		if err := s.readFile(ctx, f, s.appLine); err != nil {
			return s.sum, err
		}
		s.sum.Files++
	}
	if err := s.emit(ctx, sink); err != nil {
		return s.sum, err
	}
	return s.sum, nil
}

type stitcher struct {
	opts  Options
	sum   *Summary
	buf   []node
	order []int32
	bytes int64
	runs  []string
	read  int64
}

func (s *stitcher) cleanup() {
	for _, r := range s.runs {
		os.Remove(r)
	}
}

// countingReader counts the bytes read from a file, for progress.
type countingReader struct {
	r io.Reader
	s *stitcher
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.s.read += int64(n)
	return n, err
}

func (s *stitcher) readFile(ctx context.Context, path string, parse func(file string, line int64, b []byte)) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r, err := tracingalb.Open(&countingReader{r: f, s: s})
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	br := bufio.NewReaderSize(r, 256<<10)
	var line int64
	for {
		b, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A line longer than the buffer: gather it whole.
			long := append([]byte(nil), b...)
			for errors.Is(err, bufio.ErrBufferFull) {
				b, err = br.ReadSlice('\n')
				long = append(long, b...)
			}
			b = long
		}
		if len(b) > 0 {
			line++
			s.sum.Lines++
			b = bytes.TrimRight(b, "\r\n")
			if len(b) > 0 {
				parse(path, line, b)
			}
			if line%65536 == 0 {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				if s.opts.Progress != nil {
					s.opts.Progress(s.read)
				}
			}
			if s.full() {
				if err := s.spill(); err != nil {
					return err
				}
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("%s:%d: %w", path, line+1, err)
		}
	}
	if s.opts.Progress != nil {
		s.opts.Progress(s.read)
	}
	return nil
}

// typicalLine is about the size of an owl access-log line.
const typicalLine = 450

func (s *stitcher) add(n node) { s.addSized(n.size(), n) }

// addSized buffers n, which holds size bytes of strings and maps.
func (s *stitcher) addSized(size int64, n node) {
	s.sum.Parsed++
	s.bytes += size
	s.buf = append(s.buf, n)
}

// full reports whether the buffer has reached the memory budget: the
// strings it holds plus the slice itself, counted at its capacity.
func (s *stitcher) full() bool {
	return s.bytes+int64(cap(s.buf))*int64(unsafe.Sizeof(node{})) >= s.opts.MemBytes
}

func (s *stitcher) albLine(file string, line int64, b []byte) {
	s.sum.ALBLines++
	e, err := tracingalb.ParseLine(string(b))
	if err != nil {
		s.sum.problem(file, line, err)
		return
	}
	if e.TraceID == "" {
		// Counted but makes no trace: e.g. a request the ALB rejected
		// before it could add a header.
		s.sum.Parsed++
		s.sum.NoTrace++
		return
	}
	a, err := tracectx.ParseAmzn(e.TraceID)
	if err != nil {
		s.sum.problem(file, line, fmt.Errorf("trace_id: %w", err))
		return
	}
	root := a.Root.Root()
	n := node{trace: a.Root, self: a.Self}
	if !a.Parent.IsZero() {
		n.parent = a.Parent.String()
	}
	d := e.Duration()
	start := e.RequestCreationTime
	if start.IsZero() {
		start = e.Time.Add(-d)
	}
	status := max(e.ELBStatusCode, 0)
	n.span = tracing.Span{
		SpanID:     tracing.LBSpanID(root, a.Self),
		Kind:       tracing.KindLB,
		Service:    e.ELB,
		Caller:     a.Caller,
		Method:     e.Method,
		Path:       e.Path(),
		Status:     status,
		Start:      start.Truncate(time.Microsecond),
		DurationUS: d.Microseconds(),
		ReqBytes:   max(e.ReceivedBytes, 0),
		RespBytes:  max(e.SentBytes, 0),
		Error:      statusClass(status),
	}
	if e.ErrorReason != "" {
		n.span.Attrs = map[string]string{"error_reason": e.ErrorReason}
	}
	s.add(n)
}

func statusClass(status int) string {
	switch {
	case status >= 500:
		return "server_error"
	case status >= 400:
		return "client_error"
	}
	return ""
}

func (s *stitcher) appLine(file string, line int64, b []byte) {
	s.sum.AppLines++
	// One string per line: the record's strings are slices of it.
	text := string(b)
	r, err := tracectx.ParseRecord(text)
	if err != nil {
		s.sum.problem(file, line, fmt.Errorf("not an owl access log record: %w", err))
		return
	}
	id, err := tracectx.ParseRoot(r.TraceRoot)
	if err != nil {
		s.sum.problem(file, line, fmt.Errorf("trace_root %q: %w", r.TraceRoot, err))
		return
	}
	if _, err := tracectx.ParseSpanID(r.Span); err != nil {
		s.sum.problem(file, line, fmt.Errorf("span %q: %w", r.Span, err))
		return
	}
	if r.Parent != "" {
		if _, err := tracectx.ParseSpanID(r.Parent); err != nil {
			s.sum.problem(file, line, fmt.Errorf("parent %q: %w", r.Parent, err))
			return
		}
	}
	if r.Kind != tracectx.KindServer && r.Kind != tracectx.KindClient {
		s.sum.problem(file, line, fmt.Errorf("kind %q: want server or client", r.Kind))
		return
	}
	if r.Service == "" || r.Time.IsZero() || r.DurationUS < 0 {
		s.sum.problem(file, line, fmt.Errorf("record needs service, time and a duration >= 0"))
		return
	}
	s.addSized(nodeOverhead+int64(len(text))+attrsSize(r.Attrs), node{
		trace:  id,
		self:   r.Self,
		parent: r.Parent,
		span: tracing.Span{
			SpanID:         r.Span,
			Kind:           r.Kind,
			Service:        r.Service,
			Caller:         r.Caller,
			Peer:           r.Peer,
			Method:         r.Method,
			Route:          r.Route,
			Path:           r.Path,
			Status:         r.Status,
			Start:          r.Time.UTC().Truncate(time.Microsecond),
			DurationUS:     r.DurationUS,
			ReqBytes:       r.ReqBytes,
			RespBytes:      r.RespBytes,
			ContentType:    r.ContentType,
			Encoding:       r.Encoding,
			AcceptEncoding: r.AcceptEncoding,
			Fingerprint:    r.Fingerprint,
			Error:          r.Error,
			Attrs:          r.Attrs,
		},
	})
}

func compareNodes(a, b *node) int {
	if c := bytes.Compare(a.trace[:], b.trace[:]); c != 0 {
		return c
	}
	return strings.Compare(a.span.SpanID, b.span.SpanID)
}

// sortBuf returns the buffer's indexes in (trace, span) order: sorting
// indexes moves 4 bytes where sorting nodes would move hundreds.
func (s *stitcher) sortBuf() []int32 {
	order := s.order[:0]
	for i := range s.buf {
		order = append(order, int32(i))
	}
	slices.SortFunc(order, func(a, b int32) int { return compareNodes(&s.buf[a], &s.buf[b]) })
	s.order = order
	return order
}

// spill sorts the buffer and writes it to a new run file.
func (s *stitcher) spill() error {
	if len(s.buf) == 0 {
		return nil
	}
	order := s.sortBuf()
	f, err := os.CreateTemp(s.opts.TempDir, "owl-stitch-*.run")
	if err != nil {
		return fmt.Errorf("spill: %w", err)
	}
	s.runs = append(s.runs, f.Name())
	w := bufio.NewWriterSize(f, 1<<20)
	var b []byte
	for _, i := range order {
		b = appendNode(b[:0], &s.buf[i])
		if _, err := w.Write(b); err != nil {
			f.Close()
			return fmt.Errorf("spill: %w", err)
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("spill: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("spill: %w", err)
	}
	s.sum.Runs++
	clear(s.buf) // let the strings go
	s.buf = s.buf[:0]
	s.bytes = 0
	return nil
}

// source yields nodes in (trace, span) order.
type source interface {
	next(*node) error
}

type sliceSource struct {
	nodes []node
	order []int32
	i     int
}

func (ss *sliceSource) next(n *node) error {
	if ss.i == len(ss.order) {
		return io.EOF
	}
	*n = ss.nodes[ss.order[ss.i]]
	ss.i++
	return nil
}

// emit groups the sorted nodes by trace and writes each trace.
func (s *stitcher) emit(ctx context.Context, sink Sink) error {
	var src source
	if len(s.runs) == 0 {
		src = &sliceSource{nodes: s.buf, order: s.sortBuf()}
	} else {
		if err := s.spill(); err != nil {
			return err
		}
		m, err := s.openMerge()
		if err != nil {
			return err
		}
		defer m.close()
		src = m
	}
	var group []node
	var cur node
	flush := func() error {
		if len(group) == 0 {
			return nil
		}
		t := s.build(group)
		group = group[:0]
		return sink.WriteTrace(t)
	}
	for i := 0; ; i++ {
		if i%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if err := src.next(&cur); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return fmt.Errorf("merge: %w", err)
		}
		if len(group) > 0 {
			last := &group[len(group)-1]
			if last.trace != cur.trace {
				if err := flush(); err != nil {
					return err
				}
			} else if last.span.SpanID == cur.span.SpanID {
				s.sum.Duplicates++
				continue
			}
		}
		group = append(group, cur)
	}
	return flush()
}

// merge is a k-way merge of the sorted runs.
type merge struct {
	files []*os.File
	h     mergeHeap
}

type mergeItem struct {
	n node
	r *runReader
}

type mergeHeap []*mergeItem

func (h mergeHeap) Len() int           { return len(h) }
func (h mergeHeap) Less(i, j int) bool { return compareNodes(&h[i].n, &h[j].n) < 0 }
func (h mergeHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *mergeHeap) Push(x any)        { *h = append(*h, x.(*mergeItem)) }
func (h *mergeHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	*h = old[:len(old)-1]
	return it
}

// maxFanIn bounds the files open at once; more runs are merged in passes.
const maxFanIn = 128

func (s *stitcher) openMerge() (*merge, error) {
	for len(s.runs) > maxFanIn {
		if err := s.mergePass(); err != nil {
			return nil, err
		}
	}
	return openRuns(s.runs)
}

func openRuns(paths []string) (*merge, error) {
	m := &merge{}
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			m.close()
			return nil, fmt.Errorf("merge: %w", err)
		}
		m.files = append(m.files, f)
		it := &mergeItem{r: &runReader{r: bufio.NewReaderSize(f, 256<<10)}}
		if err := it.r.next(&it.n); errors.Is(err, io.EOF) {
			continue
		} else if err != nil {
			m.close()
			return nil, fmt.Errorf("merge %s: %w", p, err)
		}
		m.h = append(m.h, it)
	}
	heap.Init(&m.h)
	return m, nil
}

func (m *merge) next(n *node) error {
	if len(m.h) == 0 {
		return io.EOF
	}
	it := m.h[0]
	*n = it.n
	if err := it.r.next(&it.n); errors.Is(err, io.EOF) {
		heap.Pop(&m.h)
	} else if err != nil {
		return err
	} else {
		heap.Fix(&m.h, 0)
	}
	return nil
}

func (m *merge) close() {
	for _, f := range m.files {
		f.Close()
	}
}

// mergePass merges the first maxFanIn runs into one.
func (s *stitcher) mergePass() error {
	group := s.runs[:maxFanIn]
	m, err := openRuns(group)
	if err != nil {
		return err
	}
	defer m.close()
	f, err := os.CreateTemp(s.opts.TempDir, "owl-stitch-*.run")
	if err != nil {
		return fmt.Errorf("merge: %w", err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var n node
	var b []byte
	for {
		if err := m.next(&n); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			f.Close()
			return err
		}
		b = appendNode(b[:0], &n)
		if _, err := w.Write(b); err != nil {
			f.Close()
			return fmt.Errorf("merge: %w", err)
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("merge: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("merge: %w", err)
	}
	for _, p := range group {
		os.Remove(p)
	}
	s.runs = append([]string{f.Name()}, s.runs[maxFanIn:]...)
	return nil
}

// build links one trace's spans into a tree.
func (s *stitcher) build(nodes []node) *tracing.Trace {
	id := tracectx.TraceID(nodes[0].trace)
	root := id.Root()
	t := &tracing.Trace{Root: root, TraceID: hex.EncodeToString(nodes[0].trace[:]), Spans: make([]tracing.Span, len(nodes))}
	ids := make(map[string]int, len(nodes))
	for i := range nodes {
		ids[nodes[i].span.SpanID] = i
	}
	rootLB := tracing.LBSpanID(root, "")
	for i := range nodes {
		n := &nodes[i]
		sp := n.span
		switch sp.Kind {
		case tracing.KindServer:
			if lb := tracing.LBSpanID(root, n.self); n.self != "" && has(ids, lb) {
				sp.ParentID = lb // came through this ALB
			} else if n.parent != "" {
				sp.ParentID = n.parent
			} else if has(ids, rootLB) && sp.SpanID != rootLB {
				sp.ParentID = rootLB // the ALB that started the trace
			}
		default:
			sp.ParentID = n.parent
		}
		t.Spans[i] = sp
	}
	s.attachOrphans(t, ids)
	s.correctSkew(t)
	tracing.Order(t)
	s.sum.Traces++
	s.sum.Spans += int64(len(t.Spans))
	return t
}

func has(m map[string]int, k string) bool { _, ok := m[k]; return ok }

// attachOrphans picks the root (the earliest span without a parent) and
// attaches every span that cannot reach it to it, flagged.
func (s *stitcher) attachOrphans(t *tracing.Trace, ids map[string]int) {
	sp := t.Spans
	rootIdx := -1
	better := func(i, j int) bool { // is i a better root than j
		if c := sp[i].Start.Compare(sp[j].Start); c != 0 {
			return c < 0
		}
		return cmp.Less(sp[i].SpanID, sp[j].SpanID)
	}
	for i := range sp {
		if sp[i].ParentID == "" && (rootIdx < 0 || better(i, rootIdx)) {
			rootIdx = i
		}
	}
	if rootIdx < 0 { // every span names a parent: the first hop is missing
		for i := range sp {
			if rootIdx < 0 || better(i, rootIdx) {
				rootIdx = i
			}
		}
		s.sum.Unmatched++
		sp[rootIdx].Orphan = true
		sp[rootIdx].MissingParent = sp[rootIdx].ParentID
		sp[rootIdx].ParentID = ""
	}
	rootID := sp[rootIdx].SpanID
	// Reachability from the root; what is not reachable (a missing parent,
	// a second parentless span or a cycle in bad data) hangs off the root.
	children := make(map[string][]int, len(sp))
	for i := range sp {
		if i != rootIdx && sp[i].ParentID != "" {
			children[sp[i].ParentID] = append(children[sp[i].ParentID], i)
		}
	}
	seen := make([]bool, len(sp))
	stack := []int{rootIdx}
	seen[rootIdx] = true
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, c := range children[sp[i].SpanID] {
			if !seen[c] {
				seen[c] = true
				stack = append(stack, c)
			}
		}
	}
	for i := range sp {
		if seen[i] {
			continue
		}
		// Attach the top of each unreachable subtree, keep the rest under it.
		if p, ok := ids[sp[i].ParentID]; ok && sp[i].ParentID != "" && !isTopUnreached(sp, ids, seen, i, p) {
			continue
		}
		s.sum.Unmatched++
		sp[i].Orphan = true
		sp[i].MissingParent = sp[i].ParentID
		sp[i].ParentID = rootID
	}
}

// isTopUnreached reports whether unreachable span i must be attached to
// the root itself: its parent p is unreachable too, and following parents
// from i loops back to i (a cycle) instead of reaching a span that will be
// attached.
func isTopUnreached(sp []tracing.Span, ids map[string]int, seen []bool, i, p int) bool {
	for steps := 0; steps <= len(sp); steps++ {
		if p == i {
			return true // a cycle: break it here
		}
		if seen[p] {
			return false
		}
		q, ok := ids[sp[p].ParentID]
		if !ok || sp[p].ParentID == "" {
			return false // p will be attached to the root; i stays under it
		}
		p = q
	}
	return true
}

// correctSkew moves each span that does not fit inside its parent (clocks
// of two hosts disagree), with its subtree, so that it is centred in the
// parent: the network time before and after is assumed equal.
func (s *stitcher) correctSkew(t *tracing.Trace) {
	sp := t.Spans
	byID := make(map[string]int, len(sp))
	children := make(map[string][]int, len(sp))
	var root int
	for i := range sp {
		byID[sp[i].SpanID] = i
		if sp[i].ParentID == "" {
			root = i
		} else {
			children[sp[i].ParentID] = append(children[sp[i].ParentID], i)
		}
	}
	var shift func(i int, d time.Duration)
	shift = func(i int, d time.Duration) {
		sp[i].Start = sp[i].Start.Add(d)
		for _, c := range children[sp[i].SpanID] {
			shift(c, d)
		}
	}
	queue := []int{root}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[sp[p].SpanID] {
			queue = append(queue, c)
			if sp[c].Orphan || sp[c].Service == sp[p].Service && sp[c].Kind != tracing.KindLB && sp[p].Kind != tracing.KindLB {
				continue // same host: same clock
			}
			if !sp[c].Start.Before(sp[p].Start) && !sp[c].End().After(sp[p].End()) {
				continue
			}
			slack := time.Duration(sp[p].DurationUS-sp[c].DurationUS) * time.Microsecond / 2
			if slack < 0 {
				slack = 0
			}
			d := sp[p].Start.Add(slack).Sub(sp[c].Start)
			shift(c, d)
			sp[c].SkewUS += d.Microseconds()
			s.sum.Skewed++
		}
	}
}
