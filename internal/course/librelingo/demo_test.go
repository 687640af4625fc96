package librelingo

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/owlstack/owl/internal/course"
)

// TestDemoCourse loads owl's own demo course, images checked, and requires
// no warning at all and every challenge type.
func TestDemoCourse(t *testing.T) {
	dir := demoCourse(t)
	c, diags, err := Load(dir, Options{Strict: true, Assets: os.DirFS(filepath.Join(dir, "images"))})
	if err != nil {
		_, _ = diags.WriteTo(testWriter{t})
		t.Fatal(err)
	}
	if len(diags.List) != 0 {
		_, _ = diags.WriteTo(testWriter{t})
		t.Fatalf("the demo course has %d diagnostics, want none", len(diags.List))
	}
	var modules, skills, words, phrases int
	modules = len(c.Modules)
	for _, s := range c.Skills() {
		skills++
		words += len(s.Words)
		phrases += len(s.Phrases)
	}
	// The demo's README states these numbers.
	if modules != 3 || skills != 5 || words != 26 || phrases != 22 {
		t.Errorf("demo has %d modules, %d skills, %d words, %d phrases; README says 3, 5, 26, 22", modules, skills, words, phrases)
	}
	types := make(map[course.Type]int)
	for _, sc := range course.Derive(c) {
		for _, ch := range sc.Challenges {
			types[ch.ChallengeType()]++
		}
	}
	for _, typ := range course.Types {
		if types[typ] == 0 {
			t.Errorf("the demo course has no %s challenge", typ)
		}
	}
	if err := Export(c, t.TempDir()); err != nil {
		t.Fatal(err)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}
