package course

import (
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"
	"unicode/utf8"
)

// Priorities of the challenge types: 0 introduces an item; higher numbers
// are harder practice and come later in a lesson.
const (
	priorityIntroduce = 0
	priorityRecall    = 1
	priorityBuild     = 2
	priorityProduce   = 3
)

const (
	optionsDistractors     = 3
	missingWordDistractors = 3
	pairsPerRound          = 5
	minPairsPerRound       = 3
)

// Derive returns the challenges of every skill of the course, skill by skill
// in course order. It is deterministic.
//
// For each phrase it makes, in order: options, listeningExercise (when the
// course has audio), chips and reverse chips (when both sides have at least
// two words), reverseTranslation into the source and into the target
// language, missingWord (when a gap can be chosen and has distractors) and
// speaking. For each new word: cards, shortInput and listeningExercise (when
// the course has audio). Then one matchPairs challenge per round of three to
// five new words. The LibreLingo types come out exactly as LibreLingo's
// exporter makes them.
//
// Skills are derived in parallel, one goroutine per available CPU; the
// result does not depend on how many there are.
func Derive(c *Course) []SkillChallenges {
	d := newDeriver(c)
	out := make([]SkillChallenges, len(d.skills))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(d.skills)) {
		wg.Go(func() {
			w := d.newWorker()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(d.skills) {
					return
				}
				out[i] = w.skill(i, d.skills[i])
			}
		})
	}
	wg.Wait()
	return out
}

// deriver holds what every skill's derivation reads: the course, its
// dictionary and vocabularies. It is not changed once built.
type deriver struct {
	course *Course
	dict   *Dictionary
	skills []*Skill
	// targetChips and sourceChips are the chips of every variant of every
	// phrase, for picking extra chips; targetWords are the target-language
	// words of the course, for picking missing-word distractors.
	targetChips, sourceChips, targetWords *vocabulary
}

func newDeriver(c *Course) *deriver {
	d := &deriver{
		course:      c,
		dict:        NewDictionary(c),
		skills:      c.Skills(),
		targetChips: newVocabulary(false),
		sourceChips: newVocabulary(false),
		targetWords: newVocabulary(true),
	}
	for _, s := range d.skills {
		for _, p := range s.Phrases {
			for _, v := range p.Target {
				d.targetChips.addAll(chipsOf(v))
				d.targetWords.addAll(chipsOf(Display(v)))
			}
			for _, v := range p.Source {
				d.sourceChips.addAll(chipsOf(v))
			}
		}
		for _, w := range s.Words {
			for _, v := range w.Target {
				d.targetWords.addAll(chipsOf(Display(v)))
			}
		}
	}
	return d
}

// worker derives skills one at a time with its own scratch space.
type worker struct {
	*deriver
	targetChipsScratch, sourceChipsScratch, targetWordsScratch *scratch
}

func (d *deriver) newWorker() *worker {
	return &worker{
		deriver:            d,
		targetChipsScratch: d.targetChips.newScratch(),
		sourceChipsScratch: d.sourceChips.newScratch(),
		targetWordsScratch: d.targetWords.newScratch(),
	}
}

func (d *worker) skill(index int, s *Skill) SkillChallenges {
	out := SkillChallenges{ID: s.OpaqueID(), Levels: s.Levels(), Challenges: []Challenge{}}
	for i := range s.Phrases {
		p := &s.Phrases[i]
		if len(p.Target) == 0 || len(p.Source) == 0 {
			continue
		}
		out.Challenges = append(out.Challenges, d.phrase(index, s, i, p)...)
	}
	for i := range s.Words {
		w := &s.Words[i]
		if len(w.Target) == 0 || len(w.Source) == 0 {
			continue
		}
		out.Challenges = append(out.Challenges, d.word(i, w)...)
	}
	out.Challenges = append(out.Challenges, d.matchPairs(s)...)
	return out
}

func phraseRepr(p *Phrase) string {
	return "Phrase(in_target_language=" + pyRepr(p.Target[0]) +
		", in_source_language=" + pyRepr(p.Source[0]) + ")"
}

func wordRepr(w *Word) string {
	return "Word(in_target_language=" + pyRepr(w.Target[0]) +
		", in_source_language=" + pyRepr(w.Source[0]) +
		", pictures=" + pyReprList(w.Images) + ")"
}

