package stitch

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"unsafe"

	"github.com/owlstack/owl/internal/tracing/tracingalb"
)

// chunk is a block of whole lines of one file, parsed by one worker.
type chunk struct {
	buf []byte
	seq uint32 // chunks are numbered in read order, across files
	alb bool
}

// chunkSize is the size of the blocks the files are read in.
const chunkSize = 1 << 20

// countingReader counts the bytes read from a file, for progress.
type countingReader struct {
	r io.Reader
	n *int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	*c.n += int64(n)
	return n, err
}

// reader cuts the input files into chunks of whole lines and hands them to
// the workers.
type reader struct {
	work     chan<- *chunk
	free     chan []byte // chunk buffers the workers are done with
	read     int64       // bytes read, as stored
	files    []string    // the files read or being read
	chunkOf  []int32     // the file of each chunk (an index in files), by seq
	progress func(int64)
}

func (r *reader) buffer() []byte {
	select {
	case b := <-r.free:
		return b[:0]
	default:
		return make([]byte, 0, chunkSize)
	}
}

func (r *reader) send(ctx context.Context, c *chunk) error {
	select {
	case r.work <- c:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (r *reader) readFile(ctx context.Context, path string, alb bool) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	in, err := tracingalb.Open(&countingReader{r: f, n: &r.read})
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	r.files = append(r.files, path)
	var buf []byte
	if info, err := f.Stat(); err == nil && info.Size() < chunkSize/2 {
		// A small file (stitched again and again by a follower, say)
		// takes a small buffer; it grows if it is compressed.
		buf = make([]byte, 0, info.Size()+4<<10)
	} else {
		buf = r.buffer()
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		eof := false
		for len(buf) < cap(buf) {
			n, err := in.Read(buf[len(buf):cap(buf)])
			buf = buf[:len(buf)+n]
			if err == io.EOF {
				eof = true
				break
			}
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
		}
		if r.progress != nil {
			r.progress(r.read)
		}
		var rest []byte
		if !eof {
			i := bytes.LastIndexByte(buf, '\n')
			if i < 0 { // a line longer than the buffer: read on
				buf = slices.Grow(buf, cap(buf))
				continue
			}
			buf, rest = buf[:i+1], buf[i+1:]
		}
		if len(buf) > 0 {
			next := r.buffer()
			next = append(next, rest...) // before a worker may reuse buf
			r.chunkOf = append(r.chunkOf, int32(len(r.files)-1))
			if err := r.send(ctx, &chunk{buf: buf, seq: uint32(len(r.chunkOf) - 1), alb: alb}); err != nil {
				return err
			}
			buf = next
		}
		if eof {
			if len(buf) == 0 && cap(buf) == chunkSize {
				select {
				case r.free <- buf:
				default:
				}
			}
			return nil
		}
	}
}

// problem is a malformed line, numbered within its chunk until the chunks
// before it are counted.
type problem struct {
	seq  uint32
	line int64
	msg  string
}

// worker parses chunks into records and buffers them; when its share of
// the memory budget is full it sorts them and spills them to a run file.
type worker struct {
	tempDir string
	share   int

	entries []entry
	arena   []byte
	// The buffer's limits, split between entries and arena as the
	// records seen so far need.
	maxEntries, maxArena int

	runs     []string
	problems []problem
	lines    map[uint32]int64 // lines per chunk
	sum      Summary          // this worker's counts
	f        appFields
}

// entry is a buffered record: its key and where its payload lies.
type entry struct {
	key
	off, n uint32
}

const entrySize = int(unsafe.Sizeof(entry{}))

// typicalPayload is about the size of an owl access-log line's payload,
// for the first split of the budget.
const typicalPayload = 150

func newWorker(tempDir string, share int) *worker {
	w := &worker{tempDir: tempDir, share: share, lines: map[uint32]int64{}}
	w.split(typicalPayload)
	return w
}

// split divides the budget for records of about payload bytes.
func (w *worker) split(payload int) {
	w.maxEntries = max(w.share/(entrySize+payload), 16)
	w.maxArena = max(w.share-w.maxEntries*entrySize, 4<<10)
}

// reserve makes room for n more arena bytes, growing the arena in steps
// up to its limit rather than as append would. The steps are large (8×),
// so that a big input copies and touches little memory before the arena
// reaches its limit, and a small one still takes little.
func (w *worker) reserve(n int) {
	if cap(w.arena)-len(w.arena) >= n {
		return
	}
	size := max(min(8*cap(w.arena), w.maxArena+(64<<10)), 64<<10, len(w.arena)+n)
	arena := make([]byte, len(w.arena), size)
	copy(arena, w.arena)
	w.arena = arena
}

func (w *worker) chunk(c *chunk) error {
	data := c.buf
	var line int64
	for len(data) > 0 {
		var b []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			b, data = data[:i], data[i+1:]
		} else {
			b, data = data, nil
		}
		line++
		for len(b) > 0 && b[len(b)-1] == '\r' {
			b = b[:len(b)-1]
		}
		if len(b) == 0 {
			continue
		}
		if err := w.parse(c, line, b); err != nil {
			return err
		}
	}
	w.sum.Lines += line
	w.lines[c.seq] = line
	return nil
}

