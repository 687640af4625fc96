package snapshot

import (
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/owlstack/owl/internal/course"
	"github.com/owlstack/owl/internal/course/coursegen"
	"github.com/owlstack/owl/internal/course/librelingo"
)

// benchCourses are the courses the benchmarks measure: the largest shared
// course and a generated 2,000-word / 4,000-phrase one.
func benchCourses(b *testing.B) map[string]string {
	b.Helper()
	gen := filepath.Join(b.TempDir(), "generated")
	if err := coursegen.Write(gen, coursegen.Large); err != nil {
		b.Fatal(err)
	}
	out := map[string]string{"generated-2000w-4000p": gen}
	_, file, _, _ := runtime.Caller(0)
	shared := filepath.Join(filepath.Dir(file), "..", "..", "..", "..", "shared", "data", "librelingo", "judeo-spanish-from-english", "course")
	if _, err := os.Stat(shared); err == nil {
		out["judeo-spanish-from-english"] = shared
	} else {
		b.Logf("shared course data absent (%v): measuring the generated course only", err)
	}
	return out
}

func yamlBytes(b *testing.B, dir string) int64 {
	var n int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".yaml") {
			info, _ := d.Info()
			n += info.Size()
		}
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return n
}

func compileDir(b *testing.B, dir string) ([]byte, *course.Course) {
	c, _, err := librelingo.Load(dir, librelingo.Options{})
	if err != nil {
		b.Fatal(err)
	}
	data, err := Compile(header(), c, course.Derive(c))
	if err != nil {
		b.Fatal(err)
	}
	return data, c
}

// BenchmarkCompile measures the offline compiler: YAML to snapshot file.
// It reports the snapshot's size as a fraction of the YAML source's.
func BenchmarkCompile(b *testing.B) {
	for name, dir := range benchCourses(b) {
		b.Run(name, func(b *testing.B) {
			var data []byte
			for b.Loop() {
				data, _ = compileDir(b, dir)
			}
			y := yamlBytes(b, dir)
			b.ReportMetric(float64(y), "yaml_bytes")
			b.ReportMetric(float64(len(data)), "snapshot_bytes")
			b.ReportMetric(float64(len(data))/float64(y), "snapshot/yaml")
		})
	}
}

// BenchmarkLoad measures what a server does at start and on refresh:
// verify and decode a snapshot into the in-memory course. It reports the
// heap the course occupies, per word and phrase, and how many times faster
// loading is than compiling the same course from YAML in the same run.
func BenchmarkLoad(b *testing.B) {
	for name, dir := range benchCourses(b) {
		b.Run(name, func(b *testing.B) {
			start := time.Now()
			data, c := compileDir(b, dir)
			compileTime := time.Since(start)
			items := 0
			for _, s := range c.Skills() {
				items += len(s.Words) + len(s.Phrases)
			}

			// A first load, not measured, grows what the package keeps
			// for reuse (the zstd decoder's buffers).
			if _, err := Load(data); err != nil {
				b.Fatal(err)
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			kept, err := Load(data)
			if err != nil {
				b.Fatal(err)
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			heap := float64(after.HeapAlloc) - float64(before.HeapAlloc)
			runtime.KeepAlive(kept)

			b.ResetTimer()
			for b.Loop() {
				if _, err := Load(data); err != nil {
					b.Fatal(err)
				}
			}
			perLoad := b.Elapsed() / time.Duration(b.N)
			b.ReportMetric(heap, "heap_bytes")
			b.ReportMetric(heap/float64(items), "heap_bytes/item")
			b.ReportMetric(float64(compileTime)/float64(perLoad), "compile/load")
		})
	}
}

// BenchmarkReload measures what a server does when a new version of a
// course it serves is published: Reload with the version in memory. In
// changed=2-skills the new version differs from the one in memory in two
// skills (their introductions), as consecutive publishes of an edited
// course do; changed=all-skills differs in every skill, the worst case.
// Both report how many times faster than a plain Load of the same file
// they are, in the same run.
func BenchmarkReload(b *testing.B) {
	if testing.Short() {
		b.Skip("builds a 2,000-word course; skipped with -short")
	}
	dir := filepath.Join(b.TempDir(), "generated")
	if err := coursegen.Write(dir, coursegen.Large); err != nil {
		b.Fatal(err)
	}
	c, _, err := librelingo.Load(dir, librelingo.Options{})
	if err != nil {
		b.Fatal(err)
	}
	ch := course.Derive(c)
	version := func(edit func(skill int) bool) []byte {
		out := edited(c, func(i int, s *course.Skill) {
			if edit(i) {
				s.Introduction += "\n\nEdited."
			}
		})
		data, err := Compile(header(), out, ch)
		if err != nil {
			b.Fatal(err)
		}
		return data
	}
	base := version(func(int) bool { return false })
	prev, err := Load(base)
	if err != nil {
		b.Fatal(err)
	}
	var load time.Duration
	b.Run("load", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Load(base); err != nil {
				b.Fatal(err)
			}
		}
		load = b.Elapsed() / time.Duration(b.N)
	})
	for _, tc := range []struct {
		name string
		edit func(skill int) bool
	}{
		{"changed=2-skills", func(skill int) bool { return skill == 10 || skill == 70 }},
		{"changed=all-skills", func(int) bool { return true }},
	} {
		next := version(tc.edit)
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			var c *Course
			for b.Loop() {
				if c, err = Reload(prev, next); err != nil {
					b.Fatal(err)
				}
			}
			if load > 0 {
				b.ReportMetric(float64(load)/float64(b.Elapsed()/time.Duration(b.N)), "load/reload")
			}
			b.ReportMetric(float64(c.LoadStats().DecodedSkills), "decoded-skills")
		})
	}
}
