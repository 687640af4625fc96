package librelingo

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/owlstack/owl/internal/course"
)

func exportCourse(t *testing.T) *course.Course {
	t.Helper()
	c, _ := load(t, testFS(`Skill: {Name: Food, Id: 1}
New words: [{Word: pan, Translation: bread, Images: [b1, b2, b3]}]
Phrases: [{Phrase: Yo como pan, Translation: I eat bread}]
Mini-dictionary:
  Spanish: [yo: I, como: eat]
  English: [I: yo, eat: como]
`, map[string]string{"basics/skills/food.md": "# Food\n"}), Options{})
	return c
}

func TestExportWritesFilesAtomically(t *testing.T) {
	c := exportCourse(t)
	out := t.TempDir()
	keep := filepath.Join(out, "images", "b1.jpg")
	if err := os.MkdirAll(filepath.Dir(keep), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keep, []byte("jpeg"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Export(c, out); err != nil {
		t.Fatal(err)
	}
	var got []string
	err := filepath.WalkDir(out, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(out, path)
			got = append(got, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"challenges/food.json", "courseData.json", "images/b1.jpg", "introduction/food.md"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("files mismatch (-want +got):\n%s", diff)
	}
	files, err := Files(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(out, f.Path))
		if err != nil {
			t.Fatal(err)
		}
		if string(data) != string(f.Data) {
			t.Errorf("%s differs from Files", f.Path)
		}
		info, err := os.Stat(filepath.Join(out, f.Path))
		if err != nil {
			t.Fatal(err)
		}
		if perm := info.Mode().Perm(); perm != 0o644 {
			t.Errorf("%s has mode %v, want 0644", f.Path, perm)
		}
	}
}

func TestExportFailureLeavesNothing(t *testing.T) {
	c := exportCourse(t)
	out := t.TempDir()
	// A file where the challenges folder should be makes the export fail
	// after courseData.json's temporary file was written.
	if err := os.WriteFile(filepath.Join(out, "challenges"), []byte("in the way"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Export(c, out); err == nil {
		t.Fatal("export succeeded")
	}
	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != "challenges" {
			t.Errorf("export left %s behind", e.Name())
		}
	}
}

func TestExportRefusesCollidingSkillFiles(t *testing.T) {
	c := exportCourse(t)
	dup := c.Modules[0].Skills[0]
	dup.Name, dup.ID = "FOOD!", "2"
	c.Modules[0].Skills = append(c.Modules[0].Skills, dup)
	out := t.TempDir()
	err := Export(c, out)
	if err == nil || !strings.Contains(err.Error(), `skills "Food" and "FOOD!" would both be written to challenges/food.json`) {
		t.Fatalf("Export error = %v", err)
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Errorf("a failed export wrote %d entries", len(entries))
	}
}

func TestCourseDataImageSet(t *testing.T) {
	c := exportCourse(t)
	for _, tt := range []struct {
		thumbnails []string
		want       bool
	}{
		{[]string{"a", "b", "c"}, true},
		{[]string{"a", "b"}, false},
		{[]string{"a", "", "c"}, false},
		{nil, false},
	} {
		c.Modules[0].Skills[0].Thumbnails = tt.thumbnails
		got := courseData(c).Modules[0].Skills[0].ImageSet != nil
		if got != tt.want {
			t.Errorf("thumbnails %q: imageSet present = %v, want %v", tt.thumbnails, got, tt.want)
		}
	}
}

func TestEncodeJSONLikePython(t *testing.T) {
	got, err := encodeJSON(map[string]any{"a": "<b>&\u2028\u2029\\u2028", "e": []string{}, "n": nil})
	if err != nil {
		t.Fatal(err)
	}
	want := "{\n  \"a\": \"<b>&\u2028\u2029\\\\u2028\",\n  \"e\": [],\n  \"n\": null\n}"
	if string(got) != want {
		t.Errorf("encodeJSON = %q, want %q", got, want)
	}
}

func TestSanitizeMarkdown(t *testing.T) {
	tests := []struct{ in, want string }{
		{"# Title\r\n\r\nText.\r\n\r\n\r\n", "# Title\n\nText.\n"},
		{"Hello <script>alert(1)</script> world", "Hello alert(1) world\n"},
		{"A <!-- hidden\ncomment --> b", "A  b\n"},
		{"[ok](https://example.org) [bad](javascript:alert(1))", "[ok](https://example.org) [bad](#alert(1))\n"},
		{"<https://example.org> <javascript:x> end", "<https://example.org>  end\n"},
		{"[ref]: javascript:alert(1)", "[ref]: #alert(1)\n"},
		{"Use `<b>` for bold", "Use `<b>` for bold\n"},
		{"```html\n<b>kept</b>\n```\n<i>gone</i>", "```html\n<b>kept</b>\n```\ngone\n"},
		{"**¿Qué tal?** *hola*", "**¿Qué tal?** *hola*\n"},
	}
	for _, tt := range tests {
		if got := SanitizeMarkdown(tt.in); got != tt.want {
			t.Errorf("SanitizeMarkdown(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
