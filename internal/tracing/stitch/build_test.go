package stitch

import (
	"cmp"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/owlstack/owl/internal/tracectx"
	"github.com/owlstack/owl/internal/tracing"
)

// refNode is a record as the map-based reference below takes it.
type refNode struct {
	span   tracing.Span
	self   string // the ALB Self a server received
	parent string
}

// refCounts are the summary counters a build moves.
type refCounts struct{ unmatched, skewed int64 }

// refBuild is the stitcher's tree building as it was written with maps
// and string ids, kept as the oracle the index-based builder must match.
func refBuild(id tracectx.TraceID, nodes []refNode, c *refCounts) *tracing.Trace {
	root := id.Root()
	t := &tracing.Trace{Root: root, TraceID: hex.EncodeToString(id[:]), Spans: make([]tracing.Span, len(nodes))}
	ids := make(map[string]int, len(nodes))
	for i := range nodes {
		ids[nodes[i].span.SpanID] = i
	}
	has := func(k string) bool { _, ok := ids[k]; return ok }
	rootLB := tracing.LBSpanID(root, "")
	for i := range nodes {
		n := &nodes[i]
		sp := n.span
		switch sp.Kind {
		case tracing.KindServer:
			if lb := tracing.LBSpanID(root, n.self); n.self != "" && has(lb) {
				sp.ParentID = lb
			} else if n.parent != "" {
				sp.ParentID = n.parent
			} else if has(rootLB) && sp.SpanID != rootLB {
				sp.ParentID = rootLB
			}
		default:
			sp.ParentID = n.parent
		}
		t.Spans[i] = sp
	}
	refAttachOrphans(t, ids, c)
	refCorrectSkew(t, c)
	tracing.Order(t)
	return t
}

func refAttachOrphans(t *tracing.Trace, ids map[string]int, c *refCounts) {
	sp := t.Spans
	rootIdx := -1
	better := func(i, j int) bool {
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
	if rootIdx < 0 {
		for i := range sp {
			if rootIdx < 0 || better(i, rootIdx) {
				rootIdx = i
			}
		}
		c.unmatched++
		sp[rootIdx].Orphan = true
		sp[rootIdx].MissingParent = sp[rootIdx].ParentID
		sp[rootIdx].ParentID = ""
	}
	rootID := sp[rootIdx].SpanID
	children := map[string][]int{}
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
	isTop := func(i, p int) bool {
		for steps := 0; steps <= len(sp); steps++ {
			if p == i {
				return true
			}
			if seen[p] {
				return false
			}
			q, ok := ids[sp[p].ParentID]
			if !ok || sp[p].ParentID == "" {
				return false
			}
			p = q
		}
		return true
	}
	for i := range sp {
		if seen[i] {
			continue
		}
		if p, ok := ids[sp[i].ParentID]; ok && sp[i].ParentID != "" && !isTop(i, p) {
			continue
		}
		c.unmatched++
		sp[i].Orphan = true
		sp[i].MissingParent = sp[i].ParentID
		sp[i].ParentID = rootID
	}
}

func refCorrectSkew(t *tracing.Trace, c *refCounts) {
	sp := t.Spans
	children := map[string][]int{}
	var root int
	for i := range sp {
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
		for _, ch := range children[sp[p].SpanID] {
			queue = append(queue, ch)
			if sp[ch].Orphan || sp[ch].Service == sp[p].Service && sp[ch].Kind != tracing.KindLB && sp[p].Kind != tracing.KindLB {
				continue
			}
			if !sp[ch].Start.Before(sp[p].Start) && !sp[ch].End().After(sp[p].End()) {
				continue
			}
			slack := max(time.Duration(sp[p].DurationUS-sp[ch].DurationUS)*time.Microsecond/2, 0)
			d := sp[p].Start.Add(slack).Sub(sp[ch].Start)
			shift(ch, d)
			sp[ch].SkewUS += d.Microseconds()
			c.skewed++
		}
	}
}

// randomTrace makes the records of one trace with every kind of damage:
// ALB spans with and without Self, missing parents, parentless spans,
// cycles, a span naming itself, equal start times and skewed clocks.
func randomTrace(rng *rand.Rand, id tracectx.TraceID) []refNode {
	root := id.Root()
	n := 1 + rng.IntN(12)
	ids := map[string]bool{}
	var nodes []refNode
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	services := []string{"api", "cart", "user"}
	spanID := func() string {
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], 1+rng.Uint64N(40)) // few ids: parents often exist
		return hex.EncodeToString(b[:])
	}
	for len(nodes) < n {
		var nd refNode
		sp := &nd.span
		sp.Start = base.Add(time.Duration(rng.IntN(50)) * time.Millisecond)
		sp.DurationUS = int64(rng.IntN(60000))
		sp.Service = services[rng.IntN(len(services))]
		sp.Status = 200
		switch rng.IntN(4) {
		case 0:
			sp.Kind = tracing.KindLB
			self := ""
			if rng.IntN(2) == 0 {
				self = fmt.Sprintf("1-67891233-%d", rng.IntN(3))
			}
			sp.SpanID = tracing.LBSpanID(root, self)
			sp.Service = "app/alb/1"
		case 1:
			sp.Kind = tracing.KindClient
			sp.SpanID = spanID()
		default:
			sp.Kind = tracing.KindServer
			sp.SpanID = spanID()
			if rng.IntN(2) == 0 {
				nd.self = fmt.Sprintf("1-67891233-%d", rng.IntN(3))
			}
		}
		if rng.IntN(4) != 0 {
			if rng.IntN(10) == 0 {
				nd.parent = sp.SpanID // names itself
			} else {
				nd.parent = spanID()
			}
		}
		if ids[sp.SpanID] {
			continue
		}
		ids[sp.SpanID] = true
		nodes = append(nodes, nd)
	}
	return nodes
}

