// Package stitch builds call trees from ALB and application access logs.
//
// It streams: the files are read in blocks of lines, which workers (one
// per CPU) parse into compact records (a key of trace and span id, and a
// payload of bytes) and buffer; when a worker's share of the memory budget
// is full it sorts its buffer and spills it to a temporary file (a sorted
// run). The runs and the buffers left in memory are then merged, so that
// each trace's spans arrive together and memory stays flat however big the
// logs are; the traces are built while the sink writes the ones before.
//
// Duplicated lines are dropped by trace root and span id (the line read
// first is kept), out-of-order lines need nothing special, spans whose
// parent is missing are attached to the root and flagged, and clock skew
// between hosts is corrected so that every child fits inside its parent.
package stitch

import (
	"context"
	"fmt"
	"math"
	"os"
	"runtime"

	"golang.org/x/sync/errgroup"

	"github.com/owlstack/owl/internal/tracing"
)

// Options tune a Stitch run.
type Options struct {
	// TempDir holds the sorted runs; "" is the system's temporary folder.
	TempDir string
	// MemBytes is the memory budget of the buffers before they spill
	// (shared by the workers); 0 is 64 MiB.
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

// Stitch reads the ALB and application log files, builds one call tree per
// trace and hands them to sink in trace id order. Malformed lines are
// counted and reported in the summary, never fatal; an unreadable file is.
func Stitch(ctx context.Context, albFiles, appFiles []string, sink Sink, opts Options) (*Summary, error) {
	if opts.MemBytes <= 0 {
		opts.MemBytes = 64 << 20
	}
	sum := &Summary{}
	ws, err := ingest(ctx, albFiles, appFiles, opts, sum)
	defer func() {
		for _, w := range ws {
			for _, r := range w.runs {
				os.Remove(r)
			}
		}
	}()
	if err != nil {
		return sum, err
	}
	if err := emit(ctx, ws, sink, opts, sum); err != nil {
		return sum, err
	}
	return sum, nil
}

// ingest reads and parses the files into the workers' runs and buffers.
func ingest(ctx context.Context, albFiles, appFiles []string, opts Options, sum *Summary) ([]*worker, error) {
	n := max(1, min(runtime.GOMAXPROCS(0), maxWorkers))
	work := make(chan *chunk, n)
	r := &reader{work: work, free: make(chan []byte, 2*n+2), progress: opts.Progress}
	g, gctx := errgroup.WithContext(ctx)
	ws := make([]*worker, n)
	for i := range ws {
		w := newWorker(opts.TempDir, int(min(opts.MemBytes/int64(n), math.MaxInt32)))
		ws[i] = w
		g.Go(func() error {
			for c := range work {
				if err := w.chunk(c); err != nil {
					return err
				}
				if cap(c.buf) == chunkSize {
					select {
					case r.free <- c.buf:
					default:
					}
				}
			}
			return nil
		})
	}
	readErr := func() error {
		defer close(work)
		for _, f := range albFiles {
			if err := r.readFile(gctx, f, true); err != nil {
				return err
			}
			sum.Files++
		}
		for _, f := range appFiles {
			if err := r.readFile(gctx, f, false); err != nil {
				return err
			}
			sum.Files++
		}
		return nil
	}()
	err := g.Wait()
	gather(sum, ws, r.files, r.chunkOf)
	if err != nil {
		return ws, err
	}
	if readErr != nil {
		if ctx.Err() != nil {
			return ws, ctx.Err()
		}
		return ws, readErr
	}
	return ws, nil
}

// maxWorkers bounds the parsing workers: the reader and the merge do not
// keep more busy.
const maxWorkers = 4

// maxFanIn bounds the files open at once; more runs are merged in passes.
const maxFanIn = 128

// emit merges the runs and the buffers, builds each trace and hands it to
// sink, building the next traces while the sink writes.
func emit(ctx context.Context, ws []*worker, sink Sink, opts Options, sum *Summary) error {
	var srcs []source
	var runs []string
	for _, w := range ws {
		if len(w.entries) > 0 {
			srcs = append(srcs, w.source())
		}
		runs = append(runs, w.runs...)
	}
	// Each run is read through a buffer; together they take a quarter of
	// the budget, within bounds.
	bufSize := int(min(max(opts.MemBytes/4/int64(max(len(runs), 1)), 64<<10), 1<<20))
	for len(srcs)+len(runs) > maxFanIn {
		k := min(maxFanIn, len(runs))
		merged, err := mergePass(runs[:k], opts.TempDir, bufSize)
		if err != nil {
			return err
		}
		runs = append([]string{merged}, runs[k:]...)
		// The merged run replaces its inputs in the list the caller removes.
		ws[0].runs = append(ws[0].runs, merged)
	}
	m, err := openMerge(srcs, runs, bufSize)
	if err != nil {
		return err
	}
	defer m.close()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan []*tracing.Trace, 4)
	var b builder
	var buildErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(batches)
		buildErr = build(ctx, m, &b, batches)
	}()
	var sinkErr error
	for batch := range batches {
		if sinkErr != nil {
			continue // drain, so that the builder stops
		}
		for _, t := range batch {
			if sinkErr = sink.WriteTrace(t); sinkErr != nil {
				cancel()
				break
			}
		}
	}
	<-done
	sum.Traces += b.traces
	sum.Spans += b.spans
	sum.Duplicates += b.duplicates
	sum.Unmatched += b.unmatched
	sum.Skewed += b.skewed
	if sinkErr != nil {
		return sinkErr
	}
	return buildErr
}

