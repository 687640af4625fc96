package snapshot

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/owlstack/owl/internal/course"
	"github.com/owlstack/owl/internal/course/coursegen"
	"github.com/owlstack/owl/internal/course/librelingo"
)

func loadDir(t testing.TB, dir string) (*course.Course, []course.SkillChallenges) {
	t.Helper()
	c, diags, err := librelingo.Load(dir, librelingo.Options{})
	if err != nil {
		t.Fatalf("load %s: %v\n%v", dir, err, diags.Errors())
	}
	return c, course.Derive(c)
}

func generated(t testing.TB, o coursegen.Options) (*course.Course, []course.SkillChallenges) {
	t.Helper()
	dir := t.TempDir()
	if err := coursegen.Write(dir, o); err != nil {
		t.Fatal(err)
	}
	return loadDir(t, dir)
}

var small = coursegen.Options{Words: 40, Phrases: 60, Modules: 2, SkillsPerModule: 2, Seed: 7}

func header() Header {
	return Header{CourseID: "synthetic", CourseVersion: "1", CompilerVersion: "test"}
}

// sharedCourse returns the path of a course in ../shared, or skips.
func sharedCourse(t testing.TB, name string) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", "..", "..", "..", "shared", "data", "librelingo", name)
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("shared course data not found at %s (it lives beside the repository in ../shared): %v", dir, err)
	}
	return dir
}

// ignorePositions drops what a snapshot does not keep: source positions.
var ignorePositions = cmp.Options{
	cmpopts.IgnoreTypes(course.Pos{}),
	cmpopts.EquateEmpty(),
}

func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		load func(t *testing.T) (*course.Course, []course.SkillChallenges)
	}{
		{"generated", func(t *testing.T) (*course.Course, []course.SkillChallenges) { return generated(t, small) }},
		{"spanish-from-english", func(t *testing.T) (*course.Course, []course.SkillChallenges) {
			return loadDir(t, filepath.Join(sharedCourse(t, "spanish-from-english"), "course"))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, ch := tc.load(t)
			data, err := Compile(header(), c, ch)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Load(data)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(c, got.Course, ignorePositions); d != "" {
				t.Errorf("course after round trip (-want +got):\n%s", d)
			}
			var gotCh []course.SkillChallenges
			for _, s := range got.Skills {
				gotCh = append(gotCh, course.SkillChallenges{ID: s.OpaqueID, Levels: s.Levels, Challenges: s.Challenges})
			}
			if d := cmp.Diff(ch, gotCh, ignorePositions); d != "" {
				t.Errorf("challenges after round trip (-want +got):\n%s", d)
			}
			if got.Header.CourseID != "synthetic" || got.Header.FormatVersion != FormatVersion {
				t.Errorf("header = %+v", got.Header)
			}
		})
	}
}

func TestDeterministic(t *testing.T) {
	c1, ch1 := generated(t, small)
	c2, ch2 := generated(t, small) // loaded again from a fresh copy
	a, err := Compile(header(), c1, ch1)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Compile(header(), c2, ch2)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatal("the same source compiled to different bytes")
	}
	h := header()
	h.CourseVersion = "2"
	c, err := Compile(h, c1, ch1)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a, c) {
		t.Error("a different course version compiled to the same bytes")
	}
}

func TestCorruptionIsDetected(t *testing.T) {
	c, ch := generated(t, small)
	good, err := Compile(header(), c, ch)
	if err != nil {
		t.Fatal(err)
	}
	h, payload, err := ReadHeader(good)
	if err != nil {
		t.Fatal(err)
	}
	payloadAt := len(good) - len(payload)
	flip := func(i int) []byte {
		b := bytes.Clone(good)
		b[i] ^= 0x40
		return b
	}
	for name, data := range map[string][]byte{
		"empty":             nil,
		"foreign file":      []byte("PK\x03\x04 a zip file, not a snapshot"),
		"bad magic":         flip(0),
		"header length":     flip(len(Magic)),
		"payload bit flip":  flip(payloadAt + len(payload)/2),
		"last byte flipped": flip(len(good) - 1),
		"truncated":         good[:len(good)-10],
		"header only":       good[:payloadAt],
		"extra bytes":       append(bytes.Clone(good), 0),
	} {
		if _, err := Load(data); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: Load error = %v, want ErrCorrupt", name, err)
		}
	}
	if h.PayloadSize != int64(len(payload)) || len(h.SHA256) != 64 {
		t.Errorf("header = %+v", h)
	}
}

