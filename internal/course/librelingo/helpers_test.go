package librelingo

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/owlstack/owl/internal/course"
)

// repoRoot returns the module root, found by walking up to go.mod.
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test's working directory")
		}
		dir = parent
	}
}

// sharedDir returns ../shared/data/librelingo beside the repository and
// whether it exists (a user's clone has no shared folder).
func sharedDir(t testing.TB) (string, bool) {
	t.Helper()
	dir := filepath.Join(repoRoot(t), "..", "shared", "data", "librelingo")
	info, err := os.Stat(dir)
	return dir, err == nil && info.IsDir()
}

// sharedCourses returns the shared LibreLingo courses folder, and skips the
// test when it is absent.
func sharedCourses(t testing.TB) string {
	t.Helper()
	dir, ok := sharedDir(t)
	if !ok {
		t.Skipf("shared LibreLingo courses not found at %s; this test needs the shared data folder beside the repository", dir)
	}
	return dir
}

// demoCourse returns the folder of owl's own demo course.
func demoCourse(t testing.TB) string {
	return filepath.Join(repoRoot(t), "examples", "courses", "owl-demo")
}

func messages(list []course.Diagnostic) []string {
	out := make([]string, 0, len(list))
	for _, d := range list {
		out = append(out, d.String())
	}
	return out
}
