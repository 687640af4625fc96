package librelingo

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/owlstack/owl/internal/course"
)

// largestSharedCourse returns the shared course with the most YAML bytes
// and that size.
func largestSharedCourse(b *testing.B) (string, int64) {
	shared := sharedCourses(b)
	var best string
	var bestSize int64
	for _, dir := range []string{
		"exporter-output-spanish-from-english/yaml",
		"spanish-from-english/course",
		"kabyle-from-french/course",
		"judeo-spanish-from-english/course",
	} {
		dir = filepath.Join(shared, dir)
		var size int64
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".yaml") {
				return err
			}
			info, err := d.Info()
			size += info.Size()
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		if size > bestSize {
			best, bestSize = dir, size
		}
	}
	return best, bestSize
}

// entries counts what a course teaches and defines: new words, phrases and
// dictionary definitions.
func entries(c *course.Course) int {
	n := 0
	for _, s := range c.Skills() {
		n += len(s.Words) + len(s.Phrases) + len(s.Dictionary)
	}
	return n
}

// BenchmarkLoad loads (parses and validates) the largest shared course.
func BenchmarkLoad(b *testing.B) {
	dir, size := largestSharedCourse(b)
	b.SetBytes(size)
	var c *course.Course
	for b.Loop() {
		var err error
		c, _, err = Load(dir, Options{})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(entries(c)*b.N)/b.Elapsed().Seconds(), "entries/s")
}

// BenchmarkDerive derives every challenge of the largest shared course.
func BenchmarkDerive(b *testing.B) {
	dir, _ := largestSharedCourse(b)
	c, _, err := Load(dir, Options{})
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for b.Loop() {
		n = 0
		for _, sc := range course.Derive(c) {
			n += len(sc.Challenges)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "challenges/s")
}

// BenchmarkExportFiles encodes the LibreLingo export of the largest shared
// course, without writing it.
func BenchmarkExportFiles(b *testing.B) {
	dir, _ := largestSharedCourse(b)
	c, _, err := Load(dir, Options{})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Files(c); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoadDemo loads owl's demo course, which needs no shared data.
func BenchmarkLoadDemo(b *testing.B) {
	dir := demoCourse(b)
	assets := os.DirFS(filepath.Join(dir, "images"))
	var c *course.Course
	for b.Loop() {
		var err error
		c, _, err = Load(dir, Options{Assets: assets})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(entries(c)*b.N)/b.Elapsed().Seconds(), "entries/s")
}
