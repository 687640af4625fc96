package librelingo

import (
	"bytes"
	"testing"
	"testing/fstest"

	"github.com/owlstack/owl/internal/course"
)

// FuzzSkillFile feeds arbitrary bytes to the loader as a skill file. Loading
// must never panic; every diagnostic must name its file and a sane position;
// and a course that loads must derive and export, the same way twice.
func FuzzSkillFile(f *testing.F) {
	f.Add([]byte("Skill: {Name: Food, Id: 1}\nNew words: []\nPhrases: []\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fsys := testFS("", nil)
		fsys["basics/skills/food.yaml"] = &fstest.MapFile{Data: data}
		checkLoad(t, fsys)
	})
}

// FuzzCourseFile does the same with course.yaml.
func FuzzCourseFile(f *testing.F) {
	f.Add([]byte(testCourseYAML))
	f.Fuzz(func(t *testing.T, data []byte) {
		fsys := testFS("Skill: {Name: Food, Id: 1}\nNew words: [{Word: pan, Translation: bread}]\nPhrases: [{Phrase: Yo como pan, Translation: I eat bread}]\n", nil)
		fsys["course.yaml"] = &fstest.MapFile{Data: data}
		checkLoad(t, fsys)
	})
}

func checkLoad(t *testing.T, fsys fstest.MapFS) {
	c, diags, err := LoadFS(fsys, "c", Options{MaxErrors: 10})
	if (err == nil) != (c != nil) {
		t.Fatalf("err = %v but course nil = %v", err, c == nil)
	}
	if (err != nil) != diags.HasErrors() {
		t.Fatalf("err = %v but HasErrors = %v", err, diags.HasErrors())
	}
	if len(diags.Errors()) > 10 {
		t.Fatalf("%d errors kept over a limit of 10", len(diags.Errors()))
	}
	for _, d := range diags.List {
		if d.File == "" || d.Line < 0 || d.Col < 0 || (d.Line == 0 && d.Col != 0) || d.Message == "" {
			t.Fatalf("bad diagnostic %+v", d)
		}
	}
	if c == nil {
		return
	}
	first, err := Files(c)
	if err != nil {
		// Only colliding or empty skill file names stop an export, and
		// validation reports those as errors.
		t.Fatalf("a course without errors does not export: %v", err)
	}
	second, err := Files(c)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != len(second) {
		t.Fatal("two exports differ in files")
	}
	for i := range first {
		if first[i].Path != second[i].Path || !bytes.Equal(first[i].Data, second[i].Data) {
			t.Fatalf("two exports differ in %s", first[i].Path)
		}
	}
	_ = course.Derive(c)
}
