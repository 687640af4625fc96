package session

import (
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/owlstack/owl/internal/course"
	"github.com/owlstack/owl/internal/course/coursegen"
	"github.com/owlstack/owl/internal/course/librelingo"
	"github.com/owlstack/owl/internal/course/snapshot"
	"github.com/owlstack/owl/internal/memory"
)

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// compileDir loads a LibreLingo course folder and compiles it as servers
// load it: through a snapshot file.
func compileDir(t testing.TB, dir, id string) *snapshot.Course {
	t.Helper()
	c, _, err := librelingo.Load(dir, librelingo.Options{})
	if err != nil {
		t.Fatalf("load %s: %v", dir, err)
	}
	data, err := snapshot.Compile(snapshot.Header{CourseID: id, CourseVersion: "1", CompilerVersion: "test"}, c, course.Derive(c))
	if err != nil {
		t.Fatal(err)
	}
	sc, err := snapshot.Load(data)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

var demoOnce struct {
	sync.Once
	c *snapshot.Course
}

func demoCourse(t testing.TB) *snapshot.Course {
	t.Helper()
	demoOnce.Do(func() {
		demoOnce.c = compileDir(t, filepath.Join(repoRoot(), "examples", "courses", "owl-demo"), "owl-demo")
	})
	if demoOnce.c == nil {
		t.Fatal("demo course did not compile")
	}
	return demoOnce.c
}

// sharedCourses returns the real courses of ../shared/data/librelingo, or
// skips when they are absent.
func sharedCourses(t testing.TB) map[string]*snapshot.Course {
	t.Helper()
	base := filepath.Join(repoRoot(), "..", "shared", "data", "librelingo")
	dirs := map[string]string{
		"spanish-from-english":       "spanish-from-english/course",
		"judeo-spanish-from-english": "judeo-spanish-from-english/course",
		"kabyle-from-french":         "kabyle-from-french/course",
	}
	out := map[string]*snapshot.Course{}
	for id, d := range dirs {
		dir := filepath.Join(base, d)
		if _, err := os.Stat(filepath.Join(dir, "course.yaml")); err != nil {
			continue
		}
		out[id] = compileDir(t, dir, id)
	}
	if len(out) == 0 {
		t.Skipf("shared courses absent under %s: testing the demo course only", base)
	}
	return out
}

// largeCourse is the generated 2,000-word, 4,000-phrase course.
func largeCourse(t testing.TB) *snapshot.Course {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "large")
	if err := coursegen.Write(dir, coursegen.Large); err != nil {
		t.Fatal(err)
	}
	return compileDir(t, dir, "large")
}

func newGenerator() *Generator { return New(memory.NewFSRS(memory.FSRS6Defaults)) }
