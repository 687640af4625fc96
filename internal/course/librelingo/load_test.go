package librelingo

import (
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"github.com/owlstack/owl/internal/course"
)

const testCourseYAML = `Course:
  Language:
    Name: Spanish
    IETF BCP 47: es
  For speakers of:
    Name: English
    IETF BCP 47: en
  License:
    Name: Attribution 4.0 International
    Short name: CC BY 4.0
    Link: https://creativecommons.org/licenses/by/4.0/
  Repository: https://example.org/course
  Special characters: [ñ]

Modules:
  - basics/
`

const testModuleYAML = `Module:
  Name: Basics

Skills:
  - food.yaml
`

// testFS returns a course whose single skill file is skill; extra files
// are added or replace the defaults.
func testFS(skill string, extra map[string]string) fstest.MapFS {
	fsys := fstest.MapFS{
		"course.yaml":             {Data: []byte(testCourseYAML)},
		"basics/module.yaml":      {Data: []byte(testModuleYAML)},
		"basics/skills/food.yaml": {Data: []byte(skill)},
	}
	for name, data := range extra {
		fsys[name] = &fstest.MapFile{Data: []byte(data)}
	}
	return fsys
}

// load loads fsys and fails the test on errors.
func load(t *testing.T, fsys fstest.MapFS, opts Options) (*course.Course, []string) {
	t.Helper()
	c, diags, err := LoadFS(fsys, "", opts)
	if err != nil {
		var b []string
		for _, d := range diags.List {
			b = append(b, d.String())
		}
		t.Fatalf("load: %v\n%v", err, b)
	}
	return c, messages(diags.Warnings())
}

