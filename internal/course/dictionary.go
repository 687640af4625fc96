package course

import (
	"slices"
	"strings"
)

// Dictionary is the course-wide dictionary that gives learners the meaning of
// each word of a phrase. It merges, skill by skill in course order, the new
// words (both ways) and each skill's Mini-dictionary and Two-way-dictionary,
// as LibreLingo's loader does.
type Dictionary struct {
	entries []DictionaryEntry
	// first maps a language side and a cleaned, lowercased word to the first
	// entry that defines it: look-ups ignore case and punctuation.
	first map[dictionaryKey]int
}

// DictionaryEntry is a word of one language with all its meanings in the
// other, sorted and joined by newlines.
type DictionaryEntry struct {
	Word       string
	Definition string
	InTarget   bool
}

type dictionaryKey struct {
	word     string
	inTarget bool
}

// NewDictionary builds the dictionary of a course.
func NewDictionary(c *Course) *Dictionary {
	type merged struct {
		key      dictionaryKey
		meanings map[string]bool
	}
	var order []*merged
	byKey := make(map[dictionaryKey]*merged)
	add := func(word, meaning string, inTarget bool) {
		k := dictionaryKey{word, inTarget}
		m := byKey[k]
		if m == nil {
			m = &merged{key: k, meanings: make(map[string]bool)}
			byKey[k] = m
			order = append(order, m)
		}
		m.meanings[meaning] = true
	}
	for _, skill := range c.Skills() {
		for _, w := range skill.Words {
			if len(w.Target) == 0 || len(w.Source) == 0 {
				continue
			}
			add(w.Source[0], w.Target[0], false)
			add(w.Target[0], w.Source[0], true)
		}
		for _, def := range skill.Dictionary {
			for _, meaning := range def.Meanings {
				add(def.Word, meaning, def.InTarget)
			}
		}
	}
	d := &Dictionary{
		entries: make([]DictionaryEntry, 0, len(order)),
		first:   make(map[dictionaryKey]int, len(order)),
	}
	for i, m := range order {
		meanings := make([]string, 0, len(m.meanings))
		for meaning := range m.meanings {
			meanings = append(meanings, meaning)
		}
		// Go compares strings byte by byte, which for UTF-8 is the code point
		// order that Python's sorted uses.
		slices.Sort(meanings)
		d.entries = append(d.entries, DictionaryEntry{
			Word:       m.key.word,
			Definition: strings.Join(meanings, "\n"),
			InTarget:   m.key.inTarget,
		})
		k := dictionaryKey{Lower(CleanWord(m.key.word)), m.key.inTarget}
		if _, ok := d.first[k]; !ok {
			d.first[k] = i
		}
	}
	return d
}

// Entries returns the merged entries in the order they were first defined.
func (d *Dictionary) Entries() []DictionaryEntry { return d.entries }

// Define returns the definition of a word as it appears in a phrase
// (punctuation and case do not matter), and false when the dictionary has no
// definition for it. inTarget tells the language of the word.
func (d *Dictionary) Define(word string, inTarget bool) (string, bool) {
	i, ok := d.first[dictionaryKey{Lower(CleanWord(word)), inTarget}]
	if !ok || d.entries[i].Definition == "" {
		return "", false
	}
	return d.entries[i].Definition, true
}
