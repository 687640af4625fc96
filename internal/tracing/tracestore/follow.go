package tracestore

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/owlstack/owl/internal/tracectx"
	"github.com/owlstack/owl/internal/tracing"
	"github.com/owlstack/owl/internal/tracing/stitch"
	"github.com/owlstack/owl/internal/tracing/tracingalb"
)

// FollowOptions configure a Follower.
type FollowOptions struct {
	// App lists owl access-log files or folders (JSON lines); files are
	// tailed as they grow. A file that does not exist yet is looked for
	// again at every poll.
	App []string
	// ALB lists AWS ALB access-log files or folders (plain or gzip, as AWS
	// names them); a file is read again whole when its size or time changes.
	ALB []string
	// Interval is the time between polls; 0 is 2 s.
	Interval time.Duration
	// Settle is how long a trace must go without new lines before it is
	// stitched; 0 is 3 s (access logs are flushed every second, and a
	// request's own line comes after its calls').
	Settle time.Duration
	// Keep is how long a stitched trace's lines are kept, so that a late
	// line rebuilds the whole trace instead of a fragment; 0 is 1 min.
	Keep time.Duration
	// MaxPendingBytes bounds the lines kept; over it the oldest traces are
	// stitched at once and forgotten. 0 is 32 MiB.
	MaxPendingBytes int64
	// StartBytes is how much of a plain file's end is read when it is first
	// seen, so that a long log does not fill memory at start; 0 is 16 MiB,
	// negative reads files whole.
	StartBytes int64
	// TempDir holds the stitcher's input files; "" is the system's.
	TempDir string
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// Log receives warnings; nil discards them.
	Log *slog.Logger
}

// FollowStats count what a Follower read and built.
type FollowStats struct {
	Polls     int64 `json:"polls"`
	Files     int   `json:"files"`
	Lines     int64 `json:"lines"`
	Malformed int64 `json:"malformed"`
	Stitched  int64 `json:"stitched"`
	Pending   int   `json:"pending_traces"`
	// PendingBytes is the size of the lines kept for traces.
	PendingBytes int64 `json:"pending_bytes"`
	// Forced counts traces stitched early because of MaxPendingBytes.
	Forced int64  `json:"forced"`
	Error  string `json:"last_error,omitempty"`
}

// Follower feeds a Store from access logs as they are written.
type Follower struct {
	store  *Store
	opts   FollowOptions
	files  map[string]*fileState
	groups map[string]*group
	bytes  int64

	mu    sync.Mutex
	stats FollowStats
}

type fileState struct {
	alb     bool
	off     int64
	size    int64
	mod     time.Time
	started bool
}

// group is the lines of one trace seen so far.
type group struct {
	app, alb [][]byte
	bytes    int64
	last     time.Time // when its last line arrived
	dirty    bool      // lines arrived since it was last stitched
}

// NewFollower returns a Follower that puts the traces it builds into store.
func NewFollower(store *Store, opts FollowOptions) *Follower {
	if opts.Interval <= 0 {
		opts.Interval = 2 * time.Second
	}
	if opts.Settle <= 0 {
		opts.Settle = 3 * time.Second
	}
	if opts.Keep <= 0 {
		opts.Keep = time.Minute
	}
	if opts.MaxPendingBytes <= 0 {
		opts.MaxPendingBytes = 32 << 20
	}
	if opts.StartBytes == 0 {
		opts.StartBytes = 16 << 20
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	return &Follower{store: store, opts: opts, files: map[string]*fileState{}, groups: map[string]*group{}}
}

// Stats returns the follower's counts.
func (f *Follower) Stats() FollowStats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stats
}

