package snapshot

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"runtime"
	"slices"
	"sync/atomic"

	"github.com/owlstack/owl/internal/course"
	pb "github.com/owlstack/owl/internal/course/snapshot/snapshotpb"
	"github.com/owlstack/owl/internal/memory"
)

// Course is a compiled course in memory, as the session generator uses it:
// immutable once loaded and shared by every request without locks.
type Course struct {
	Header *Header
	Course *course.Course
	// Skills are the skills with their challenges, in course order.
	Skills []Skill

	// Items finds words and phrases by their text.
	Items *Items
	// HLR holds the half-life regression weights published with the
	// course; nil when the snapshot has none.
	HLR *memory.HLR

	skillByID map[string]int32
	// hlrSum is the checksum of the chunk HLR was decoded from.
	hlrSum [sha256.Size]byte
	stats  LoadStats
}

// LoadStats says how much of a course Reload decoded and how much it took
// from the previous version.
type LoadStats struct {
	DecodedSkills, ReusedSkills int
}

// Skill is one skill of a compiled course with its challenges and indexes.
type Skill struct {
	*course.Skill
	// Module is the index of the skill's module in Course.Modules.
	Module int
	// OpaqueID is the skill's id in LibreLingo's exports.
	OpaqueID string
	// Levels is the skill's number of levels.
	Levels     int
	Challenges []course.Challenge
	// WordChallenges and PhraseChallenges list, for each word and phrase of
	// the skill, the indexes in Challenges of the challenges made from it.
	WordChallenges   [][]int32
	PhraseChallenges [][]int32
	// SameID gives, for each challenge, the index of the skill's first
	// challenge with the same id (a repeated word or phrase makes the same
	// challenge twice), so that duplicates compare as integers.
	SameID []int32

	// terms lists, for each term the skill's challenges practise, their
	// indexes in Challenges.
	terms map[string][]int32
	// encoded caches the JSON of each challenge, filled on first use.
	encoded []atomic.Pointer[[]byte]
	// sum is the checksum of the snapshot chunk the skill was decoded
	// from; zero for a format 1 snapshot. A new version of the course
	// with the same chunk reuses the skill as it is.
	sum [sha256.Size]byte
}

// ChallengeRef locates a challenge in a compiled course.
type ChallengeRef struct {
	Skill     int32
	Challenge int32
}

// NewCourse indexes a course and its derived challenges (one entry per skill,
// in course order) for serving.
func NewCourse(h *Header, c *course.Course, challenges []course.SkillChallenges) *Course {
	out := &Course{Header: h, Course: c}
	i := 0
	x := newIndexer()
	for m := range c.Modules {
		for s := range c.Modules[m].Skills {
			out.Skills = append(out.Skills, newSkill(&c.Modules[m].Skills[s], m, challenges[i], x))
			i++
			runtime.Gosched() // a server indexes new versions while it serves
		}
	}
	out.stats.DecodedSkills = len(out.Skills)
	out.index(nil)
	return out
}

