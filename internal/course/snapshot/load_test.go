package snapshot

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"testing/synctest"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/owlstack/owl/internal/course"
	pb "github.com/owlstack/owl/internal/course/snapshot/snapshotpb"
	"github.com/owlstack/owl/internal/memory"
)

// TestLoadMatchesDecode checks that Load, which decodes one challenge at a
// time, builds the same course as decoding the whole payload at once, with
// unknown fields (from a newer owl) ignored by both, in format 2 and in
// format 1.
func TestLoadMatchesDecode(t *testing.T) {
	c, ch := generated(t, small)
	data, err := Compile(header(), c, ch)
	if err != nil {
		t.Fatal(err)
	}
	data, err = WithHLR(data, &memory.HLR{Weights: [memory.HLRFeatures]float64{1, 0.5, -0.25}, Lexemes: map[string]float64{"a": 0.1}})
	if err != nil {
		t.Fatal(err)
	}
	h, p, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	var unknown []byte
	unknown = protowire.AppendTag(unknown, 1000, protowire.BytesType)
	unknown = protowire.AppendBytes(unknown, []byte("from the future"))
	unknown = protowire.AppendTag(unknown, 1001, protowire.VarintType)
	unknown = protowire.AppendVarint(unknown, 42)
	// Every chunk holds unknown fields, down to a challenge.
	for _, m := range []proto.Message{p.Course, p.Course.Modules[0].Skills[0], p.Skills[0], p.Skills[0].Challenges[0], p.Hlr} {
		m.ProtoReflect().SetUnknown(unknown)
	}
	withUnknown, err := Encode(*h, p)
	if err != nil {
		t.Fatal(err)
	}
	old, err := os.ReadFile("testdata/format1.owlc")
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"plain": data, "unknown fields": withUnknown, "format 1": old} {
		got, err := Load(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		_, p, err := Decode(data)
		if err != nil {
			t.Fatal(err)
		}
		wantC, wantCh, err := fromProto(p)
		if err != nil {
			t.Fatal(err)
		}
		wantHLR, _ := hlrFromProto(p.GetHlr())
		if d := cmp.Diff(wantC, got.Course); d != "" {
			t.Errorf("%s: course (-whole +by skill):\n%s", name, d)
		}
		if d := cmp.Diff(wantCh, challengesOf(got)); d != "" {
			t.Errorf("%s: challenges (-whole +by skill):\n%s", name, d)
		}
		if d := cmp.Diff(wantHLR, got.HLR); d != "" {
			t.Errorf("%s: HLR (-whole +by skill):\n%s", name, d)
		}
	}
	types := map[course.Type]bool{}
	for _, sc := range ch {
		for _, x := range sc.Challenges {
			types[x.ChallengeType()] = true
		}
	}
	for _, typ := range course.Types {
		if !types[typ] {
			t.Errorf("the test course has no %s challenge: its decoding is not compared", typ)
		}
	}
	// Loading again reuses the buffer and gives the same course.
	a, _ := Load(data)
	b, _ := Load(data)
	if d := cmp.Diff(challengesOf(a), challengesOf(b)); d != "" {
		t.Errorf("second load differs:\n%s", d)
	}
}

func challengesOf(c *Course) []course.SkillChallenges {
	out := make([]course.SkillChallenges, len(c.Skills))
	for i, s := range c.Skills {
		out[i] = course.SkillChallenges{ID: s.OpaqueID, Levels: s.Levels, Challenges: s.Challenges}
	}
	return out
}

// TestItemIDs checks the dense ids against Canon, and SameID against the
// challenges' ids.
func TestItemIDs(t *testing.T) {
	sc := loadedSmall(t)
	ix := sc.Items
	seen := map[int32]ItemRef{}
	for s := range sc.Skills {
		sk := &sc.Skills[s]
		refs := []ItemRef{}
		for w := range sk.Words {
			refs = append(refs, ItemRef{Skill: int32(s), Index: int32(w)})
		}
		for p := range sk.Phrases {
			refs = append(refs, ItemRef{Skill: int32(s), Index: int32(p), Phrase: true})
		}
		for _, r := range refs {
			id := ix.ID(r)
			if id < 0 || int(id) >= ix.Count() {
				t.Fatalf("%+v: id %d out of [0, %d)", r, id, ix.Count())
			}
			if other, dup := seen[id]; dup {
				t.Fatalf("%+v and %+v share id %d", r, other, id)
			}
			seen[id] = r
			if got, want := ix.CanonID(r), ix.ID(ix.Canon(r)); got != want {
				t.Errorf("%+v: CanonID %d, ID(Canon) %d", r, got, want)
			}
		}
		for ci, same := range sk.SameID {
			if sk.Challenges[same].Metadata().ID != sk.Challenges[ci].Metadata().ID || int(same) > ci {
				t.Errorf("skill %d challenge %d: SameID %d", s, ci, same)
			}
			for j := range int(same) {
				if sk.Challenges[j].Metadata().ID == sk.Challenges[ci].Metadata().ID {
					t.Errorf("skill %d challenge %d: SameID %d, but %d has the id first", s, ci, same, j)
				}
			}
		}
	}
	if len(seen) != ix.Count() {
		t.Errorf("%d ids for %d items", len(seen), ix.Count())
	}
	// The cached JSON of a challenge is what json.Marshal writes.
	ref := ChallengeRef{Skill: 0, Challenge: 0}
	a, err := sc.ChallengeJSON(ref)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := sc.ChallengeJSON(ref)
	if &a[0] != &b[0] {
		t.Error("ChallengeJSON encoded twice")
	}
	if want, _ := json.Marshal(sc.Challenge(ref)); string(a) != string(want) {
		t.Errorf("ChallengeJSON %s, json.Marshal %s", a, want)
	}
}