func (d *worker) phrase(skillIndex int, s *Skill, index int, p *Phrase) []Challenge {
	repr := phraseRepr(p)
	group := opaqueID("Group", repr, "")
	terms := phraseTerms(p.Target[0])
	meta := func(id string, priority int) Meta {
		return Meta{ID: id, Priority: priority, Group: group, Phrases: []int{index}, Terms: terms}
	}
	target, source := Display(p.Target[0]), Display(p.Source[0])

	var out []Challenge
	options := &Options{
		Type:                    TypeOptions,
		FormInTargetLanguage:    target,
		MeaningInSourceLanguage: source,
		Distractors:             d.optionsDistractors(skillIndex, s, index, p),
		Meta:                    meta(opaqueID("Options", repr, "options"), priorityIntroduce),
	}
	if d.course.Settings.Audio.Enabled {
		options.Audio = AudioID(d.course.Target, target)
	}
	out = append(out, options)
	if d.course.Settings.Audio.Enabled {
		out = append(out, &Listening{
			Type:    TypeListening,
			Answer:  target,
			Meaning: source,
			Audio:   AudioID(d.course.Target, target),
			Meta:    meta(opaqueID("Word", repr, "listeningExercise"), priorityRecall),
		})
	}
	if len(Fields(p.Source[0])) >= 2 && len(Fields(p.Target[0])) >= 2 {
		for _, toSource := range []bool{false, true} {
			inputs, vocab, sc, prompt, salt := p.Target, d.targetChips, d.targetChipsScratch, p.Source[0], "chips"
			if toSource {
				inputs, vocab, sc, prompt, salt = p.Source, d.sourceChips, d.sourceChipsScratch, p.Target[0], "reverse chips"
			}
			solution := chipsOf(inputs[0])
			solutions := make([][]string, 0, len(inputs))
			for _, in := range inputs {
				solutions = append(solutions, chipsOf(in))
			}
			out = append(out, &Chips{
				Type:                       TypeChips,
				TranslatesToSourceLanguage: toSource,
				Phrase:                     d.defineSentence(prompt, toSource),
				Chips:                      append(solution[:len(solution):len(solution)], vocab.extraChips(sc, solution)...),
				Solutions:                  solutions,
				FormattedSolution:          Display(inputs[0]),
				Meta:                       meta(opaqueID("Chips", repr, salt), priorityBuild),
			})
		}
	}
	out = append(out,
		&ReverseTranslation{
			Type:                       TypeReverseTranslation,
			TranslatesToSourceLanguage: true,
			Prompt:                     target,
			Phrase:                     d.defineSentence(p.Target[0], true),
			Answers:                    displayAll(p.Source),
			FormattedSolution:          source,
			Meta:                       meta(opaqueID("ReverseTranslation", repr, "to source"), priorityBuild),
		},
		&ReverseTranslation{
			Type:                       TypeReverseTranslation,
			TranslatesToSourceLanguage: false,
			Prompt:                     source,
			Phrase:                     d.defineSentence(p.Source[0], false),
			Answers:                    displayAll(p.Target),
			FormattedSolution:          target,
			Meta:                       meta(opaqueID("ReverseTranslation", repr, "to target"), priorityProduce),
		})
	if mw := d.missingWord(p); mw != nil {
		mw.Meta = meta(opaqueID("MissingWord", repr, "missingWord"), priorityRecall)
		out = append(out, mw)
	}
	speaking := &Speaking{
		Type:    TypeSpeaking,
		Phrase:  target,
		Meaning: source,
		Answers: displayAll(p.Target),
		Meta:    meta(opaqueID("Speaking", repr, "speaking"), priorityRecall),
	}
	if d.course.Settings.Audio.Enabled {
		speaking.Audio = AudioID(d.course.Target, target)
	}
	return append(out, speaking)
}

func (d *worker) word(index int, w *Word) []Challenge {
	repr := wordRepr(w)
	group := opaqueID("Group", repr, "")
	terms := []string{Lower(CleanWord(Display(w.Target[0])))}
	meta := func(id string, priority int) Meta {
		return Meta{ID: id, Priority: priority, Group: group, Words: []int{index}, Terms: terms}
	}
	var pictures []string
	if len(w.Images) > 0 {
		pictures = make([]string, len(w.Images))
		for i, img := range w.Images {
			pictures[i] = img + ".jpg"
		}
	}
	target, source := Display(w.Target[0]), Display(w.Source[0])
	out := []Challenge{
		&Cards{
			Type:                    TypeCards,
			Pictures:                pictures,
			FormInTargetLanguage:    target,
			MeaningInSourceLanguage: source,
			Meta:                    meta(opaqueID("Word", repr, "cards"), priorityIntroduce),
		},
		&ShortInput{
			Type:                 TypeShortInput,
			Pictures:             pictures,
			FormInTargetLanguage: displayAll(w.Target),
			Phrase:               d.defineSentence(w.Source[0], false),
			Meta:                 meta(opaqueID("Word", repr, "shortInput"), priorityRecall),
		},
	}
	if d.course.Settings.Audio.Enabled {
		out = append(out, &Listening{
			Type:    TypeListening,
			Answer:  target,
			Meaning: source,
			Audio:   AudioID(d.course.Target, target),
			Meta:    meta(opaqueID("Word", repr, "listeningExercise"), priorityRecall),
		})
	}
	return out
}

