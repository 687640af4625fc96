// Package stitch builds call trees from ALB and application access logs.
//
// It streams: the files are read in blocks of lines, which workers (one
// per CPU) parse into compact records (a key of trace and span id, and a
// payload of bytes) and buffer; when a worker's share of the memory budget
// is full it sorts its buffer and spills it to a temporary file (a sorted
// run). The runs and the buffers left in memory are then merged, so that
// each trace's spans arrive together and memory stays flat however big the
// logs are; batches of traces are built (and, for owl's format, encoded)
// on every CPU while the sink writes the ones before.
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
			w.sort() // what stays in memory, while the other workers finish
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

	// One goroutine merges and cuts the records into batches of whole
	// traces, builders (one per CPU) build them and, when the sink can
	// take lines, encode them, and this goroutine writes the batches in
	// order.
	enc, _ := sink.(encodingSink)
	n := max(1, min(runtime.GOMAXPROCS(0), maxWorkers))
	g, gctx := errgroup.WithContext(ctx)
	jobs := make(chan *batch, n)
	inOrder := make(chan *batch, 2*n)
	free := make(chan *batch, 3*n+1)
	var duplicates int64
	g.Go(func() error {
		defer close(inOrder)
		defer close(jobs)
		return cut(gctx, m, jobs, inOrder, free, &duplicates)
	})
	builders := make([]builder, n)
	for i := range builders {
		b := &builders[i]
		b.transient = enc != nil
		g.Go(func() error {
			for j := range jobs {
				j.build(b, enc)
				close(j.done)
			}
			return nil
		})
	}
	g.Go(func() error {
		for j := range inOrder {
			select {
			case <-j.done:
			case <-gctx.Done():
				return gctx.Err()
			}
			if err := j.write(sink, enc); err != nil {
				return err
			}
			select {
			case free <- j:
			default:
			}
		}
		return nil
	})
	err = g.Wait()
	sum.Duplicates += duplicates
	for i := range builders {
		b := &builders[i]
		sum.Traces += b.traces
		sum.Spans += b.spans
		sum.Duplicates += b.duplicates
		sum.Unmatched += b.unmatched
		sum.Skewed += b.skewed
	}
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// An encodingSink is a Sink whose lines can be made on other goroutines:
// the builders encode the traces and the sink only writes the bytes.
type encodingSink interface {
	Sink
	// AppendTrace appends t's line, as WriteTrace writes it, to b; several
	// goroutines may call it at once, and it keeps nothing of t.
	AppendTrace(b []byte, t *tracing.Trace) ([]byte, error)
	// WriteLines writes lines AppendTrace made.
	WriteLines(b []byte) error
}

// batchSpans is about how many spans a batch holds.
const batchSpans = 2048

// A batch is a run of whole traces' records, in merge order, and what
// building them made: their lines or their traces.
type batch struct {
	keys  []key
	ends  []int // payload i is arena[ends[i-1]:ends[i]]
	arena []byte
	cuts  []int // trace i is keys[cuts[i-1]:cuts[i]]

	out    []byte           // the lines, for an encodingSink
	traces []*tracing.Trace // the traces, for another sink
	err    error            // what stopped the build, after out or traces
	done   chan struct{}    // closed when built
}

func (j *batch) reset() {
	j.keys, j.ends, j.arena, j.cuts = j.keys[:0], j.ends[:0], j.arena[:0], j.cuts[:0]
	j.out, j.traces, j.err = j.out[:0], nil, nil
	j.done = make(chan struct{})
}

// cut reads the merged records, drops duplicates (same trace and span id,
// the one read first is kept) and sends batches of whole traces to the
// builders and, in the same order, to the writer.
func cut(ctx context.Context, m *merge, jobs, inOrder chan<- *batch, free <-chan *batch, duplicates *int64) error {
	var j *batch
	next := func() {
		select {
		case j = <-free:
		default:
			j = &batch{}
		}
		j.reset()
	}
	send := func() error {
		for _, ch := range [...]chan<- *batch{inOrder, jobs} {
			select {
			case ch <- j:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	}
	next()
	var last key
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
		if i > 0 {
			if k == last {
				*duplicates++
				continue
			}
			if !k.sameTrace(last) {
				j.cuts = append(j.cuts, len(j.keys))
				if len(j.keys) >= batchSpans {
					if err := send(); err != nil {
						return err
					}
					next()
				}
			}
		}
		last = k
		j.keys = append(j.keys, k)
		j.arena = append(j.arena, p...)
		j.ends = append(j.ends, len(j.arena))
	}
	if len(j.keys) == 0 {
		return nil
	}
	j.cuts = append(j.cuts, len(j.keys))
	return send()
}

// build builds the batch's traces with b and, if enc is set, encodes them.
func (j *batch) build(b *builder, enc encodingSink) {
	start := 0
	for _, end := range j.cuts {
		from := 0
		if start > 0 {
			from = j.ends[start-1]
		}
		// cut dropped the duplicates: the trace's records are built
		// where they are.
		t, err := b.buildFrom(j.keys[start:end], j.ends[start:end], j.arena, from)
		start = end
		if err != nil {
			j.err = fmt.Errorf("merge: %w", err)
			return
		}
		if enc == nil {
			j.traces = append(j.traces, t)
			continue
		}
		n := len(j.out)
		if j.out, err = enc.AppendTrace(j.out, t); err != nil {
			j.out, j.err = j.out[:n], err
			return
		}
	}
}

// write hands the batch's lines or traces to the sink.
func (j *batch) write(sink Sink, enc encodingSink) error {
	if enc != nil {
		if len(j.out) > 0 {
			if err := enc.WriteLines(j.out); err != nil {
				return err
			}
		}
	} else {
		for _, t := range j.traces {
			if err := sink.WriteTrace(t); err != nil {
				return err
			}
		}
	}
	if cap(j.out) > 16<<20 || cap(j.arena) > 16<<20 { // do not keep a huge trace's buffers
		*j = batch{}
	}
	return j.err
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
