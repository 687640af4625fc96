package findings

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/owlstack/owl/internal/tracing"
	"github.com/owlstack/owl/internal/tracing/graph"
)

// FuzzAnalyze feeds arbitrary owl trace lines (cycles, missing parents,
// odd kinds and sizes) to the graph builder and the detector: whatever
// decodes must analyse without a panic and give consistent numbers.
func FuzzAnalyze(f *testing.F) {
	f.Add([]byte(`{"root":"r","spans":[{"span_id":"a","parent_id":"a","kind":"server","service":"s","status":500,"duration_us":-5,"resp_bytes":-1}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := tracing.NewReader(bytes.NewReader(data), "fuzz")
		b := graph.NewBuilder(graph.Options{SplitBy: "side"})
		d := NewDetector(Options{MinRequests: 1, MinErrors: 1})
		for {
			tr, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return
			}
			b.Add(tr)
			d.Add(tr)
		}
		g := b.Build()
		for _, e := range g.Edges {
			if e.Errors > e.Calls || e.Requests > e.Calls || e.ErrorRate < 0 || e.ErrorRate > 1 || g.Node(e.Caller) == nil || g.Node(e.Callee) == nil {
				t.Fatalf("inconsistent edge %+v", e)
			}
		}
		_ = g.Filter(graph.Filter{Service: "s", Depth: 2, ErrorsOnly: true}).DOT()
		if err := g.WriteJSON(io.Discard); err != nil {
			t.Fatal(err)
		}
		for _, fd := range d.Findings() {
			if fd.Type == "" || fd.Severity == "" || fd.Summary == "" {
				t.Fatalf("incomplete finding %+v", fd)
			}
		}
	})
}
