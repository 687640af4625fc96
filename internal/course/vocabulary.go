package course

import "slices"

// vocabulary is an ordered list of distinct words with their code points
// and lowercase forms, for picking distractors by edit distance. Once built
// it is only read, so goroutines may pick from it at once, each with its own
// scratch.
type vocabulary struct {
	list  []string
	runes [][]rune
	// sorted holds each entry's code points in order, for bounding edit
	// distances from below cheaply.
	sorted [][]rune
	lower  []string
	// fold[i] is the index of the first entry with the same lowercase form.
	fold  []int
	index map[string]int
	first map[string]int
	// words, when set, makes a vocabulary of words rather than chips: empty
	// words are left out and spellings that differ only in case are one
	// word, written in lowercase if it ever appears so (a capital that only
	// starts a sentence is not part of the word).
	words bool
}

// scratch is the working memory of one goroutine picking from one
// vocabulary. inSolution and seen mark entries during a pick; gen tells the
// current pick's marks from older ones, so nothing needs clearing.
type scratch struct {
	inSolution, seen []uint32
	gen              uint32
	row              []int
	floorByLen       []int
}

func newVocabulary(words bool) *vocabulary {
	return &vocabulary{index: make(map[string]int), first: make(map[string]int), words: words}
}

func (v *vocabulary) addAll(words []string) {
	for _, w := range words {
		key := w
		if v.words {
			if w == "" {
				continue
			}
			key = Lower(w)
		}
		if i, ok := v.index[key]; ok {
			if v.words && startsUpper(v.list[i]) && !startsUpper(w) {
				v.list[i], v.runes[i], v.sorted[i] = w, []rune(w), sortedRunes(w)
			}
			continue
		}
		lower := Lower(w)
		f, ok := v.first[lower]
		if !ok {
			f = len(v.list)
			v.first[lower] = f
		}
		v.index[key] = len(v.list)
		v.list = append(v.list, w)
		v.runes = append(v.runes, []rune(w))
		v.sorted = append(v.sorted, sortedRunes(w))
		v.lower = append(v.lower, lower)
		v.fold = append(v.fold, f)
	}
}

func (v *vocabulary) newScratch() *scratch {
	return &scratch{inSolution: make([]uint32, len(v.list)), seen: make([]uint32, len(v.list))}
}

// newPick starts a pick: every mark is cleared.
func (s *scratch) newPick() uint32 {
	s.gen++
	if s.gen == 0 {
		clear(s.inSolution)
		clear(s.seen)
		s.gen = 1
	}
	return s.gen
}

// distance is editDistance with the scratch row.
func (s *scratch) distance(a, b []rune, limit int) int {
	if len(a) < len(b) {
		a, b = b, a
	}
	if cap(s.row) < len(b)+1 {
		s.row = make([]int, len(b)+1)
	}
	return levenshtein(a, b, limit, s.row[:len(b)+1])
}

// extraChips picks the distractor chips of a chips challenge as LibreLingo
// does: every chip of every phrase of the course that is not in the solution,
// the first of each case-insensitive spelling, stably sorted by the sum of its
// edit distances to the solution's chips, and the first max(n-1, 2) of those
// for a solution of n chips.
//
// The vocabulary holds each chip once, in the order of its first occurrence,
// which keeps the result equal to LibreLingo's while skipping repeats.
func (v *vocabulary) extraChips(sc *scratch, solution []string) []string {
	k := max(len(solution)-1, 2)
	gen := sc.newPick()
	solutionRunes := make([][]rune, len(solution))
	solutionSorted := make([][]rune, len(solution))
	longest := 0
	for i, s := range solution {
		solutionRunes[i] = []rune(s)
		solutionSorted[i] = sortedRunes(s)
		longest = max(longest, len(solutionRunes[i]))
		if j, ok := v.index[s]; ok {
			sc.inSolution[j] = gen
		}
	}
	// floorByLen[n] bounds from below the score of any chip of n code
	// points: the sum of the length differences.
	floor := func(n int) int {
		if n < len(sc.floorByLen) {
			return sc.floorByLen[n]
		}
		total := 0
		for _, s := range solutionRunes {
			total += abs(len(s) - n)
		}
		return total
	}
	sc.floorByLen = sc.floorByLen[:0]
	for n := 0; n <= 2*longest+2; n++ {
		total := 0
		for _, s := range solutionRunes {
			total += abs(len(s) - n)
		}
		sc.floorByLen = append(sc.floorByLen, total)
	}
	var near nearest
	near.reset(k)
	for i := range v.list {
		f := v.fold[i]
		if sc.inSolution[i] == gen || sc.seen[f] == gen {
			continue
		}
		sc.seen[f] = gen
		near.offer(i, func(limit int) int {
			c, cs := v.runes[i], v.sorted[i]
			if limit < 0 {
				total := 0
				for _, s := range solutionRunes {
					total += sc.distance(s, c, -1)
				}
				return total
			}
			// Cheap lower bounds first: the length differences, then the
			// characters a chip and a solution word do not share.
			if lb := floor(len(c)); lb > limit {
				return lb
			}
			lb := 0
			for _, s := range solutionSorted {
				lb += max(len(s), len(cs)) - common(s, cs)
				if lb > limit {
					return lb
				}
			}
			total := 0
			for _, s := range solutionRunes {
				total += sc.distance(s, c, limit-total)
				if total > limit {
					return total
				}
			}
			return total
		})
	}
	out := make([]string, 0, k)
	for _, i := range near.indexes() {
		out = append(out, v.list[i])
	}
	return out
}

