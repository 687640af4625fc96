package librelingo

import (
	"errors"
	"io/fs"
	"math/big"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/owlstack/owl/internal/course"
	"go.yaml.in/yaml/v3"
)

// Options control how a course is loaded.
type Options struct {
	// Strict turns every warning into an error.
	Strict bool
	// MaxErrors is how many errors are collected before loading stops;
	// zero means course.DefaultMaxErrors.
	MaxErrors int
	// Assets, when set, is the folder of the course's images; every image a
	// course names must be in it (see course.ValidateOptions).
	Assets fs.FS
}

// Keys LibreLingo's format defines, per mapping.
var (
	courseFileKeys = []string{"Course", "Modules", "Settings"}
	courseKeys     = []string{"Language", "For speakers of", "License", "Repository", "Special characters"}
	languageKeys   = []string{"Name", "IETF BCP 47"}
	licenseKeys    = []string{"Name", "Short name", "Link"}
	settingsKeys   = []string{"Audio", "Hunspell"}
	audioKeys      = []string{"Enabled", "TTS"}
	ttsKeys        = []string{"Provider", "Voice", "Engine"}
	moduleFileKeys = []string{"Module", "Skills"}
	moduleKeys     = []string{"Name"}
	skillFileKeys  = []string{"Skill", "New words", "Phrases", "Mini-dictionary", "Two-way-dictionary"}
	skillKeys      = []string{"Name", "Id", "Thumbnails"}
	wordKeys       = []string{"Word", "Translation", "Synonyms", "Also accepted", "Images"}
	phraseKeys     = []string{"Phrase", "Translation", "Alternative versions", "Alternative translations"}
)

// Load reads the LibreLingo course in folder dir: course.yaml, the modules it
// lists and the skills they list. See LoadFS.
func Load(dir string, opts Options) (*course.Course, *course.Diagnostics, error) {
	info, err := os.Stat(dir)
	if err != nil {
		diags := &course.Diagnostics{MaxErrors: opts.MaxErrors}
		diags.Errorf(course.Pos{File: dir}, "cannot read the course folder: %v", cause(err))
		return nil, diags, diags.Err()
	}
	if !info.IsDir() {
		diags := &course.Diagnostics{MaxErrors: opts.MaxErrors}
		diags.Errorf(course.Pos{File: dir}, "expected a course folder, found a file")
		return nil, diags, diags.Err()
	}
	return LoadFS(os.DirFS(dir), dir, opts)
}

// LoadFS reads the LibreLingo course at the root of fsys. Diagnostics name
// files as root joined with their path in fsys.
//
// It always returns the diagnostics (errors and warnings), sorted by file
// and position. When there is an error it returns a nil course and an error
// that is a *course.InvalidError; nothing half-read is returned. Up to
// opts.MaxErrors errors are collected before loading stops. The course is
// validated (course.Validate) as part of loading.
//
// Errors (each "file:line:col: what was expected"): a file that is not
// UTF-8 YAML or holds more than one document; a YAML syntax error; a value
// of the wrong kind (a mapping, list or text where another is expected, or
// nothing where text is required); a missing required key (Course,
// Language, For speakers of, Name, IETF BCP 47, License and its three keys,
// Modules, Module, Skills, Skill, Name, Id, New words, Phrases, Word,
// Translation, Phrase, and each language of a Mini-dictionary); a listed
// module folder without module.yaml, a listed skill file that does not
// exist, a folder or file listed twice or outside the course.
//
// Warnings: a repeated mapping key (the last value is kept, as LibreLingo
// does); an unknown key, with the known key it probably means; a tab after
// the text of a line (LibreLingo's YAML 1.1 loader rejects the file); a text
// where a list of alternatives is expected (LibreLingo takes each character
// as an alternative, and so does owl, to export the same JSON); an "Enabled"
// audio setting other than True or False; a missing Repository or Special
// characters; a module folder or skill file on disk that no list names (it
// is not part of the course); a Mini-dictionary or Two-way-dictionary entry
// with more than one key.
//
// YAML 1.1 booleans (Yes, No, On, Off, True, False) are text. A skill Id
// that YAML 1.1 reads as an integer is kept in LibreLingo's decimal form
// (010 is 8), since skill ids derive from it. Audio is enabled unless
// Settings: Audio: Enabled says otherwise, as LibreLingo's exporter 0.7.0
// assumed (newer LibreLingo versions default to no audio). Hunspell
// settings are read but no spell checking is done.
//
// With opts.Strict every warning is an error.
func LoadFS(fsys fs.FS, root string, opts Options) (*course.Course, *course.Diagnostics, error) {
	l := &loader{fsys: fsys, root: root, diags: &course.Diagnostics{MaxErrors: opts.MaxErrors}}
	c := l.load()
	if c != nil && !l.diags.Full() {
		course.Validate(c, course.ValidateOptions{Assets: opts.Assets}, l.diags)
	}
	if opts.Strict {
		l.diags.PromoteWarnings()
	}
	l.diags.Sort()
	if err := l.diags.Err(); err != nil {
		return nil, l.diags, err
	}
	return c, l.diags, nil
}

