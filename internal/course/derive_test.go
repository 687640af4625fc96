package course

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// testCourse is a small Spanish course with audio, two skills and a
// dictionary that defines every word.
func testCourse() *Course {
	return &Course{
		Target:            Language{Name: "Spanish", Code: "es"},
		Source:            Language{Name: "English", Code: "en"},
		License:           License{ShortName: "CC BY-SA 4.0", Name: "Attribution-ShareAlike 4.0 International", Link: "https://example.org"},
		SpecialCharacters: []string{"ñ"},
		Settings:          Settings{Audio: Audio{Enabled: true}},
		Modules: []Module{{
			Name: "Basics",
			Skills: []Skill{
				{
					Name: "Animals", ID: "2",
					Words: []Word{
						{Target: []string{"perro", "can"}, Source: []string{"dog"}, Images: []string{"dog1", "dog2", "dog3"}},
						{Target: []string{"gato"}, Source: []string{"cat"}},
						{Target: []string{"pato"}, Source: []string{"duck"}, Images: []string{}},
						{Target: []string{"oso"}, Source: []string{"bear"}},
						{Target: []string{"el perro"}, Source: []string{"the dog"}},
						{Target: []string{"un gato"}, Source: []string{"a cat"}},
						{Target: []string{"Gato"}, Source: []string{"Cat"}}, // repeats gato for matchPairs
						{Target: []string{"león"}, Source: []string{"lion"}},
					},
					Phrases: []Phrase{
						{Target: []string{"Es un perro", "Es un can"}, Source: []string{"It's a dog", "It is a dog"}},
						{Target: []string{"Hola"}, Source: []string{"Hello"}},
						{Target: []string{"El gato come"}, Source: []string{"The cat eats"}},
					},
					Dictionary: []Definition{
						{Word: "es", Meanings: []string{"is"}, InTarget: true},
						{Word: "un", Meanings: []string{"a", "one"}, InTarget: true},
						{Word: "el", Meanings: []string{"the"}, InTarget: true},
						{Word: "come", Meanings: []string{"eats"}, InTarget: true},
						{Word: "hola", Meanings: []string{"hello"}, InTarget: true},
						{Word: "it's", Meanings: []string{"es"}},
						{Word: "a", Meanings: []string{"un", "una"}},
						{Word: "the", Meanings: []string{"el"}},
						{Word: "eats", Meanings: []string{"come"}},
						{Word: "hello", Meanings: []string{"hola"}},
					},
				},
				{
					Name: "Food", ID: "food-uuid",
					Words: []Word{
						{Target: []string{"pan"}, Source: []string{"bread"}},
					},
					Phrases: []Phrase{
						{Target: []string{"Yo como pan"}, Source: []string{"I eat bread"}},
					},
					Dictionary: []Definition{
						{Word: "yo", Meanings: []string{"I"}, InTarget: true},
						{Word: "como", Meanings: []string{"I eat"}, InTarget: true},
						{Word: "I", Meanings: []string{"yo"}},
						{Word: "eat", Meanings: []string{"como"}},
					},
				},
			},
		}},
	}
}

func countTypes(sc []SkillChallenges) map[Type]int {
	out := make(map[Type]int)
	for _, s := range sc {
		for _, c := range s.Challenges {
			out[c.ChallengeType()]++
		}
	}
	return out
}

func TestDeriveCounts(t *testing.T) {
	c := testCourse()
	got := countTypes(Derive(c))
	want := map[Type]int{
		TypeCards:              9,
		TypeShortInput:         9,
		TypeListening:          9 + 4,
		TypeOptions:            4,
		TypeChips:              2 * 3, // "Hola" has one word
		TypeReverseTranslation: 2 * 4,
		TypeMissingWord:        3,
		TypeSpeaking:           4,
		TypeMatchPairs:         2, // 7 distinct words: rounds of 4 and 3
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("challenge counts mismatch (-want +got):\n%s", diff)
	}

	c.Settings.Audio.Enabled = false
	got = countTypes(Derive(c))
	if got[TypeListening] != 0 {
		t.Errorf("audio disabled: %d listening challenges, want 0", got[TypeListening])
	}
	for _, s := range Derive(c) {
		for _, ch := range s.Challenges {
			switch ch := ch.(type) {
			case *Options:
				if ch.Audio != "" {
					t.Errorf("audio disabled: options %s has audio", ch.ID)
				}
			case *Speaking:
				if ch.Audio != "" {
					t.Errorf("audio disabled: speaking %s has audio", ch.ID)
				}
			}
		}
	}
}

