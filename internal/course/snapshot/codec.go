package snapshot

import (
	"fmt"

	"github.com/owlstack/owl/internal/course"
	pb "github.com/owlstack/owl/internal/course/snapshot/snapshotpb"
)

// toProto converts a compiled course into its snapshot payload. Source
// positions are not kept: a server has no use for them.
func toProto(c *course.Course, skills []course.SkillChallenges) *pb.Payload {
	pc := &pb.Course{
		Target:            &pb.Language{Name: c.Target.Name, Code: c.Target.Code},
		Source:            &pb.Language{Name: c.Source.Name, Code: c.Source.Code},
		License:           &pb.License{ShortName: c.License.ShortName, Name: c.License.Name, Link: c.License.Link},
		Repository:        c.Repository,
		SpecialCharacters: c.SpecialCharacters,
		AudioEnabled:      c.Settings.Audio.Enabled,
	}
	for _, t := range c.Settings.Audio.TTS {
		pc.Tts = append(pc.Tts, &pb.TTS{Provider: t.Provider, Voice: t.Voice, Engine: t.Engine})
	}
	if h := c.Settings.Hunspell; h != nil {
		pc.Hunspell = &pb.Hunspell{Source: h.Source, Target: h.Target}
	}
	for _, m := range c.Modules {
		pm := &pb.Module{Name: m.Name, Dir: m.Dir}
		for _, s := range m.Skills {
			ps := &pb.Skill{Name: s.Name, Id: s.ID, Thumbnails: s.Thumbnails, Introduction: s.Introduction, File: s.File}
			for _, w := range s.Words {
				ps.Words = append(ps.Words, &pb.Word{Target: w.Target, Source: w.Source, Images: w.Images, HasImages: w.Images != nil})
			}
			for _, p := range s.Phrases {
				ps.Phrases = append(ps.Phrases, &pb.Phrase{Target: p.Target, Source: p.Source})
			}
			for _, d := range s.Dictionary {
				ps.Dictionary = append(ps.Dictionary, &pb.Definition{Word: d.Word, Meanings: d.Meanings, InTarget: d.InTarget})
			}
			pm.Skills = append(pm.Skills, ps)
		}
		pc.Modules = append(pc.Modules, pm)
	}
	p := &pb.Payload{Course: pc}
	for _, sc := range skills {
		ps := &pb.SkillChallenges{Id: sc.ID, Levels: uint32(sc.Levels)}
		for _, ch := range sc.Challenges {
			ps.Challenges = append(ps.Challenges, challengeToProto(ch))
		}
		p.Skills = append(p.Skills, ps)
	}
	return p
}

func int32s(in []int) []int32 {
	if in == nil {
		return nil
	}
	out := make([]int32, len(in))
	for i, v := range in {
		out[i] = int32(v)
	}
	return out
}

func ints(in []int32) []int {
	if len(in) == 0 {
		return nil
	}
	out := make([]int, len(in))
	for i, v := range in {
		out[i] = int(v)
	}
	return out
}

func defsToProto(in []course.WordDefinition) []*pb.WordDefinition {
	out := make([]*pb.WordDefinition, len(in))
	for i, d := range in {
		out[i] = &pb.WordDefinition{Word: d.Word, Definition: d.Definition}
	}
	return out
}

func challengeToProto(ch course.Challenge) *pb.Challenge {
	m := ch.Metadata()
	pc := &pb.Challenge{Id: m.ID, Priority: int32(m.Priority), Group: m.Group, Words: int32s(m.Words), Phrases: int32s(m.Phrases), Terms: m.Terms}
	switch c := ch.(type) {
	case *course.Cards:
		pc.Kind = &pb.Challenge_Cards{Cards: &pb.Cards{Pictures: c.Pictures, FormInTargetLanguage: c.FormInTargetLanguage, MeaningInSourceLanguage: c.MeaningInSourceLanguage}}
	case *course.Options:
		pc.Kind = &pb.Challenge_Options{Options: &pb.Options{FormInTargetLanguage: c.FormInTargetLanguage, MeaningInSourceLanguage: c.MeaningInSourceLanguage, Audio: c.Audio, Distractors: c.Distractors}}
	case *course.ShortInput:
		pc.Kind = &pb.Challenge_ShortInput{ShortInput: &pb.ShortInput{Pictures: c.Pictures, FormInTargetLanguage: c.FormInTargetLanguage, Phrase: defsToProto(c.Phrase)}}
	case *course.Listening:
		pc.Kind = &pb.Challenge_Listening{Listening: &pb.Listening{Answer: c.Answer, Meaning: c.Meaning, Audio: c.Audio}}
	case *course.Chips:
		sol := make([]*pb.Solution, len(c.Solutions))
		for i, s := range c.Solutions {
			sol[i] = &pb.Solution{Chips: s}
		}
		pc.Kind = &pb.Challenge_Chips{Chips: &pb.Chips{TranslatesToSourceLanguage: c.TranslatesToSourceLanguage, Phrase: defsToProto(c.Phrase), Chips: c.Chips, Solutions: sol, FormattedSolution: c.FormattedSolution}}
	case *course.ReverseTranslation:
		pc.Kind = &pb.Challenge_ReverseTranslation{ReverseTranslation: &pb.ReverseTranslation{TranslatesToSourceLanguage: c.TranslatesToSourceLanguage, Prompt: c.Prompt, Phrase: defsToProto(c.Phrase), Answers: c.Answers, FormattedSolution: c.FormattedSolution}}
	case *course.MissingWord:
		pc.Kind = &pb.Challenge_MissingWord{MissingWord: &pb.MissingWord{Before: c.Before, After: c.After, Answer: c.Answer, Choices: c.Choices, Meaning: c.Meaning, FormattedSolution: c.FormattedSolution}}
	case *course.Speaking:
		pc.Kind = &pb.Challenge_Speaking{Speaking: &pb.Speaking{Phrase: c.Phrase, Meaning: c.Meaning, Answers: c.Answers, Audio: c.Audio}}
	case *course.MatchPairs:
		pairs := make([]*pb.Pair, len(c.Pairs))
		for i, p := range c.Pairs {
			pairs[i] = &pb.Pair{Target: p.Target, Source: p.Source}
		}
		pc.Kind = &pb.Challenge_MatchPairs{MatchPairs: &pb.MatchPairs{Pairs: pairs}}
	default:
		panic(fmt.Sprintf("snapshot: challenge type %T has no snapshot encoding", ch))
	}
	return pc
}

