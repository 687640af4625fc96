// Package graphsvg renders Graphviz DOT text (such as graph.Graph.DOT) as
// SVG in pure Go, with Graphviz compiled to WebAssembly
// (github.com/goccy/go-graphviz on wazero; no cgo, no dot binary), and
// caches the renders.
//
// It is a package of its own because importing go-graphviz costs every
// process that links it: the WebAssembly module is compiled when the
// program starts (about 1 s the first time on a machine, about 50 ms
// later with the compilation cache go-graphviz keeps in the temporary
// folder), so only the commands and servers that draw graphs should pay.
package graphsvg

import (
	"bytes"
	"container/list"
	"context"
	"crypto/sha256"
	"fmt"
	"sync"

	"github.com/goccy/go-graphviz"
)

// graphvizMu serialises all use of go-graphviz: it keeps a single,
// process-wide WebAssembly instance that is not safe for concurrent use,
// so every Renderer must take turns on it.
var graphvizMu sync.Mutex

// Renderer turns DOT text into SVG with Graphviz compiled to WebAssembly
// (see the package doc). Its Graphviz context is created on first use and
// renders are cached by the DOT text's hash, least recently used first
// out. A Renderer is safe for concurrent use; renders run one at a time.
type Renderer struct {
	max int

	mu    sync.Mutex // guards cache, order, hits and misses
	cache map[[32]byte]*list.Element
	order *list.List // of *cached, most recent first

	gv     *graphviz.Graphviz // guarded by graphvizMu
	hits   int64
	misses int64
}

type cached struct {
	key [32]byte
	svg []byte
}

// NewRenderer returns a Renderer that keeps up to maxEntries renders
// (0 means 64). Close it to free the WebAssembly runtime.
func NewRenderer(maxEntries int) *Renderer {
	if maxEntries <= 0 {
		maxEntries = 64
	}
	return &Renderer{max: maxEntries, cache: map[[32]byte]*list.Element{}, order: list.New()}
}

// SVG renders dot as an SVG document. The returned slice is shared with
// the cache: do not modify it.
func (r *Renderer) SVG(ctx context.Context, dot []byte) ([]byte, error) {
	key := sha256.Sum256(dot)
	if svg, ok := r.lookup(key); ok {
		return svg, nil
	}
	graphvizMu.Lock()
	defer graphvizMu.Unlock()
	// Another caller may have rendered the same text while we waited.
	if svg, ok := r.lookup(key); ok {
		return svg, nil
	}
	svg, err := r.render(ctx, dot)
	if err != nil {
		return nil, fmt.Errorf("render svg: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.misses++
	r.cache[key] = r.order.PushFront(&cached{key: key, svg: svg})
	for r.order.Len() > r.max {
		last := r.order.Back()
		r.order.Remove(last)
		delete(r.cache, last.Value.(*cached).key)
	}
	return svg, nil
}

func (r *Renderer) lookup(key [32]byte) ([]byte, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	el, ok := r.cache[key]
	if !ok {
		return nil, false
	}
	r.hits++
	r.order.MoveToFront(el)
	return el.Value.(*cached).svg, true
}

// render runs Graphviz; graphvizMu is held.
func (r *Renderer) render(ctx context.Context, dot []byte) ([]byte, error) {
	if r.gv == nil {
		gv, err := graphviz.New(context.WithoutCancel(ctx))
		if err != nil {
			return nil, err
		}
		r.gv = gv
	}
	g, err := graphviz.ParseBytes(dot)
	if err != nil {
		return nil, fmt.Errorf("parse dot: %w", err)
	}
	defer g.Close()
	var buf bytes.Buffer
	if err := r.gv.Render(ctx, g, graphviz.SVG, &buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Stats returns the cache hits and the renders done.
func (r *Renderer) Stats() (hits, renders int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.hits, r.misses
}

// Close frees the WebAssembly runtime; the Renderer must not be used after.
func (r *Renderer) Close() error {
	graphvizMu.Lock()
	defer graphvizMu.Unlock()
	if r.gv == nil {
		return nil
	}
	err := r.gv.Close()
	r.gv = nil
	return err
}