func TestSummary(t *testing.T) {
	c, ch := generated(t, small)
	data, err := Compile(header(), c, ch)
	if err != nil {
		t.Fatal(err)
	}
	h, _, err := ReadHeader(data)
	if err != nil {
		t.Fatal(err)
	}
	s := h.Summary
	if s.Modules != 2 || s.Skills != 4 || s.Words != 40 || s.Phrases != 60 {
		t.Errorf("summary = %v", s)
	}
	total := 0
	for _, tc := range s.Challenges {
		total += int(tc.Count)
	}
	want := 0
	for _, sc := range ch {
		want += len(sc.Challenges)
	}
	if total != want || len(s.Challenges) != len(course.Types) {
		t.Errorf("summary counts %d challenges in %d types, want %d in %d", total, len(s.Challenges), want, len(course.Types))
	}
}

func TestIndexes(t *testing.T) {
	sc := loadedSmall(t)
	sk, ok := sc.SkillByID("1001")
	if !ok || sk.Name != "Skill 2" {
		t.Fatalf("SkillByID(1001) = %v, %v", sk, ok)
	}
	if _, ok := sc.SkillByID("nope"); ok {
		t.Error("SkillByID found a skill that does not exist")
	}
	for w, idx := range sk.WordChallenges {
		if len(idx) == 0 {
			t.Errorf("word %d of skill 1001 has no challenges", w)
		}
		for _, i := range idx {
			if !contains(sk.Challenges[i].Metadata().Words, w) {
				t.Errorf("challenge %d indexed under word %d does not practise it", i, w)
			}
		}
	}
	term := sk.Words[0].Target[0]
	refs := sc.ChallengesForTerm(term)
	if len(refs) == 0 {
		t.Fatalf("no challenges practise %q", term)
	}
	for _, r := range refs {
		if !contains(sc.Challenge(r).Metadata().Terms, term) {
			t.Errorf("challenge %v indexed under %q does not list it", r, term)
		}
	}
}

func contains[T comparable](s []T, v T) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func FuzzLoad(f *testing.F) {
	c, ch := generated(f, coursegen.Options{Words: 4, Phrases: 3, Modules: 1, SkillsPerModule: 1, Seed: 1})
	good, err := Compile(header(), c, ch)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte(Magic))
	prev, err := Load(good)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// Load, and Reload over a course that shares chunks with the seed.
		for name, load := range map[string]func([]byte) (*Course, error){"Load": Load, "Reload": func(b []byte) (*Course, error) { return Reload(prev, b) }} {
			sc, err := load(data)
			if err != nil {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("%s error %v does not wrap ErrCorrupt", name, err)
				}
				continue
			}
			// Whatever loads is consistent: a skill per course skill, and
			// every index points at a challenge that exists.
			if len(sc.Skills) != len(sc.Course.Skills()) {
				t.Fatalf("%s: %d skills with challenges for %d course skills", name, len(sc.Skills), len(sc.Course.Skills()))
			}
			for _, s := range sc.Skills {
				for _, idx := range append(s.WordChallenges, s.PhraseChallenges...) {
					for _, i := range idx {
						_ = s.Challenges[i]
					}
				}
			}
		}
	})
}

// TestIndexesAreComplete rebuilds every skill's indexes the plain way,
// one append per reference, and compares.
func TestIndexesAreComplete(t *testing.T) {
	sc := loadedSmall(t)
	for s := range sc.Skills {
		sk := &sc.Skills[s]
		words := make([][]int32, len(sk.Words))
		phrases := make([][]int32, len(sk.Phrases))
		terms := map[string][]int32{}
		for ci, ch := range sk.Challenges {
			m := ch.Metadata()
			for _, w := range m.Words {
				words[w] = append(words[w], int32(ci))
			}
			for _, p := range m.Phrases {
				phrases[p] = append(phrases[p], int32(ci))
			}
			for _, term := range m.Terms {
				terms[term] = append(terms[term], int32(ci))
			}
		}
		if d := cmp.Diff(words, sk.WordChallenges); d != "" {
			t.Errorf("skill %s word index (-want +got):\n%s", sk.ID, d)
		}
		if d := cmp.Diff(phrases, sk.PhraseChallenges); d != "" {
			t.Errorf("skill %s phrase index (-want +got):\n%s", sk.ID, d)
		}
		if d := cmp.Diff(terms, sk.terms); d != "" {
			t.Errorf("skill %s term index (-want +got):\n%s", sk.ID, d)
		}
	}
}
