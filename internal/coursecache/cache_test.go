package coursecache

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/owlstack/owl/internal/course"
	"github.com/owlstack/owl/internal/course/coursegen"
	"github.com/owlstack/owl/internal/course/librelingo"
	"github.com/owlstack/owl/internal/course/snapshot"
	"github.com/owlstack/owl/internal/coursestore"
	"github.com/owlstack/owl/internal/logging"
)

var (
	compileOnce sync.Once
	compiled    *course.Course
	challenges  []course.SkillChallenges
)

func compile(t testing.TB, id, version string) []byte {
	t.Helper()
	return compileEdited(t, id, version, "")
}

// compileEdited compiles the test course with intro added to the
// introduction of its first skill.
func compileEdited(t testing.TB, id, version, intro string) []byte {
	t.Helper()
	compileOnce.Do(func() {
		dir := t.TempDir()
		if err := coursegen.Write(dir, coursegen.Options{Words: 8, Phrases: 6, Modules: 1, SkillsPerModule: 2, Seed: 3}); err != nil {
			t.Fatal(err)
		}
		c, _, err := librelingo.Load(dir, librelingo.Options{})
		if err != nil {
			t.Fatal(err)
		}
		compiled, challenges = c, course.Derive(c)
	})
	c := *compiled
	c.Modules = slices.Clone(c.Modules)
	c.Modules[0].Skills = slices.Clone(c.Modules[0].Skills)
	c.Modules[0].Skills[0].Introduction += intro
	data, err := snapshot.Compile(snapshot.Header{CourseID: id, CourseVersion: version, CompilerVersion: "test"}, &c, challenges)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// fakeStore is a course store whose answers a test controls.
type fakeStore struct {
	mu        sync.Mutex
	manifests map[string]coursestore.Manifest
	objects   map[string][]byte
	down      bool
	hang      bool
}

func newFakeStore() *fakeStore {
	return &fakeStore{manifests: map[string]coursestore.Manifest{}, objects: map[string][]byte{}}
}

func (f *fakeStore) publish(t testing.TB, id, version string, n int64) coursestore.Manifest {
	t.Helper()
	return f.publishData(t, id, n, compile(t, id, version))
}

func (f *fakeStore) publishData(t testing.TB, id string, n int64, data []byte) coursestore.Manifest {
	t.Helper()
	h, _, err := snapshot.ReadHeader(data)
	if err != nil {
		t.Fatal(err)
	}
	m := coursestore.Manifest{Course: id, SHA256: h.SHA256, Version: n, Size: int64(len(data)), PublishedAt: time.Unix(1_700_000_000+n, 0).UTC()}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.objects[m.SHA256] = data
	f.manifests[id] = m
	return m
}

func (f *fakeStore) set(fn func(f *fakeStore)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *fakeStore) wait(ctx context.Context) error {
	f.mu.Lock()
	down, hang := f.down, f.hang
	f.mu.Unlock()
	if hang {
		<-ctx.Done()
		return ctx.Err()
	}
	if down {
		return errors.New("connection refused")
	}
	return nil
}

func (f *fakeStore) Courses(ctx context.Context) ([]string, error) {
	if err := f.wait(ctx); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []string
	for id := range f.manifests {
		ids = append(ids, id)
	}
	return ids, nil
}

func (f *fakeStore) Manifest(ctx context.Context, id string) (coursestore.Manifest, error) {
	if err := f.wait(ctx); err != nil {
		return coursestore.Manifest{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	m, ok := f.manifests[id]
	if !ok {
		return m, coursestore.ErrNotFound
	}
	return m, nil
}

func (f *fakeStore) Snapshot(ctx context.Context, m coursestore.Manifest) ([]byte, error) {
	if err := f.wait(ctx); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	data, ok := f.objects[m.SHA256]
	if !ok {
		return nil, fmt.Errorf("snapshot %s: %w", m.SHA256, coursestore.ErrNotFound)
	}
	return data, nil
}

func newCache(store Store, dir string, courses ...string) (*Cache, *prometheus.Registry) {
	reg := prometheus.NewRegistry()
	return New(store, Options{Courses: courses, Dir: dir, Interval: time.Minute, Timeout: time.Second}, logging.Discard(), reg), reg
}

func served(t *testing.T, c *Cache, id string) coursestore.Manifest {
	t.Helper()
	e, ok := c.Get(id)
	if !ok {
		t.Fatalf("course %s is not served", id)
	}
	return e.Manifest
}

func errorsFor(reg *prometheus.Registry, reason string) float64 {
	mfs, _ := reg.Gather()
	total := 0.0
	for _, mf := range mfs {
		if mf.GetName() != "owl_course_refresh_errors_total" {
			continue
		}
		for _, m := range mf.Metric {
			for _, l := range m.Label {
				if l.GetName() == "reason" && l.GetValue() == reason {
					total += m.Counter.GetValue()
				}
			}
		}
	}
	return total
}

func TestLoadsAndRefreshes(t *testing.T) {
	store := newFakeStore()
	store.publish(t, "demo", "1", 1)
	c, reg := newCache(store, t.TempDir(), "demo")
	ctx := context.Background()
	if err := c.Ready(ctx); err == nil {
		t.Fatal("ready before loading anything")
	}
	c.Refresh(ctx)
	if err := c.Ready(ctx); err != nil {
		t.Fatalf("not ready after a refresh: %v", err)
	}
	if m := served(t, c, "demo"); m.Version != 1 {
		t.Fatalf("serving version %d", m.Version)
	}
	store.publish(t, "demo", "2", 2)
	c.Refresh(ctx)
	if m := served(t, c, "demo"); m.Version != 2 {
		t.Fatalf("serving version %d after publish of 2", m.Version)
	}
	if v := testutil.ToFloat64(c.metrics.version.WithLabelValues("demo")); v != 2 {
		t.Errorf("owl_course_version = %v", v)
	}
	if n := errorsFor(reg, "manifest") + errorsFor(reg, "corrupt"); n != 0 {
		t.Errorf("%v refresh errors on a healthy store", n)
	}
}

// TestRefreshDecodesOnlyWhatChanged checks that a new version reuses the
// skills it shares with the version served, and serves the same course as
// a full load of the new version.
func TestRefreshDecodesOnlyWhatChanged(t *testing.T) {
	store := newFakeStore()
	store.publish(t, "demo", "1", 1)
	c, _ := newCache(store, "", "demo")
	ctx := context.Background()
	c.Refresh(ctx)
	first, _ := c.Get("demo")
	data := compileEdited(t, "demo", "2", "\n\nEdited.")
	store.publishData(t, "demo", 2, data)
	c.Refresh(ctx)
	e, _ := c.Get("demo")
	if e.Manifest.Version != 2 {
		t.Fatalf("serving version %d after publish of 2", e.Manifest.Version)
	}
	if st := e.Course.LoadStats(); st != (snapshot.LoadStats{DecodedSkills: 1, ReusedSkills: 1}) {
		t.Errorf("load stats %+v, want the edited skill decoded and the other reused", st)
	}
	if &e.Course.Skills[1].Challenges[0] != &first.Course.Skills[1].Challenges[0] {
		t.Error("the unchanged skill was decoded again")
	}
	want, err := snapshot.Load(data)
	if err != nil {
		t.Fatal(err)
	}
	if e.Course.Skills[0].Introduction != want.Skills[0].Introduction || want.Skills[0].Introduction == first.Course.Skills[0].Introduction {
		t.Errorf("introduction %q, want %q", e.Course.Skills[0].Introduction, want.Skills[0].Introduction)
	}
	for how, n := range map[string]float64{"decoded": 3, "reused": 1} {
		if got := testutil.ToFloat64(c.metrics.skills.WithLabelValues("demo", how)); got != n {
			t.Errorf("owl_course_skills_loaded_total{how=%q} = %v, want %v", how, got, n)
		}
	}
}

func TestStoreDownAtStartWithoutDiskCopy(t *testing.T) {
	store := newFakeStore()
	store.publish(t, "demo", "1", 1)
	store.set(func(f *fakeStore) { f.down = true })
	c, reg := newCache(store, t.TempDir(), "demo")
	c.LoadDisk()
	c.Refresh(context.Background())
	if err := c.Ready(context.Background()); err == nil || !strings.Contains(err.Error(), "demo") {
		t.Fatalf("Ready with the store down and no copy = %v, want an error naming demo", err)
	}
	if errorsFor(reg, "manifest") != 1 {
		t.Errorf("store failure not counted")
	}
	store.set(func(f *fakeStore) { f.down = false })
	c.Refresh(context.Background())
	if err := c.Ready(context.Background()); err != nil {
		t.Fatalf("not ready once the store is back: %v", err)
	}
}

func TestStoreDownAtStartWithDiskCopy(t *testing.T) {
	dir := t.TempDir()
	store := newFakeStore()
	m := store.publish(t, "demo", "1", 1)
	first, _ := newCache(store, dir, "demo")
	first.Refresh(context.Background()) // leaves the local copy

	store.set(func(f *fakeStore) { f.down = true })
	c, _ := newCache(store, dir, "demo")
	c.LoadDisk()
	c.Refresh(context.Background())
	if err := c.Ready(context.Background()); err != nil {
		t.Fatalf("not ready from the disk copy: %v", err)
	}
	e, _ := c.Get("demo")
	if !e.FromDisk || e.Manifest.SHA256 != m.SHA256 {
		t.Fatalf("entry = %+v, want the disk copy of %s", e.Manifest, m.SHA256)
	}
	store.set(func(f *fakeStore) { f.down = false })
	c.Refresh(context.Background())
	if e, _ := c.Get("demo"); e.FromDisk {
		t.Error("disk copy not confirmed once the store answered with the same snapshot")
	}
}

func TestCorruptDiskCopyIsIgnored(t *testing.T) {
	dir := t.TempDir()
	store := newFakeStore()
	m := store.publish(t, "demo", "1", 1)
	first, _ := newCache(store, dir, "demo")
	first.Refresh(context.Background())
	path := first.snapshotPath("demo", m.SHA256)
	if err := writeAtomic(path, []byte("garbage")); err != nil {
		t.Fatal(err)
	}
	c, reg := newCache(store, dir, "demo")
	c.LoadDisk()
	if _, ok := c.Get("demo"); ok {
		t.Fatal("a corrupt disk copy was loaded")
	}
	if errorsFor(reg, "disk") != 1 {
		t.Error("corrupt disk copy not counted")
	}
}

func TestBadPublishesNeverReplaceAGoodCourse(t *testing.T) {
	for _, tc := range []struct {
		name   string
		reason string
		break_ func(t *testing.T, f *fakeStore)
	}{
		{"corrupt snapshot", "corrupt", func(t *testing.T, f *fakeStore) {
			m := f.publish(t, "demo", "2", 2)
			f.set(func(f *fakeStore) { f.objects[m.SHA256][len(f.objects[m.SHA256])-1] ^= 1 })
		}},
		{"truncated snapshot", "corrupt", func(t *testing.T, f *fakeStore) {
			m := f.publish(t, "demo", "2", 2)
			f.set(func(f *fakeStore) { f.objects[m.SHA256] = f.objects[m.SHA256][:100] })
		}},
		{"manifest pointing to a missing object", "snapshot", func(t *testing.T, f *fakeStore) {
			m := f.publish(t, "demo", "2", 2)
			f.set(func(f *fakeStore) { delete(f.objects, m.SHA256) })
		}},
		{"snapshot of another course", "corrupt", func(t *testing.T, f *fakeStore) {
			other := f.publish(t, "other", "2", 2)
			f.set(func(f *fakeStore) {
				f.manifests["demo"] = coursestore.Manifest{Course: "demo", SHA256: other.SHA256, Version: 2}
			})
		}},
		{"older version", "older", func(t *testing.T, f *fakeStore) {
			f.publish(t, "demo", "0", 0)
		}},
		{"same version, different content", "conflict", func(t *testing.T, f *fakeStore) {
			f.publish(t, "demo", "1b", 1)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := newFakeStore()
			good := store.publish(t, "demo", "1", 1)
			c, reg := newCache(store, t.TempDir(), "demo")
			c.Refresh(context.Background())
			tc.break_(t, store)
			c.Refresh(context.Background())
			if m := served(t, c, "demo"); m.SHA256 != good.SHA256 {
				t.Fatalf("serving %s after a bad publish, want the good %s", m.SHA256, good.SHA256)
			}
			if errorsFor(reg, tc.reason) != 1 {
				t.Errorf("refresh error with reason %q not counted", tc.reason)
			}
		})
	}
}

func TestSlowStoreNeverBlocksReaders(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := newFakeStore()
		store.publish(t, "demo", "1", 1)
		c, reg := newCache(store, "", "demo")
		c.Refresh(context.Background())
		store.set(func(f *fakeStore) { f.hang = true })
		store.publish(t, "demo", "2", 2)

		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- c.Run(ctx) }()
		time.Sleep(500 * time.Millisecond) // the refresh is now stuck on the store
		if m := served(t, c, "demo"); m.Version != 1 {
			t.Fatalf("serving version %d while the store hangs", m.Version)
		}
		time.Sleep(time.Second) // past the store timeout
		if errorsFor(reg, "manifest") != 1 {
			t.Error("the hanging call was not timed out and counted")
		}
		store.set(func(f *fakeStore) { f.hang = false })
		time.Sleep(2 * time.Minute) // the next refresh picks up version 2
		if m := served(t, c, "demo"); m.Version != 2 {
			t.Errorf("serving version %d after the store recovered", m.Version)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	})
}

func TestDiscoversCourses(t *testing.T) {
	store := newFakeStore()
	store.publish(t, "a", "1", 1)
	store.publish(t, "b", "1", 1)
	c, _ := newCache(store, t.TempDir())
	c.Refresh(context.Background())
	if got := strings.Join(c.List(), ","); got != "a,b" {
		t.Errorf("List = %s", got)
	}
	if err := c.Ready(context.Background()); err != nil {
		t.Error(err)
	}
}

func TestWithRealStore(t *testing.T) {
	ctx := context.Background()
	s, err := coursestore.Open(ctx, "file://"+t.TempDir()+"?metadata=skip")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, _, err := s.Publish(ctx, compile(t, "demo", "1")); err != nil {
		t.Fatal(err)
	}
	c, _ := newCache(s, t.TempDir(), "demo")
	c.Refresh(ctx)
	e, ok := c.Get("demo")
	if !ok || len(e.Course.Skills) != 2 {
		t.Fatalf("course from a real store: %v %v", e, ok)
	}
}
