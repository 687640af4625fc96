// Package coursecache keeps compiled courses in memory for the servers that
// generate sessions, and keeps them fresh from a course store in the
// background.
//
// No request ever waits on the store: readers get the current course with
// one atomic load. The cache verifies every snapshot before it serves it,
// never replaces a good course with a corrupt, truncated or older one, and
// keeps a last-known-good copy of each course on local disk so that a
// restart works while the store is down.
package coursecache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/owlstack/owl/internal/course/snapshot"
	"github.com/owlstack/owl/internal/coursestore"
)

// Store is what the cache needs of a course store.
type Store interface {
	Courses(ctx context.Context) ([]string, error)
	Manifest(ctx context.Context, courseID string) (coursestore.Manifest, error)
	Snapshot(ctx context.Context, m coursestore.Manifest) ([]byte, error)
}

// Options configure a cache.
type Options struct {
	// Courses are the ids of the courses to serve; empty means every course
	// the store lists.
	Courses []string
	// Dir holds the last-known-good copies; empty keeps none.
	Dir string
	// Interval is the time between refreshes; each wait adds up to Jitter.
	Interval time.Duration
	Jitter   time.Duration
	// Timeout bounds each call to the store.
	Timeout time.Duration
}

// Entry is a course as served, with the manifest it came from.
type Entry struct {
	Course   *snapshot.Course
	Manifest coursestore.Manifest
	// LoadedAt is when this version was loaded into memory.
	LoadedAt time.Time
	// FromDisk is true when the course came from the local copy and has not
	// yet been confirmed by the store.
	FromDisk bool
}

// Cache holds the courses. The zero value is not usable; call New.
type Cache struct {
	store   Store
	opts    Options
	log     *slog.Logger
	now     func() time.Time
	courses atomic.Pointer[map[string]*Entry]
	mu      sync.Mutex // serialises refreshes and writes of courses
	metrics *cacheMetrics
}

type cacheMetrics struct {
	version       *prometheus.GaugeVec
	published     *prometheus.GaugeVec
	loaded        *prometheus.GaugeVec
	refreshErrors *prometheus.CounterVec
	loadDuration  prometheus.Histogram
	skills        *prometheus.CounterVec
}

// New returns a cache over store; metrics are registered in reg.
func New(store Store, opts Options, log *slog.Logger, reg prometheus.Registerer) *Cache {
	if opts.Interval <= 0 {
		opts.Interval = 30 * time.Second
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	c := &Cache{store: store, opts: opts, log: log, now: time.Now}
	empty := map[string]*Entry{}
	c.courses.Store(&empty)
	c.metrics = &cacheMetrics{
		version: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "owl_course_version", Help: "Manifest version of the course snapshot being served.",
		}, []string{"course"}),
		published: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "owl_course_snapshot_published_timestamp_seconds", Help: "When the served snapshot was published; time() minus this is its age.",
		}, []string{"course"}),
		loaded: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "owl_course_snapshot_loaded_timestamp_seconds", Help: "When the served snapshot was loaded into memory.",
		}, []string{"course"}),
		refreshErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "owl_course_refresh_errors_total", Help: "Failed attempts to refresh a course from the store, by reason.",
		}, []string{"course", "reason"}),
		loadDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "owl_course_load_duration_seconds", Help: "Time to verify and decode a snapshot into memory.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 8),
		}),
		skills: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "owl_course_skills_loaded_total", Help: "Skills of the installed versions, by how they were loaded: decoded from the snapshot, or reused unchanged from the version served before.",
		}, []string{"course", "how"}),
	}
	reg.MustRegister(c.metrics.version, c.metrics.published, c.metrics.loaded, c.metrics.refreshErrors, c.metrics.loadDuration, c.metrics.skills)
	return c
}

// Get returns the current entry of a course. It never blocks.
func (c *Cache) Get(courseID string) (*Entry, bool) {
	e, ok := (*c.courses.Load())[courseID]
	return e, ok
}

