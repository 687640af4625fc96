package session

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/owlstack/owl/internal/course"
	"github.com/owlstack/owl/internal/course/snapshot"
	"github.com/owlstack/owl/internal/memory"
)

var now = time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)

func days(n float64) time.Duration { return time.Duration(n * 24 * float64(time.Hour)) }

// itemsOf returns the main target texts of a skill's words and phrases, in
// order.
func itemsOf(sk *snapshot.Skill) []string {
	var out []string
	for _, w := range sk.Words {
		out = append(out, w.Target[0])
	}
	for _, p := range sk.Phrases {
		out = append(out, p.Target[0])
	}
	return out
}

// learned returns user words for texts, each answered well twice.
func learned(texts []string, last time.Time) []WordState {
	var out []WordState
	for _, t := range texts {
		out = append(out, WordState{Word: t, History: []Review{
			{At: last.Add(-days(3)), Grade: memory.Good},
			{At: last, Grade: memory.Good},
		}})
	}
	return out
}

// check verifies the rules every session obeys.
func check(t *testing.T, c *snapshot.Course, req Request, s *Session) {
	t.Helper()
	length := req.Length
	if length == 0 {
		length = req.User.Settings.Length
	}
	if length == 0 {
		length = DefaultLength
	}
	if s.ShortBy < 0 || len(s.Challenges)+s.ShortBy != length {
		t.Fatalf("%d challenges, short by %d, asked for %d", len(s.Challenges), s.ShortBy, length)
	}
	known := map[string]bool{}
	for _, w := range req.User.Words {
		known[w.Word] = true
	}
	seen := map[string]bool{}
	introduced := map[string]bool{}
	for i, it := range s.Challenges {
		sk, ok := c.SkillByID(it.Skill)
		if !ok {
			t.Fatalf("challenge %d: unknown skill %q", i, it.Skill)
		}
		if !slices.Contains(sk.Challenges, it.Challenge) {
			t.Fatalf("challenge %d (%s) is not a challenge of skill %s", i, it.Challenge.Metadata().ID, it.Skill)
		}
		m := it.Challenge.Metadata()
		key := it.Skill + "/" + m.ID
		if seen[key] {
			t.Fatalf("challenge %d: %s twice", i, key)
		}
		seen[key] = true
		typ := it.Challenge.ChallengeType()
		if req.User.Settings.ListeningOff && typ == course.TypeListening || req.User.Settings.SpeakingOff && typ == course.TypeSpeaking {
			t.Fatalf("challenge %d: %s despite the settings", i, typ)
		}
		if i >= 2 && s.Challenges[i-1].Challenge.ChallengeType() == typ && s.Challenges[i-2].Challenge.ChallengeType() == typ {
			t.Fatalf("challenges %d-%d: three %s in a row", i-2, i, typ)
		}
		var uses []string
		for _, w := range m.Words {
			uses = append(uses, sk.Words[w].Target[0])
		}
		for _, p := range m.Phrases {
			uses = append(uses, sk.Phrases[p].Target[0])
		}
		if m.Priority == 0 && len(uses) == 1 {
			introduced[it.Skill+"/"+uses[0]] = true
			continue
		}
		for _, u := range uses {
			if !known[u] && !introduced[it.Skill+"/"+u] {
				t.Fatalf("challenge %d (%s, %s) uses %q before its introduction", i, typ, it.WhyText(), u)
			}
		}
		why := it.WhyText()
		if strings.HasPrefix(why, "review") || strings.HasPrefix(why, "missed") {
			if len(uses) == 0 || !known[uses[0]] && !slices.ContainsFunc(uses, func(u string) bool { return known[u] }) {
				t.Fatalf("challenge %d: %s of %v, which the user has not met", i, why, uses)
			}
		}
	}
}

func generate(t *testing.T, c *snapshot.Course, req Request) *Session {
	t.Helper()
	s, err := newGenerator().Generate(c, req)
	if err != nil {
		t.Fatal(err)
	}
	check(t, c, req, s)
	return s
}

func whys(s *Session) []string {
	var out []string
	for _, it := range s.Challenges {
		out = append(out, it.WhyText())
	}
	return out
}