func TestDeriveLibreLingoShapes(t *testing.T) {
	sc := Derive(testCourse())
	if got, want := sc[0].ID, "38c2ea1c36d2"; got != want {
		t.Errorf("skill id = %s, want %s", got, want)
	}
	if got, want := sc[0].Levels, Levels(8, 3); got != want {
		t.Errorf("levels = %d, want %d", got, want)
	}
	var cards *Cards
	var short *ShortInput
	var chips []*Chips
	for _, ch := range sc[0].Challenges {
		switch ch := ch.(type) {
		case *Cards:
			if cards == nil {
				cards = ch
			}
		case *ShortInput:
			if short == nil {
				short = ch
			}
		case *Chips:
			chips = append(chips, ch)
		}
	}
	wantCards := &Cards{
		Type:                    TypeCards,
		Pictures:                []string{"dog1.jpg", "dog2.jpg", "dog3.jpg"},
		FormInTargetLanguage:    "perro",
		MeaningInSourceLanguage: "dog",
		Meta: Meta{
			ID:       opaqueID("Word", "Word(in_target_language='perro', in_source_language='dog', pictures=['dog1', 'dog2', 'dog3'])", "cards"),
			Priority: 0,
			Group:    opaqueID("Group", "Word(in_target_language='perro', in_source_language='dog', pictures=['dog1', 'dog2', 'dog3'])", ""),
			Words:    []int{0},
			Terms:    []string{"perro"},
		},
	}
	if diff := cmp.Diff(wantCards, cards); diff != "" {
		t.Errorf("cards mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"perro", "can"}, short.FormInTargetLanguage); diff != "" {
		t.Errorf("shortInput forms mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]WordDefinition{{Word: "dog", Definition: "perro"}}, short.Phrase); diff != "" {
		t.Errorf("shortInput phrase mismatch (-want +got):\n%s", diff)
	}

	// "Es un perro" → chips into Spanish with max(3-1, 2) = 2 extra chips.
	first := chips[0]
	if first.TranslatesToSourceLanguage {
		t.Fatal("first chips challenge should translate to the target language")
	}
	if diff := cmp.Diff([][]string{{"Es", "un", "perro"}, {"Es", "un", "can"}}, first.Solutions); diff != "" {
		t.Errorf("solutions mismatch (-want +got):\n%s", diff)
	}
	if got := len(first.Chips); got != 5 {
		t.Errorf("chips = %q, want 3 solution chips and 2 extras", first.Chips)
	}
	wantPhrase := []WordDefinition{{"It's", "es"}, {"a", "un\nuna"}, {"dog", "perro"}}
	if diff := cmp.Diff(wantPhrase, first.Phrase); diff != "" {
		t.Errorf("chips phrase mismatch (-want +got):\n%s", diff)
	}
	// Pictures: nil and empty images both give null pictures.
	for _, ch := range sc[0].Challenges {
		if c, ok := ch.(*Cards); ok && c.FormInTargetLanguage == "pato" && c.Pictures != nil {
			t.Errorf("pato has Images: [] and should have null pictures, got %q", c.Pictures)
		}
	}
}

func TestExtraChipsFollowLibreLingo(t *testing.T) {
	v := newVocabulary(false)
	v.addAll([]string{"Es", "un", "caballo", "El", "gato", "es", "al", "Un", "can"})
	// Not in the solution (case-sensitive), first of each lowercase spelling,
	// stable sort by summed distance, first max(3-1, 2).
	got := v.extraChips(v.newScratch(), []string{"Es", "un", "caballo"})
	want := bruteExtraChips(v.list, []string{"Es", "un", "caballo"})
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("extraChips mismatch (-want +got):\n%s", diff)
	}
}

// bruteExtraChips is LibreLingo's algorithm written plainly.
func bruteExtraChips(all, solution []string) []string {
	in := map[string]bool{}
	for _, s := range solution {
		in[s] = true
	}
	var extra []string
	seen := map[string]bool{}
	for _, c := range all {
		if in[c] || seen[Lower(c)] {
			continue
		}
		seen[Lower(c)] = true
		extra = append(extra, c)
	}
	score := func(c string) int {
		total := 0
		for _, s := range solution {
			total += editDistance([]rune(s), []rune(c), -1)
		}
		return total
	}
	sortStrings(extra, func(a, b string) int { return score(a) - score(b) })
	return extra[:min(len(extra), max(len(solution)-1, 2))]
}

func TestExtraChipsMatchesBruteForce(t *testing.T) {
	words := []string{"the", "The", "cat", "cats", "eats", "eat", "a", "an", "dog", "dogs", "", "hat", "that", "what", "bread", "read", "red", "ed", "Cat", "caT"}
	v := newVocabulary(false)
	v.addAll(words)
	sc := v.newScratch()
	for _, sol := range [][]string{{"the", "cat"}, {"a", "dog", "eats", "bread"}, {"what"}, {"", "x"}, {"Cat", "cat", "cat", "cat"}} {
		if diff := cmp.Diff(bruteExtraChips(v.list, sol), v.extraChips(sc, sol)); diff != "" {
			t.Errorf("extraChips(%q) mismatch (-brute +fast):\n%s", sol, diff)
		}
	}
}

func TestMissingWord(t *testing.T) {
	c := testCourse()
	var got []*MissingWord
	for _, s := range Derive(c) {
		for _, ch := range s.Challenges {
			if mw, ok := ch.(*MissingWord); ok {
				got = append(got, mw)
			}
		}
	}
	if len(got) != 3 {
		t.Fatalf("got %d missingWord challenges, want 3", len(got))
	}
	mw := got[0] // "Es un perro", alternative "Es un can"
	if mw.Before+mw.Answer+mw.After != "Es un perro" || mw.Answer != "perro" {
		t.Errorf("gap: %q + %q + %q", mw.Before, mw.Answer, mw.After)
	}
	for _, ch := range mw.Choices {
		if ch == "can" {
			t.Errorf("choices %q offer %q, which makes another accepted version", mw.Choices, ch)
		}
		if ch == "Es" || ch == "un" {
			t.Errorf("choices %q offer %q from the phrase itself", mw.Choices, ch)
		}
	}
	if !contains(mw.Choices, "perro") || len(mw.Choices) < 2 || len(mw.Choices) > 4 {
		t.Errorf("choices %q should hold the answer and 1 to 3 distractors", mw.Choices)
	}
}

func TestOptionsDistractors(t *testing.T) {
	sc := Derive(testCourse())
	var food *Options
	for _, ch := range sc[1].Challenges {
		if o, ok := ch.(*Options); ok {
			food = o
		}
	}
	// The Food skill has one phrase, so distractors come from Animals.
	want := []string{"Es un perro", "Hola", "El gato come"}
	if diff := cmp.Diff(want, food.Distractors); diff != "" {
		t.Errorf("distractors mismatch (-want +got):\n%s", diff)
	}
}

func TestMatchPairsRounds(t *testing.T) {
	sc := Derive(testCourse())
	var rounds []*MatchPairs
	for _, ch := range sc[0].Challenges {
		if m, ok := ch.(*MatchPairs); ok {
			rounds = append(rounds, m)
		}
	}
	if len(rounds) != 2 {
		t.Fatalf("got %d rounds, want 2", len(rounds))
	}
	if diff := cmp.Diff([]int{0, 1, 2, 3}, rounds[0].Words); diff != "" {
		t.Errorf("round 1 words mismatch (-want +got):\n%s", diff)
	}
	// Word 6 ("Gato"/"Cat") repeats word 1 ignoring case and is left out.
	if diff := cmp.Diff([]int{4, 5, 7}, rounds[1].Words); diff != "" {
		t.Errorf("round 2 words mismatch (-want +got):\n%s", diff)
	}
	if rounds[0].ID == rounds[1].ID || rounds[0].Group == rounds[1].Group {
		t.Error("rounds share an id or group")
	}
}

func TestDeriveDeterministic(t *testing.T) {
	a, b := Derive(testCourse()), Derive(testCourse())
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("two derivations differ (-first +second):\n%s", diff)
	}
}

