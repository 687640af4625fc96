package graphsvg

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/owlstack/owl/internal/tracing"
	"github.com/owlstack/owl/internal/tracing/graph"
)

func testGraph(calls int) *graph.Graph {
	b := graph.NewBuilder(graph.Options{})
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range calls {
		b.Add(&tracing.Trace{Root: fmt.Sprint(i), Spans: []tracing.Span{
			{SpanID: "lb", Kind: tracing.KindLB, Service: "app/pub/1", Status: 200, Start: t0, DurationUS: 900},
			{SpanID: "a", ParentID: "lb", Kind: tracing.KindServer, Service: "api", Status: 200, Start: t0, DurationUS: 800},
			{SpanID: "c", ParentID: "a", Kind: tracing.KindClient, Service: "api", Peer: "db<&>", Status: 500, Start: t0, DurationUS: 100},
		}})
	}
	return b.Build()
}

func TestRenderAndCache(t *testing.T) {
	r := NewRenderer(2)
	defer r.Close()
	ctx := context.Background()
	svg, err := r.SVG(ctx, testGraph(3).DOT())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<svg", "<title>api&#45;&gt;db&lt;&amp;&gt;</title>", "app/pub/1", "3 calls"} {
		if !strings.Contains(string(svg), want) {
			t.Errorf("SVG lacks %q:\n%s", want, svg)
		}
	}
	again, err := r.SVG(ctx, testGraph(3).DOT())
	if err != nil || !bytes.Equal(svg, again) {
		t.Fatalf("second render: %v", err)
	}
	if hits, renders := r.Stats(); hits != 1 || renders != 1 {
		t.Errorf("hits %d, renders %d; want 1 and 1", hits, renders)
	}
	// Two more graphs push the first out of a cache of two.
	for _, n := range []int{4, 5, 3} {
		if _, err := r.SVG(ctx, testGraph(n).DOT()); err != nil {
			t.Fatal(err)
		}
	}
	if hits, renders := r.Stats(); hits != 1 || renders != 4 {
		t.Errorf("after eviction: hits %d, renders %d; want 1 and 4", hits, renders)
	}
	if _, err := r.SVG(ctx, []byte("digraph { a -> ")); err == nil || !strings.Contains(err.Error(), "render svg") {
		t.Errorf("bad DOT: %v", err)
	}
}

func TestConcurrentRenders(t *testing.T) {
	r := NewRenderer(0)
	defer r.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Go(func() {
			svg, err := r.SVG(context.Background(), testGraph(1+i%4).DOT())
			if err == nil && !bytes.Contains(svg, []byte(fmt.Sprintf("%d calls", 1+i%4))) {
				err = fmt.Errorf("render %d: wrong SVG", i)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if hits, renders := r.Stats(); renders != 4 || hits != 12 {
		t.Errorf("hits %d, renders %d; want 12 and 4 (each graph rendered once)", hits, renders)
	}
}
