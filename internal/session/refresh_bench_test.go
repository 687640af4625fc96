package session

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/owlstack/owl/internal/course"
	"github.com/owlstack/owl/internal/course/snapshot"
	"github.com/owlstack/owl/internal/coursecache"
	"github.com/owlstack/owl/internal/coursestore"
)

// swapCourses serves one course that a refresher replaces, as the course
// cache does: an atomic pointer, never a lock.
type swapCourses struct {
	e atomic.Pointer[coursecache.Entry]
}

func (s *swapCourses) Get(string) (*coursecache.Entry, bool) { return s.e.Load(), true }

// BenchmarkRefresh compares the p99 latency of session generation while a
// new version of the 2,000-word course is installed every 20 ms (a decode
// of the snapshot and a pointer swap, like a cache refresh) with the p99
// without refreshes, in the same run. A refresh decodes a new version
// (indexes included) off the request path, one challenge at a time, and
// installs it with an atomic store: what a request still pays for is
// sharing the processors with the decoding and the garbage collector's
// work on the new version's memory.
func BenchmarkRefresh(b *testing.B) {
	if testing.Short() {
		b.Skip("builds a 2,000-word course; skipped with -short")
	}
	c0 := largeCourse(b)
	data := snapshotBytes(b, c0)
	u := benchUser(c0, 500)
	req := &APIRequest{Course: c0.Header.CourseID, Skill: nextSkill(c0, u), Length: 15, Seed: 1, Now: now.Format(time.RFC3339), User: u}
	courses := &swapCourses{}
	courses.e.Store(&coursecache.Entry{Course: c0, Manifest: coursestore.Manifest{Version: 1}})
	svc := NewService(newGenerator(), courses, time.Now, 0, slog.New(slog.DiscardHandler))

	run := func(b *testing.B) time.Duration {
		lat := make([]time.Duration, 0, 1<<17)
		b.ReportAllocs()
		for b.Loop() {
			t0 := time.Now()
			if _, err := svc.Generate(req); err != nil {
				b.Fatal(err)
			}
			if len(lat) < cap(lat) {
				lat = append(lat, time.Since(t0))
			}
		}
		slices.Sort(lat)
		p99 := lat[len(lat)*99/100]
		b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
		b.ReportMetric(float64(p99.Nanoseconds())/1e3, "p99-µs")
		return p99
	}
	refreshing := func(b *testing.B, base time.Duration) {
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		var versions atomic.Int64
		wg.Go(func() {
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			for v := int64(2); ; v++ {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				c, err := snapshot.Load(data)
				if err != nil {
					panic(err)
				}
				courses.e.Store(&coursecache.Entry{Course: c, Manifest: coursestore.Manifest{Version: v}})
				versions.Add(1)
			}
		})
		p99 := run(b)
		cancel()
		wg.Wait()
		b.ReportMetric(float64(versions.Load()), "refreshes")
		if base > 0 {
			b.ReportMetric(float64(p99)/float64(base), "x-baseline-p99")
		}
	}
	var base time.Duration
	b.Run("baseline=no-refresh", func(b *testing.B) { base = run(b) })
	b.Run("refreshing", func(b *testing.B) { refreshing(b, base) })
}

func snapshotBytes(b *testing.B, c *snapshot.Course) []byte {
	b.Helper()
	data, err := snapshot.Compile(snapshot.Header{CourseID: c.Header.CourseID, CourseVersion: "2", CompilerVersion: "test"}, c.Course, challengesOf(c))
	if err != nil {
		b.Fatal(err)
	}
	return data
}

func challengesOf(c *snapshot.Course) []course.SkillChallenges {
	out := make([]course.SkillChallenges, len(c.Skills))
	for i, s := range c.Skills {
		out[i] = course.SkillChallenges{ID: s.OpaqueID, Levels: s.Levels, Challenges: s.Challenges}
	}
	return out
}
