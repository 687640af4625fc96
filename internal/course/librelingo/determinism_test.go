package librelingo

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/owlstack/owl/internal/course"
)

// TestDeterministic loads, derives and exports the same course twice and
// requires identical results: same diagnostics, same challenges, same bytes.
func TestDeterministic(t *testing.T) {
	dirs := []string{demoCourse(t)}
	if testing.Short() {
		t.Log("short mode: only the demo course")
	} else if shared, ok := sharedDir(t); ok {
		// One course with audio and one without; the largest course is left to
		// the benchmarks, as it is slow under the race detector.
		dirs = append(dirs, filepath.Join(shared, "exporter-output-spanish-from-english", "yaml"), filepath.Join(shared, "kabyle-from-french", "course"))
	}
	for _, dir := range dirs {
		run := func() ([]string, []byte, []File) {
			c, diags, err := Load(dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			challenges, err := json.Marshal(course.Derive(c))
			if err != nil {
				t.Fatal(err)
			}
			files, err := Files(c)
			if err != nil {
				t.Fatal(err)
			}
			return messages(diags.List), challenges, files
		}
		d1, c1, f1 := run()
		d2, c2, f2 := run()
		if diff := cmp.Diff(d1, d2); diff != "" {
			t.Errorf("%s: diagnostics differ:\n%s", dir, diff)
		}
		if string(c1) != string(c2) {
			t.Errorf("%s: derived challenges differ", dir)
		}
		if len(f1) != len(f2) {
			t.Errorf("%s: %d then %d exported files", dir, len(f1), len(f2))
			continue
		}
		for i := range f1 {
			if f1[i].Path != f2[i].Path || !bytes.Equal(f1[i].Data, f2[i].Data) {
				t.Errorf("%s: exported %s differs", dir, f1[i].Path)
			}
		}
	}
}