// cause returns the reason of a file system error without the path, which
// the diagnostic already names.
func cause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

type loader struct {
	fsys  fs.FS
	root  string
	diags *course.Diagnostics
}

// display turns a path in fsys into the path shown in diagnostics.
func (l *loader) display(name string) string {
	if l.root == "" {
		return filepath.FromSlash(name)
	}
	return filepath.Join(l.root, filepath.FromSlash(name))
}

// open reads and parses a YAML file of the course.
func (l *loader) open(name string) (*source, *yaml.Node) {
	src := &source{file: l.display(name), diags: l.diags}
	data, err := fs.ReadFile(l.fsys, name)
	if err != nil {
		l.diags.Errorf(course.Pos{File: src.file}, "cannot read: %v", cause(err))
		return src, nil
	}
	return src, src.parse(data)
}

func (l *loader) exists(name string) bool {
	info, err := fs.Stat(l.fsys, name)
	return err == nil && info.Mode().IsRegular()
}

func (l *loader) load() *course.Course {
	if !l.exists("course.yaml") {
		l.diags.Errorf(course.Pos{File: l.display("course.yaml")}, "expected a LibreLingo course: course.yaml does not exist")
		return nil
	}
	src, root := l.open("course.yaml")
	if root == nil {
		return nil
	}
	top, ok := src.mapping(root, "course.yaml")
	if !ok {
		return nil
	}
	top.warnUnknown("course.yaml", courseFileKeys...)
	c := &course.Course{Pos: src.pos(root)}
	if n, ok := top.require("Course", "course.yaml"); ok {
		l.courseInfo(src, n, c)
	}
	// Settings come after the languages because Hunspell names them.
	c.Settings.Audio.Enabled = true
	if n, ok := top.get("Settings"); ok {
		l.settings(src, n, c)
	}
	modulesNode, ok := top.require("Modules", "course.yaml")
	if !ok {
		return nil
	}
	// Without the language names the mini-dictionaries cannot be read, so
	// the modules would only add confusing errors.
	if c.Target.Name == "" || c.Source.Name == "" {
		return nil
	}
	items, ok := src.list(modulesNode, `"Modules"`)
	if !ok {
		return nil
	}
	listed := make(map[string]bool)
	for _, item := range items {
		if l.diags.Full() {
			break
		}
		dir, ok := src.text(item, "a module folder")
		if !ok {
			continue
		}
		clean, ok := l.folder(src, item, dir, "module folder")
		if !ok {
			continue
		}
		if listed[clean] {
			src.errorf(item, "module folder %q is listed twice", dir)
			continue
		}
		listed[clean] = true
		if m, ok := l.module(src, item, dir, clean, c); ok {
			c.Modules = append(c.Modules, m)
		}
	}
	l.warnUnlistedModules(listed)
	if l.diags.HasErrors() {
		return nil
	}
	return c
}

// folder checks that a listed folder or file name stays inside the course.
func (l *loader) folder(src *source, n *yaml.Node, name, what string) (string, bool) {
	clean := path.Clean(strings.TrimSuffix(strings.TrimSpace(name), "/"))
	if name == "" || !fs.ValidPath(clean) || clean == "." {
		src.errorf(n, "expected a %s inside the course, found %q", what, name)
		return "", false
	}
	return clean, true
}