// fromProto rebuilds the course and its challenges from a whole decoded
// payload: the reference that Load, which decodes by challenge, must match.
func fromProto(p *pb.Payload) (*course.Course, []course.SkillChallenges, error) {
	d := newDecoder()
	skills := make([]course.SkillChallenges, len(p.Skills))
	for i, ps := range p.Skills {
		sc, err := d.skill(i, ps)
		if err != nil {
			return nil, nil, err
		}
		skills[i] = sc
	}
	c, err := d.course(p.GetCourse(), len(skills))
	if err != nil {
		return nil, nil, err
	}
	return c, skills, nil
}

// skill rebuilds the challenges of skill i.
func (d *decoder) skill(i int, ps *pb.SkillChallenges) (course.SkillChallenges, error) {
	sc := course.SkillChallenges{ID: d.s(ps.Id), Levels: int(ps.Levels), Challenges: make([]course.Challenge, 0, len(ps.Challenges))}
	for j, pch := range ps.Challenges {
		ch, err := d.challenge(pch)
		if err != nil {
			return sc, corrupt("skill %d challenge %d: %v", i, j, err)
		}
		sc.Challenges = append(sc.Challenges, ch)
	}
	return sc, nil
}

// challenge rebuilds a challenge from its protobuf message: the reference
// for challengeBytes.
func (d *decoder) challenge(pc *pb.Challenge) (course.Challenge, error) {
	meta := course.Meta{ID: pc.Id, Priority: int(pc.Priority), Group: d.s(pc.Group), Words: ints(pc.Words), Phrases: ints(pc.Phrases), Terms: d.ss(pc.Terms)}
	switch k := pc.Kind.(type) {
	case *pb.Challenge_Cards:
		c := k.Cards
		return &course.Cards{Type: course.TypeCards, Pictures: d.ss(c.Pictures), FormInTargetLanguage: d.s(c.FormInTargetLanguage), MeaningInSourceLanguage: d.s(c.MeaningInSourceLanguage), Meta: meta}, nil
	case *pb.Challenge_Options:
		c := k.Options
		return &course.Options{Type: course.TypeOptions, FormInTargetLanguage: d.s(c.FormInTargetLanguage), MeaningInSourceLanguage: d.s(c.MeaningInSourceLanguage), Audio: d.s(c.Audio), Distractors: d.ss(c.Distractors), Meta: meta}, nil
	case *pb.Challenge_ShortInput:
		c := k.ShortInput
		return &course.ShortInput{Type: course.TypeShortInput, Pictures: d.ss(c.Pictures), FormInTargetLanguage: d.ss(c.FormInTargetLanguage), Phrase: d.defs(c.Phrase), Meta: meta}, nil
	case *pb.Challenge_Listening:
		c := k.Listening
		return &course.Listening{Type: course.TypeListening, Answer: d.s(c.Answer), Meaning: d.s(c.Meaning), Audio: d.s(c.Audio), Meta: meta}, nil
	case *pb.Challenge_Chips:
		c := k.Chips
		sol := make([][]string, len(c.Solutions))
		for i, s := range c.Solutions {
			sol[i] = d.ss(s.Chips)
		}
		return &course.Chips{Type: course.TypeChips, TranslatesToSourceLanguage: c.TranslatesToSourceLanguage, Phrase: d.defs(c.Phrase), Chips: d.ss(c.Chips), Solutions: sol, FormattedSolution: d.s(c.FormattedSolution), Meta: meta}, nil
	case *pb.Challenge_ReverseTranslation:
		c := k.ReverseTranslation
		return &course.ReverseTranslation{Type: course.TypeReverseTranslation, TranslatesToSourceLanguage: c.TranslatesToSourceLanguage, Prompt: d.s(c.Prompt), Phrase: d.defs(c.Phrase), Answers: d.ss(c.Answers), FormattedSolution: d.s(c.FormattedSolution), Meta: meta}, nil
	case *pb.Challenge_MissingWord:
		c := k.MissingWord
		return &course.MissingWord{Type: course.TypeMissingWord, Before: d.s(c.Before), After: d.s(c.After), Answer: d.s(c.Answer), Choices: d.ss(c.Choices), Meaning: d.s(c.Meaning), FormattedSolution: d.s(c.FormattedSolution), Meta: meta}, nil
	case *pb.Challenge_Speaking:
		c := k.Speaking
		return &course.Speaking{Type: course.TypeSpeaking, Phrase: d.s(c.Phrase), Meaning: d.s(c.Meaning), Answers: d.ss(c.Answers), Audio: d.s(c.Audio), Meta: meta}, nil
	case *pb.Challenge_MatchPairs:
		pairs := make([]course.Pair, len(k.MatchPairs.Pairs))
		for i, p := range k.MatchPairs.Pairs {
			pairs[i] = course.Pair{Target: d.s(p.Target), Source: d.s(p.Source)}
		}
		return &course.MatchPairs{Type: course.TypeMatchPairs, Pairs: pairs, Meta: meta}, nil
	default:
		return nil, fmt.Errorf("challenge %q has no known type (written by a newer owl?)", pc.Id)
	}
}