// closest returns up to k words closest in spelling to word, in order of
// distance and then of the vocabulary, leaving out words whose lowercase form
// is excluded and repeats of a lowercase form.
func (v *vocabulary) closest(sc *scratch, word string, k int, excluded map[string]bool) []string {
	target, targetSorted := []rune(word), sortedRunes(word)
	gen := sc.newPick()
	var near nearest
	near.reset(k)
	for i := range v.list {
		f := v.fold[i]
		if sc.seen[f] == gen || excluded[v.lower[i]] {
			continue
		}
		sc.seen[f] = gen
		near.offer(i, func(limit int) int {
			if limit >= 0 {
				if lb := max(len(targetSorted), len(v.sorted[i])) - common(targetSorted, v.sorted[i]); lb > limit {
					return lb
				}
			}
			return sc.distance(target, v.runes[i], limit)
		})
	}
	out := make([]string, 0, k)
	for _, i := range near.indexes() {
		out = append(out, v.list[i])
	}
	return out
}

// sortedRunes returns the code points of s in order.
func sortedRunes(s string) []rune {
	r := []rune(s)
	slices.Sort(r)
	return r
}

// common returns the size of the multiset intersection of two sorted rune
// slices. An edit distance is at least the longer length minus it: every
// character outside a common pair needs an edit.
func common(a, b []rune) int {
	n, i, j := 0, 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] == b[j]:
			n++
			i++
			j++
		case a[i] < b[j]:
			i++
		default:
			j++
		}
	}
	return n
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// nearest keeps the k candidates with the lowest scores, earlier candidates
// winning ties, as a stable sort followed by taking the first k would. It
// lets the scorer stop early once a candidate cannot make the cut.
// Candidates must be offered in increasing index order.
type nearest struct {
	k    int
	best []scored
}

type scored struct{ score, index int }

func (n *nearest) reset(k int) { n.k, n.best = k, n.best[:0] }

// offer scores candidate index. score receives the highest score that could
// still be kept (or -1 for no limit) and may return any value above it once it
// knows the candidate's score exceeds it.
func (n *nearest) offer(index int, score func(limit int) int) {
	if n.k <= 0 {
		return
	}
	limit := -1
	if len(n.best) == n.k {
		// Ties lose to earlier candidates, so only a lower score gets in.
		limit = n.best[n.k-1].score - 1
		if limit < 0 {
			return
		}
	}
	s := score(limit)
	if limit >= 0 && s > limit {
		return
	}
	at, _ := slices.BinarySearchFunc(n.best, s, func(e scored, t int) int {
		if e.score <= t {
			return -1
		}
		return 1
	})
	n.best = slices.Insert(n.best, at, scored{s, index})
	if len(n.best) > n.k {
		n.best = n.best[:n.k]
	}
}

// indexes returns the kept candidates' indexes, best first.
func (n *nearest) indexes() []int {
	out := make([]int, len(n.best))
	for i, b := range n.best {
		out[i] = b.index
	}
	return out
}

func sortStrings(s []string, cmp func(a, b string) int) { slices.SortStableFunc(s, cmp) }