func (l *loader) courseInfo(src *source, n *yaml.Node, c *course.Course) {
	f, ok := src.mapping(n, `"Course"`)
	if !ok {
		return
	}
	f.warnUnknown(`"Course"`, courseKeys...)
	if v, ok := f.require("Language", `"Course"`); ok {
		c.Target = l.language(src, v, `"Language"`)
	}
	if v, ok := f.require("For speakers of", `"Course"`); ok {
		c.Source = l.language(src, v, `"For speakers of"`)
	}
	if v, ok := f.require("License", `"Course"`); ok {
		if lf, ok := src.mapping(v, `"License"`); ok {
			lf.warnUnknown(`"License"`, licenseKeys...)
			c.License.Name = requireText(src, lf, "Name", `"License"`)
			c.License.ShortName = requireText(src, lf, "Short name", `"License"`)
			c.License.Link = requireText(src, lf, "Link", `"License"`)
		}
	}
	if v, ok := f.get("Repository"); ok {
		c.Repository, _ = src.text(v, `"Repository"`)
	} else {
		src.warnf(n, `"Course" has no "Repository"; LibreLingo's loader requires one`)
	}
	if v, ok := f.get("Special characters"); ok {
		c.SpecialCharacters, _ = src.textList(v, `"Special characters"`)
	} else {
		src.warnf(n, `"Course" has no "Special characters"; LibreLingo's loader requires the list, even if empty ([])`)
		c.SpecialCharacters = []string{}
	}
}

func (l *loader) language(src *source, n *yaml.Node, what string) course.Language {
	f, ok := src.mapping(n, what)
	if !ok {
		return course.Language{}
	}
	f.warnUnknown(what, languageKeys...)
	return course.Language{
		Name: requireText(src, f, "Name", what),
		Code: requireText(src, f, "IETF BCP 47", what),
	}
}

// requireText reads the text of a required key.
func requireText(src *source, f *fields, key, what string) string {
	v, ok := f.require(key, what)
	if !ok {
		return ""
	}
	t, _ := src.text(v, `"`+key+`" in `+what)
	return t
}

func (l *loader) settings(src *source, n *yaml.Node, c *course.Course) {
	f, ok := src.mapping(n, `"Settings"`)
	if !ok {
		return
	}
	f.warnUnknown(`"Settings"`, settingsKeys...)
	if v, ok := f.get("Audio"); ok {
		l.audio(src, v, c)
	}
	if v, ok := f.get("Hunspell"); ok {
		hf, ok := src.mapping(v, `"Hunspell"`)
		if !ok {
			return
		}
		hf.warnUnknown(`"Hunspell"`, c.Source.Name, c.Target.Name)
		c.Settings.Hunspell = &course.Hunspell{
			Source: requireText(src, hf, c.Source.Name, `"Hunspell"`),
			Target: requireText(src, hf, c.Target.Name, `"Hunspell"`),
		}
	}
}

func (l *loader) audio(src *source, n *yaml.Node, c *course.Course) {
	f, ok := src.mapping(n, `"Audio"`)
	if !ok {
		return
	}
	f.warnUnknown(`"Audio"`, audioKeys...)
	v, ok := f.get("Enabled")
	if !ok {
		src.warnf(n, `"Audio" has no "Enabled"; audio stays enabled, but LibreLingo's loader requires the key`)
	} else if enabled, ok := src.text(v, `"Enabled"`); ok {
		// LibreLingo reads YAML booleans as text and enables audio for the
		// exact text True only.
		c.Settings.Audio.Enabled = enabled == "True"
		if enabled != "True" && enabled != "False" {
			src.warnf(v, `"Enabled: %s" turns audio off, as in LibreLingo, which only accepts True; write True or False`, enabled)
		}
	}
	if v, ok := f.get("TTS"); ok {
		items, ok := src.list(v, `"TTS"`)
		if !ok {
			return
		}
		for _, item := range items {
			tf, ok := src.mapping(item, `a "TTS" voice`)
			if !ok {
				continue
			}
			tf.warnUnknown(`a "TTS" voice`, ttsKeys...)
			c.Settings.Audio.TTS = append(c.Settings.Audio.TTS, course.TTS{
				Provider: requireText(src, tf, "Provider", `a "TTS" voice`),
				Voice:    requireText(src, tf, "Voice", `a "TTS" voice`),
				Engine:   requireText(src, tf, "Engine", `a "TTS" voice`),
			})
		}
	}
}