// List returns the ids of the courses in memory, sorted.
func (c *Cache) List() []string {
	m := *c.courses.Load()
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Ready reports an error until every configured course is in memory (or,
// with no list configured, until at least one course is).
func (c *Cache) Ready(context.Context) error {
	m := *c.courses.Load()
	if len(c.opts.Courses) == 0 {
		if len(m) == 0 {
			return errors.New("no course loaded yet")
		}
		return nil
	}
	var missing []string
	for _, id := range c.opts.Courses {
		if _, ok := m[id]; !ok {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("courses not loaded yet: %s", strings.Join(missing, ", "))
	}
	return nil
}

// Run loads the local copies, then refreshes from the store until ctx ends.
// Store failures are logged and counted, never fatal.
func (c *Cache) Run(ctx context.Context) error {
	c.LoadDisk()
	for {
		c.Refresh(ctx)
		wait := c.opts.Interval
		if c.opts.Jitter > 0 {
			wait += rand.N(c.opts.Jitter)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

// The local copy of a course is its manifest, <id>.manifest.json, and the
// snapshot it names, <id>.<sha256>.owlc: a crash between writing the two
// leaves the previous pair intact.
func (c *Cache) manifestPath(id string) string {
	return filepath.Join(c.opts.Dir, id+".manifest.json")
}

func (c *Cache) snapshotPath(id, sha string) string {
	return filepath.Join(c.opts.Dir, id+"."+sha+snapshot.Extension)
}

// LoadDisk loads the last-known-good copies of the courses found in Dir.
func (c *Cache) LoadDisk() {
	if c.opts.Dir == "" {
		return
	}
	ids := c.opts.Courses
	if len(ids) == 0 {
		matches, _ := filepath.Glob(filepath.Join(c.opts.Dir, "*.manifest.json"))
		for _, m := range matches {
			ids = append(ids, strings.TrimSuffix(filepath.Base(m), ".manifest.json"))
		}
	}
	for _, id := range ids {
		mb, err := os.ReadFile(c.manifestPath(id))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		var m coursestore.Manifest
		if err == nil {
			err = json.Unmarshal(mb, &m)
		}
		var data []byte
		if err == nil {
			data, err = os.ReadFile(c.snapshotPath(id, m.SHA256))
		}
		if err == nil {
			err = c.install(id, m, data, true)
		}
		if err != nil {
			c.log.Warn("local course copy unusable", "course", id, "err", err)
			c.metrics.refreshErrors.WithLabelValues(id, "disk").Inc()
		}
	}
}

// Refresh checks the store once for newer versions of the courses.
func (c *Cache) Refresh(ctx context.Context) {
	ids := c.opts.Courses
	if len(ids) == 0 {
		lctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
		var err error
		ids, err = c.store.Courses(lctx)
		cancel()
		if err != nil {
			c.log.Warn("list courses in store", "err", err)
			c.metrics.refreshErrors.WithLabelValues("", "list").Inc()
			ids = c.List()
		}
	}
	for _, id := range ids {
		if ctx.Err() != nil {
			return
		}
		if err := c.refreshOne(ctx, id); err != nil {
			c.log.Warn("refresh course", "course", id, "err", err)
		}
	}
}

func (c *Cache) refreshOne(ctx context.Context, id string) error {
	fail := func(reason string, err error) error {
		c.metrics.refreshErrors.WithLabelValues(id, reason).Inc()
		return err
	}
	mctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	m, err := c.store.Manifest(mctx, id)
	cancel()
	if err != nil {
		return fail("manifest", err)
	}
	if cur, ok := c.Get(id); ok {
		switch {
		case m.Version < cur.Manifest.Version:
			return fail("older", fmt.Errorf("store offers version %d, older than the %d being served: refused", m.Version, cur.Manifest.Version))
		case m.SHA256 == cur.Manifest.SHA256:
			if cur.FromDisk {
				c.confirm(id, m)
			}
			return nil
		case m.Version == cur.Manifest.Version:
			return fail("conflict", fmt.Errorf("store offers version %d with a different snapshot than the one being served: refused", m.Version))
		}
	}
	sctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	data, err := c.store.Snapshot(sctx, m)
	cancel()
	if err != nil {
		return fail("snapshot", err)
	}
	if err := c.install(id, m, data, false); err != nil {
		return fail("corrupt", err)
	}
	if err := c.saveDisk(id, m, data); err != nil {
		c.log.Warn("save local course copy", "course", id, "err", err)
		c.metrics.refreshErrors.WithLabelValues(id, "disk").Inc()
	}
	return nil
}

// install verifies data against m and, if it is good and not older than
// what is served, makes it the served version of course id. Only what
// changed since the served version is decoded: consecutive versions share
// most of their skills.
func (c *Cache) install(id string, m coursestore.Manifest, data []byte, fromDisk bool) error {
	start := time.Now()
	var prev *snapshot.Course
	if cur, ok := c.Get(id); ok {
		prev = cur.Course
	}
	sc, err := snapshot.Reload(prev, data)
	if err != nil {
		return err
	}
	// The file's checksum covers the bytes of the chunks Reload reused
	// without reading them.
	if sc.Header.SHA256 != m.SHA256 {
		return fmt.Errorf("%w: file checksum %s does not match the manifest's %s", snapshot.ErrCorrupt, sc.Header.SHA256, m.SHA256)
	}
	if sc.Header.CourseID != id {
		return fmt.Errorf("snapshot is of course %q, manifest names %q", sc.Header.CourseID, id)
	}
	c.metrics.loadDuration.Observe(time.Since(start).Seconds())

	c.mu.Lock()
	defer c.mu.Unlock()
	old := *c.courses.Load()
	if cur, ok := old[id]; ok && cur.Manifest.Version > m.Version {
		return fmt.Errorf("version %d is older than the %d being served", m.Version, cur.Manifest.Version)
	}
	next := make(map[string]*Entry, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	next[id] = &Entry{Course: sc, Manifest: m, LoadedAt: c.now(), FromDisk: fromDisk}
	c.courses.Store(&next)
	c.metrics.version.WithLabelValues(id).Set(float64(m.Version))
	c.metrics.published.WithLabelValues(id).Set(float64(m.PublishedAt.UnixNano()) / 1e9)
	c.metrics.loaded.WithLabelValues(id).Set(float64(c.now().UnixNano()) / 1e9)
	st := sc.LoadStats()
	c.metrics.skills.WithLabelValues(id, "decoded").Add(float64(st.DecodedSkills))
	c.metrics.skills.WithLabelValues(id, "reused").Add(float64(st.ReusedSkills))
	c.log.Info("course loaded", "course", id, "version", m.Version, "sha256", m.SHA256, "from_disk", fromDisk,
		"decoded_skills", st.DecodedSkills, "reused_skills", st.ReusedSkills, "duration", time.Since(start))
	return nil
}

// confirm marks a course loaded from disk as matching the store.
func (c *Cache) confirm(id string, m coursestore.Manifest) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := *c.courses.Load()
	cur, ok := old[id]
	if !ok || cur.Manifest.SHA256 != m.SHA256 {
		return
	}
	next := make(map[string]*Entry, len(old))
	for k, v := range old {
		next[k] = v
	}
	e := *cur
	e.FromDisk, e.Manifest = false, m
	next[id] = &e
	c.courses.Store(&next)
}

// saveDisk writes the local copy atomically: snapshot first, manifest last,
// each through a temporary file and a rename; then it removes older snapshots.
func (c *Cache) saveDisk(id string, m coursestore.Manifest, data []byte) error {
	if c.opts.Dir == "" {
		return nil
	}
	if err := os.MkdirAll(c.opts.Dir, 0o755); err != nil {
		return err
	}
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	keep := c.snapshotPath(id, m.SHA256)
	if err := writeAtomic(keep, data); err != nil {
		return err
	}
	if err := writeAtomic(c.manifestPath(id), append(mb, '\n')); err != nil {
		return err
	}
	old, _ := filepath.Glob(filepath.Join(c.opts.Dir, id+".*"+snapshot.Extension))
	for _, p := range old {
		if p != keep {
			os.Remove(p)
		}
	}
	return nil
}

func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
