package librelingo

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/owlstack/owl/internal/course"
)

// TestMalformed loads the broken courses under testdata/malformed and
// requires exactly the errors expected, each with its file, line and column.
func TestMalformed(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		errors  []string
		omitted int
	}{
		{name: "syntax-error", errors: []string{
			"basics/skills/food.yaml:7:4: invalid YAML: did not find expected '-' indicator",
		}},
		{name: "unclosed-quote", errors: []string{
			"basics/skills/food.yaml:10:3: invalid YAML: found unexpected end of stream",
		}},
		{name: "tab-indent", errors: []string{
			"basics/skills/food.yaml:7:1: invalid YAML: found a tab character that violates indentation",
		}},
		{name: "wrong-types", errors: []string{
			`basics/skills/food.yaml:5:12: expected a list for "New words", found the text "pan"`,
			`basics/skills/food.yaml:8:3: expected a list for "Phrases", found a mapping`,
		}},
		{name: "missing-skill-file", errors: []string{
			`basics/module.yaml:6:5: expected skill file {dir}/basics/skills/drinks.yaml, listed as "drinks.yaml"; it does not exist`,
		}},
		{name: "phrase-without-translation", errors: []string{
			`basics/skills/food.yaml:10:5: expected "Translation" in phrase "Yo como pan"`,
		}},
		{name: "missing-module-yaml", errors: []string{
			`course.yaml:17:5: expected module folder "extra/" to hold module.yaml; {dir}/extra/module.yaml does not exist`,
		}},
		{name: "errors-in-several-files", errors: []string{
			`basics/skills/food.yaml:2:3: expected "Id" in "Skill"`,
			`basics/skills/drinks.yaml:7:17: expected text for "Translation" of word "pan", found nothing`,
		}},
		{name: "not-a-mapping", errors: []string{
			"course.yaml:1:1: expected a mapping for course.yaml, found a list",
		}},
		{name: "empty-skill", errors: []string{
			"basics/skills/food.yaml:1:1: expected a YAML mapping, found an empty file",
		}},
		{name: "invalid-utf8", errors: []string{
			"basics/skills/food.yaml:10:22: expected UTF-8 text, found the byte 0xff",
		}},
		{name: "control-character", errors: []string{
			"basics/skills/food.yaml:11:23: expected printable text, found the control character U+0007",
		}},
		{name: "missing-course-fields", errors: []string{
			`course.yaml:2:3: expected "License" in "Course"`,
			`course.yaml:6:5: expected "IETF BCP 47" in "For speakers of"`,
		}},
		{name: "mini-dictionary-language", errors: []string{
			`basics/skills/food.yaml:14:3: expected "English" in "Mini-dictionary" (a language of the course)`,
		}},
		{name: "duplicate-skill-id", errors: []string{
			`basics/skills/drinks.yaml:1:1: skill "Drinks" has Id 1, which skill "Food" ({dir}/basics/skills/food.yaml:1:1) already has; each skill needs its own Id`,
		}},
		{name: "second-document", errors: []string{
			"basics/skills/food.yaml:20:1: expected a single YAML document, found a second one",
		}},
		{name: "no-course-yaml", errors: []string{
			"course.yaml: expected a LibreLingo course: course.yaml does not exist",
		}},
		{name: "outside-course", errors: []string{
			`course.yaml:17:5: expected a module folder inside the course, found "../elsewhere/"`,
		}},
		{name: "repeated-key", opts: Options{Strict: true}, errors: []string{
			`basics/skills/food.yaml:11:1: repeated key "Phrases" in a skill file (first at line 9); the last value is used, as LibreLingo does`,
		}},
		{name: "many-errors", opts: Options{MaxErrors: 3}, omitted: 2, errors: []string{
			`basics/skills/food.yaml:8:5: expected "Translation" in phrase "uno"`,
			`basics/skills/food.yaml:9:5: expected "Translation" in phrase "dos"`,
			`basics/skills/food.yaml:10:5: expected "Translation" in phrase "tres"`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join("testdata", "malformed", tt.name)
			c, diags, err := Load(dir, tt.opts)
			if c != nil {
				t.Error("a course with errors was returned")
			}
			var invalid *course.InvalidError
			if !errors.As(err, &invalid) {
				t.Fatalf("Load error = %v, want a *course.InvalidError", err)
			}
			want := make([]string, len(tt.errors))
			for i, e := range tt.errors {
				want[i] = filepath.Join(dir, strings.ReplaceAll(e, "{dir}", dir))
			}
			if diff := cmp.Diff(want, messages(diags.Errors())); diff != "" {
				t.Errorf("errors mismatch (-want +got):\n%s", diff)
			}
			if diags.Omitted != tt.omitted {
				t.Errorf("Omitted = %d, want %d", diags.Omitted, tt.omitted)
			}
			if len(invalid.Errors)+invalid.Omitted != len(tt.errors)+tt.omitted {
				t.Errorf("InvalidError carries %d errors, want %d", len(invalid.Errors)+invalid.Omitted, len(tt.errors)+tt.omitted)
			}
		})
	}
}

func TestRepeatedKeyIsAWarningWhenNotStrict(t *testing.T) {
	dir := filepath.Join("testdata", "malformed", "repeated-key")
	c, diags, err := Load(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, `basics/skills/food.yaml:11:1: warning: repeated key "Phrases" in a skill file (first at line 9); the last value is used, as LibreLingo does`)}
	if diff := cmp.Diff(want, messages(diags.Warnings())); diff != "" {
		t.Errorf("warnings mismatch (-want +got):\n%s", diff)
	}
	if got := len(c.Modules[0].Skills[0].Phrases); got != 1 {
		t.Errorf("the last Phrases value should win: got %d phrases, want 1", got)
	}
}