// newSkill indexes skill sk of module m and its challenges sc, with x's
// scratch space.
func newSkill(sk *course.Skill, m int, sc course.SkillChallenges, x *indexer) Skill {
	skill := Skill{
		Skill:      sk,
		Module:     m,
		OpaqueID:   sc.ID,
		Levels:     sc.Levels,
		Challenges: sc.Challenges,
		SameID:     make([]int32, len(sc.Challenges)),
		encoded:    make([]atomic.Pointer[[]byte], len(sc.Challenges)),
	}
	// The word and phrase index and the term index are counted first,
	// then sliced from one array each: appending to each list in turn
	// would allocate, then drop, several times the memory they keep.
	x.reset()
	nw, np := len(sk.Words), len(sk.Phrases)
	items := x.zeroCounts(nw + np)
	refs := 0
	for ci, ch := range sc.Challenges {
		meta := ch.Metadata()
		first, ok := x.ids[meta.ID]
		if !ok {
			first = int32(ci)
			x.ids[meta.ID] = first
		}
		skill.SameID[ci] = first
		for _, w := range meta.Words {
			if w >= 0 && w < nw {
				items[w]++
				refs++
			}
		}
		for _, p := range meta.Phrases {
			if p >= 0 && p < np {
				items[nw+p]++
				refs++
			}
		}
		for _, t := range meta.Terms {
			k, ok := x.termNum[t]
			if !ok {
				k = int32(len(x.terms))
				x.termNum[t] = k
				x.terms = append(x.terms, t)
			}
			x.termRefs = append(x.termRefs, k, int32(ci))
		}
	}
	lists := make([][]int32, nw+np)
	carve(lists, items, refs)
	for ci, ch := range sc.Challenges {
		meta := ch.Metadata()
		for _, w := range meta.Words {
			if w >= 0 && w < nw {
				lists[w] = append(lists[w], int32(ci))
			}
		}
		for _, p := range meta.Phrases {
			if p >= 0 && p < np {
				lists[nw+p] = append(lists[nw+p], int32(ci))
			}
		}
	}
	skill.WordChallenges, skill.PhraseChallenges = lists[:nw:nw], lists[nw:]

	perTerm := x.zeroCounts(len(x.terms))
	for i := 0; i < len(x.termRefs); i += 2 {
		perTerm[x.termRefs[i]]++
	}
	byTerm := make([][]int32, len(x.terms))
	carve(byTerm, perTerm, len(x.termRefs)/2)
	for i := 0; i < len(x.termRefs); i += 2 {
		k := x.termRefs[i]
		byTerm[k] = append(byTerm[k], x.termRefs[i+1])
	}
	skill.terms = make(map[string][]int32, len(x.terms))
	for k, t := range x.terms {
		skill.terms[t] = byTerm[k]
	}
	return skill
}

// carve gives each list with a count room for that many values in one new
// array of total values; lists with none stay nil.
func carve(lists [][]int32, counts []int32, total int) {
	arena := make([]int32, total)
	off := 0
	for i, n := range counts {
		if n > 0 {
			lists[i] = arena[off : off : off+int(n)]
			off += int(n)
		}
	}
}

// indexer is the scratch space of newSkill, reused from one skill to the
// next.
type indexer struct {
	ids      map[string]int32 // a challenge id: the first challenge with it
	termNum  map[string]int32 // a term: its index in terms
	terms    []string
	termRefs []int32 // pairs of a term's index and a challenge's
	counts   []int32
}

func newIndexer() *indexer {
	return &indexer{ids: make(map[string]int32), termNum: make(map[string]int32)}
}

func (x *indexer) reset() {
	clear(x.ids)
	clear(x.termNum)
	x.terms, x.termRefs = x.terms[:0], x.termRefs[:0]
}

// zeroCounts returns n zero counters, valid until the next call.
func (x *indexer) zeroCounts(n int) []int32 {
	x.counts = slices.Grow(x.counts[:0], n)[:n]
	clear(x.counts)
	return x.counts
}

// index builds the indexes over all skills, taking the word and phrase
// index from prev when none of the texts it holds changed.
func (c *Course) index(prev *Course) {
	c.skillByID = make(map[string]int32, len(c.Skills))
	for i := range c.Skills {
		c.skillByID[c.Skills[i].ID] = int32(i)
	}
	if prev != nil && sameItemTexts(prev, c) {
		c.Items = prev.Items
		return
	}
	c.Items = newItems(c)
}

// LoadStats returns how much of the course Reload decoded and how much it
// reused.
func (c *Course) LoadStats() LoadStats { return c.stats }

// SkillByID returns the skill whose YAML Id is id.
func (c *Course) SkillByID(id string) (*Skill, bool) {
	i, ok := c.skillByID[id]
	if !ok {
		return nil, false
	}
	return &c.Skills[i], true
}

// ChallengesForTerm returns the challenges that practise a target-language
// word or term (lowercased, as in course.Meta.Terms), across all skills.
// It looks the term up in every skill's index.
func (c *Course) ChallengesForTerm(term string) []ChallengeRef {
	var out []ChallengeRef
	for s := range c.Skills {
		for _, ci := range c.Skills[s].terms[term] {
			out = append(out, ChallengeRef{Skill: int32(s), Challenge: ci})
		}
	}
	return out
}

// Challenge returns the challenge at ref.
func (c *Course) Challenge(ref ChallengeRef) course.Challenge {
	return c.Skills[ref.Skill].Challenges[ref.Challenge]
}