func (l *loader) module(courseSrc *source, listedAt *yaml.Node, listedAs, dir string, c *course.Course) (course.Module, bool) {
	m := course.Module{Dir: listedAs, Pos: courseSrc.pos(listedAt)}
	file := path.Join(dir, "module.yaml")
	if !l.exists(file) {
		courseSrc.errorf(listedAt, "expected module folder %q to hold module.yaml; %s does not exist", listedAs, l.display(file))
		return m, false
	}
	src, root := l.open(file)
	if root == nil {
		return m, false
	}
	top, ok := src.mapping(root, "module.yaml")
	if !ok {
		return m, false
	}
	top.warnUnknown("module.yaml", moduleFileKeys...)
	if v, ok := top.require("Module", "module.yaml"); ok {
		if mf, ok := src.mapping(v, `"Module"`); ok {
			mf.warnUnknown(`"Module"`, moduleKeys...)
			m.Name = requireText(src, mf, "Name", `"Module"`)
		}
	}
	v, ok := top.require("Skills", "module.yaml")
	if !ok {
		return m, false
	}
	items, ok := src.list(v, `"Skills"`)
	if !ok {
		return m, false
	}
	listed := make(map[string]bool)
	for _, item := range items {
		if l.diags.Full() {
			break
		}
		name, ok := src.text(item, "a skill file")
		if !ok {
			continue
		}
		clean, ok := l.folder(src, item, name, "skill file")
		if !ok {
			continue
		}
		if listed[clean] {
			src.errorf(item, "skill file %q is listed twice", name)
			continue
		}
		listed[clean] = true
		file := path.Join(dir, "skills", clean)
		if !l.exists(file) {
			src.errorf(item, "expected skill file %s, listed as %q; it does not exist", l.display(file), name)
			continue
		}
		if s, ok := l.skill(file, c); ok {
			m.Skills = append(m.Skills, s)
		}
	}
	l.warnUnlistedSkills(dir, listed)
	return m, true
}

func (l *loader) skill(file string, c *course.Course) (course.Skill, bool) {
	s := course.Skill{File: file}
	src, root := l.open(file)
	if root == nil {
		return s, false
	}
	before := len(l.diags.Errors()) + l.diags.Omitted
	top, ok := src.mapping(root, "a skill file")
	if !ok {
		return s, false
	}
	top.warnUnknown("a skill file", skillFileKeys...)
	s.Pos = src.pos(root)
	if v, ok := top.require("Skill", "a skill file"); ok {
		s.Pos = src.pos(top.keyNode("Skill"))
		if sf, ok := src.mapping(v, `"Skill"`); ok {
			sf.warnUnknown(`"Skill"`, skillKeys...)
			s.Name = requireText(src, sf, "Name", `"Skill"`)
			if idNode, ok := sf.require("Id", `"Skill"`); ok {
				if id, ok := src.text(idNode, `"Id"`); ok {
					s.ID = canonicalID(src.resolve(idNode), id)
				}
			}
			if t, ok := sf.get("Thumbnails"); ok {
				s.Thumbnails, _ = src.textList(t, `"Thumbnails"`)
			}
		}
	}
	if v, ok := top.require("New words", "a skill file"); ok {
		if items, ok := src.list(v, `"New words"`); ok {
			for _, item := range items {
				if w, ok := l.word(src, item); ok {
					s.Words = append(s.Words, w)
				}
			}
		}
	}
	if v, ok := top.require("Phrases", "a skill file"); ok {
		if items, ok := src.list(v, `"Phrases"`); ok {
			for _, item := range items {
				if p, ok := l.phrase(src, item); ok {
					s.Phrases = append(s.Phrases, p)
				}
			}
		}
	}
	if v, ok := top.get("Mini-dictionary"); ok {
		s.Dictionary = append(s.Dictionary, l.miniDictionary(src, v, c)...)
	}
	if v, ok := top.get("Two-way-dictionary"); ok {
		s.Dictionary = append(s.Dictionary, l.twoWayDictionary(src, v)...)
	}
	intro := strings.TrimSuffix(strings.TrimSuffix(file, ".yaml"), ".yml") + ".md"
	if intro != file && l.exists(intro) {
		data, err := fs.ReadFile(l.fsys, intro)
		if err != nil {
			l.diags.Errorf(course.Pos{File: l.display(intro)}, "cannot read: %v", cause(err))
		} else {
			s.Introduction = string(data)
		}
	}
	after := len(l.diags.Errors()) + l.diags.Omitted
	return s, after == before
}

func (l *loader) word(src *source, n *yaml.Node) (course.Word, bool) {
	w := course.Word{Pos: src.pos(n)}
	f, ok := src.mapping(n, `an entry of "New words"`)
	if !ok {
		return w, false
	}
	what := `an entry of "New words"`
	if v, ok := f.get("Word"); ok {
		if t, ok := src.text(v, `"Word"`); ok {
			what = "word " + quote(t)
		}
	}
	f.warnUnknown(what, wordKeys...)
	word, ok1 := l.solution(src, f, "Word", "Synonyms", what)
	translation, ok2 := l.solution(src, f, "Translation", "Also accepted", what)
	w.Target, w.Source = word, translation
	if v, ok := f.get("Images"); ok && !isNull(src.resolve(v)) {
		images, ok := src.textList(v, `"Images" of `+what)
		if !ok {
			return w, false
		}
		w.Images = images
	}
	return w, ok1 && ok2
}