// TestBuilderMatchesReference builds random damaged traces with the
// builder and with the map-based reference: the traces and the counters
// must be the same.
func TestBuilderMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var b builder
	var ref refCounts
	for i := range 5000 {
		var id tracectx.TraceID
		binary.BigEndian.PutUint64(id[:8], 0x6789123300000000|uint64(i))
		binary.BigEndian.PutUint64(id[8:], rng.Uint64())
		nodes := randomTrace(rng, id)
		type rec struct {
			k key
			p []byte
		}
		var recs []rec
		for j, nd := range nodes {
			sp := &nd.span
			spanID, err := tracectx.ParseSpanID(sp.SpanID)
			if err != nil {
				t.Fatal(err)
			}
			var parent tracectx.SpanID
			if nd.parent != "" {
				parent, _ = tracectx.ParseSpanID(nd.parent)
			}
			flags := byte(kindServer)
			switch sp.Kind {
			case tracing.KindClient:
				flags = kindClient
			case tracing.KindLB:
				flags = kindLB
			}
			var self uint64
			if nd.self != "" {
				flags |= flagSelf
				self = lbSpan(&id, nd.self)
			}
			p := appendPayload(nil, uint64(j), flags, parent, self, [5]int64{int64(sp.Status), sp.Start.UnixMicro(), sp.DurationUS, 0, 0},
				[11]string{sp.Service}, nil)
			recs = append(recs, rec{newKey(&id, binary.BigEndian.Uint64(spanID[:])), p})
		}
		slices.SortFunc(recs, func(a, b rec) int { return compareKeys(a.k, b.k) })
		for _, r := range recs {
			b.add(r.k, r.p)
		}
		got, err := b.build()
		if err != nil {
			t.Fatal(err)
		}
		// The stitcher hands both its spans sorted by span id.
		slices.SortFunc(nodes, func(a, b refNode) int { return cmp.Compare(a.span.SpanID, b.span.SpanID) })
		want := refBuild(id, nodes, &ref)
		if diff := gocmp.Diff(want, got); diff != "" {
			t.Fatalf("trace %d (-reference +builder):\n%s", i, diff)
		}
		if b.unmatched != ref.unmatched || b.skewed != ref.skewed {
			t.Fatalf("trace %d: unmatched %d skewed %d, reference %d %d", i, b.unmatched, b.skewed, ref.unmatched, ref.skewed)
		}
	}
	if ref.unmatched == 0 || ref.skewed == 0 {
		t.Errorf("the random traces made no orphans (%d) or no skew (%d)", ref.unmatched, ref.skewed)
	}
}