// ChallengeJSON returns the JSON encoding of the challenge at ref, as
// json.Marshal writes it. It is encoded once per loaded course and shared:
// callers must not modify it.
func (c *Course) ChallengeJSON(ref ChallengeRef) ([]byte, error) {
	sk := &c.Skills[ref.Skill]
	slot := &sk.encoded[ref.Challenge]
	if b := slot.Load(); b != nil {
		return *b, nil
	}
	b, err := json.Marshal(sk.Challenges[ref.Challenge])
	if err != nil {
		return nil, fmt.Errorf("encode challenge %s: %w", sk.Challenges[ref.Challenge].Metadata().ID, err)
	}
	slot.Store(&b) // concurrent encoders store equal bytes
	return b, nil
}

// Summarize counts the modules, skills, words, phrases and challenges by type.
func Summarize(c *course.Course, challenges []course.SkillChallenges) *pb.Summary {
	s := &pb.Summary{Modules: uint32(len(c.Modules))}
	counts := map[course.Type]uint32{}
	for _, sk := range c.Skills() {
		s.Skills++
		s.Words += uint32(len(sk.Words))
		s.Phrases += uint32(len(sk.Phrases))
	}
	for _, sc := range challenges {
		for _, ch := range sc.Challenges {
			counts[ch.ChallengeType()]++
		}
	}
	for _, t := range course.Types {
		s.Challenges = append(s.Challenges, &pb.TypeCount{Type: string(t), Count: counts[t]})
	}
	return s
}

// Compile encodes a course and its derived challenges into a snapshot file.
// h supplies the course id and version and the compiler version.
func Compile(h Header, c *course.Course, challenges []course.SkillChallenges) ([]byte, error) {
	h.Summary = Summarize(c, challenges)
	return Encode(h, toProto(c, challenges))
}

// ItemRef locates a word or phrase of a compiled course.
type ItemRef struct {
	Skill int32
	// Index is the item's index in the skill's Words, or Phrases when
	// Phrase is set.
	Index  int32
	Phrase bool
}

// Items maps the main target-language text of every word and phrase of a
// course to where it is first taught, in course order. It is built once,
// when the course is loaded, so that no request pays for it.
type Items struct {
	byText map[string]ItemRef
	// slots is an open-addressing table of the distinct texts, for
	// LookupHash: a text's slot holds the high 32 bits of its TextHash
	// above its index in entries plus one; 0 is an empty slot. It is a
	// few tens of kilobytes, where byText is spread over the heap, so a
	// request's lookups stay in the cache.
	slots   []uint64
	entries []textEntry
	// words and phrases give, per skill and item, where the item's text is
	// first taught: the item itself, or an earlier copy (courses repeat
	// words and phrases).
	words, phrases [][]ItemRef
	// base is the dense id of each skill's first word; its phrases follow
	// its words. canon maps a dense id to the dense id of where the item's
	// text is first taught.
	base  []int32
	nword []int32
	canon []int32
}

type textEntry struct {
	text string
	ref  ItemRef
}

// textSeed keys TextHash for the life of the process.
var textSeed = maphash.MakeSeed()

// TextHash returns the hash of a text that LookupHash takes, so that a
// caller that hashes the texts of a request anyway (to find repeats)
// looks them up without hashing them again.
func TextHash(text string) uint64 { return maphash.String(textSeed, text) }

// Lookup returns where the word or phrase with main text text is first
// taught.
func (ix *Items) Lookup(text string) (ItemRef, bool) {
	return ix.LookupHash(TextHash(text), text)
}

// LookupHash is Lookup for a text whose TextHash is h.
func (ix *Items) LookupHash(h uint64, text string) (ItemRef, bool) {
	const low = 1<<32 - 1
	mask := uint64(len(ix.slots) - 1)
	tag := h &^ low
	for j := h & mask; ; j = (j + 1) & mask {
		s := ix.slots[j]
		if s == 0 {
			return ItemRef{}, false
		}
		if s&^low == tag {
			if e := &ix.entries[s&low-1]; e.text == text {
				return e.ref, true
			}
		}
	}
}

// addText adds a text to byText and entries, unless it is there already.
func (ix *Items) addText(text string, r ItemRef) {
	if _, ok := ix.byText[text]; ok || text == "" {
		return
	}
	ix.byText[text] = r
	ix.entries = append(ix.entries, textEntry{text: text, ref: r})
}

