package course

import (
	"io/fs"
	"path"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ImageExtensions are the file extensions under which an image named in a
// course is looked for in an assets folder, in order.
var ImageExtensions = []string{".jpg", ".jpeg", ".png", ".svg", ".webp"}

// ValidateOptions control Validate.
type ValidateOptions struct {
	// Assets, when set, is the folder of the course's images: every image a
	// word or skill names must be there as <name><ext> for one of
	// ImageExtensions (LibreLingo's exporter links <name>.jpg).
	Assets fs.FS
}

// Validate checks a course for what its source format cannot express and
// records what it finds in diags:
//
// Errors: two skills with the same Id, two skills whose names give the same
// file name (slug) or none, an empty word, phrase or translation, an image
// missing from opts.Assets.
//
// Warnings: a course without modules; a module without skills; a word or
// term of a phrase, or of a new word's translation, that the dictionary does
// not define (the learner sees no hint for it; reported once per word); the
// same word or phrase twice in a skill; an empty alternative; a skill with
// neither words nor phrases; a word without exactly three images; text with
// a combining mark that belongs to no letter.
func Validate(c *Course, opts ValidateOptions, diags *Diagnostics) {
	dict := NewDictionary(c)
	skillIDs := make(map[string]*Skill)
	slugs := make(map[string]*Skill)
	missing := make(map[dictionaryKey]bool)

	// defineAll warns once per course about each word of text that the
	// dictionary does not define; where describes text.
	defineAll := func(text string, inTarget bool, where string, pos Pos) {
		lang := c.Source.Name
		if inTarget {
			lang = c.Target.Name
		}
		for _, t := range Terms(text) {
			k := dictionaryKey{Lower(CleanWord(t)), inTarget}
			if missing[k] {
				continue
			}
			if _, ok := dict.Define(t, inTarget); !ok {
				missing[k] = true
				diags.Warnf(pos, "%s word %q (in %s) is not in the dictionary; add it to a Mini-dictionary or Two-way-dictionary", lang, t, where)
			}
		}
	}
	// checkTexts checks a main text and its alternatives; what names them.
	checkTexts := func(texts []string, what string, pos Pos) {
		warnedEmpty := false
		for i, t := range texts {
			switch {
			case strings.TrimSpace(t) == "" && i == 0:
				diags.Errorf(pos, "%s is empty", what)
			case strings.TrimSpace(t) == "":
				if !warnedEmpty {
					warnedEmpty = true
					diags.Warnf(pos, "%s has an empty alternative", what)
				}
			default:
				if r, ok := StrayMark(t); ok {
					diags.Warnf(pos, "%q has a combining mark U+%04X that follows no letter; remove it", t, r)
				}
			}
		}
	}

	if len(c.Modules) == 0 {
		diags.Warnf(c.Pos, "the course has no modules, so nothing to learn")
	}
	for _, m := range c.Modules {
		if len(m.Skills) == 0 {
			diags.Warnf(m.Pos, "module %q has no skills", m.Name)
		}
	}
	for _, s := range c.Skills() {
		if prev := skillIDs[s.ID]; prev != nil {
			diags.Errorf(s.Pos, "skill %q has Id %s, which skill %q (%s) already has; each skill needs its own Id", s.Name, s.ID, prev.Name, prev.Pos)
		} else {
			skillIDs[s.ID] = s
		}
		switch slug := s.Slug(); {
		case slug == "":
			diags.Errorf(s.Pos, "skill name %q has no letter or digit to name its challenge file", s.Name)
		case slugs[slug] != nil:
			diags.Errorf(s.Pos, "skill %q gets the file name %q, as skill %q (%s) does; rename one", s.Name, slug+".json", slugs[slug].Name, slugs[slug].Pos)
		default:
			slugs[slug] = s
		}
		if len(s.Words) == 0 && len(s.Phrases) == 0 {
			diags.Warnf(s.Pos, "skill %q has no new words and no phrases: it only adds to the dictionary and has no challenges", s.Name)
		}
		checkImages(opts.Assets, s.Thumbnails, "thumbnail", s.Pos, diags)

		seenWords := make(map[string]Pos)
		for i := range s.Words {
			w := &s.Words[i]
			checkTexts(w.Target, named("a word", "word", w.Target), w.Pos)
			checkTexts(w.Source, named("the translation of a word", "the translation of word", w.Target), w.Pos)
			if len(w.Target) == 0 || len(w.Source) == 0 {
				continue
			}
			key := w.Target[0] + "\x00" + w.Source[0]
			if prev, ok := seenWords[key]; ok {
				diags.Warnf(w.Pos, "word %q (%q) is already taught at %s; its challenges would repeat", w.Target[0], w.Source[0], relPos(prev, w.Pos))
			} else {
				seenWords[key] = w.Pos
			}
			if w.Images != nil && len(w.Images) != 3 {
				diags.Warnf(w.Pos, "word %q has %d images; cards show 3", w.Target[0], len(w.Images))
			}
			checkImages(opts.Assets, w.Images, "image", w.Pos, diags)
			defineAll(w.Source[0], false, strconv.Quote(w.Source[0])+", the translation of word "+strconv.Quote(w.Target[0]), w.Pos)
		}
		seenPhrases := make(map[string]Pos)
		for i := range s.Phrases {
			p := &s.Phrases[i]
			checkTexts(p.Target, named("a phrase", "phrase", p.Target), p.Pos)
			checkTexts(p.Source, named("the translation of a phrase", "the translation of phrase", p.Target), p.Pos)
			if len(p.Target) == 0 || len(p.Source) == 0 {
				continue
			}
			if prev, ok := seenPhrases[p.Target[0]]; ok {
				diags.Warnf(p.Pos, "phrase %q is already taught at %s; its challenges would repeat", p.Target[0], relPos(prev, p.Pos))
			} else {
				seenPhrases[p.Target[0]] = p.Pos
			}
			defineAll(p.Target[0], true, "phrase "+strconv.Quote(p.Target[0]), p.Pos)
			defineAll(p.Source[0], false, strconv.Quote(p.Source[0])+", the translation of phrase "+strconv.Quote(p.Target[0]), p.Pos)
		}
		for _, def := range s.Dictionary {
			if r, ok := StrayMark(def.Word); ok {
				diags.Warnf(def.Pos, "dictionary word %q has a combining mark U+%04X that follows no letter; remove it", def.Word, r)
			}
		}
	}
}

// named describes an item by its main text when it has one.
func named(anonymous, prefix string, texts []string) string {
	if len(texts) == 0 || strings.TrimSpace(texts[0]) == "" {
		return anonymous
	}
	return prefix + " " + strconv.Quote(texts[0])
}

// relPos formats pos for a message about something at from: just the line
// when both are in the same file.
func relPos(pos, from Pos) string {
	if pos.File == from.File && pos.Line > 0 {
		return "line " + strconv.Itoa(pos.Line)
	}
	return pos.String()
}

// StrayMark reports the first combining mark in s that follows no letter,
// digit or other mark (such as one at the very start), which is almost always
// left over from an editing accident.
func StrayMark(s string) (rune, bool) {
	prev := rune(-1)
	for _, r := range s {
		if unicode.Is(unicode.M, r) && (prev < 0 || !(unicode.IsLetter(prev) || unicode.IsNumber(prev) || unicode.Is(unicode.M, prev))) {
			return r, true
		}
		prev = r
	}
	return 0, false
}

func checkImages(assets fs.FS, names []string, what string, pos Pos, diags *Diagnostics) {
	if assets == nil {
		return
	}
	for _, name := range names {
		if !imageExists(assets, name) {
			diags.Errorf(pos, "%s %q not found in the assets folder (looked for %s)", what, name, strings.Join(imageCandidates(name), ", "))
		}
	}
}

func imageCandidates(name string) []string {
	out := make([]string, 0, len(ImageExtensions)+1)
	if path.Ext(name) != "" {
		out = append(out, name)
	}
	for _, ext := range ImageExtensions {
		out = append(out, name+ext)
	}
	return out
}

func imageExists(assets fs.FS, name string) bool {
	if name == "" || !utf8.ValidString(name) {
		return false
	}
	for _, candidate := range imageCandidates(name) {
		if !fs.ValidPath(candidate) {
			continue
		}
		if info, err := fs.Stat(assets, candidate); err == nil && info.Mode().IsRegular() {
			return true
		}
	}
	return false
}
