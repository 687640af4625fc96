package stitch

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
	"time"
	"unsafe"

	"github.com/owlstack/owl/internal/tracing"
)

// builder gathers one trace's records, as the merge yields them, and links
// them into a tree. Spans are found by index: a trace's records come
// sorted by span id, so a lookup is a binary search, and parents,
// children and reachability are slices of indexes, not maps.
type builder struct {
	// The keys of the trace being built, sorted by span id, without
	// duplicates: a batch's (see buildFrom) or those add gathered.
	keys []key

	// The records add gathers, and the ids in hex of the trace being built.
	gKeys  []key
	gEnds  []int
	gArena []byte
	ids    []byte

	// transient is set when each trace is used up before the next is
	// built: its strings and spans then live in the builder's buffers
	// and in the payloads it was built from.
	transient bool
	trace     tracing.Trace
	out       []tracing.Span

	// Counters for the summary.
	traces, spans, duplicates, unmatched, skewed int64

	// Scratch, reused from trace to trace.
	sp    []tracing.Span
	ln    []links
	par   []int32 // parent index, -1 for none or one not in the trace
	first []int32 // children lists: kids[first[i]:first[i+1]]
	kids  []int32
	seen  []bool
	stack []int32
}

// add gathers a record of the current trace; a duplicate of the span
// before it (same trace and span id) is counted and dropped.
func (b *builder) add(k key, p []byte) {
	if n := len(b.gKeys); n > 0 && b.gKeys[n-1] == k {
		b.duplicates++
		return
	}
	b.gKeys = append(b.gKeys, k)
	b.gArena = append(b.gArena, p...)
	b.gEnds = append(b.gEnds, len(b.gArena))
}

// find returns the index of the span with id, or -1.
func (b *builder) find(id uint64) int32 {
	i, ok := slices.BinarySearchFunc(b.keys, id, func(k key, id uint64) int { return cmpUint(k.span, id) })
	if !ok {
		return -1
	}
	return int32(i)
}

// build makes the gathered records into a trace and starts a new one.
func (b *builder) build() (*tracing.Trace, error) {
	t, err := b.buildFrom(b.gKeys, b.gEnds, b.gArena, 0)
	b.gKeys, b.gEnds, b.gArena = b.gKeys[:0], b.gEnds[:0], b.gArena[:0]
	return t, err
}

// buildFrom makes a trace of records sorted by span id, without
// duplicates: keys, and payload i is payloads[ends[i-1]:ends[i]], the
// first starting at start. A transient builder's trace holds strings of
// payloads, which must then stay as they are while the trace is used.
func (b *builder) buildFrom(keys []key, ends []int, payloads []byte, start int) (*tracing.Trace, error) {
	b.keys = keys
	defer func() { b.keys = nil }()
	n := len(b.keys)
	id := b.keys[0].traceID()
	// The root, the trace id and the span ids in hex, in one string.
	b.ids = append(b.ids[:0], '1', '-')
	b.ids = hex.AppendEncode(b.ids, id[:4])
	b.ids = append(b.ids, '-')
	b.ids = hex.AppendEncode(b.ids, id[4:])
	b.ids = hex.AppendEncode(b.ids, id[:])
	const spanIDs = 67
	var sb [8]byte
	for i := range b.keys {
		binary.BigEndian.PutUint64(sb[:], b.keys[i].span)
		b.ids = hex.AppendEncode(b.ids, sb[:])
	}
	// The payloads' strings are slices of all, which starts at start.
	var all, ids string
	p := payloads[start:ends[n-1]]
	t := &tracing.Trace{}
	if b.transient {
		all = unsafe.String(unsafe.SliceData(p), len(p))
		ids = unsafe.String(unsafe.SliceData(b.ids), len(b.ids))
		t = &b.trace
	} else {
		all, ids = string(p), string(b.ids)
	}
	idStr := func(i int32) string { return ids[spanIDs+16*int(i) : spanIDs+16*int(i)+16] }
	*t = tracing.Trace{Root: ids[:35], TraceID: ids[35:spanIDs]}

	sp := grow(b.sp, n)
	ln := grow(b.ln, n)
	par := grow(b.par, n)
	b.sp, b.ln, b.par = sp, ln, par
	from := 0
	for i := range n {
		to := ends[i] - start
		if err := decodePayload(all[from:to], &sp[i], &ln[i]); err != nil {
			return nil, err
		}
		from = to
		sp[i].SpanID = idStr(int32(i))
	}
	setParent := func(i int, id uint64) {
		if j := b.find(id); j >= 0 {
			par[i], sp[i].ParentID = j, idStr(j)
			return
		}
		var h [8]byte
		binary.BigEndian.PutUint64(h[:], id)
		sp[i].ParentID = hex.EncodeToString(h[:])
	}
	rootLB := int32(-2) // the ALB that started the trace, looked up when needed
	for i := range n {
		l := &ln[i]
		par[i] = -1
		switch l.kind {
		case kindServer:
			if l.hasSelf {
				if j := b.find(l.self); j >= 0 {
					par[i], sp[i].ParentID = j, idStr(j) // came through this ALB
					continue
				}
			}
			if l.hasParent {
				setParent(i, l.parent)
				continue
			}
			if rootLB == -2 {
				rootLB = b.find(lbSpan(&id, ""))
			}
			if rootLB >= 0 && rootLB != int32(i) {
				par[i], sp[i].ParentID = rootLB, idStr(rootLB)
			}
		default:
			if l.hasParent {
				setParent(i, l.parent)
			}
		}
	}
	root := b.attachOrphans()
	b.children()
	b.correctSkew(root)
	t.Spans = b.order(root)
	if len(t.Spans) != n {
		// Cannot happen: attachOrphans leaves a tree. Never drop spans silently.
		return nil, fmt.Errorf("trace %s: %d of its %d spans linked", t.Root, len(t.Spans), n)
	}
	b.traces++
	b.spans += int64(n)
	clear(sp) // let the trace's strings go
	return t, nil
}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n, 2*n)
	}
	return s[:n]
}

