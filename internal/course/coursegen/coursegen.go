// Package coursegen writes synthetic LibreLingo courses of any size, for
// load tests and benchmarks of the compiler, the snapshot store and the
// session generator. The courses are deterministic for a given seed.
package coursegen

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

// Options size a synthetic course.
type Options struct {
	// Words and Phrases are the totals over the whole course.
	Words   int
	Phrases int
	// Modules and SkillsPerModule shape the course.
	Modules         int
	SkillsPerModule int
	// Seed makes the course reproducible.
	Seed uint64
}

// Large is the size used by the benchmarks: 2,000 words and 4,000 phrases.
var Large = Options{Words: 2000, Phrases: 4000, Modules: 10, SkillsPerModule: 10, Seed: 1}

var (
	targetSyllables = []string{"ka", "lo", "mi", "ne", "pu", "ra", "si", "to", "vu", "za", "be", "do", "fi", "gu", "ho", "je"}
	sourceSyllables = []string{"an", "el", "ir", "om", "ut", "ber", "cal", "dor", "fen", "gar", "hol", "jun", "kel", "lim", "mor", "nep"}
)

// word spells the n-th word over the syllables, at least two syllables long,
// so that distinct n give distinct words.
func word(n int, syllables []string) string {
	var b strings.Builder
	k := len(syllables)
	n += k // skip the one-syllable words
	for {
		b.WriteString(syllables[n%k])
		n /= k
		if n == 0 {
			break
		}
		n--
	}
	return b.String()
}

// Write writes a course with the given options into dir, which must not
// exist or be empty.
func Write(dir string, o Options) error {
	if o.Modules < 1 || o.SkillsPerModule < 1 || o.Words < 1 {
		return fmt.Errorf("coursegen: need at least one module, skill and word (got %+v)", o)
	}
	skills := o.Modules * o.SkillsPerModule
	rng := rand.New(rand.NewPCG(o.Seed, 0x6f776c))
	var course strings.Builder
	course.WriteString(`Course:
  Language:
    Name: Synthetic
    IETF BCP 47: x-syn
  For speakers of:
    Name: English
    IETF BCP 47: en
  License:
    Name: Creative Commons Zero v1.0 Universal
    Short name: CC0 1.0
    Link: https://creativecommons.org/publicdomain/zero/1.0/
  Repository: https://github.com/owlstack/owl
  Special characters: []

Modules:
`)
	wordNo, phraseNo := 0, 0
	for m := range o.Modules {
		mdir := fmt.Sprintf("module%02d", m+1)
		fmt.Fprintf(&course, "  - %s/\n", mdir)
		var module strings.Builder
		fmt.Fprintf(&module, "Module:\n  Name: \"Module %d\"\n\nSkills:\n", m+1)
		for s := range o.SkillsPerModule {
			skillNo := m*o.SkillsPerModule + s
			nWords := share(o.Words, skills, skillNo)
			nPhrases := share(o.Phrases, skills, skillNo)
			file := fmt.Sprintf("skill%03d.yaml", skillNo+1)
			fmt.Fprintf(&module, "  - %s\n", file)

			var sk strings.Builder
			fmt.Fprintf(&sk, "Skill:\n  Name: Skill %d\n  Id: %d\n  Thumbnails:\n    - img%da\n    - img%db\n    - img%dc\n\nNew words:\n", skillNo+1, 1000+skillNo, wordNo, wordNo, wordNo)
			type pair struct{ target, source string }
			vocab := make([]pair, nWords)
			for i := range nWords {
				vocab[i] = pair{word(wordNo, targetSyllables), word(wordNo, sourceSyllables)}
				fmt.Fprintf(&sk, "  - Word: %s\n    Translation: %s\n    Images:\n      - img%da\n      - img%db\n      - img%dc\n\n", vocab[i].target, vocab[i].source, wordNo, wordNo, wordNo)
				wordNo++
			}
			if nWords == 0 {
				return fmt.Errorf("coursegen: %d words are too few for %d skills", o.Words, skills)
			}
			sk.WriteString("Phrases:\n")
			// Each phrase ends with a word of its own, so that no two
			// phrases are the same; it joins the skill's dictionary.
			tags := make([]pair, nPhrases)
			for i := range nPhrases {
				n := 3 + rng.IntN(3)
				t, src := make([]string, n), make([]string, n)
				for j := range n {
					p := vocab[rng.IntN(len(vocab))]
					t[j], src[j] = p.target, p.source
				}
				tags[i] = pair{word(o.Words+phraseNo, targetSyllables), word(o.Words+phraseNo, sourceSyllables)}
				t[0] = strings.ToUpper(t[0][:1]) + t[0][1:]
				fmt.Fprintf(&sk, "  - Phrase: %s %s\n    Translation: %s %s\n\n", strings.Join(t, " "), tags[i].target, strings.Join(src, " "), tags[i].source)
				phraseNo++
			}
			sk.WriteString("Mini-dictionary:\n  Synthetic:\n")
			dict := append(vocab, tags...)
			for _, p := range dict {
				fmt.Fprintf(&sk, "    - %s: %s\n", p.target, p.source)
			}
			sk.WriteString("  English:\n")
			for _, p := range dict {
				fmt.Fprintf(&sk, "    - %s: %s\n", p.source, p.target)
			}
			if err := writeFile(filepath.Join(dir, mdir, "skills", file), sk.String()); err != nil {
				return err
			}
		}
		if err := writeFile(filepath.Join(dir, mdir, "module.yaml"), module.String()); err != nil {
			return err
		}
	}
	course.WriteString("\nSettings:\n  Audio:\n    Enabled: True\n")
	return writeFile(filepath.Join(dir, "course.yaml"), course.String())
}

// share splits total over n parts as evenly as possible and returns part i.
func share(total, n, i int) int {
	q, r := total/n, total%n
	if i < r {
		return q + 1
	}
	return q
}

func writeFile(path, text string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(text), 0o644)
}
