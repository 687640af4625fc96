package session

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/owlstack/owl/internal/course"
	"github.com/owlstack/owl/internal/course/snapshot"
	"github.com/owlstack/owl/internal/coursecache"
	"github.com/owlstack/owl/internal/coursestore"
)

// BenchmarkRefresh compares the p99 latency of session generation while the
// course cache installs a new version of the 2,000-word course every 20 ms
// with the p99 without refreshes, in the same run, in alternating phases
// (see benchRefresh). Each refresh is what a
// server does when a version is published: the cache reads the manifest and
// the snapshot (from memory here), verifies the checksums, decodes what
// changed and swaps an atomic pointer; requests never wait on it, but they
// share the processors with it and with the garbage collector's work on
// the new version's memory. Sessions are generated as the server
// generates them, into reused memory: a request that allocates (as
// Service.Generate does, for the session it returns) is made to help the
// collector mark, by tens of microseconds at a time, while a refresh keeps
// the collector busy.
//
// Consecutive versions are realistic publishes of an edited course: in
// refresh=2-skills, each version edits the introduction of one skill and
// undoes the edit of the version before, so 2 of the course's 100 skills
// differ from the version being served (an edit to a word or phrase also
// changes just its skill's snapshot chunk: translations do not reach other
// skills' challenges). refresh=all-skills is the worst case, every skill
// changed in every version, as when a new compiler rewrites every
// challenge.
func BenchmarkRefresh(b *testing.B) {
	if testing.Short() {
		b.Skip("builds a 2,000-word course; skipped with -short")
	}
	c0 := largeCourse(b)
	id := c0.Header.CourseID
	ch := challengesOf(c0)
	version := func(name string, edit func(skill int, intro string) string) snapshotFile {
		data, err := snapshot.Compile(snapshot.Header{CourseID: id, CourseVersion: name, CompilerVersion: "test"}, editIntroductions(c0.Course, edit), ch)
		if err != nil {
			b.Fatal(err)
		}
		h, _, err := snapshot.ReadHeader(data)
		if err != nil {
			b.Fatal(err)
		}
		return snapshotFile{data: data, sha: h.SHA256}
	}
	// Each partial version edits one skill (spread over the course); a
	// full version edits every skill.
	var partial, full []snapshotFile
	for v := range 3 {
		partial = append(partial, version(fmt.Sprint("p", v), func(skill int, intro string) string {
			if skill == 10+30*v {
				return intro + fmt.Sprintf("\n\nEdited in version p%d.", v)
			}
			return intro
		}))
	}
	for v := range 2 {
		full = append(full, version(fmt.Sprint("f", v), func(_ int, intro string) string {
			return intro + fmt.Sprintf("\n\nEdited in version f%d.", v)
		}))
	}

	store := &publishingStore{id: id}
	store.publish(partial[0])
	cache := coursecache.New(store, coursecache.Options{Courses: []string{id}}, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	cache.Refresh(context.Background())
	if err := cache.Ready(context.Background()); err != nil {
		b.Fatal(err)
	}
	e, _ := cache.Get(id)
	u := benchUser(e.Course, 500)
	req := &APIRequest{Course: id, Skill: nextSkill(e.Course, u), Length: 15, Seed: 1, Now: now.Format(time.RFC3339), User: u}
	svc := NewService(newGenerator(), cache, time.Now, 0, slog.New(slog.DiscardHandler))

	b.Run("refresh=2-skills", func(b *testing.B) { benchRefresh(b, svc, req, cache, store, partial) })
	b.Run("refresh=all-skills", func(b *testing.B) { benchRefresh(b, svc, req, cache, store, full) })
}

// The phases of BenchmarkRefresh: refreshing, then settling, then paused.
const (
	refreshPhase = 200 * time.Millisecond
	settlePhase  = 50 * time.Millisecond
	pausePhase   = 200 * time.Millisecond
)

const (
	phaseRefreshing = iota
	phaseSettling
	phasePaused
)

// benchRefresh generates sessions while a refresher alternates between
// publishing and installing the next of versions every 20 ms for
// refreshPhase (a refresh that takes longer than the phase is finished)
// and pausing for settlePhase plus pausePhase. Request latencies are
// sorted by the phase they start and end in: those of the pauses, except
// the settling part where a garbage collection a refresh started may
// still run, are the baseline. Interleaving the two keeps the comparison
// fair on a machine whose load from other processes varies.
func benchRefresh(b *testing.B, svc *Service, req *APIRequest, cache *coursecache.Cache, store *publishingStore, versions []snapshotFile) {
	id := req.Course
	ctx, cancel := context.WithCancel(context.Background())
	var phase atomic.Int32
	phase.Store(phasePaused)
	var wg sync.WaitGroup
	var refreshes atomic.Int64
	var loading atomic.Int64 // nanoseconds spent in refreshes
	var failed atomic.Value
	sleep := func(d time.Duration) bool {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(d):
			return true
		}
	}
	wg.Go(func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for sleep(pausePhase) {
			phase.Store(phaseRefreshing)
			for start := time.Now(); time.Since(start) < refreshPhase; {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				want := store.publish(nextVersion(cache, id, versions))
				t0 := time.Now()
				cache.Refresh(ctx)
				loading.Add(int64(time.Since(t0)))
				if e, _ := cache.Get(id); e.Manifest.Version != want {
					if ctx.Err() == nil {
						failed.Store(fmt.Sprintf("refresh to version %d: still serving %d", want, e.Manifest.Version))
					}
					return
				}
				refreshes.Add(1)
			}
			phase.Store(phaseSettling)
			if !sleep(settlePhase) {
				return
			}
			phase.Store(phasePaused)
		}
	})

	var on, off []time.Duration
	var sess Session // reused, as the server reuses its exchanges' sessions
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ReportAllocs()
	for b.Loop() {
		p := phase.Load()
		t0 := time.Now()
		if _, err := svc.generate(req, nil, &sess); err != nil {
			b.Fatal(err)
		}
		d := time.Since(t0)
		if phase.Load() != p || len(on)+len(off) >= 1<<20 {
			continue
		}
		switch p {
		case phaseRefreshing:
			on = append(on, d)
		case phasePaused:
			off = append(off, d)
		}
	}
	runtime.ReadMemStats(&after)
	cancel()
	wg.Wait()
	if msg := failed.Load(); msg != nil {
		b.Fatal(msg)
	}
	if len(on) < 100 || len(off) < 100 {
		b.Fatalf("%d requests while refreshing and %d while paused: too few for a p99, raise -benchtime", len(on), len(off))
	}
	slices.Sort(on)
	slices.Sort(off)
	p99, base := on[len(on)*99/100], off[len(off)*99/100]
	b.ReportMetric(float64(on[len(on)/2].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(p99.Nanoseconds())/1e3, "p99-µs")
	b.ReportMetric(float64(base.Nanoseconds())/1e3, "paused-p99-µs")
	b.ReportMetric(float64(p99)/float64(base), "x-baseline-p99")
	b.ReportMetric(float64(after.NumGC-before.NumGC), "gc-cycles")
	n := refreshes.Load()
	b.ReportMetric(float64(n), "refreshes")
	if n > 0 {
		b.ReportMetric(float64(loading.Load())/float64(n)/1e6, "ms/refresh")
	}
}

