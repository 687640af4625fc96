package librelingo

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/owlstack/owl/internal/course"
)

// Export writes the course as LibreLingo's web app reads it, as LibreLingo's
// exporter (librelingo_json_export 0.7.0) does: dir/courseData.json,
// dir/challenges/<skill-slug>.json for every skill, and
// dir/introduction/<skill-slug>.md for every skill with an introduction.
// Only LibreLingo's five challenge types are written, with LibreLingo's
// fields only.
//
// Everything is encoded before anything is written, and each file is
// written to a temporary file and renamed into place, so a failed export
// leaves no partly written file. Files already in dir that the export does
// not produce are left alone.
func Export(c *course.Course, dir string) error {
	files, err := Files(c)
	if err != nil {
		return fmt.Errorf("export course to %s: %w", dir, err)
	}
	if err := writeAll(dir, files); err != nil {
		return fmt.Errorf("export course to %s: %w", dir, err)
	}
	return nil
}

// File is one file of an export: its slash-separated path inside the export
// folder and its content.
type File struct {
	Path string
	Data []byte
}

// Files returns the files Export writes, in order, without writing them.
func Files(c *course.Course) ([]File, error) {
	derived := course.Derive(c)
	skills := c.Skills()
	seen := make(map[string]string)
	for _, s := range skills {
		slug := s.Slug()
		if slug == "" {
			return nil, fmt.Errorf("skill %q: the name has no letter or digit to name its file", s.Name)
		}
		if other, ok := seen[slug]; ok {
			return nil, fmt.Errorf("skills %q and %q would both be written to challenges/%s.json", other, s.Name, slug)
		}
		seen[slug] = s.Name
	}

	data, err := encodeJSON(courseData(c))
	if err != nil {
		return nil, fmt.Errorf("encode courseData.json: %w", err)
	}
	files := []File{{Path: "courseData.json", Data: data}}
	for i, s := range skills {
		slug := s.Slug()
		data, err := encodeJSON(skillData(derived[i]))
		if err != nil {
			return nil, fmt.Errorf("encode skill %q: %w", s.Name, err)
		}
		files = append(files, File{Path: "challenges/" + slug + ".json", Data: data})
		if s.Introduction != "" {
			files = append(files, File{Path: "introduction/" + slug + ".md", Data: []byte(SanitizeMarkdown(s.Introduction))})
		}
	}
	return files, nil
}

// The JSON shapes below are LibreLingo's, field for field and in its order.

type jsonCourseData struct {
	LanguageName      string       `json:"languageName"`
	LanguageCode      string       `json:"languageCode"`
	SpecialCharacters []string     `json:"specialCharacters"`
	License           jsonLicense  `json:"license"`
	Modules           []jsonModule `json:"modules"`
}

type jsonLicense struct {
	Name struct {
		Short string `json:"short"`
		Full  string `json:"full"`
	} `json:"name"`
	Link string `json:"link"`
}

type jsonModule struct {
	Title  string             `json:"title"`
	Skills []jsonSkillSummary `json:"skills"`
}

type jsonSkillSummary struct {
	ImageSet     []string `json:"imageSet,omitempty"`
	Introduction string   `json:"introduction,omitempty"`
	Summary      []string `json:"summary"`
	PracticeHref string   `json:"practiceHref"`
	ID           string   `json:"id"`
	Title        string   `json:"title"`
	Levels       int      `json:"levels"`
}

type jsonSkill struct {
	ID         string `json:"id"`
	Levels     int    `json:"levels"`
	Challenges []any  `json:"challenges"`
}

type jsonCards struct {
	Type                    course.Type `json:"type"`
	Pictures                []string    `json:"pictures"`
	FormInTargetLanguage    string      `json:"formInTargetLanguage"`
	MeaningInSourceLanguage string      `json:"meaningInSourceLanguage"`
	jsonMeta
}

type jsonOptions struct {
	Type                    course.Type `json:"type"`
	FormInTargetLanguage    string      `json:"formInTargetLanguage"`
	MeaningInSourceLanguage string      `json:"meaningInSourceLanguage"`
	jsonMeta
}

type jsonShortInput struct {
	Type                 course.Type             `json:"type"`
	Pictures             []string                `json:"pictures"`
	FormInTargetLanguage []string                `json:"formInTargetLanguage"`
	Phrase               []course.WordDefinition `json:"phrase"`
	jsonMeta
}

type jsonListening struct {
	Type    course.Type `json:"type"`
	Answer  string      `json:"answer"`
	Meaning string      `json:"meaning"`
	Audio   string      `json:"audio"`
	jsonMeta
}

type jsonChips struct {
	Type                       course.Type             `json:"type"`
	TranslatesToSourceLanguage bool                    `json:"translatesToSourceLanguage"`
	Phrase                     []course.WordDefinition `json:"phrase"`
	Chips                      []string                `json:"chips"`
	Solutions                  [][]string              `json:"solutions"`
	FormattedSolution          string                  `json:"formattedSolution"`
	jsonMeta
}

type jsonMeta struct {
	ID       string `json:"id"`
	Priority int    `json:"priority"`
	Group    string `json:"group"`
}

