package librelingo

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestExportMatchesLibreLingo requires owl's export of the course in
// shared/data/librelingo/exporter-output-spanish-from-english/yaml to equal
// the JSON that LibreLingo's exporter 0.7.0 made from it, after key-order
// normalisation: every field, id, group, priority and chip.
func TestExportMatchesLibreLingo(t *testing.T) {
	root := filepath.Join(sharedCourses(t), "exporter-output-spanish-from-english")
	c, _, err := Load(filepath.Join(root, "yaml"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	files, err := Files(c)
	if err != nil {
		t.Fatal(err)
	}
	got := make(map[string][]byte)
	for _, f := range files {
		got[f.Path] = f.Data
	}

	goldenDir := filepath.Join(root, "json")
	var goldenJSON []string
	err = fs.WalkDir(os.DirFS(goldenDir), ".", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".json") {
			goldenJSON = append(goldenJSON, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(goldenJSON) != 14 {
		t.Fatalf("found %d golden JSON files, want 14 (courseData.json and 13 skills)", len(goldenJSON))
	}

	counts := make(map[string]int)
	for _, path := range goldenJSON {
		want, err := os.ReadFile(filepath.Join(goldenDir, path))
		if err != nil {
			t.Fatal(err)
		}
		data, ok := got[path]
		if !ok {
			t.Errorf("export has no %s", path)
			continue
		}
		if diff := cmp.Diff(decodeJSON(t, want), decodeJSON(t, data)); diff != "" {
			t.Errorf("%s mismatch (-LibreLingo +owl):\n%s", path, diff)
		}
		if strings.HasPrefix(path, "challenges/") {
			var skill struct {
				Challenges []struct {
					Type string `json:"type"`
				} `json:"challenges"`
			}
			if err := json.Unmarshal(data, &skill); err != nil {
				t.Fatal(err)
			}
			for _, ch := range skill.Challenges {
				counts[ch.Type]++
				counts["all"]++
			}
		}
	}
	for path := range got {
		if strings.HasSuffix(path, ".json") && !contains(goldenJSON, path) {
			t.Errorf("export has %s, which LibreLingo's does not", path)
		}
	}
	want := map[string]int{"all": 690, "chips": 220, "listeningExercise": 194, "options": 112, "cards": 82, "shortInput": 82}
	if diff := cmp.Diff(want, counts); diff != "" {
		t.Errorf("challenge counts mismatch (-want +got):\n%s", diff)
	}
	// The introduction is exported too (its Markdown is sanitised by owl's
	// own rules, not byte for byte as LibreLingo's HTML round trip does).
	if intro := string(got["introduction/animals.md"]); !strings.HasPrefix(intro, "# Welcome to LibreLingo\n") {
		t.Errorf("introduction/animals.md = %q", intro)
	}
}

// TestExportIsByteIdentical goes further than the required normalised
// comparison: owl formats JSON as Python's json.dump(indent=2,
// ensure_ascii=False) does, so the files are the same bytes.
func TestExportIsByteIdentical(t *testing.T) {
	root := filepath.Join(sharedCourses(t), "exporter-output-spanish-from-english")
	c, _, err := Load(filepath.Join(root, "yaml"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if err := Export(c, out); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"courseData.json", "challenges/animals.json", "challenges/continuous.json", "challenges/ser-estar.json"} {
		want, err := os.ReadFile(filepath.Join(root, "json", path))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(out, path))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("%s differs from LibreLingo's bytes", path)
		}
	}
}

func decodeJSON(t *testing.T, data []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