func TestYAML11BooleansAreText(t *testing.T) {
	c, _ := load(t, testFS(`Skill:
  Name: Yes
  Id: On

New words:
  - Word: "no"
    Translation: No
    Synonyms: [off, y]
    Also accepted:
      - False

Phrases:
  - Phrase: yes
    Translation: True
`, nil), Options{})
	s := c.Modules[0].Skills[0]
	if s.Name != "Yes" || s.ID != "On" {
		t.Errorf("skill name, id = %q, %q", s.Name, s.ID)
	}
	if diff := cmp.Diff([]string{"no", "off", "y"}, s.Words[0].Target); diff != "" {
		t.Errorf("word mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"No", "False"}, s.Words[0].Source); diff != "" {
		t.Errorf("translation mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"True"}, s.Phrases[0].Source); diff != "" {
		t.Errorf("phrase translation mismatch (-want +got):\n%s", diff)
	}
}

func TestAudioSettings(t *testing.T) {
	tests := []struct {
		settings string
		enabled  bool
		warning  string
	}{
		{"", true, ""},
		{"Settings:\n  Audio:\n    Enabled: True\n", true, ""},
		{"Settings:\n  Audio:\n    Enabled: False\n", false, ""},
		{"Settings:\n  Audio:\n    Enabled: true\n", false, `course.yaml:20:14: warning: "Enabled: true" turns audio off, as in LibreLingo, which only accepts True; write True or False`},
		{"Settings:\n  Audio:\n    TTS: []\n", true, `course.yaml:20:5: warning: "Audio" has no "Enabled"; audio stays enabled, but LibreLingo's loader requires the key`},
	}
	for _, tt := range tests {
		skill := "Skill: {Name: Food, Id: 1}\nNew words: []\nPhrases: []\n"
		c, warnings := load(t, testFS(skill, map[string]string{"course.yaml": testCourseYAML + "\n" + tt.settings}), Options{})
		if c.Settings.Audio.Enabled != tt.enabled {
			t.Errorf("%q: enabled = %v, want %v", tt.settings, c.Settings.Audio.Enabled, tt.enabled)
		}
		var want []string
		if tt.warning != "" {
			want = append(want, tt.warning)
		}
		want = append(want, `basics/skills/food.yaml:1:1: warning: skill "Food" has no new words and no phrases: it only adds to the dictionary and has no challenges`)
		if diff := cmp.Diff(want, warnings); diff != "" {
			t.Errorf("%q: warnings mismatch (-want +got):\n%s", tt.settings, diff)
		}
	}
}

func TestSkillIDIsPrintedAsLibreLingoDoes(t *testing.T) {
	tests := map[string]string{
		"2":          "2",
		"010":        "8",
		"0x1F":       "31",
		"'007'":      "007",
		`"12"`:       "12",
		"1_000":      "1000",
		"1:30":       "90",
		"+5":         "5",
		"-0b11":      "-3",
		"1.5":        "1.5",
		"!!str 010":  "010",
		"3adc78da-e": "3adc78da-e",
	}
	for in, want := range tests {
		c, _ := load(t, testFS("Skill:\n  Name: Food\n  Id: "+in+"\nNew words: []\nPhrases: [{Phrase: a, Translation: b}]\nMini-dictionary:\n  Spanish: [a: b]\n  English: [b: a]\n", nil), Options{})
		if got := c.Modules[0].Skills[0].ID; got != want {
			t.Errorf("Id: %s gives %q, want %q", in, got, want)
		}
	}
}

func TestAliasesMergesAndRepeatedKeys(t *testing.T) {
	c, warnings := load(t, testFS(`Skill:
  Name: Food
  Id: 1

base: &base
  Translation: bread
  Images: [bread1, bread2, bread3]
images: &images [milk1, milk2, milk3]

New words:
  - <<: *base
    Word: pan
  - Word: leche
    Translation: water
    Translation: milk
    Images: *images

Phrases: []

Mini-dictionary:
  Spanish: []
  English: []
`, nil), Options{})
	words := c.Modules[0].Skills[0].Words
	want := []course.Word{
		{Target: []string{"pan"}, Source: []string{"bread"}, Images: []string{"bread1", "bread2", "bread3"}},
		{Target: []string{"leche"}, Source: []string{"milk"}, Images: []string{"milk1", "milk2", "milk3"}},
	}
	if diff := cmp.Diff(want, words, cmpIgnorePos); diff != "" {
		t.Errorf("words mismatch (-want +got):\n%s", diff)
	}
	wantWarnings := []string{
		`basics/skills/food.yaml:5:1: warning: unknown key "base" in a skill file is ignored (known keys: "Skill", "New words", "Phrases", "Mini-dictionary", "Two-way-dictionary")`,
		`basics/skills/food.yaml:8:1: warning: unknown key "images" in a skill file is ignored (known keys: "Skill", "New words", "Phrases", "Mini-dictionary", "Two-way-dictionary")`,
		`basics/skills/food.yaml:15:5: warning: repeated key "Translation" in an entry of "New words" (first at line 14); the last value is used, as LibreLingo does`,
	}
	if diff := cmp.Diff(wantWarnings, warnings); diff != "" {
		t.Errorf("warnings mismatch (-want +got):\n%s", diff)
	}
}

func TestAlternativesGivenAsText(t *testing.T) {
	c, warnings := load(t, testFS(`Skill: {Name: Food, Id: 1}
New words: []
Phrases:
  - Phrase: Yo como
    Translation: I eat
    Alternative translations: I'm
Mini-dictionary:
  Spanish: [yo: I, como: eat]
  English: [I: yo, eat: como]
`, nil), Options{})
	got := c.Modules[0].Skills[0].Phrases[0].Source
	if diff := cmp.Diff([]string{"I eat", "I", "'", "m"}, got); diff != "" {
		t.Errorf("alternatives mismatch (-want +got):\n%s", diff)
	}
	want := `basics/skills/food.yaml:6:31: warning: expected a list for "Alternative translations" of phrase "Yo como", found a text: LibreLingo (and so owl) takes each of its characters as an alternative; write it as a list item (- I'm)`
	if len(warnings) != 1 || warnings[0] != want {
		t.Errorf("warnings = %q, want %q", warnings, want)
	}
}

func TestDictionaries(t *testing.T) {
	c, warnings := load(t, testFS(`Skill: {Name: Talk, Id: 1}
New words: []
Phrases: []
Mini-dictionary:
  Spanish:
    - hola: [hello, hi]
    - adiós: goodbye
      extra: ignored
  English:
    - hello: hola
Two-way-dictionary:
  - (he) speaks: (el) avla
  - "{New York}": Mueva York
`, nil), Options{})
	want := []course.Definition{
		{Word: "hola", Meanings: []string{"hello", "hi"}, InTarget: true},
		{Word: "adiós", Meanings: []string{"goodbye"}, InTarget: true},
		{Word: "hello", Meanings: []string{"hola"}},
		{Word: "speaks", Meanings: []string{"(el) avla"}},
		{Word: "avla", Meanings: []string{"(he) speaks"}, InTarget: true},
		{Word: "{New York}", Meanings: []string{"Mueva York"}},
		{Word: "Mueva York", Meanings: []string{"{New York}"}, InTarget: true},
	}
	if diff := cmp.Diff(want, c.Modules[0].Skills[0].Dictionary, cmpIgnorePos); diff != "" {
		t.Errorf("dictionary mismatch (-want +got):\n%s", diff)
	}
	wantWarnings := []string{
		`basics/skills/food.yaml:1:1: warning: skill "Talk" has no new words and no phrases: it only adds to the dictionary and has no challenges`,
		`basics/skills/food.yaml:8:7: warning: "extra" in an entry of "Spanish" in "Mini-dictionary" is ignored: an entry defines one word (LibreLingo reads the first key only); start a new entry with -`,
	}
	if diff := cmp.Diff(wantWarnings, warnings); diff != "" {
		t.Errorf("warnings mismatch (-want +got):\n%s", diff)
	}
}

func TestImages(t *testing.T) {
	c, _ := load(t, testFS(`Skill: {Name: Food, Id: 1}
New words:
  - {Word: a, Translation: b}
  - {Word: c, Translation: d, Images: }
  - {Word: e, Translation: f, Images: []}
Phrases: []
`, nil), Options{})
	words := c.Modules[0].Skills[0].Words
	if words[0].Images != nil || words[1].Images != nil {
		t.Errorf("absent or null Images should be nil: %q, %q", words[0].Images, words[1].Images)
	}
	if words[2].Images == nil || len(words[2].Images) != 0 {
		t.Errorf("Images: [] should be empty and not nil: %#v", words[2].Images)
	}
}

func TestUnlistedFilesAndIntroduction(t *testing.T) {
	fsys := testFS("Skill: {Name: Food, Id: 1}\nNew words: [{Word: pan, Translation: bread}]\nPhrases: []\n", map[string]string{
		"basics/skills/food.md":     "# Food\n\nLearn <b>words</b>.\n",
		"basics/skills/drinks.yaml": "not: listed\n",
		"basics/skills/notes.txt":   "ignored",
		"extra/module.yaml":         "Module: {Name: Extra}\nSkills: []\n",
		"images/readme.md":          "not a module",
	})
	c, warnings := load(t, fsys, Options{})
	want := []string{
		`basics/skills/drinks.yaml:1:1: warning: skill file "drinks.yaml" is not listed in basics/module.yaml, so it is not part of the course`,
		`extra/module.yaml:1:1: warning: module folder "extra/" is not listed in course.yaml "Modules", so it is not part of the course`,
	}
	if diff := cmp.Diff(want, warnings); diff != "" {
		t.Errorf("warnings mismatch (-want +got):\n%s", diff)
	}
	if got := c.Modules[0].Skills[0].Introduction; got != "# Food\n\nLearn <b>words</b>.\n" {
		t.Errorf("introduction = %q", got)
	}
}

func TestStrictTurnsWarningsIntoErrors(t *testing.T) {
	fsys := testFS("Skill: {Name: Food, Id: 1}\nNew words: [{Word: pan, Translation: bread, Color: brown}]\nPhrases: []\n", nil)
	if _, _, err := LoadFS(fsys, "", Options{}); err != nil {
		t.Fatalf("non-strict load: %v", err)
	}
	c, diags, err := LoadFS(fsys, "", Options{Strict: true})
	if err == nil || c != nil {
		t.Fatal("strict load of a course with warnings succeeded")
	}
	want := []string{`basics/skills/food.yaml:2:45: unknown key "Color" in word "pan" is ignored (known keys: "Word", "Translation", "Synonyms", "Also accepted", "Images")`}
	if diff := cmp.Diff(want, messages(diags.Errors())); diff != "" {
		t.Errorf("errors mismatch (-want +got):\n%s", diff)
	}
}

func TestLoadFolderErrors(t *testing.T) {
	dir := t.TempDir()
	_, diags, err := Load(filepath.Join(dir, "missing"), Options{})
	if err == nil || len(diags.Errors()) != 1 {
		t.Errorf("missing folder: err = %v, diags = %v", err, diags.List)
	}
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, diags, err = Load(file, Options{})
	if err == nil || messages(diags.Errors())[0] != file+": expected a course folder, found a file" {
		t.Errorf("file: err = %v, diags = %v", err, diags.List)
	}
}

func TestDisplayPaths(t *testing.T) {
	fsys := testFS("Skill: {Name: Food}\nNew words: []\nPhrases: []\n", nil)
	_, diags, _ := LoadFS(fsys, filepath.Join("courses", "es"), Options{})
	want := []string{filepath.Join("courses", "es", "basics", "skills", "food.yaml") + `:1:8: expected "Id" in "Skill"`}
	if diff := cmp.Diff(want, messages(diags.Errors())); diff != "" {
		t.Errorf("errors mismatch (-want +got):\n%s", diff)
	}
}

var cmpIgnorePos = cmp.FilterPath(func(p cmp.Path) bool {
	return p.Last().String() == ".Pos"
}, cmp.Ignore())