func TestNewLearnerStartsWithLevelOne(t *testing.T) {
	c := demoCourse(t)
	req := Request{Skill: "102", Length: 8, Seed: 1, Now: now, User: User{ID: "u1"}}
	s := generate(t, c, req)
	if s.Level != 1 || s.ShortBy != 0 {
		t.Fatalf("level %d, short by %d", s.Level, s.ShortBy)
	}
	for i, it := range s.Challenges {
		if it.Reason.Kind != KindNew && it.Reason.Kind != KindPractice {
			t.Errorf("challenge %d: %s for a new learner", i, it.WhyText())
		}
	}
	first := s.Challenges[0]
	if first.Challenge.ChallengeType() != course.TypeCards || first.WhyText() != "new L1" {
		t.Errorf("first challenge is %s %q, want the card of the skill's first word (new L1)", first.Challenge.ChallengeType(), first.WhyText())
	}
	if got := first.Challenge.(*course.Cards).FormInTargetLanguage; got != "perro" {
		t.Errorf("first card is %q, want perro (the skill's first word)", got)
	}
}

func TestNewMaterialFollowsLevels(t *testing.T) {
	c := demoCourse(t)
	sk, _ := c.SkillByID("102")
	items := itemsOf(sk)
	n, levels := len(items), sk.Levels
	if levels < 2 {
		t.Fatalf("skill 102 has %d levels; the test needs two", levels)
	}
	// Everything of level 1 learned: the new material is level 2's.
	var l1 []string
	for i, it := range items {
		if i*levels/n == 0 {
			l1 = append(l1, it)
		}
	}
	req := Request{Skill: "102", Length: 10, Seed: 2, Now: now, User: User{ID: "u2", Words: learned(l1, now.Add(-days(1)))}}
	s := generate(t, c, req)
	if s.Level != 2 {
		t.Fatalf("level %d, want 2", s.Level)
	}
	var sawNew bool
	for _, it := range s.Challenges {
		if it.Reason.Kind == KindNew {
			sawNew = true
			if it.Reason.Level != 2 {
				t.Errorf("new material of level %d: %s", it.Reason.Level, it.WhyText())
			}
		}
	}
	if !sawNew {
		t.Errorf("no new material: %v", whys(s))
	}
	// Everything learned: a practice session of the skill, level 0.
	req.User.Words = learned(items, now.Add(-days(1)))
	s = generate(t, c, req)
	if s.Level != 0 {
		t.Errorf("complete skill: level %d, want 0", s.Level)
	}
	for _, it := range s.Challenges {
		if it.Reason.Kind == KindNew {
			t.Errorf("new material in a complete skill: %s", it.WhyText())
		}
	}
}

func TestReviewsLowestRecallAndMissed(t *testing.T) {
	c := demoCourse(t)
	g := newGenerator()
	// Five words of skill 101 with decreasing stability: the less stable,
	// the lower the recall now.
	sk, _ := c.SkillByID("101")
	var words []WordState
	for i, w := range sk.Words {
		words = append(words, WordState{Word: w.Target[0], State: memory.State{
			Last: now.Add(-days(10)), Seen: 3, Correct: 3, Stability: float64(1 + 20*i), Difficulty: 5,
		}})
	}
	// One word missed two days ago.
	missed := c.Skills[1].Words[0].Target[0]
	words = append(words, WordState{Word: missed, History: []Review{
		{At: now.Add(-days(9)), Grade: memory.Good},
		{At: now.Add(-days(2)), Grade: memory.Again},
	}})
	req := Request{Skill: Practice, Length: 3, Seed: 3, Now: now, User: User{ID: "u3", Words: words}}
	s, err := g.Generate(c, req)
	if err != nil {
		t.Fatal(err)
	}
	check(t, c, req, s)
	got := map[string]string{}
	for _, it := range s.Challenges {
		m := it.Challenge.Metadata()
		skill, _ := c.SkillByID(it.Skill)
		got[skill.Words[m.Words[0]].Target[0]] = it.WhyText()
	}
	want := map[string]string{missed: "missed 2 days ago"}
	for i := range 2 {
		p := g.fsrs.Predict(words[i].State, now)
		want[words[i].Word] = fmt.Sprintf("review p=%.2f", p)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("reviews (-want +got):\n%s", d)
	}
}