// snapshotFile is a snapshot and its SHA-256.
type snapshotFile struct {
	data []byte
	sha  string
}

// nextVersion returns the version that follows, in versions, the one the
// cache serves, or the first when it serves none of them.
func nextVersion(cache *coursecache.Cache, id string, versions []snapshotFile) snapshotFile {
	e, _ := cache.Get(id)
	for i, v := range versions {
		if v.sha == e.Manifest.SHA256 {
			return versions[(i+1)%len(versions)]
		}
	}
	return versions[0]
}

// publishingStore is a course store with one course whose versions the
// benchmark publishes.
type publishingStore struct {
	id      string
	mu      sync.Mutex
	current coursestore.Manifest
	data    []byte
}

// publish makes f the course's current snapshot and returns its version.
func (s *publishingStore) publish(f snapshotFile) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.current = coursestore.Manifest{Course: s.id, SHA256: f.sha, Version: s.current.Version + 1, Size: int64(len(f.data)), PublishedAt: time.Now()}
	s.data = f.data
	return s.current.Version
}

func (s *publishingStore) Courses(context.Context) ([]string, error) { return []string{s.id}, nil }

func (s *publishingStore) Manifest(_ context.Context, id string) (coursestore.Manifest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id != s.id {
		return coursestore.Manifest{}, coursestore.ErrNotFound
	}
	return s.current, nil
}

func (s *publishingStore) Snapshot(_ context.Context, m coursestore.Manifest) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m.SHA256 != s.current.SHA256 {
		return nil, coursestore.ErrNotFound
	}
	return s.data, nil
}

// editIntroductions returns a copy of c whose skill introductions are
// edit's; c is not modified.
func editIntroductions(c *course.Course, edit func(skill int, intro string) string) *course.Course {
	out := *c
	out.Modules = slices.Clone(c.Modules)
	i := 0
	for m := range out.Modules {
		out.Modules[m].Skills = slices.Clone(out.Modules[m].Skills)
		for s := range out.Modules[m].Skills {
			sk := &out.Modules[m].Skills[s]
			sk.Introduction = edit(i, sk.Introduction)
			i++
		}
	}
	return &out
}

func challengesOf(c *snapshot.Course) []course.SkillChallenges {
	out := make([]course.SkillChallenges, len(c.Skills))
	for i, s := range c.Skills {
		out[i] = course.SkillChallenges{ID: s.OpaqueID, Levels: s.Levels, Challenges: s.Challenges}
	}
	return out
}