// FuzzChallengeBytes checks the direct decoding of a Challenge message
// against proto.Unmarshal and the conversion of the message.
func FuzzChallengeBytes(f *testing.F) {
	c, ch := generated(f, small)
	seen := map[course.Type]bool{}
	for _, sc := range ch {
		for _, x := range sc.Challenges {
			if !seen[x.ChallengeType()] {
				seen[x.ChallengeType()] = true
				b, err := proto.Marshal(challengeToProto(x))
				if err != nil {
					f.Fatal(err)
				}
				f.Add(b)
			}
		}
	}
	_ = c
	f.Fuzz(func(t *testing.T, b []byte) {
		var pch pb.Challenge
		perr := proto.Unmarshal(b, &pch)
		var want course.Challenge
		if perr == nil {
			want, perr = newDecoder().challenge(&pch)
		}
		got, err := newDecoder().challengeBytes(b)
		if (err == nil) != (perr == nil) {
			t.Fatalf("direct: %v; protobuf: %v", err, perr)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Fatalf("(-protobuf +direct):\n%s", d)
		}
	})
}

// TestLookupHash checks the table of LookupHash against the map it
// mirrors: every text is found where the map has it, and texts that
// are not in the course, or differ by a byte, are not.
func TestLookupHash(t *testing.T) {
	ix := loadedSmall(t).Items
	if len(ix.byText) == 0 || len(ix.entries) != len(ix.byText) {
		t.Fatalf("%d entries for %d texts", len(ix.entries), len(ix.byText))
	}
	for text, want := range ix.byText {
		if got, ok := ix.Lookup(text); !ok || got != want {
			t.Errorf("Lookup(%q) = %+v, %v; want %+v", text, got, ok, want)
		}
		for _, other := range []string{text + "x", "x" + text, text[:len(text)-1]} {
			if _, in := ix.byText[other]; in {
				continue
			}
			if got, ok := ix.Lookup(other); ok {
				t.Errorf("Lookup(%q) = %+v; want not found", other, got)
			}
		}
	}
	// A hash that agrees with a text's but for the text itself must not
	// match: the text is compared.
	for text := range ix.byText {
		if _, ok := ix.LookupHash(TextHash(text), text+"?"); ok {
			t.Errorf("LookupHash matched %q by its hash alone", text+"?")
		}
		break
	}
}

// compiledSmall is the snapshot of the small generated course.
func compiledSmall(t *testing.T) []byte {
	t.Helper()
	c, ch := generated(t, small)
	data, err := Compile(header(), c, ch)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// loadedSmall compiles the small generated course and loads it.
func loadedSmall(t *testing.T) *Course {
	t.Helper()
	sc, err := Load(compiledSmall(t))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// TestLoadInAndOutOfABubble loads a course inside a testing/synctest
// bubble and then outside it, as the tests of the packages that use this
// one do in turn: nothing the first load leaves for reuse may belong to
// the bubble (a decoder pooled from inside it made the second load a
// fatal error).
func TestLoadInAndOutOfABubble(t *testing.T) {
	data := compiledSmall(t)
	synctest.Test(t, func(t *testing.T) {
		if _, err := Load(data); err != nil {
			t.Fatal(err)
		}
	})
	if _, err := Load(data); err != nil {
		t.Fatal(err)
	}
}