func TestSettingsAndShortBy(t *testing.T) {
	c := demoCourse(t)
	req := Request{Skill: "101", Length: MaxLength, Seed: 4, Now: now, User: User{ID: "u4", Settings: Settings{ListeningOff: true, SpeakingOff: true}}}
	s := generate(t, c, req)
	if s.ShortBy == 0 {
		t.Fatalf("a new learner of a small skill got %d challenges out of %d", len(s.Challenges), MaxLength)
	}
	// The user's preferred length applies when the request has none.
	req = Request{Skill: "101", Seed: 4, Now: now, User: User{ID: "u4", Settings: Settings{Length: 5}}}
	if s := generate(t, c, req); len(s.Challenges) != 5 {
		t.Errorf("%d challenges, want the preferred 5", len(s.Challenges))
	}
}

func TestDeterministic(t *testing.T) {
	c := demoCourse(t)
	req := Request{Skill: "202", Length: 12, Seed: 9, Now: now, User: User{ID: "u5", Words: learned(itemsOf(&c.Skills[0]), now.Add(-days(4)))}}
	a, err := json.Marshal(generate(t, c, req))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(generate(t, c, req))
	if string(a) != string(b) {
		t.Fatalf("two sessions for the same inputs differ:\n%s\n%s", a, b)
	}
	varied := false
	for seed := range uint64(20) {
		req.Seed = seed
		o, _ := json.Marshal(generate(t, c, req))
		varied = varied || string(o) != string(a)
	}
	if !varied {
		t.Error("20 seeds gave the same session")
	}
}

func TestRequestErrors(t *testing.T) {
	c := demoCourse(t)
	ok := Request{Skill: "101", Now: now, User: User{ID: "u"}}
	tests := []struct {
		name  string
		edit  func(r *Request)
		field string
	}{
		{"unknown skill", func(r *Request) { r.Skill = "999" }, "skill"},
		{"negative length", func(r *Request) { r.Length = -1 }, "length"},
		{"long length", func(r *Request) { r.Length = MaxLength + 1 }, "length"},
		{"no time", func(r *Request) { r.Now = time.Time{} }, "now"},
		{"empty word", func(r *Request) { r.User.Words = []WordState{{}} }, "user.words[0].word"},
		{"repeated word", func(r *Request) { r.User.Words = []WordState{{Word: "perro"}, {Word: "perro"}} }, "user.words[1].word"},
		{"bad grade", func(r *Request) {
			r.User.Words = []WordState{{Word: "perro", History: []Review{{At: now, Grade: 7}}}}
		}, "user.words[0].history[0].grade"},
		{"history out of order", func(r *Request) {
			r.User.Words = []WordState{{Word: "perro", History: []Review{{At: now, Grade: 3}, {At: now.Add(-time.Hour), Grade: 3}}}}
		}, "user.words[0].history[1].at"},
		{"bad memory state", func(r *Request) {
			r.User.Words = []WordState{{Word: "perro", State: memory.State{Stability: 3, Difficulty: 11}}}
		}, "user.words[0]"},
		{"bad preferred length", func(r *Request) { r.User.Settings.Length = 500 }, "user.settings.length"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := ok
			tt.edit(&req)
			_, err := newGenerator().Generate(c, req)
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field {
				t.Fatalf("error %v, want one about %s", err, tt.field)
			}
		})
	}
}

// randomUser makes a learner who has met a random prefix of the course,
// with random histories, settings and misses.
func randomUser(rng *rand.Rand, c *snapshot.Course) User {
	u := User{ID: fmt.Sprint("user", rng.IntN(1000))}
	u.Settings.ListeningOff = rng.IntN(3) == 0
	u.Settings.SpeakingOff = rng.IntN(3) == 0
	skills := rng.IntN(len(c.Skills) + 1)
	for s := range skills {
		items := itemsOf(&c.Skills[s])
		if s == skills-1 {
			items = items[:rng.IntN(len(items)+1)]
		}
		for _, text := range items {
			if slices.ContainsFunc(u.Words, func(w WordState) bool { return w.Word == text }) {
				continue
			}
			var h []Review
			at := now.Add(-days(rng.Float64() * 90))
			for range 1 + rng.IntN(5) {
				h = append(h, Review{At: at, Grade: memory.Grade(1 + rng.IntN(4))})
				at = at.Add(days(rng.Float64() * 10))
				if at.After(now) {
					break
				}
			}
			u.Words = append(u.Words, WordState{Word: text, History: h})
		}
	}
	return u
}