// Run polls until ctx ends. A failed poll is logged and retried at the
// next one: a log being rotated is no reason to stop the UI.
func (f *Follower) Run(ctx context.Context) error {
	t := time.NewTicker(f.opts.Interval)
	defer t.Stop()
	for {
		if err := f.Poll(ctx); err != nil && ctx.Err() == nil {
			f.opts.Log.Warn("follow access logs", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Poll reads what the files gained since the last poll, stitches the
// traces that have settled and forgets those kept long enough.
func (f *Follower) Poll(ctx context.Context) error {
	err := f.poll(ctx)
	f.mu.Lock()
	f.stats.Polls++
	f.stats.Files = len(f.files)
	f.stats.Pending = len(f.groups)
	f.stats.PendingBytes = f.bytes
	if err != nil {
		f.stats.Error = err.Error()
	} else {
		f.stats.Error = ""
	}
	f.mu.Unlock()
	return err
}

func (f *Follower) poll(ctx context.Context) error {
	var errs []error
	for _, in := range []struct {
		paths []string
		alb   bool
	}{{f.opts.App, false}, {f.opts.ALB, true}} {
		for _, p := range in.paths {
			files, err := expand(p)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			for _, name := range files {
				st := f.files[name]
				if st == nil {
					st = &fileState{alb: in.alb}
					f.files[name] = st
				}
				if err := f.readFile(name, st); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	if err := f.stitchReady(ctx); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// expand lists the regular files at p (recursively for a folder); a path
// that does not exist yet lists nothing.
func expand(p string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && path == p {
				return nil
			}
			return err
		}
		if d.Type().IsRegular() {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", p, err)
	}
	return files, nil
}

// maxReadPerPoll bounds what one poll reads of one plain file.
const maxReadPerPoll = 64 << 20

func (f *Follower) readFile(name string, st *fileState) error {
	info, err := os.Stat(name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			delete(f.files, name)
			return nil
		}
		return err
	}
	if strings.HasSuffix(name, ".gz") {
		if st.started && info.Size() == st.size && info.ModTime().Equal(st.mod) {
			return nil
		}
		st.started, st.size, st.mod = true, info.Size(), info.ModTime()
		return f.readWhole(name, st.alb)
	}
	skipPartial := false
	if !st.started {
		st.started = true
		if f.opts.StartBytes > 0 && info.Size() > f.opts.StartBytes {
			st.off = info.Size() - f.opts.StartBytes
			skipPartial = true
		}
	}
	if info.Size() < st.off { // truncated or replaced: start again
		st.off = 0
	}
	if info.Size() == st.off {
		return nil
	}
	fh, err := os.Open(name)
	if err != nil {
		return err
	}
	defer fh.Close()
	n := min(info.Size()-st.off, maxReadPerPoll)
	buf := make([]byte, n)
	read, err := fh.ReadAt(buf, st.off)
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read %s: %w", name, err)
	}
	buf = buf[:read]
	// Only whole lines: the rest is read at the next poll.
	end := bytes.LastIndexByte(buf, '\n')
	if end < 0 {
		if int64(read) == maxReadPerPoll {
			st.off += int64(read) // a line longer than we read at once: skip it
		}
		return nil
	}
	chunk := buf[:end+1]
	st.off += int64(len(chunk))
	if skipPartial {
		if i := bytes.IndexByte(chunk, '\n'); i >= 0 {
			chunk = chunk[i+1:]
		}
	}
	for len(chunk) > 0 {
		i := bytes.IndexByte(chunk, '\n')
		f.line(chunk[:i], st.alb)
		chunk = chunk[i+1:]
	}
	return nil
}

func (f *Follower) readWhole(name string, alb bool) error {
	fh, err := os.Open(name)
	if err != nil {
		return err
	}
	defer fh.Close()
	r, err := tracingalb.Open(fh)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		f.line(sc.Bytes(), alb)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	return nil
}

// line files one log line under its trace.
func (f *Follower) line(b []byte, alb bool) {
	b = bytes.TrimRight(b, "\r")
	if len(b) == 0 {
		return
	}
	f.mu.Lock()
	f.stats.Lines++
	f.mu.Unlock()
	key, ok := traceKey(b, alb)
	if !ok {
		f.mu.Lock()
		f.stats.Malformed++
		f.mu.Unlock()
		return
	}
	g := f.groups[key]
	if g == nil {
		g = &group{}
		f.groups[key] = g
	}
	line := bytes.Clone(b)
	if alb {
		g.alb = append(g.alb, line)
	} else {
		g.app = append(g.app, line)
	}
	g.bytes += int64(len(line))
	f.bytes += int64(len(line))
	g.last = f.opts.Now()
	g.dirty = true
}

var traceRootField = []byte(`"trace_root":"`)

// traceKey finds the trace id (32 hex) of a log line.
func traceKey(b []byte, alb bool) (string, bool) {
	var root string
	if alb {
		e, err := tracingalb.ParseLine(string(b))
		if err != nil || e.TraceID == "" {
			return "", false
		}
		a, err := tracectx.ParseAmzn(e.TraceID)
		if err != nil {
			return "", false
		}
		return hex.EncodeToString(a.Root[:]), true
	}
	// Owl's log writer puts the field in one fixed form: find it without
	// decoding the line (the stitcher decodes it, and reports it if broken).
	if i := bytes.Index(b, traceRootField); i >= 0 {
		rest := b[i+len(traceRootField):]
		if j := bytes.IndexByte(rest, '"'); j > 0 {
			root = string(rest[:j])
		}
	}
	if root == "" {
		var rec struct {
			TraceRoot string `json:"trace_root"`
		}
		if err := json.Unmarshal(b, &rec); err != nil {
			return "", false
		}
		root = rec.TraceRoot
	}
	id, err := tracectx.ParseRoot(root)
	if err != nil {
		return "", false
	}
	return id.String(), true
}

// stitchReady stitches every trace that has settled (or must go to stay
// under the memory bound) and forgets those kept long enough.
func (f *Follower) stitchReady(ctx context.Context) error {
	now := f.opts.Now()
	ready := map[string]*group{}
	for k, g := range f.groups {
		if g.dirty && now.Sub(g.last) >= f.opts.Settle {
			ready[k] = g
		}
	}
	var forced []string
	if f.bytes > f.opts.MaxPendingBytes {
		keys := make([]string, 0, len(f.groups))
		for k := range f.groups {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, b string) int { return f.groups[a].last.Compare(f.groups[b].last) })
		over := f.bytes - f.opts.MaxPendingBytes
		for _, k := range keys {
			if over <= 0 {
				break
			}
			g := f.groups[k]
			over -= g.bytes
			forced = append(forced, k)
			if g.dirty {
				ready[k] = g
			}
		}
	}
	var err error
	if len(ready) > 0 {
		err = f.stitch(ctx, ready)
	}
	for k, g := range f.groups {
		if !g.dirty && now.Sub(g.last) >= f.opts.Keep {
			f.drop(k)
		}
	}
	for _, k := range forced {
		if f.groups[k] != nil {
			f.drop(k)
			f.mu.Lock()
			f.stats.Forced++
			f.mu.Unlock()
		}
	}
	return err
}

func (f *Follower) drop(k string) {
	f.bytes -= f.groups[k].bytes
	delete(f.groups, k)
}

// writeLine writes l and a newline to w; a failed write (a full disk)
// ends the file at once instead of at the Flush.
func writeLine(w *bufio.Writer, l []byte) error {
	if _, err := w.Write(l); err != nil {
		return err
	}
	return w.WriteByte('\n')
}

func (f *Follower) stitch(ctx context.Context, ready map[string]*group) error {
	dir, err := os.MkdirTemp(f.opts.TempDir, "owl-follow-*")
	if err != nil {
		return fmt.Errorf("stitch live traces: %w", err)
	}
	defer os.RemoveAll(dir)
	var app, alb []string
	write := func(name string, pick func(*group) [][]byte) (bool, error) {
		fh, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			return false, err
		}
		w := bufio.NewWriterSize(fh, 256<<10)
		any := false
		for _, g := range ready {
			for _, l := range pick(g) {
				any = true
				if err := writeLine(w, l); err != nil {
					fh.Close()
					return false, err
				}
			}
		}
		if err := w.Flush(); err != nil {
			fh.Close()
			return false, err
		}
		return any, fh.Close()
	}
	if ok, err := write("app.jsonl", func(g *group) [][]byte { return g.app }); err != nil {
		return fmt.Errorf("stitch live traces: %w", err)
	} else if ok {
		app = append(app, filepath.Join(dir, "app.jsonl"))
	}
	if ok, err := write("alb.log", func(g *group) [][]byte { return g.alb }); err != nil {
		return fmt.Errorf("stitch live traces: %w", err)
	} else if ok {
		alb = append(alb, filepath.Join(dir, "alb.log"))
	}
	sum, err := stitch.Stitch(ctx, alb, app, storeSink{f.store}, stitch.Options{TempDir: dir, MemBytes: 16 << 20})
	if err != nil {
		return fmt.Errorf("stitch live traces: %w", err)
	}
	for _, g := range ready {
		g.dirty = false
	}
	f.mu.Lock()
	f.stats.Stitched += sum.Traces
	f.mu.Unlock()
	return nil
}

type storeSink struct{ s *Store }

func (s storeSink) WriteTrace(t *tracing.Trace) error {
	s.s.Put(t)
	return nil
}

// LoadTraces puts every trace of the owl-format files (or folders of
// them) into s and returns how many it read.
func LoadTraces(s *Store, paths []string) (int, error) {
	n := 0
	for _, p := range paths {
		files, err := expand(p)
		if err != nil {
			return n, err
		}
		for _, name := range files {
			c, err := loadTraceFile(s, name)
			n += c
			if err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

func loadTraceFile(s *Store, name string) (int, error) {
	fh, err := os.Open(name)
	if err != nil {
		return 0, err
	}
	defer fh.Close()
	r := tracing.NewReader(fh, name)
	n := 0
	for {
		t, err := r.Next()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		s.Put(t)
		n++
	}
}
