package course

import (
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

func validate(c *Course, opts ValidateOptions) []string {
	var d Diagnostics
	Validate(c, opts, &d)
	var out []string
	for _, diag := range d.List {
		out = append(out, diag.String())
	}
	return out
}

func TestValidateTestCourse(t *testing.T) {
	got := validate(testCourse(), ValidateOptions{})
	want := []string{`warning: word "pato" has 0 images; cards show 3`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Validate mismatch (-want +got):\n%s", diff)
	}
}

func TestValidate(t *testing.T) {
	pos := func(line int) Pos { return Pos{File: "s.yaml", Line: line, Col: 3} }
	c := &Course{
		Target: Language{Name: "Spanish"},
		Source: Language{Name: "English"},
		Modules: []Module{{Skills: []Skill{
			{
				Name: "Animals", ID: "1", Pos: pos(1), Thumbnails: []string{"dog1", "nope"},
				Words: []Word{
					{Target: []string{"perro"}, Source: []string{"dog"}, Images: []string{"dog1", "dog2"}, Pos: pos(2)},
					{Target: []string{"perro"}, Source: []string{"dog"}, Pos: pos(3)},
					{Target: []string{""}, Source: []string{"cat", " "}, Pos: pos(4)},
				},
				Phrases: []Phrase{
					{Target: []string{"\u0301Un perro"}, Source: []string{"A dog"}, Pos: pos(5)},
				},
				Dictionary: []Definition{
					{Word: "un", Meanings: []string{"a"}, InTarget: true},
					{Word: "a", Meanings: []string{"un"}},
				},
			},
			{Name: "animals!", ID: "1", Pos: pos(20)},
			{Name: "???", ID: "3", Pos: pos(30)},
		}}},
	}
	assets := fstest.MapFS{
		"dog1.svg": {Data: []byte("<svg/>")},
		"dog2.jpg": {Data: []byte("jpeg")},
	}
	want := []string{
		`s.yaml:1:3: thumbnail "nope" not found in the assets folder (looked for nope.jpg, nope.jpeg, nope.png, nope.svg, nope.webp)`,
		`s.yaml:2:3: warning: word "perro" has 2 images; cards show 3`,
		`s.yaml:3:3: warning: word "perro" ("dog") is already taught at line 2; its challenges would repeat`,
		`s.yaml:4:3: a word is empty`,
		`s.yaml:4:3: warning: the translation of a word has an empty alternative`,
		`s.yaml:4:3: warning: English word "cat" (in "cat", the translation of word "") is not in the dictionary; add it to a Mini-dictionary or Two-way-dictionary`,
		`s.yaml:5:3: warning: "́Un perro" has a combining mark U+0301 that follows no letter; remove it`,
		`s.yaml:20:3: skill "animals!" has Id 1, which skill "Animals" (s.yaml:1:3) already has; each skill needs its own Id`,
		`s.yaml:20:3: skill "animals!" gets the file name "animals.json", as skill "Animals" (s.yaml:1:3) does; rename one`,
		`s.yaml:20:3: warning: skill "animals!" has no new words and no phrases: it only adds to the dictionary and has no challenges`,
		`s.yaml:30:3: skill name "???" has no letter or digit to name its challenge file`,
		`s.yaml:30:3: warning: skill "???" has no new words and no phrases: it only adds to the dictionary and has no challenges`,
	}
	var d Diagnostics
	Validate(c, ValidateOptions{Assets: assets}, &d)
	d.Sort()
	var got []string
	for _, diag := range d.List {
		got = append(got, diag.String())
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Validate mismatch (-want +got):\n%s", diff)
	}
}

func TestStrayMark(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"\u0309\u030c¿Están", true},
		{"Están", false},
		{"d\u0323", false},       // d with dot below, decomposed
		{"क\u093e", false},       // Devanagari vowel sign after a consonant
		{"a \u0301b", true},      // mark after a space
		{"¿\u0301", true},        // mark after punctuation
		{"e\u0301\u0302", false}, // stacked marks on a letter
		{"", false},
	}
	for _, tt := range tests {
		if _, got := StrayMark(tt.in); got != tt.want {
			t.Errorf("StrayMark(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