func propertyCheck(t *testing.T, c *snapshot.Course, runs int) {
	rng := rand.New(rand.NewPCG(7, uint64(len(c.Skills))))
	g := newGenerator()
	for range runs {
		u := randomUser(rng, c)
		skill := Practice
		if rng.IntN(4) > 0 {
			skill = c.Skills[rng.IntN(len(c.Skills))].ID
		}
		req := Request{Skill: skill, Length: 1 + rng.IntN(30), Seed: rng.Uint64(), Now: now, User: u}
		s, err := g.Generate(c, req)
		if err != nil {
			t.Fatal(err)
		}
		check(t, c, req, s)
		again, _ := g.Generate(c, req)
		a, _ := json.Marshal(s)
		b, _ := json.Marshal(again)
		if string(a) != string(b) {
			t.Fatalf("not deterministic for skill %s seed %d", skill, req.Seed)
		}
	}
}

func TestPropertiesDemo(t *testing.T) { propertyCheck(t, demoCourse(t), 500) }

func TestPropertiesSharedCourses(t *testing.T) {
	for id, c := range sharedCourses(t) {
		t.Run(id, func(t *testing.T) { propertyCheck(t, c, 200) })
	}
}

func TestJSONRoundTrip(t *testing.T) {
	c := demoCourse(t)
	s := generate(t, c, Request{Skill: "201", Length: 6, Seed: 1, Now: now, User: User{ID: "u"}})
	data, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back Session
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Challenges) != len(s.Challenges) {
		t.Fatalf("%d challenges back, want %d", len(back.Challenges), len(s.Challenges))
	}
	for i := range s.Challenges {
		if diff := cmp.Diff(s.Challenges[i].Challenge, back.Challenges[i].Challenge); diff != "" {
			t.Errorf("challenge %d (-want +got):\n%s", i, diff)
		}
		if back.Challenges[i].Why != s.Challenges[i].Reason.String() || back.Challenges[i].Skill != "201" {
			t.Errorf("challenge %d: why %q skill %q", i, back.Challenges[i].Why, back.Challenges[i].Skill)
		}
	}
	if !strings.Contains(string(data), `"why":"new L1"`) {
		t.Errorf("no why field: %s", data)
	}
}

// TestHLRWeightsRankCountsOnlyWords: words with answer counts but no FSRS
// state are ranked by the HLR weights published in the snapshot.
func TestHLRWeightsRankCountsOnlyWords(t *testing.T) {
	plain := demoCourse(t)
	withHLR := *plain
	// Wrong answers shorten the half-life a lot, right ones lengthen it.
	withHLR.HLR = &memory.HLR{Weights: [memory.HLRFeatures]float64{2, 0.5, -0.5}}
	u := User{ID: "imported", Words: []WordState{
		{Word: "adiós", State: memory.State{Last: now.Add(-days(2)), Seen: 6, Correct: 6}},
		{Word: "hola", State: memory.State{Last: now.Add(-days(2)), Seen: 6, Correct: 1}},
	}}
	first := func(c *snapshot.Course) (string, string) {
		s, err := newGenerator().Generate(c, Request{Skill: Practice, Length: 1, Seed: 1, Now: now, User: u})
		if err != nil || len(s.Challenges) != 1 {
			t.Fatalf("session %+v, %v", s, err)
		}
		it := s.Challenges[0]
		sk, _ := c.SkillByID(it.Skill)
		m := it.Challenge.Metadata()
		if len(m.Words) > 0 {
			return sk.Words[m.Words[0]].Target[0], it.Reason.String()
		}
		return sk.Phrases[m.Phrases[0]].Target[0], it.Reason.String()
	}
	if w, why := first(plain); w != "adiós" || why != "review p=0.00" {
		t.Errorf("without weights: %s (%s), want adiós first by text, both unpredicted", w, why)
	}
	w, why := first(&withHLR)
	if w != "hola" || why != "review p=0.61" {
		t.Errorf("with weights: %s (%s), want hola, the word mostly missed, with its HLR recall", w, why)
	}
}
