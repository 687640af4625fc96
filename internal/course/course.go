package course

// Course is a language course: what it teaches, to whom, under which licence,
// and its modules in order.
type Course struct {
	// Target is the language the course teaches ("Language" in course.yaml).
	Target Language
	// Source is the language of the learners ("For speakers of").
	Source Language
	// License is the licence of the course content.
	License License
	// Repository is where the course source lives; it may be empty.
	Repository string
	// SpecialCharacters are the characters the course offers as buttons for
	// typing answers, in order.
	SpecialCharacters []string
	// Settings are the course settings.
	Settings Settings
	// Modules are the modules listed by course.yaml, in order.
	Modules []Module
	// Pos is where the course description starts (course.yaml).
	Pos Pos
}

// Language is a language with its display name and IETF BCP 47 code.
type Language struct {
	Name string
	Code string
}

// License names the licence of a course.
type License struct {
	// ShortName is the short name, such as "CC BY-SA 4.0".
	ShortName string
	// Name is the full name, such as "Attribution-ShareAlike 4.0 International".
	Name string
	// Link is the address of the licence text.
	Link string
}

// Settings are the course-wide settings.
type Settings struct {
	Audio Audio
	// Hunspell names the spelling dictionaries of the two languages, when the
	// course asks for spell checking. owl records them but does not spell check.
	Hunspell *Hunspell
}

// Audio are the audio settings of a course.
type Audio struct {
	// Enabled is false when the course has no audio: no listening challenges
	// are derived and no audio is referenced.
	Enabled bool
	// TTS lists the text-to-speech voices to generate the audio with.
	TTS []TTS
}

// TTS is one text-to-speech voice.
type TTS struct {
	Provider string
	Voice    string
	Engine   string
}

// Hunspell names a spelling dictionary (such as "en-US") per language.
type Hunspell struct {
	Source string
	Target string
}

// Module is a group of skills.
type Module struct {
	// Name is the module title.
	Name string
	// Dir is the module folder as course.yaml lists it, relative to the course.
	Dir string
	// Skills are the skills the module lists, in order.
	Skills []Skill
	// Pos is where the module is listed in course.yaml.
	Pos Pos
}

// Skill is a unit of teaching: new words, phrases and their dictionary.
type Skill struct {
	// Name is the skill title.
	Name string
	// ID is the skill's Id as LibreLingo prints it (numbers in canonical
	// decimal form). It identifies the skill across versions of the course.
	ID string
	// Thumbnails name the images shown for the skill.
	Thumbnails []string
	// Words are the new words, in order.
	Words []Word
	// Phrases are the phrases, in order.
	Phrases []Phrase
	// Dictionary holds the definitions of the Mini-dictionary and then those
	// of the Two-way-dictionary, in file order.
	Dictionary []Definition
	// Introduction is the skill's introduction in Markdown; empty when none.
	Introduction string
	// File is the skill file relative to the course folder.
	File string
	// Pos is where the skill file's Skill key is.
	Pos Pos
}

// Word is a new word (or short expression) taught by a skill.
type Word struct {
	// Target holds the accepted forms in the target language; the first is the
	// main form ("Word", then "Synonyms").
	Target []string
	// Source holds the accepted meanings in the source language; the first is
	// the main one ("Translation", then "Also accepted").
	Source []string
	// Images name the word's pictures. Nil means the word has no Images key
	// (or a null one); an empty, non-nil slice means "Images: []".
	Images []string
	// Pos is where the word's entry starts.
	Pos Pos
}

// Phrase is a phrase taught by a skill.
type Phrase struct {
	// Target holds the accepted forms in the target language; the first is the
	// main form ("Phrase", then "Alternative versions").
	Target []string
	// Source holds the accepted translations; the first is the main one
	// ("Translation", then "Alternative translations").
	Source []string
	// Pos is where the phrase's entry starts.
	Pos Pos
}

// Definition is one dictionary entry: a word (or {multi word} term) of one of
// the two languages and its meanings in the other.
type Definition struct {
	Word     string
	Meanings []string
	// InTarget is true when Word is in the target language.
	InTarget bool
	Pos      Pos
}

// Skills returns every skill of the course in order.
func (c *Course) Skills() []*Skill {
	var out []*Skill
	for m := range c.Modules {
		for s := range c.Modules[m].Skills {
			out = append(out, &c.Modules[m].Skills[s])
		}
	}
	return out
}

// Levels returns the number of levels of the skill, by LibreLingo's rule
// round(1 + words/7 + phrases/5).
func (s *Skill) Levels() int { return Levels(len(s.Words), len(s.Phrases)) }

// OpaqueID returns the id LibreLingo's exporter gives the skill.
func (s *Skill) OpaqueID() string { return opaqueID("skill", s.ID, "Skill") }

// Slug returns the file name stem LibreLingo's exporter gives the skill
// (challenges/<slug>.json).
func (s *Skill) Slug() string { return Slugify(s.Name) }