func (w *worker) parse(c *chunk, line int64, b []byte) error {
	// The line's bytes are read as a string while it is parsed: what is
	// kept is copied into the arena, and the chunk is reused only after.
	s := unsafe.String(unsafe.SliceData(b), len(b))
	seq := uint64(c.seq)<<32 | uint64(line)
	w.reserve(len(b) + 64)
	start := len(w.arena)
	var k key
	var err error
	if c.alb {
		w.sum.ALBLines++
		w.arena, k, err = appendALB(w.arena, seq, s)
		if errors.Is(err, errNoTrace) {
			w.sum.Parsed++
			w.sum.NoTrace++
			return nil
		}
	} else {
		w.sum.AppLines++
		if err = parseApp(s, &w.f); err == nil {
			w.arena, k, err = appendApp(w.arena, seq, &w.f)
		}
		w.f = appFields{} // do not keep pointers into the chunk
	}
	if err != nil {
		w.arena = w.arena[:start]
		w.sum.Malformed++
		if len(w.problems) < maxProblems {
			w.problems = append(w.problems, problem{seq: c.seq, line: line, msg: err.Error()})
		}
		return nil
	}
	w.sum.Parsed++
	w.entries = append(w.entries, entry{key: k, off: uint32(start), n: uint32(len(w.arena) - start)})
	if len(w.entries) >= w.maxEntries || len(w.arena) >= w.maxArena {
		return w.spill()
	}
	return nil
}

// sort orders the buffer by key, duplicates by read position.
func (w *worker) sort() {
	arena := w.arena
	slices.SortFunc(w.entries, func(a, b entry) int {
		if c := compareKeys(a.key, b.key); c != 0 {
			return c
		}
		return cmp.Compare(seqOf(arena[a.off:]), seqOf(arena[b.off:]))
	})
}

// spill sorts the buffer and writes it to a new run file.
func (w *worker) spill() error {
	if len(w.entries) == 0 {
		return nil
	}
	w.sort()
	f, err := os.CreateTemp(w.tempDir, "owl-stitch-*.run")
	if err != nil {
		return fmt.Errorf("spill: %w", err)
	}
	w.runs = append(w.runs, f.Name())
	rw := newRunWriter(f)
	for i := range w.entries {
		e := &w.entries[i]
		if err := rw.write(e.key, w.arena[e.off:e.off+e.n]); err != nil {
			f.Close()
			return fmt.Errorf("spill: %w", err)
		}
	}
	if err := rw.flush(); err != nil {
		f.Close()
		return fmt.Errorf("spill: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("spill: %w", err)
	}
	w.sum.Runs++
	// Split the budget as these records needed it.
	w.split(len(w.arena) / len(w.entries))
	w.entries = w.entries[:0]
	if cap(w.arena) > 2*w.maxArena { // grown for a huge line: let it go
		w.arena = nil
	}
	w.arena = w.arena[:0]
	return nil
}

// source returns the records left in memory, which sort has ordered.
func (w *worker) source() *memSource {
	return &memSource{entries: w.entries, arena: w.arena}
}

// gather adds the workers' counts and problems to sum; chunkOf and files
// name the file of each chunk, to number the problems' lines within their
// files.
func gather(sum *Summary, ws []*worker, files []string, chunkOf []int32) {
	var problems []problem
	lines := map[uint32]int64{}
	for _, w := range ws {
		sum.Lines += w.sum.Lines
		sum.ALBLines += w.sum.ALBLines
		sum.AppLines += w.sum.AppLines
		sum.Parsed += w.sum.Parsed
		sum.Malformed += w.sum.Malformed
		sum.NoTrace += w.sum.NoTrace
		sum.Runs += w.sum.Runs
		problems = append(problems, w.problems...)
		for seq, n := range w.lines {
			lines[seq] = n
		}
	}
	if len(problems) == 0 {
		return
	}
	slices.SortFunc(problems, func(a, b problem) int {
		if c := cmp.Compare(a.seq, b.seq); c != 0 {
			return c
		}
		return cmp.Compare(a.line, b.line)
	})
	problems = problems[:min(len(problems), maxProblems)]
	// Each chunk's first line follows the lines of the file's chunks before it.
	base := make([]int64, len(chunkOf))
	for seq := 1; seq < len(chunkOf); seq++ {
		if chunkOf[seq] == chunkOf[seq-1] {
			base[seq] = base[seq-1] + lines[uint32(seq-1)]
		}
	}
	for _, p := range problems {
		sum.Problems = append(sum.Problems, fmt.Sprintf("%s:%d: %s", files[chunkOf[p.seq]], base[p.seq]+p.line, p.msg))
	}
}