// fillSlots builds the table of LookupHash from entries, at most half
// full.
func (ix *Items) fillSlots() {
	size := 16
	for size < 2*len(ix.entries) {
		size *= 2
	}
	ix.slots = make([]uint64, size)
	mask := uint64(size - 1)
	for i, e := range ix.entries {
		h := TextHash(e.text)
		j := h & mask
		for ix.slots[j] != 0 {
			j = (j + 1) & mask
		}
		ix.slots[j] = h&^(1<<32-1) | uint64(i+1)
	}
}

// Canon returns where the text of the item at r is first taught.
func (ix *Items) Canon(r ItemRef) ItemRef {
	if r.Phrase {
		return ix.phrases[r.Skill][r.Index]
	}
	return ix.words[r.Skill][r.Index]
}

// Len returns the number of distinct texts.
func (ix *Items) Len() int { return len(ix.byText) }

// Count returns the number of words and phrases of the course, repeats
// included: dense ids run from 0 to Count()-1.
func (ix *Items) Count() int { return len(ix.canon) }

// ID returns the dense id of the item at r, for bitsets over the items of
// a course.
func (ix *Items) ID(r ItemRef) int32 {
	id := ix.base[r.Skill] + r.Index
	if r.Phrase {
		id += ix.nword[r.Skill]
	}
	return id
}

// CanonID returns the dense id of Canon(r).
func (ix *Items) CanonID(r ItemRef) int32 { return ix.canon[ix.ID(r)] }

func newItems(c *Course) *Items {
	n := 0
	for s := range c.Skills {
		n += len(c.Skills[s].Words) + len(c.Skills[s].Phrases)
	}
	ix := &Items{byText: make(map[string]ItemRef, n)}
	for s := range c.Skills {
		sk := &c.Skills[s]
		for w := range sk.Words {
			ix.addText(mainText(sk.Words[w].Target), ItemRef{Skill: int32(s), Index: int32(w)})
		}
		for p := range sk.Phrases {
			ix.addText(mainText(sk.Phrases[p].Target), ItemRef{Skill: int32(s), Index: int32(p), Phrase: true})
		}
	}
	ix.fillSlots()
	for s := range c.Skills {
		sk := &c.Skills[s]
		ws := make([]ItemRef, len(sk.Words))
		for w := range sk.Words {
			ws[w] = ix.canonOf(sk.Words[w].Target, ItemRef{Skill: int32(s), Index: int32(w)})
		}
		ps := make([]ItemRef, len(sk.Phrases))
		for p := range sk.Phrases {
			ps[p] = ix.canonOf(sk.Phrases[p].Target, ItemRef{Skill: int32(s), Index: int32(p), Phrase: true})
		}
		ix.words, ix.phrases = append(ix.words, ws), append(ix.phrases, ps)
	}
	ix.base = make([]int32, len(c.Skills))
	ix.nword = make([]int32, len(c.Skills))
	ix.canon = make([]int32, n)
	id := int32(0)
	for s := range c.Skills {
		ix.base[s], ix.nword[s] = id, int32(len(ix.words[s]))
		id += int32(len(ix.words[s]) + len(ix.phrases[s]))
	}
	for s := range c.Skills {
		for w, r := range ix.words[s] {
			ix.canon[ix.base[s]+int32(w)] = ix.ID(r)
		}
		for p, r := range ix.phrases[s] {
			ix.canon[ix.base[s]+ix.nword[s]+int32(p)] = ix.ID(r)
		}
	}
	return ix
}

// sameItemTexts reports whether a and b have the same skills, words and
// phrases as far as Items is concerned: the same main texts at the same
// places.
func sameItemTexts(a, b *Course) bool {
	if len(a.Skills) != len(b.Skills) {
		return false
	}
	for s := range a.Skills {
		x, y := a.Skills[s].Skill, b.Skills[s].Skill
		if len(x.Words) != len(y.Words) || len(x.Phrases) != len(y.Phrases) {
			return false
		}
		for i := range x.Words {
			if mainText(x.Words[i].Target) != mainText(y.Words[i].Target) {
				return false
			}
		}
		for i := range x.Phrases {
			if mainText(x.Phrases[i].Target) != mainText(y.Phrases[i].Target) {
				return false
			}
		}
	}
	return true
}

// canonOf returns where the text of the item self is first taught; an
// item without text is its own.
func (ix *Items) canonOf(target []string, self ItemRef) ItemRef {
	if r, ok := ix.byText[mainText(target)]; ok {
		return r
	}
	return self
}

func mainText(target []string) string {
	if len(target) == 0 {
		return ""
	}
	return target[0]
}