func TestChallengesJSONRoundTrip(t *testing.T) {
	for _, sc := range Derive(testCourse()) {
		data, err := json.Marshal(sc)
		if err != nil {
			t.Fatal(err)
		}
		var back SkillChallenges
		if err := json.Unmarshal(data, &back); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(sc, back); diff != "" {
			t.Errorf("round trip mismatch (-want +got):\n%s", diff)
		}
	}
	if _, err := UnmarshalChallenge([]byte(`{"type":"teleport"}`)); err == nil {
		t.Error("unknown type decoded without error")
	}
}

func TestEveryTypeIsDerived(t *testing.T) {
	got := countTypes(Derive(testCourse()))
	for _, typ := range Types {
		if got[typ] == 0 {
			t.Errorf("no %s challenge derived", typ)
		}
	}
}

func TestDictionary(t *testing.T) {
	d := NewDictionary(testCourse())
	tests := []struct {
		word     string
		inTarget bool
		want     string
		ok       bool
	}{
		{"¿Es", true, "is", true},
		{"UN", true, "a\none", true},
		{"perro", true, "dog", true},
		{"dog,", false, "perro", true},
		{"Dog", false, "perro", true},
		{"the dog", false, "el perro", true},
		{"gato", false, "", false},
		{"el perro", true, "the dog", true},
		{"pan", true, "bread", true},
		{"bread", true, "", false},
	}
	for _, tt := range tests {
		got, ok := d.Define(tt.word, tt.inTarget)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Define(%q, %v) = %q, %v; want %q, %v", tt.word, tt.inTarget, got, ok, tt.want, tt.ok)
		}
	}
	// Entries keep the order of first definition.
	if got := d.Entries()[0]; got.Word != "dog" || got.InTarget {
		t.Errorf("first entry = %+v, want dog (source side)", got)
	}
}

func TestDictionaryEmptyDefinition(t *testing.T) {
	c := &Course{Modules: []Module{{Skills: []Skill{{
		Dictionary: []Definition{{Word: "x", Meanings: []string{""}, InTarget: true}, {Word: "X", Meanings: []string{"ex"}, InTarget: true}},
	}}}}}
	// LibreLingo uses the first matching entry even when it is empty.
	if def, ok := NewDictionary(c).Define("x", true); ok {
		t.Errorf("Define = %q, true; want no definition", def)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