// batchSpans is about how many spans go to the sink at a time.
const batchSpans = 2048

// build reads the merged records, builds the traces and sends them in
// batches.
func build(ctx context.Context, m *merge, b *builder, batches chan<- []*tracing.Trace) error {
	var batch []*tracing.Trace
	spans := 0
	send := func() error {
		select {
		case batches <- batch:
		case <-ctx.Done():
			return ctx.Err()
		}
		batch, spans = nil, 0
		return nil
	}
	flush := func() error {
		t, err := b.build()
		if err != nil {
			return fmt.Errorf("merge: %w", err)
		}
		batch = append(batch, t)
		if spans += len(t.Spans); spans >= batchSpans {
			return send()
		}
		return nil
	}
	for i := 0; ; i++ {
		if i%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		k, p, ok, err := m.next()
		if err != nil {
			return fmt.Errorf("merge: %w", err)
		}
		if !ok {
			break
		}
		if cur, ok := b.pending(); ok && !cur.sameTrace(k) {
			if err := flush(); err != nil {
				return err
			}
		}
		b.add(k, p)
	}
	if _, ok := b.pending(); ok {
		if err := flush(); err != nil {
			return err
		}
	}
	if len(batch) > 0 {
		return send()
	}
	return nil
}

// mergePass merges the runs at paths into a new run and removes them.
func mergePass(paths []string, tempDir string, bufSize int) (string, error) {
	m, err := openMerge(nil, paths, bufSize)
	if err != nil {
		return "", err
	}
	defer m.close()
	f, err := os.CreateTemp(tempDir, "owl-stitch-*.run")
	if err != nil {
		return "", fmt.Errorf("merge: %w", err)
	}
	rw := newRunWriter(f)
	for {
		k, p, ok, err := m.next()
		if err != nil {
			f.Close()
			os.Remove(f.Name())
			return "", fmt.Errorf("merge: %w", err)
		}
		if !ok {
			break
		}
		if err := rw.write(k, p); err != nil {
			f.Close()
			os.Remove(f.Name())
			return "", fmt.Errorf("merge: %w", err)
		}
	}
	if err := rw.flush(); err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", fmt.Errorf("merge: %w", err)
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("merge: %w", err)
	}
	for _, p := range paths {
		os.Remove(p)
	}
	return f.Name(), nil
}