func courseData(c *course.Course) jsonCourseData {
	out := jsonCourseData{
		LanguageName:      c.Target.Name,
		LanguageCode:      c.Target.Code,
		SpecialCharacters: nonNil(c.SpecialCharacters),
		Modules:           make([]jsonModule, 0, len(c.Modules)),
	}
	out.License.Name.Short = c.License.ShortName
	out.License.Name.Full = c.License.Name
	out.License.Link = c.License.Link
	for _, m := range c.Modules {
		jm := jsonModule{Title: m.Name, Skills: make([]jsonSkillSummary, 0, len(m.Skills))}
		for i := range m.Skills {
			s := &m.Skills[i]
			summary := make([]string, 0, len(s.Words)+len(s.Phrases))
			for _, w := range s.Words {
				summary = append(summary, w.Target[0])
			}
			for _, p := range s.Phrases {
				summary = append(summary, p.Target[0])
			}
			js := jsonSkillSummary{
				Summary:      summary,
				PracticeHref: s.Slug(),
				ID:           s.OpaqueID(),
				Title:        s.Name,
				Levels:       s.Levels(),
			}
			// LibreLingo shows thumbnails only for a set of exactly three.
			if len(s.Thumbnails) == 3 && s.Thumbnails[0] != "" && s.Thumbnails[1] != "" && s.Thumbnails[2] != "" {
				js.ImageSet = s.Thumbnails
			}
			if s.Introduction != "" {
				js.Introduction = s.Slug() + ".md"
			}
			jm.Skills = append(jm.Skills, js)
		}
		out.Modules = append(out.Modules, jm)
	}
	return out
}

func skillData(sc course.SkillChallenges) jsonSkill {
	out := jsonSkill{ID: sc.ID, Levels: sc.Levels, Challenges: make([]any, 0, len(sc.Challenges))}
	for _, ch := range sc.Challenges {
		m := ch.Metadata()
		meta := jsonMeta{ID: m.ID, Priority: m.Priority, Group: m.Group}
		switch c := ch.(type) {
		case *course.Cards:
			out.Challenges = append(out.Challenges, jsonCards{c.Type, c.Pictures, c.FormInTargetLanguage, c.MeaningInSourceLanguage, meta})
		case *course.Options:
			out.Challenges = append(out.Challenges, jsonOptions{c.Type, c.FormInTargetLanguage, c.MeaningInSourceLanguage, meta})
		case *course.ShortInput:
			out.Challenges = append(out.Challenges, jsonShortInput{c.Type, c.Pictures, c.FormInTargetLanguage, c.Phrase, meta})
		case *course.Listening:
			out.Challenges = append(out.Challenges, jsonListening{c.Type, c.Answer, c.Meaning, c.Audio, meta})
		case *course.Chips:
			out.Challenges = append(out.Challenges, jsonChips{c.Type, c.TranslatesToSourceLanguage, c.Phrase, c.Chips, c.Solutions, c.FormattedSolution, meta})
		}
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// encodeJSON encodes v as Python's json.dump(v, ensure_ascii=False,
// indent=2) does: two-space indentation, non-ASCII characters as they are,
// no HTML escaping and no final newline.
func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return unescapeLineSeparators(bytes.TrimSuffix(buf.Bytes(), []byte("\n"))), nil
}

// unescapeLineSeparators undoes encoding/json's escaping of U+2028 and
// U+2029, which Python leaves as they are. Inside JSON strings every
// backslash starts an escape, so escapes can be walked pairwise.
func unescapeLineSeparators(data []byte) []byte {
	if !bytes.Contains(data, []byte(`\u202`)) {
		return data
	}
	out := make([]byte, 0, len(data))
	for i := 0; i < len(data); i++ {
		if data[i] != '\\' || i+1 >= len(data) {
			out = append(out, data[i])
			continue
		}
		if rest := data[i:]; bytes.HasPrefix(rest, []byte(`\u2028`)) || bytes.HasPrefix(rest, []byte(`\u2029`)) {
			if rest[5] == '8' {
				out = append(out, "\u2028"...)
			} else {
				out = append(out, "\u2029"...)
			}
			i += 5
			continue
		}
		out = append(out, data[i], data[i+1])
		i++
	}
	return out
}

// writeAll writes every file to a temporary file beside its destination and
// then renames them all into place; on failure the temporary files are
// removed and nothing is replaced.
func writeAll(dir string, files []File) (err error) {
	type pending struct{ tmp, dest string }
	var written []pending
	defer func() {
		if err != nil {
			for _, p := range written {
				os.Remove(p.tmp)
			}
		}
	}()
	for _, f := range files {
		dest := filepath.Join(dir, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
			return err
		}
		tmp, err := os.CreateTemp(filepath.Dir(dest), "."+filepath.Base(dest)+".*.tmp")
		if err != nil {
			return err
		}
		written = append(written, pending{tmp.Name(), dest})
		_, werr := tmp.Write(f.Data)
		serr := tmp.Sync()
		cerr := tmp.Close()
		if err := errors.Join(werr, serr, cerr); err != nil {
			return err
		}
		if err := os.Chmod(tmp.Name(), 0o644); err != nil {
			return err
		}
	}
	for i, p := range written {
		if err := os.Rename(p.tmp, p.dest); err != nil {
			// The files renamed so far are complete; remove the rest.
			written = written[i:]
			return err
		}
	}
	return nil
}
