package course

import (
	"encoding/json"
	"fmt"
)

// Type names a kind of challenge. The first five are LibreLingo's and keep
// its names; the others are owl's own. CHALLENGES.md documents each.
type Type string

// The challenge types.
const (
	TypeCards              Type = "cards"
	TypeOptions            Type = "options"
	TypeShortInput         Type = "shortInput"
	TypeListening          Type = "listeningExercise"
	TypeChips              Type = "chips"
	TypeReverseTranslation Type = "reverseTranslation"
	TypeMissingWord        Type = "missingWord"
	TypeSpeaking           Type = "speaking"
	TypeMatchPairs         Type = "matchPairs"
)

// Types lists every challenge type, LibreLingo's first.
var Types = []Type{
	TypeCards, TypeOptions, TypeShortInput, TypeListening, TypeChips,
	TypeReverseTranslation, TypeMissingWord, TypeSpeaking, TypeMatchPairs,
}

// LibreLingo reports whether LibreLingo's exporter and web app know the type.
func (t Type) LibreLingo() bool {
	switch t {
	case TypeCards, TypeOptions, TypeShortInput, TypeListening, TypeChips:
		return true
	}
	return false
}

// Challenge is one exercise derived from a skill. Its dynamic type is one of
// *Cards, *Options, *ShortInput, *Listening, *Chips, *ReverseTranslation,
// *MissingWord, *Speaking and *MatchPairs.
type Challenge interface {
	// ChallengeType returns the type of the challenge.
	ChallengeType() Type
	// Metadata returns the fields every challenge has.
	Metadata() *Meta
}

// Meta holds the fields every challenge has. The first three are
// LibreLingo's; the others are owl's and tell which items of the skill the
// challenge practises.
type Meta struct {
	// ID identifies the challenge; it is stable while its source item is.
	ID string `json:"id"`
	// Priority orders challenges inside a lesson: 0 introduces an item,
	// higher numbers are harder practice.
	Priority int `json:"priority"`
	// Group is shared by the challenges made from the same item.
	Group string `json:"group"`
	// Words and Phrases are the indexes, in the skill's Words and Phrases, of
	// the items the challenge was made from.
	Words   []int `json:"words,omitempty"`
	Phrases []int `json:"phrases,omitempty"`
	// Terms are the target-language words or terms that the challenge
	// practises, lowercased, without punctuation or braces.
	Terms []string `json:"terms,omitempty"`
}

// WordDefinition is a word of a prompt with its dictionary definition, shown
// to the learner on demand. Definition is empty when the dictionary has none.
type WordDefinition struct {
	Word       string `json:"word"`
	Definition string `json:"definition"`
}

// Cards introduces a new word with its pictures.
type Cards struct {
	Type                    Type     `json:"type"`
	Pictures                []string `json:"pictures"`
	FormInTargetLanguage    string   `json:"formInTargetLanguage"`
	MeaningInSourceLanguage string   `json:"meaningInSourceLanguage"`
	Meta
}

// Options introduces a phrase: pick its target-language form, given its
// meaning, among distractors.
type Options struct {
	Type                    Type   `json:"type"`
	FormInTargetLanguage    string `json:"formInTargetLanguage"`
	MeaningInSourceLanguage string `json:"meaningInSourceLanguage"`
	// Audio and Distractors are owl's additions.
	Audio       string   `json:"audio,omitempty"`
	Distractors []string `json:"distractors"`
	Meta
}

// ShortInput asks for a word in the target language, given its meaning.
type ShortInput struct {
	Type                 Type             `json:"type"`
	Pictures             []string         `json:"pictures"`
	FormInTargetLanguage []string         `json:"formInTargetLanguage"`
	Phrase               []WordDefinition `json:"phrase"`
	Meta
}

// Listening asks the learner to type what they hear.
type Listening struct {
	Type    Type   `json:"type"`
	Answer  string `json:"answer"`
	Meaning string `json:"meaning"`
	Audio   string `json:"audio"`
	Meta
}

// Chips asks the learner to build a translation from a bank of word chips.
type Chips struct {
	Type                       Type             `json:"type"`
	TranslatesToSourceLanguage bool             `json:"translatesToSourceLanguage"`
	Phrase                     []WordDefinition `json:"phrase"`
	Chips                      []string         `json:"chips"`
	Solutions                  [][]string       `json:"solutions"`
	FormattedSolution          string           `json:"formattedSolution"`
	Meta
}