func (l *loader) phrase(src *source, n *yaml.Node) (course.Phrase, bool) {
	p := course.Phrase{Pos: src.pos(n)}
	f, ok := src.mapping(n, `an entry of "Phrases"`)
	if !ok {
		return p, false
	}
	what := `an entry of "Phrases"`
	if v, ok := f.get("Phrase"); ok {
		if t, ok := src.text(v, `"Phrase"`); ok {
			what = "phrase " + quote(t)
		}
	}
	f.warnUnknown(what, phraseKeys...)
	target, ok1 := l.solution(src, f, "Phrase", "Alternative versions", what)
	source, ok2 := l.solution(src, f, "Translation", "Alternative translations", what)
	p.Target, p.Source = target, source
	return p, ok1 && ok2
}

// solution reads a required text and its optional list of alternatives into
// one list, the main text first.
func (l *loader) solution(src *source, f *fields, key, alternativesKey, what string) ([]string, bool) {
	v, ok := f.require(key, what)
	if !ok {
		return nil, false
	}
	main, ok := src.text(v, quote(key)+" of "+what)
	if !ok {
		return nil, false
	}
	out := []string{main}
	if alt, ok := f.get(alternativesKey); ok {
		r := src.resolve(alt)
		if isNull(r) {
			return out, true
		}
		if r != nil && r.Kind == yaml.ScalarNode {
			// LibreLingo builds the list as [main, *alternatives], which
			// spreads a text into its characters; the exporter's output
			// depends on it, so owl does the same and says so.
			src.warnf(alt, "expected a list for %s of %s, found a text: LibreLingo (and so owl) takes each of its characters as an alternative; write it as a list item (- %s)", quote(alternativesKey), what, r.Value)
			for _, ch := range r.Value {
				out = append(out, string(ch))
			}
			return out, true
		}
		more, ok := src.textList(alt, quote(alternativesKey)+" of "+what)
		if !ok {
			return nil, false
		}
		out = append(out, more...)
	}
	return out, true
}

// miniDictionary reads a Mini-dictionary: one list per language, keyed by
// the language's name, each item a word and its meaning or list of meanings.
// The target language's list comes first, as in LibreLingo.
func (l *loader) miniDictionary(src *source, n *yaml.Node, c *course.Course) []course.Definition {
	f, ok := src.mapping(n, `"Mini-dictionary"`)
	if !ok {
		return nil
	}
	f.warnUnknown(`"Mini-dictionary"`, c.Target.Name, c.Source.Name)
	var out []course.Definition
	for _, side := range []struct {
		lang     string
		inTarget bool
	}{{c.Target.Name, true}, {c.Source.Name, false}} {
		v, ok := f.get(side.lang)
		if !ok {
			src.errorf(n, "expected %q in \"Mini-dictionary\" (a language of the course)", side.lang)
			continue
		}
		if isNull(src.resolve(v)) {
			continue
		}
		items, ok := src.list(v, quote(side.lang)+` in "Mini-dictionary"`)
		if !ok {
			continue
		}
		for _, item := range items {
			what := "an entry of " + quote(side.lang) + ` in "Mini-dictionary"`
			e, ok := src.mapping(item, what)
			if !ok {
				continue
			}
			if len(e.list) == 0 {
				src.errorf(item, "expected a word and its meaning in %s, found an empty mapping", what)
				continue
			}
			first := e.list[0]
			for _, extra := range e.list[1:] {
				src.warnf(extra.key, "%q in %s is ignored: an entry defines one word (LibreLingo reads the first key only); start a new entry with -", extra.name, what)
			}
			def := course.Definition{Word: first.name, InTarget: side.inTarget, Pos: src.pos(first.key)}
			value := src.resolve(first.value)
			switch {
			case value != nil && value.Kind == yaml.SequenceNode:
				meanings, ok := src.textList(first.value, "the meanings of "+quote(first.name))
				if !ok {
					continue
				}
				def.Meanings = meanings
			default:
				meaning, ok := src.text(first.value, "the meaning of "+quote(first.name))
				if !ok {
					continue
				}
				def.Meanings = []string{meaning}
			}
			out = append(out, def)
		}
	}
	return out
}