func newDecoder() *decoder { return &decoder{strs: make(map[string]string)} }

// course rebuilds the course of a format 1 payload; it must have nskills
// skills.
func (d *decoder) course(pc *pb.Course, nskills int) (*course.Course, error) {
	if pc == nil {
		return nil, corrupt("payload has no course")
	}
	c := d.courseOnly(pc)
	n := 0
	for i, pm := range pc.Modules {
		m := &c.Modules[i]
		m.Skills = make([]course.Skill, 0, len(pm.Skills))
		for _, ps := range pm.Skills {
			m.Skills = append(m.Skills, d.skillOf(ps))
			n++
		}
	}
	if nskills != n {
		return nil, corrupt("payload has challenges for %d skills, its course has %d", nskills, n)
	}
	return c, nil
}

// courseOnly rebuilds the course with its modules but without their skills.
func (d *decoder) courseOnly(pc *pb.Course) *course.Course {
	c := &course.Course{
		Target:            course.Language{Name: d.s(pc.GetTarget().GetName()), Code: d.s(pc.GetTarget().GetCode())},
		Source:            course.Language{Name: d.s(pc.GetSource().GetName()), Code: d.s(pc.GetSource().GetCode())},
		License:           course.License{ShortName: pc.GetLicense().GetShortName(), Name: pc.GetLicense().GetName(), Link: pc.GetLicense().GetLink()},
		Repository:        pc.Repository,
		SpecialCharacters: d.ss(pc.SpecialCharacters),
	}
	c.Settings.Audio.Enabled = pc.AudioEnabled
	for _, t := range pc.Tts {
		c.Settings.Audio.TTS = append(c.Settings.Audio.TTS, course.TTS{Provider: t.Provider, Voice: t.Voice, Engine: t.Engine})
	}
	if h := pc.Hunspell; h != nil {
		c.Settings.Hunspell = &course.Hunspell{Source: h.Source, Target: h.Target}
	}
	c.Modules = make([]course.Module, len(pc.Modules))
	for i, pm := range pc.Modules {
		c.Modules[i] = course.Module{Name: d.s(pm.Name), Dir: d.s(pm.Dir)}
	}
	return c
}

// skillOf rebuilds a skill of the course.
func (d *decoder) skillOf(ps *pb.Skill) course.Skill {
	s := course.Skill{Name: d.s(ps.GetName()), ID: d.s(ps.GetId()), Thumbnails: d.ss(ps.GetThumbnails()), Introduction: ps.GetIntroduction(), File: d.s(ps.GetFile())}
	s.Words = make([]course.Word, len(ps.GetWords()))
	for i, w := range ps.GetWords() {
		s.Words[i] = course.Word{Target: d.ss(w.Target), Source: d.ss(w.Source), Images: d.ss(w.Images)}
		if w.HasImages && w.Images == nil {
			s.Words[i].Images = []string{}
		}
	}
	s.Phrases = make([]course.Phrase, len(ps.GetPhrases()))
	for i, ph := range ps.GetPhrases() {
		s.Phrases[i] = course.Phrase{Target: d.ss(ph.Target), Source: d.ss(ph.Source)}
	}
	s.Dictionary = make([]course.Definition, len(ps.GetDictionary()))
	for i, def := range ps.GetDictionary() {
		s.Dictionary[i] = course.Definition{Word: d.s(def.Word), Meanings: d.ss(def.Meanings), InTarget: def.InTarget}
	}
	return s
}

// decoder rebuilds course values from a payload, sharing one copy of each
// distinct string: challenges repeat the course's words many times over, and
// sharing them keeps the in-memory course several times smaller.
type decoder struct {
	strs map[string]string
	// lists and defBuf are buffers for the repeated fields of a message
	// (see strs).
	lists  [listBuffers][]string
	defBuf []course.WordDefinition
}

func (d *decoder) s(v string) string {
	if v == "" {
		return ""
	}
	if c, ok := d.strs[v]; ok {
		return c
	}
	d.strs[v] = v
	return v
}

func (d *decoder) ss(in []string) []string {
	if in == nil {
		return nil
	}
	out := make([]string, len(in))
	for i, v := range in {
		out[i] = d.s(v)
	}
	return out
}

func (d *decoder) defs(in []*pb.WordDefinition) []course.WordDefinition {
	out := make([]course.WordDefinition, len(in))
	for i, w := range in {
		out[i] = course.WordDefinition{Word: d.s(w.Word), Definition: d.s(w.Definition)}
	}
	return out
}