// ReverseTranslation asks the learner to type the whole translation of a
// phrase: into the target language (TranslatesToSourceLanguage false) or back
// into the source language (true).
type ReverseTranslation struct {
	Type                       Type             `json:"type"`
	TranslatesToSourceLanguage bool             `json:"translatesToSourceLanguage"`
	Prompt                     string           `json:"prompt"`
	Phrase                     []WordDefinition `json:"phrase"`
	Answers                    []string         `json:"answers"`
	FormattedSolution          string           `json:"formattedSolution"`
	Meta
}

// MissingWord shows a phrase with one word left out and asks which of the
// choices fills the gap (a cloze).
type MissingWord struct {
	Type Type `json:"type"`
	// Before and After are the text around the gap, spaces included.
	Before            string   `json:"before"`
	After             string   `json:"after"`
	Answer            string   `json:"answer"`
	Choices           []string `json:"choices"`
	Meaning           string   `json:"meaning"`
	FormattedSolution string   `json:"formattedSolution"`
	Meta
}

// Speaking asks the learner to say a phrase aloud.
type Speaking struct {
	Type    Type     `json:"type"`
	Phrase  string   `json:"phrase"`
	Meaning string   `json:"meaning"`
	Answers []string `json:"answers"`
	Audio   string   `json:"audio,omitempty"`
	Meta
}

// MatchPairs asks the learner to match each word with its meaning.
type MatchPairs struct {
	Type  Type   `json:"type"`
	Pairs []Pair `json:"pairs"`
	Meta
}

// Pair is a word and its meaning in a MatchPairs challenge.
type Pair struct {
	Target string `json:"target"`
	Source string `json:"source"`
}

// ChallengeType implements Challenge.
func (c *Cards) ChallengeType() Type { return TypeCards }

// ChallengeType implements Challenge.
func (c *Options) ChallengeType() Type { return TypeOptions }

// ChallengeType implements Challenge.
func (c *ShortInput) ChallengeType() Type { return TypeShortInput }

// ChallengeType implements Challenge.
func (c *Listening) ChallengeType() Type { return TypeListening }

// ChallengeType implements Challenge.
func (c *Chips) ChallengeType() Type { return TypeChips }

// ChallengeType implements Challenge.
func (c *ReverseTranslation) ChallengeType() Type { return TypeReverseTranslation }

// ChallengeType implements Challenge.
func (c *MissingWord) ChallengeType() Type { return TypeMissingWord }

// ChallengeType implements Challenge.
func (c *Speaking) ChallengeType() Type { return TypeSpeaking }

// ChallengeType implements Challenge.
func (c *MatchPairs) ChallengeType() Type { return TypeMatchPairs }

// Metadata returns m; every challenge type embeds Meta and so implements
// Challenge.Metadata.
func (m *Meta) Metadata() *Meta { return m }

// SkillChallenges are the challenges of one skill.
type SkillChallenges struct {
	// ID is the skill's opaque id (Skill.OpaqueID).
	ID string `json:"id"`
	// Levels is the skill's number of levels.
	Levels int `json:"levels"`
	// Challenges are in derivation order: for each phrase, then for each
	// word, then the match-pairs rounds.
	Challenges []Challenge `json:"challenges"`
}

// UnmarshalJSON decodes challenges of every type by their "type" field.
func (s *SkillChallenges) UnmarshalJSON(data []byte) error {
	var raw struct {
		ID         string            `json:"id"`
		Levels     int               `json:"levels"`
		Challenges []json.RawMessage `json:"challenges"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	s.ID, s.Levels, s.Challenges = raw.ID, raw.Levels, make([]Challenge, 0, len(raw.Challenges))
	for i, msg := range raw.Challenges {
		c, err := UnmarshalChallenge(msg)
		if err != nil {
			return fmt.Errorf("challenge %d: %w", i, err)
		}
		s.Challenges = append(s.Challenges, c)
	}
	return nil
}

// UnmarshalChallenge decodes one challenge of any type from its JSON.
func UnmarshalChallenge(data []byte) (Challenge, error) {
	var head struct {
		Type Type `json:"type"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, err
	}
	var c Challenge
	switch head.Type {
	case TypeCards:
		c = new(Cards)
	case TypeOptions:
		c = new(Options)
	case TypeShortInput:
		c = new(ShortInput)
	case TypeListening:
		c = new(Listening)
	case TypeChips:
		c = new(Chips)
	case TypeReverseTranslation:
		c = new(ReverseTranslation)
	case TypeMissingWord:
		c = new(MissingWord)
	case TypeSpeaking:
		c = new(Speaking)
	case TypeMatchPairs:
		c = new(MatchPairs)
	default:
		return nil, fmt.Errorf("unknown challenge type %q", head.Type)
	}
	if err := json.Unmarshal(data, c); err != nil {
		return nil, fmt.Errorf("%s challenge: %w", head.Type, err)
	}
	return c, nil
}