// annotation matches a "(…)" note with the spaces around it, which
// Two-way-dictionary words drop but their meanings keep.
var annotation = regexp.MustCompile(` *\([^)]*\) *`)

// twoWayDictionary reads a Two-way-dictionary: a list of single-key mappings
// from a source-language text to a target-language text, each defining the
// other. Keys drop "(…)" annotations; {multi word} terms stay as written.
func (l *loader) twoWayDictionary(src *source, n *yaml.Node) []course.Definition {
	if isNull(src.resolve(n)) {
		return nil
	}
	items, ok := src.list(n, `"Two-way-dictionary"`)
	if !ok {
		return nil
	}
	var out []course.Definition
	for _, item := range items {
		what := `an entry of "Two-way-dictionary"`
		e, ok := src.mapping(item, what)
		if !ok {
			continue
		}
		if len(e.list) == 0 {
			src.errorf(item, "expected a word and its translation in %s, found an empty mapping", what)
			continue
		}
		first := e.list[0]
		for _, extra := range e.list[1:] {
			src.warnf(extra.key, "%q in %s is ignored: an entry pairs one word (LibreLingo reads the first key only); start a new entry with -", extra.name, what)
		}
		target, ok := src.text(first.value, "the translation of "+quote(first.name))
		if !ok {
			continue
		}
		sourceText := first.name
		pos := src.pos(first.key)
		out = append(out,
			course.Definition{Word: annotation.ReplaceAllString(sourceText, ""), Meanings: []string{target}, InTarget: false, Pos: pos},
			course.Definition{Word: annotation.ReplaceAllString(target, ""), Meanings: []string{sourceText}, InTarget: true, Pos: src.pos(first.value)},
		)
	}
	return out
}

// warnUnlistedModules warns about module folders that course.yaml does not
// list: they are not part of the course.
func (l *loader) warnUnlistedModules(listed map[string]bool) {
	entries, err := fs.ReadDir(l.fsys, ".")
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() || listed[e.Name()] || !l.exists(path.Join(e.Name(), "module.yaml")) {
			continue
		}
		l.diags.Warnf(course.Pos{File: l.display(path.Join(e.Name(), "module.yaml")), Line: 1, Col: 1},
			"module folder %q is not listed in course.yaml \"Modules\", so it is not part of the course", e.Name()+"/")
	}
}

// warnUnlistedSkills warns about skill files of a module that its
// module.yaml does not list.
func (l *loader) warnUnlistedSkills(dir string, listed map[string]bool) {
	entries, err := fs.ReadDir(l.fsys, path.Join(dir, "skills"))
	if err != nil {
		return
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		ext := path.Ext(e.Name())
		if e.Type().IsRegular() && (ext == ".yaml" || ext == ".yml") && !listed[e.Name()] {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	for _, name := range names {
		l.diags.Warnf(course.Pos{File: l.display(path.Join(dir, "skills", name)), Line: 1, Col: 1},
			"skill file %q is not listed in %s, so it is not part of the course", name, l.display(path.Join(dir, "module.yaml")))
	}
}

func quote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }

// yaml11Int matches the plain scalars that YAML 1.1 (and so LibreLingo's
// PyYAML loader) reads as integers.
var yaml11Int = regexp.MustCompile(`^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$`)

// canonicalID returns a skill Id as LibreLingo prints it: a plain scalar
// that YAML 1.1 reads as an integer becomes its decimal form (0x1F is 31,
// 010 is 8); anything else stays as written.
func canonicalID(n *yaml.Node, text string) string {
	// Quoted, tagged and block scalars are text whatever they hold.
	if n == nil || n.Style != 0 || !yaml11Int.MatchString(text) {
		return text
	}
	s := strings.ReplaceAll(text, "_", "")
	neg := false
	switch s[0] {
	case '-':
		neg, s = true, s[1:]
	case '+':
		s = s[1:]
	}
	v := new(big.Int)
	switch {
	case s == "0":
	case strings.HasPrefix(s, "0b"):
		v.SetString(s[2:], 2)
	case strings.HasPrefix(s, "0x"):
		v.SetString(s[2:], 16)
	case strings.HasPrefix(s, "0"):
		v.SetString(s[1:], 8)
	case strings.Contains(s, ":"):
		for _, part := range strings.Split(s, ":") {
			d, _ := new(big.Int).SetString(part, 10)
			v.Mul(v, big.NewInt(60)).Add(v, d)
		}
	default:
		v.SetString(s, 10)
	}
	if neg {
		v.Neg(v)
	}
	return v.String()
}
