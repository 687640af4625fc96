package course

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The expected values in this file were produced by Python 3 (re, str.lower,
// repr, round) and python-slugify 4.0.0, the behaviour LibreLingo's tools
// rely on.

func TestTerms(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"Es un caballo", []string{"Es", "un", "caballo"}},
		{"{kon mi} avlan en ebreo", []string{"kon mi", "avlan", "en", "ebreo"}},
		{"Yo moro en {Mueva York}", []string{"Yo", "moro", "en", "Mueva York"}},
		{"I'm 'quoted text' here", []string{"I", "'m '", "quoted", "text'", "here"}},
		{`De "{l'eau}", s'il vous plaît`, []string{"De", `"`, "l'eau", `",`, "s'il", "vous", "plaît"}},
		{"¿Están  escribiendo? ", []string{"¿Están", "escribiendo?"}},
		{"a\tb c", []string{"a\tb", "c"}},
		{"{a b}{c d}", []string{"a b", "c d"}},
		{"x {unclosed y", []string{"x", "unclosed", "y"}},
		{"it's Bob's", []string{"it", "'s Bob'", "s"}},
		{"", nil},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, Terms(tt.in)); diff != "" {
			t.Errorf("Terms(%q) mismatch (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestCleanWord(t *testing.T) {
	tests := map[string]string{
		"¿Están":                         "Están",
		"carta?":                         "carta",
		"\u0309\u030c\u0309\u0309¿Están": "Están",
		"l'homme":                        "l'homme",
		"'hola'":                         "'hola'",
		"¡Hola!":                         "Hola",
		"...":                            "",
		"_x_":                            "_x_",
		"٣٤.":                            "٣٤",
		"über,":                          "über",
		"«Hola»":                         "Hola",
		"(yo)":                           "yo",
		"x²":                             "x²",
		"—":                              "",
		"Ⅻ.":                             "Ⅻ",
	}
	for in, want := range tests {
		if got := CleanWord(in); got != want {
			t.Errorf("CleanWord(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLower(t *testing.T) {
	tests := map[string]string{
		"İSTANBUL": "i\u0307stanbul",
		"ΟΔΟΣ":     "οδος",
		"ΣΑ":       "σα",
		"Σ":        "σ",
		"ΑΣ.Β":     "ασ.β",
		"ǅ":        "ǆ",
		"ÀÉÎ":      "àéî",
		"Plain":    "plain",
	}
	for in, want := range tests {
		if got := Lower(in); got != want {
			t.Errorf("Lower(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPyRepr(t *testing.T) {
	tests := map[string]string{
		"It's a horse":          `"It's a horse"`,
		"plain":                 `'plain'`,
		`both ' and "`:          `'both \' and "'`,
		`back\slash`:            `'back\\slash'`,
		"tab\there":             `'tab\there'`,
		"nl\nx":                 `'nl\nx'`,
		"\x00\x7f\u0085":        `'\x00\x7f\x85'`,
		"\u200b\u00a0\u2028":    `'\u200b\xa0\u2028'`,
		"\U0001F600 \U000E0001": "'\U0001F600 \\U000e0001'",
		"é":                     "'é'",
	}
	for in, want := range tests {
		if got := pyRepr(in); got != want {
			t.Errorf("pyRepr(%q) = %s, want %s", in, got, want)
		}
	}
	if got, want := pyReprList(nil), "None"; got != want {
		t.Errorf("pyReprList(nil) = %s, want %s", got, want)
	}
	if got, want := pyReprList([]string{}), "[]"; got != want {
		t.Errorf("pyReprList([]) = %s, want %s", got, want)
	}
	if got, want := pyReprList([]string{"a", "b's"}), `['a', "b's"]`; got != want {
		t.Errorf("pyReprList = %s, want %s", got, want)
	}
}

func TestSlugify(t *testing.T) {
	tests := map[string]string{
		"Ser/Estar":      "ser-estar",
		"Verb plurals":   "verb-plurals",
		"Préférences":    "preferences",
		"État":           "etat",
		"It's me":        "it-s-me",
		"1,000 words":    "1000-words",
		"Привет мир":     "privet-mir",
		"&amp; more":     "more",
		"Ŝtono ĉi":       "stono-ci",
		"Straße":         "strasse",
		"  --Hello--  ":  "hello",
		"北京":             "bei-jing",
		"ɣ ḍ ɛ":          "g-d-e",
		"Ça va?":         "ca-va",
		"Ñandú":          "nandu",
		"x&#233;y":       "xe-y",
		"a&#x41;b":       "aab",
		"İstanbul":       "istanbul",
		"Æsop's fables":  "aesop-s-fables",
		"Œuvre":          "oeuvre",
		"At the café":    "at-the-cafe",
		"!!!":            "",
		"1,2,3 go":       "123-go",
		"&#99999999999;": "99999999999",
	}
	for in, want := range tests {
		if got := Slugify(in); got != want {
			t.Errorf("Slugify(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLevels(t *testing.T) {
	tests := [][3]int{
		{0, 0, 1}, {3, 0, 1}, {4, 0, 2}, {10, 0, 2}, {11, 0, 3}, {0, 2, 1}, {0, 3, 2},
		{12, 3, 3}, {82, 112, 35}, {7, 5, 3}, {3, 2, 2}, {17, 8, 5}, {24, 0, 4}, {25, 0, 5},
	}
	for _, tt := range tests {
		if got := Levels(tt[0], tt[1]); got != tt[2] {
			t.Errorf("Levels(%d, %d) = %d, want %d", tt[0], tt[1], got, tt[2])
		}
	}
}

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b  string
		limit int
		want  int
	}{
		{"", "", -1, 0},
		{"abc", "", -1, 3},
		{"kitten", "sitting", -1, 3},
		{"caballo", "caballos", -1, 1},
		{"año", "ano", -1, 1},
		{"kitten", "sitting", 2, 3},
		{"kitten", "sitting", 3, 3},
		{"a", "abcdef", 2, 3},
	}
	for _, tt := range tests {
		if got := editDistance([]rune(tt.a), []rune(tt.b), tt.limit); got != tt.want {
			t.Errorf("editDistance(%q, %q, %d) = %d, want %d", tt.a, tt.b, tt.limit, got, tt.want)
		}
	}
}

func TestAudioID(t *testing.T) {
	got := AudioID(Language{Name: "Spanish"}, "Es un caballo")
	if want := "a422fc6d7571bcde62d2499da164bdc839dd7338b900545733731b068981f609"; got != want {
		t.Errorf("AudioID = %s, want %s", got, want)
	}
}

func TestSkillOpaqueID(t *testing.T) {
	s := Skill{ID: "2"}
	if got, want := s.OpaqueID(), "38c2ea1c36d2"; got != want {
		t.Errorf("OpaqueID = %s, want %s", got, want)
	}
}