// defineSentence splits a sentence into its terms and defines each from the
// dictionary side of the sentence's language.
func (d *worker) defineSentence(sentence string, inTarget bool) []WordDefinition {
	terms := Terms(sentence)
	out := make([]WordDefinition, 0, len(terms))
	for _, t := range terms {
		def, _ := d.dict.Define(t, inTarget)
		out = append(out, WordDefinition{Word: t, Definition: def})
	}
	return out
}

// chipsOf splits a text into chips: its whitespace-separated words without
// surrounding punctuation, braces included (LibreLingo keeps a word that is
// nothing but punctuation as an empty chip).
func chipsOf(text string) []string {
	fields := Fields(text)
	out := make([]string, len(fields))
	for i, f := range fields {
		out[i] = CleanWord(f)
	}
	return out
}

func displayAll(texts []string) []string {
	out := make([]string, len(texts))
	for i, t := range texts {
		out[i] = Display(t)
	}
	return out
}

// phraseTerms returns the lowercased terms of a phrase, without punctuation
// and without repeats.
func phraseTerms(text string) []string {
	var out []string
	seen := make(map[string]bool)
	for _, t := range Terms(text) {
		t = Lower(CleanWord(Display(t)))
		if t != "" && !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

// optionsDistractors picks target-language forms of other phrases that a
// learner could mistake for p: the closest in spelling from the same skill,
// then, if the skill has too few, phrases of the skills before it (nearest
// first) and after it.
func (d *worker) optionsDistractors(skillIndex int, s *Skill, index int, p *Phrase) []string {
	excluded := make(map[string]bool)
	for _, t := range p.Target {
		excluded[Lower(Display(t))] = true
	}
	meaning := Lower(Display(p.Source[0]))
	eligible := func(q *Phrase) (string, bool) {
		if len(q.Target) == 0 || len(q.Source) == 0 {
			return "", false
		}
		form := Display(q.Target[0])
		if excluded[Lower(form)] || Lower(Display(q.Source[0])) == meaning {
			return "", false
		}
		return form, true
	}
	out := make([]string, 0, optionsDistractors)
	target := []rune(Display(p.Target[0]))
	var near nearest
	near.reset(optionsDistractors)
	var forms []string
	for i := range s.Phrases {
		if i == index {
			continue
		}
		form, ok := eligible(&s.Phrases[i])
		if !ok || excluded[Lower(form)] {
			continue
		}
		excluded[Lower(form)] = true
		near.offer(len(forms), func(limit int) int { return editDistance(target, []rune(form), limit) })
		forms = append(forms, form)
	}
	for _, i := range near.indexes() {
		out = append(out, forms[i])
	}
	// Fill from the skills learned before this one, nearest first, then from
	// those after it.
	order := make([]int, 0, len(d.skills))
	for i := skillIndex - 1; i >= 0; i-- {
		order = append(order, i)
	}
	for i := skillIndex + 1; i < len(d.skills); i++ {
		order = append(order, i)
	}
	for _, si := range order {
		if len(out) == optionsDistractors {
			break
		}
		for i := range d.skills[si].Phrases {
			if len(out) == optionsDistractors {
				break
			}
			form, ok := eligible(&d.skills[si].Phrases[i])
			if !ok || excluded[Lower(form)] {
				continue
			}
			excluded[Lower(form)] = true
			out = append(out, form)
		}
	}
	return out
}

// missingWord makes the cloze of a phrase: the longest word of its main form
// is the gap, and the course's target-language words closest to it in
// spelling are the distractors. It returns nil when the phrase has a single
// word or no distractor can be found.
func (d *worker) missingWord(p *Phrase) *MissingWord {
	text := Display(p.Target[0])
	tokens := fieldSpans(text)
	if len(tokens) < 2 {
		return nil
	}
	gap, gapLen := -1, 0
	for i, t := range tokens {
		if n := utf8.RuneCountInString(CleanWord(text[t.start:t.end])); n > gapLen {
			gap, gapLen = i, n
		}
	}
	if gap < 0 {
		return nil
	}
	tok := text[tokens[gap].start:tokens[gap].end]
	answer := CleanWord(tok)
	start := tokens[gap].start + strings.Index(tok, answer)
	end := start + len(answer)

	// Neither the phrase's own words nor a word that makes another accepted
	// version of the phrase is a distractor.
	excluded := map[string]bool{Lower(answer): true}
	for _, t := range tokens {
		excluded[Lower(CleanWord(text[t.start:t.end]))] = true
	}
	for _, v := range p.Target[1:] {
		vt := Fields(Display(v))
		if len(vt) != len(tokens) {
			continue
		}
		same := true
		for i, t := range tokens {
			if i != gap && vt[i] != text[t.start:t.end] {
				same = false
				break
			}
		}
		if same {
			excluded[Lower(CleanWord(vt[gap]))] = true
		}
	}
	picked := d.targetWords.closest(d.targetWordsScratch, answer, missingWordDistractors, excluded)
	if len(picked) == 0 {
		return nil
	}
	capital := startsUpper(answer)
	choices := []string{answer}
	seen := map[string]bool{answer: true}
	for _, w := range picked {
		if capital && !startsUpper(w) {
			r, size := utf8.DecodeRuneInString(w)
			w = string(unicode.ToUpper(r)) + w[size:]
		}
		if !seen[w] {
			seen[w] = true
			choices = append(choices, w)
		}
	}
	if len(choices) < 2 {
		return nil
	}
	sortChoices(choices)
	return &MissingWord{
		Type:              TypeMissingWord,
		Before:            text[:start],
		After:             text[end:],
		Answer:            answer,
		Choices:           choices,
		Meaning:           Display(p.Source[0]),
		FormattedSolution: text,
	}
}

func startsUpper(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return unicode.IsUpper(r)
}

// sortChoices orders choices alphabetically, ignoring case first, so that
// their order gives nothing away.
func sortChoices(choices []string) {
	lower := make(map[string]string, len(choices))
	for _, c := range choices {
		lower[c] = Lower(c)
	}
	sortStrings(choices, func(a, b string) int {
		if c := strings.Compare(lower[a], lower[b]); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
}

type span struct{ start, end int }

// fieldSpans returns the byte spans of the whitespace-separated fields of s.
func fieldSpans(s string) []span {
	var out []span
	start := -1
	for i, r := range s {
		if isSpace(r) {
			if start >= 0 {
				out = append(out, span{start, i})
				start = -1
			}
		} else if start < 0 {
			start = i
		}
	}
	if start >= 0 {
		out = append(out, span{start, len(s)})
	}
	return out
}

// matchPairs splits the skill's new words into rounds of three to five
// pairs, as even as possible, keeping the words' order. Words whose form or
// meaning repeats an earlier one are left out, since a round must have one
// right match per item.
func (d *worker) matchPairs(s *Skill) []Challenge {
	type item struct {
		index int
		pair  Pair
		repr  string
		term  string
	}
	var items []item
	seenTarget, seenSource := make(map[string]bool), make(map[string]bool)
	for i := range s.Words {
		w := &s.Words[i]
		if len(w.Target) == 0 || len(w.Source) == 0 {
			continue
		}
		pair := Pair{Target: Display(w.Target[0]), Source: Display(w.Source[0])}
		lt, ls := Lower(pair.Target), Lower(pair.Source)
		if pair.Target == "" || pair.Source == "" || seenTarget[lt] || seenSource[ls] {
			continue
		}
		seenTarget[lt], seenSource[ls] = true, true
		items = append(items, item{index: i, pair: pair, repr: wordRepr(w), term: Lower(CleanWord(pair.Target))})
	}
	n := len(items)
	if n < minPairsPerRound {
		return nil
	}
	rounds := (n + pairsPerRound - 1) / pairsPerRound
	size, bigger := n/rounds, n%rounds
	var out []Challenge
	next := 0
	for r := range rounds {
		k := size
		if r < bigger {
			k++
		}
		round := items[next : next+k]
		next += k
		var reprs strings.Builder
		c := &MatchPairs{Type: TypeMatchPairs, Pairs: make([]Pair, 0, k)}
		for _, it := range round {
			reprs.WriteString(it.repr)
			c.Pairs = append(c.Pairs, it.pair)
			c.Words = append(c.Words, it.index)
			c.Terms = append(c.Terms, it.term)
		}
		c.ID = opaqueID("MatchPairs", reprs.String(), "matchPairs")
		c.Group = opaqueID("Group", reprs.String(), "matchPairs")
		c.Priority = priorityRecall
		out = append(out, c)
	}
	return out
}
