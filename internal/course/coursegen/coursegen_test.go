package coursegen

import (
	"testing"

	"github.com/owlstack/owl/internal/course/librelingo"
)

func TestGeneratedCourseLoadsCleanly(t *testing.T) {
	dir := t.TempDir()
	o := Options{Words: 50, Phrases: 70, Modules: 2, SkillsPerModule: 3, Seed: 9}
	if err := Write(dir, o); err != nil {
		t.Fatal(err)
	}
	c, diags, err := librelingo.Load(dir, librelingo.Options{Strict: true})
	if err != nil {
		t.Fatalf("generated course does not load: %v\n%v", err, diags.List)
	}
	words, phrases := 0, 0
	for _, s := range c.Skills() {
		words += len(s.Words)
		phrases += len(s.Phrases)
	}
	if len(c.Modules) != 2 || len(c.Skills()) != 6 || words != 50 || phrases != 70 {
		t.Errorf("generated %d modules, %d skills, %d words, %d phrases", len(c.Modules), len(c.Skills()), words, phrases)
	}
}

func TestWordsAreDistinct(t *testing.T) {
	seen := map[string]int{}
	for n := range 5000 {
		w := word(n, targetSyllables)
		if m, dup := seen[w]; dup {
			t.Fatalf("word(%d) = word(%d) = %q", n, m, w)
		}
		seen[w] = n
	}
}

func TestTooFewWords(t *testing.T) {
	if err := Write(t.TempDir(), Options{Words: 2, Phrases: 1, Modules: 1, SkillsPerModule: 3}); err == nil {
		t.Error("Write accepted fewer words than skills")
	}
}