// earlier reports whether span i is a better root than span j: it
// started first, or at the same time with a smaller span id.
func (b *builder) earlier(i, j int32) bool {
	if c := b.sp[i].Start.Compare(b.sp[j].Start); c != 0 {
		return c < 0
	}
	return b.keys[i].span < b.keys[j].span
}

// children lists each span's children, in index order, from par.
func (b *builder) children() {
	n := len(b.par)
	first := grow(b.first, n+1)
	clear(first)
	for _, p := range b.par {
		if p >= 0 {
			first[p+1]++
		}
	}
	for i := range n {
		first[i+1] += first[i]
	}
	kids := grow(b.kids, int(first[n]))
	fill := grow(b.stack, n) // where the next child of each span goes
	copy(fill, first[:n])
	for i, p := range b.par {
		if p >= 0 {
			kids[fill[p]] = int32(i)
			fill[p]++
		}
	}
	b.first, b.kids, b.stack = first, kids, fill
}

func (b *builder) kidsOf(i int32) []int32 { return b.kids[b.first[i]:b.first[i+1]] }

// attachOrphans picks the root (the earliest span without a parent) and
// attaches every span that cannot reach it to it, flagged, and returns it.
func (b *builder) attachOrphans() int32 {
	sp, par := b.sp, b.par
	n := int32(len(sp))
	root := int32(-1)
	for i := range n {
		if sp[i].ParentID == "" && (root < 0 || b.earlier(i, root)) {
			root = i
		}
	}
	if root < 0 { // every span names a parent: the first hop is missing
		for i := range n {
			if root < 0 || b.earlier(i, root) {
				root = i
			}
		}
		b.unmatched++
		sp[root].Orphan = true
		sp[root].MissingParent = sp[root].ParentID
		sp[root].ParentID = ""
		par[root] = -1
	}
	// Reachability from the root; what is not reachable (a missing parent,
	// a second parentless span or a cycle in bad data) hangs off the root.
	b.children()
	seen := grow(b.seen, int(n))
	clear(seen)
	b.seen = seen
	stack := append(b.stack[:0], root)
	seen[root] = true
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, c := range b.kidsOf(i) {
			if !seen[c] && c != root {
				seen[c] = true
				stack = append(stack, c)
			}
		}
	}
	b.stack = stack
	for i := range n {
		if seen[i] {
			continue
		}
		// Attach the top of each unreachable subtree, keep the rest under it.
		if p := par[i]; p >= 0 && !b.isTopUnreached(i, p) {
			continue
		}
		b.unmatched++
		sp[i].Orphan = true
		sp[i].MissingParent = sp[i].ParentID
		sp[i].ParentID = sp[root].SpanID
		par[i] = root
	}
	return root
}

// isTopUnreached reports whether unreachable span i must be attached to
// the root itself: its parent p is unreachable too, and following parents
// from i loops back to i (a cycle) instead of reaching a span that will be
// attached.
func (b *builder) isTopUnreached(i, p int32) bool {
	for steps := 0; steps <= len(b.par); steps++ {
		if p == i {
			return true // a cycle: break it here
		}
		if b.seen[p] {
			return false
		}
		q := b.par[p]
		if q < 0 {
			return false // p will be attached to the root; i stays under it
		}
		p = q
	}
	return true
}

// correctSkew moves each span that does not fit inside its parent (clocks
// of two hosts disagree), with its subtree, so that it is centred in the
// parent: the network time before and after is assumed equal.
func (b *builder) correctSkew(root int32) {
	sp, ln := b.sp, b.ln
	var shift func(i int32, d time.Duration)
	shift = func(i int32, d time.Duration) {
		sp[i].Start = sp[i].Start.Add(d)
		for _, c := range b.kidsOf(i) {
			shift(c, d)
		}
	}
	queue := append(b.stack[:0], root)
	for q := 0; q < len(queue); q++ {
		p := queue[q]
		for _, c := range b.kidsOf(p) {
			queue = append(queue, c)
			if sp[c].Orphan || sp[c].Service == sp[p].Service && ln[c].kind != kindLB && ln[p].kind != kindLB {
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
			b.skewed++
		}
	}
	b.stack = queue
}

// order returns the spans as tracing.Order sorts them: the root first,
// then depth first, children by start time and span id. (Linked as
// attachOrphans leaves them, the root is the only span without a parent.)
func (b *builder) order(root int32) []tracing.Span {
	less := func(x, y int32) int {
		if c := b.sp[x].Start.Compare(b.sp[y].Start); c != 0 {
			return c
		}
		return cmpUint(b.keys[x].span, b.keys[y].span)
	}
	var out []tracing.Span
	if b.transient {
		out = b.out[:0]
	} else {
		out = make([]tracing.Span, 0, len(b.sp))
	}
	stack := append(b.stack[:0], root)
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		out = append(out, b.sp[i])
		kids := b.kidsOf(i)
		if len(kids) > 1 {
			slices.SortFunc(kids, less)
		}
		for k := len(kids) - 1; k >= 0; k-- {
			stack = append(stack, kids[k])
		}
	}
	b.stack = stack
	if b.transient {
		b.out = out
	}
	return out
}
