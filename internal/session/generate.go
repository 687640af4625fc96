package session

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math/bits"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/owlstack/owl/internal/course"
	"github.com/owlstack/owl/internal/course/snapshot"
	"github.com/owlstack/owl/internal/memory"
)

// ReviewThreshold is the predicted recall below which a word is due for
// review; above it, a word is reviewed only when nothing else fills the
// session.
const ReviewThreshold = 0.9

// New material per new item: its introduction and up to this many
// exercises.
const practicePerNewItem = 2

// Generator generates sessions. It is safe for concurrent use.
type Generator struct {
	fsrs *memory.FSRS
}

// New returns a generator that ranks reviews with the FSRS model m.
func New(m *memory.FSRS) *Generator { return &Generator{fsrs: m} }

// Kind is the reason a challenge is in a session.
type Kind uint8

// The reasons.
const (
	// KindNew is new material of the skill's current level.
	KindNew Kind = iota + 1
	// KindReview is a word whose predicted recall is low.
	KindReview
	// KindMissed is a word the learner missed recently.
	KindMissed
	// KindPractice is more practice of material the learner has met.
	KindPractice
)

// Reason says why a challenge is in a session.
type Reason struct {
	Kind Kind
	// Level is the skill level (1-based) of new material and practice.
	Level int
	// P is the predicted recall of a reviewed word.
	P float64
	// DaysAgo is how many whole days ago a missed word was missed.
	DaysAgo int
}

// String formats the reason for people: "new L2", "review p=0.41",
// "missed 2 days ago", "practice L1".
func (r Reason) String() string {
	switch r.Kind {
	case KindNew:
		return fmt.Sprintf("new L%d", r.Level)
	case KindReview:
		return fmt.Sprintf("review p=%.2f", r.P)
	case KindMissed:
		switch r.DaysAgo {
		case 0:
			return "missed today"
		case 1:
			return "missed 1 day ago"
		}
		return fmt.Sprintf("missed %d days ago", r.DaysAgo)
	case KindPractice:
		if r.Level == 0 {
			return "practice"
		}
		return fmt.Sprintf("practice L%d", r.Level)
	}
	return "unknown"
}

// userWord is a word of the user state found in the course.
type userWord struct {
	at     loc
	text   string
	p      float64
	missed time.Time // zero unless missed within MissedWindow
}

// cand is a challenge the planner may place.
type cand struct {
	ref    snapshot.ChallengeRef
	reason Reason
	// intro is set when the challenge introduces the item at introOf.
	intro   bool
	introOf loc
}

// Generate returns the session for req from course c. Errors about the
// request are *FieldError.
func (g *Generator) Generate(c *snapshot.Course, req Request) (*Session, error) {
	if err := req.User.Validate(); err != nil {
		return nil, err
	}
	if req.Length < 0 || req.Length > MaxLength {
		return nil, fieldErr("length", "must be between 1 and %d, got %d", MaxLength, req.Length)
	}
	length := cmp.Or(req.Length, req.User.Settings.Length, DefaultLength)
	if req.Now.IsZero() {
		return nil, fieldErr("now", "is required")
	}
	skill := int32(-1)
	if req.Skill != Practice {
		sk, ok := c.SkillByID(req.Skill)
		if !ok {
			return nil, fieldErr("skill", "course %s has no skill %q (use a skill Id or %q)", c.Header.CourseID, req.Skill, Practice)
		}
		skill = skillIndex(c, sk)
	}

	p := &planner{
		c: c, settings: req.User.Settings, length: length,
		plan: make([]cand, 0, 2*length), fill: make([]cand, 0, 4*length+8),
		chosen: make([]snapshot.ChallengeRef, 0, 6*length+8),
	}
	p.rng.Seed(req.Seed, seedOf(req.User.ID, req.Skill))
	g.resolve(p, c, req)

	s := &Session{
		ID:            sessionID(c, req),
		Course:        c.Header.CourseID,
		CourseVersion: c.Header.CourseVersion,
		Skill:         req.Skill,
	}
	if skill >= 0 {
		s.Level = p.planSkill(skill)
	} else {
		p.planPractice()
	}
	s.Challenges = p.order()
	s.ShortBy = length - len(s.Challenges)
	return s, nil
}

func skillIndex(c *snapshot.Course, sk *snapshot.Skill) int32 {
	for i := range c.Skills {
		if &c.Skills[i] == sk {
			return int32(i)
		}
	}
	return -1
}

// resolve finds the user's words in the course and predicts their recall.
func (g *Generator) resolve(p *planner, c *snapshot.Course, req Request) {
	ix := c.Items
	p.ix = ix
	p.words = make([]userWord, 0, len(req.User.Words))
	for i := range req.User.Words {
		w := &req.User.Words[i]
		at, ok := ix.Lookup(w.Word)
		if !ok {
			continue
		}
		st := w.State
		if st.Stability == 0 && len(w.History) > 0 {
			st = memory.State{}
			for _, r := range w.History {
				st = g.fsrs.Update(st, r.At, r.Grade)
			}
		}
		if st.Last.IsZero() && len(w.History) > 0 {
			st.Last = w.History[len(w.History)-1].At
		}
		var pr float64
		if st.Stability == 0 && c.HLR != nil && !st.Last.IsZero() && st.Seen > 0 {
			// Answer counts without FSRS state (e.g. imported from another
			// system): the course's published HLR weights predict recall.
			pr = c.HLR.Predict(st, req.Now)
		} else {
			pr = g.fsrs.Predict(st, req.Now)
		}
		uw := userWord{at: at, text: w.Word, p: pr}
		if n := len(w.History); n > 0 {
			last := w.History[n-1]
			if last.Grade == memory.Again && !last.At.After(req.Now) && req.Now.Sub(last.At) <= MissedWindow {
				uw.missed = last.At
			}
		}
		p.words = append(p.words, uw)
	}
	// Lowest predicted recall first; ties by text, for determinism.
	slices.SortFunc(p.words, func(a, b userWord) int {
		if a.p != b.p {
			return cmp.Compare(a.p, b.p)
		}
		return strings.Compare(a.text, b.text)
	})
	p.known = make([]loc, len(p.words))
	for i, w := range p.words {
		p.known[i] = w.at
	}
	slices.SortFunc(p.known, func(a, b loc) int {
		if a == b {
			return 0
		}
		if less(a, b) {
			return -1
		}
		return 1
	})
	p.now = req.Now
}

// seedOf mixes the user and skill into the random stream, so that two users
// with the same seed do not get the same choices.
func seedOf(user, skill string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(user))
	h.Write([]byte{0})
	h.Write([]byte(skill))
	return h.Sum64()
}

// sessionID is a stable id for the same course, request and user.
func sessionID(c *snapshot.Course, req Request) string {
	h := fnv.New128a()
	h.Write([]byte(c.Header.SHA256))
	h.Write([]byte{0})
	h.Write([]byte(req.Skill))
	h.Write([]byte{0})
	h.Write([]byte(req.User.ID))
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], req.Seed)
	binary.LittleEndian.PutUint64(b[8:], uint64(req.Now.UnixNano()))
	h.Write(b[:])
	return fmt.Sprintf("%x", h.Sum(nil))
}

// planner builds one session.
type planner struct {
	c        *snapshot.Course
	settings Settings
	length   int
	now      time.Time
	rng      rand.PCG
	ix       *snapshot.Items
	words    []userWord
	known    []loc // the items of words, sorted
	newItems []loc // introduced in this session, in order
	plan     []cand
	fill     []cand
	chosen   []snapshot.ChallengeRef // of plan, fill and pending reviews
}

func (p *planner) intn(n int) int {
	hi, _ := bits.Mul64(p.rng.Uint64(), uint64(n))
	return int(hi)
}

func (p *planner) isKnown(l loc) bool {
	l = p.ix.Canon(l)
	_, ok := slices.BinarySearchFunc(p.known, l, func(a, b loc) int {
		if a == b {
			return 0
		}
		if less(a, b) {
			return -1
		}
		return 1
	})
	return ok
}

func (p *planner) isNew(l loc) bool { return slices.Contains(p.newItems, p.ix.Canon(l)) }

func (p *planner) allowed(t course.Type) bool {
	switch t {
	case course.TypeListening:
		return !p.settings.ListeningOff
	case course.TypeSpeaking:
		return !p.settings.SpeakingOff
	}
	return true
}

// has reports whether the challenge, or an identical one (same skill and
// id, from a repeated word or phrase), is already chosen.
func (p *planner) has(ref snapshot.ChallengeRef) bool {
	id := p.c.Challenge(ref).Metadata().ID
	for _, r := range p.chosen {
		if r == ref || r.Skill == ref.Skill && p.c.Challenge(r).Metadata().ID == id {
			return true
		}
	}
	return false
}

// add appends c to dst and records its challenge as chosen.
func (p *planner) add(dst *[]cand, c cand) {
	*dst = append(*dst, c)
	p.chosen = append(p.chosen, c.ref)
}

// items returns the challenges made from the item at l.
func (p *planner) items(l loc) []int32 {
	sk := &p.c.Skills[l.Skill]
	if l.Phrase {
		return sk.PhraseChallenges[l.Index]
	}
	return sk.WordChallenges[l.Index]
}

// met reports whether every item the challenge uses is known or new in
// this session.
func (p *planner) met(skill int32, m *course.Meta) bool {
	for _, w := range m.Words {
		l := loc{Skill: skill, Index: int32(w)}
		if !p.isKnown(l) && !p.isNew(l) {
			return false
		}
	}
	for _, ph := range m.Phrases {
		l := loc{Skill: skill, Index: int32(ph), Phrase: true}
		if !p.isKnown(l) && !p.isNew(l) {
			return false
		}
	}
	return true
}

// exercise reports whether challenge ci of the item at l may practise it:
// not an introduction, allowed by the settings, not yet chosen, and using
// only material the learner has met.
func (p *planner) exercise(l loc, ci int32) bool {
	ch := p.c.Skills[l.Skill].Challenges[ci]
	m := ch.Metadata()
	return m.Priority > 0 && p.allowed(ch.ChallengeType()) &&
		!p.has(snapshot.ChallengeRef{Skill: l.Skill, Challenge: ci}) && p.met(l.Skill, m)
}

// pickExercise chooses one exercise of the item at l at random.
func (p *planner) pickExercise(l loc) (snapshot.ChallengeRef, bool) {
	list := p.items(l)
	n := 0
	for _, ci := range list {
		if p.exercise(l, ci) {
			n++
		}
	}
	if n == 0 {
		return snapshot.ChallengeRef{}, false
	}
	k := p.intn(n)
	for _, ci := range list {
		if p.exercise(l, ci) {
			if k == 0 {
				return snapshot.ChallengeRef{Skill: l.Skill, Challenge: ci}, true
			}
			k--
		}
	}
	return snapshot.ChallengeRef{}, false
}

// reviewQueue returns the words to review: recently missed first (most
// recent first), then by lowest predicted recall; ties by text.
func (p *planner) reviewQueue() (missed, due, rest []int) {
	all := make([]int, 0, len(p.words)) // one allocation, three parts
	for pass := range 3 {
		for i, w := range p.words {
			kind := 2
			if !w.missed.IsZero() {
				kind = 0
			} else if w.p < ReviewThreshold {
				kind = 1
			}
			if kind == pass {
				all = append(all, i)
			}
		}
		switch pass {
		case 0:
			missed = all[:len(all):len(all)]
		case 1:
			due = all[len(missed):len(all):len(all)]
		case 2:
			rest = all[len(missed)+len(due):]
		}
	}
	slices.SortFunc(missed, func(a, b int) int {
		return cmp.Or(p.words[b].missed.Compare(p.words[a].missed), cmp.Compare(p.words[a].text, p.words[b].text))
	})
	// due and rest are in the order of p.words: lowest recall first.
	return missed, due, rest
}

func (p *planner) reason(w int) Reason {
	uw := &p.words[w]
	if !uw.missed.IsZero() {
		return Reason{Kind: KindMissed, DaysAgo: int(p.now.Sub(uw.missed) / (24 * time.Hour))}
	}
	return Reason{Kind: KindReview, P: uw.p}
}

// addReviews adds one exercise for each of up to n words of queue to dst
// and returns how many it added and the words left.
func (p *planner) addReviews(dst *[]cand, queue []int, n int) (int, []int) {
	added := 0
	for len(queue) > 0 && added < n {
		w := queue[0]
		queue = queue[1:]
		if ref, ok := p.pickExercise(p.words[w].at); ok {
			p.add(dst, cand{ref: ref, reason: p.reason(w)})
			added++
		}
	}
	return added, queue
}

// levelOf returns the 0-based level of item i of n items in a skill of
// levels levels: the items are split evenly, in order.
func levelOf(i, n, levels int) int { return i * levels / n }

// planSkill plans a session of skill s and returns the level its new
// material comes from (0 when the skill is complete).
func (p *planner) planSkill(s int32) int {
	sk := &p.c.Skills[s]
	nw, n := len(sk.Words), len(sk.Words)+len(sk.Phrases)
	levels := max(sk.Levels, 1)
	itemAt := func(i int) loc {
		if i < nw {
			return loc{Skill: s, Index: int32(i)}
		}
		return loc{Skill: s, Index: int32(i - nw), Phrase: true}
	}
	// A repeated word or phrase is taught where it first appears.
	repeated := func(i int) bool { l := itemAt(i); return p.ix.Canon(l) != l }
	level := -1
	for i := range n {
		if !repeated(i) && !p.isKnown(itemAt(i)) {
			level = levelOf(i, n, levels)
			break
		}
	}

	missed, due, rest := p.reviewQueue()
	nMissed := min(len(missed), max(1, p.length/5))
	nDue := min(len(due), p.length/4)
	if level < 0 {
		nDue = min(len(due), p.length-nMissed)
	}
	var reviews []cand
	got, missedLeft := p.addReviews(&reviews, missed, nMissed)
	got2, dueLeft := p.addReviews(&reviews, due, nDue)
	slots := p.length - got - got2

	// New material of the current level, in order: each item's
	// introduction, then up to practicePerNewItem exercises of different
	// types, easiest first.
	var blocks [][2]int // [start, end) in p.plan
	var extra []cand
	var late *cand
	if level >= 0 {
		for i := range n {
			if slots < 1 {
				break
			}
			if levelOf(i, n, levels) != level {
				continue
			}
			l := itemAt(i)
			if repeated(i) || p.isKnown(l) {
				continue
			}
			intro := int32(-1)
			for _, ci := range p.items(l) {
				ch := sk.Challenges[ci]
				if ch.Metadata().Priority == 0 && p.allowed(ch.ChallengeType()) {
					intro = ci
					break
				}
			}
			if intro < 0 {
				continue
			}
			p.newItems = append(p.newItems, l)
			why := Reason{Kind: KindNew, Level: level + 1}
			// An introduction wants room for an exercise after it; with
			// one slot left it only fills what nothing else can.
			if slots == 1 && len(p.newItems) > 1 {
				late = &cand{ref: snapshot.ChallengeRef{Skill: s, Challenge: intro}, reason: why, intro: true, introOf: l}
				p.chosen = append(p.chosen, late.ref)
				break
			}
			start := len(p.plan)
			p.add(&p.plan, cand{ref: snapshot.ChallengeRef{Skill: s, Challenge: intro}, reason: why, intro: true, introOf: l})
			slots--
			ex := p.exercises(l)
			var firstType course.Type
			taken := 0
			for _, ci := range ex {
				ch := sk.Challenges[ci]
				c := cand{ref: snapshot.ChallengeRef{Skill: s, Challenge: ci}, reason: why}
				if taken < practicePerNewItem && slots > 0 && (taken == 0 || ch.ChallengeType() != firstType) {
					p.add(&p.plan, c)
					firstType = ch.ChallengeType()
					taken++
					slots--
				} else {
					extra = append(extra, c)
				}
			}
			blocks = append(blocks, [2]int{start, len(p.plan)})
		}
	}
	p.interleave(blocks, reviews)

	// What fills the session when the plan falls short: more exercises of
	// the new items, practice of the skill's met material up to the current
	// level, and further reviews.
	for _, c := range extra {
		if !p.has(c.ref) {
			p.add(&p.fill, c)
		}
	}
	limit := 4 * p.length
	start := p.intn(max(n, 1))
	for k := 0; k < n && len(p.fill) < limit; k++ {
		i := (start + k) % n
		l := itemAt(i)
		lv := levelOf(i, n, levels)
		if level >= 0 && lv > level || !p.isKnown(l) {
			continue
		}
		if ref, ok := p.pickExercise(l); ok {
			p.add(&p.fill, cand{ref: ref, reason: Reason{Kind: KindPractice, Level: lv + 1}})
		}
	}
	for _, q := range [][]int{missedLeft, dueLeft, rest} {
		_, _ = p.addReviews(&p.fill, q, limit-len(p.fill))
	}
	if late != nil {
		p.fill = append(p.fill, *late)
	}
	if level < 0 {
		return 0
	}
	return level + 1
}

// exercises returns the exercises of a new item, easiest first, in random
// order within a priority.
func (p *planner) exercises(l loc) []int32 {
	var out []int32
	for _, ci := range p.items(l) {
		if p.exercise(l, ci) {
			out = append(out, ci)
		}
	}
	for i := len(out) - 1; i > 0; i-- {
		j := p.intn(i + 1)
		out[i], out[j] = out[j], out[i]
	}
	sk := &p.c.Skills[l.Skill]
	slices.SortStableFunc(out, func(a, b int32) int {
		return cmp.Compare(sk.Challenges[a].Metadata().Priority, sk.Challenges[b].Metadata().Priority)
	})
	return out
}

// interleave spreads the reviews evenly between the blocks of new material
// already in p.plan.
func (p *planner) interleave(blocks [][2]int, reviews []cand) {
	if len(blocks) == 0 {
		p.plan = append(p.plan, reviews...)
		return
	}
	newMaterial := p.plan
	out := make([]cand, 0, len(newMaterial)+len(reviews))
	for b, blk := range blocks {
		out = append(out, newMaterial[blk[0]:blk[1]]...)
		left := len(blocks) - b
		k := (len(reviews) + left - 1) / left
		out = append(out, reviews[:k]...)
		reviews = reviews[k:]
	}
	p.plan = out
}

// planPractice plans a review session across every skill the learner has
// met: missed words, then the lowest predicted recall, then second
// exercises of the same words.
func (p *planner) planPractice() {
	missed, due, rest := p.reviewQueue()
	queue := slices.Concat(missed, due, rest)
	_, _ = p.addReviews(&p.plan, queue, p.length)
	_, _ = p.addReviews(&p.fill, queue, 3*p.length)
}

// order places the planned challenges, then the fill, in the first order
// that keeps every introduction before the exercises that need it and
// never puts three challenges of one type in a row.
func (p *planner) order() []Item {
	cands := slices.Concat(p.plan, p.fill)
	done := make([]bool, len(cands))
	out := make([]Item, 0, p.length)
	var introduced []loc
	for len(out) < p.length {
		found := -1
		for i := range cands {
			if !done[i] && p.placeable(&cands[i], introduced, out) {
				found = i
				break
			}
		}
		if found < 0 {
			break
		}
		c := &cands[found]
		done[found] = true
		if c.intro {
			introduced = append(introduced, c.introOf)
		}
		out = append(out, Item{
			Challenge: p.c.Challenge(c.ref),
			Skill:     p.c.Skills[c.ref.Skill].ID,
			Reason:    c.reason,
		})
	}
	return out
}

func (p *planner) placeable(c *cand, introduced []loc, out []Item) bool {
	ch := p.c.Challenge(c.ref)
	if n := len(out); n >= 2 && out[n-1].Challenge.ChallengeType() == ch.ChallengeType() && out[n-2].Challenge.ChallengeType() == ch.ChallengeType() {
		return false
	}
	m := ch.Metadata()
	ready := func(l loc) bool {
		l = p.ix.Canon(l)
		return (c.intro && l == c.introOf) || !p.isNew(l) || slices.Contains(introduced, l)
	}
	for _, w := range m.Words {
		if !ready(loc{Skill: c.ref.Skill, Index: int32(w)}) {
			return false
		}
	}
	for _, ph := range m.Phrases {
		if !ready(loc{Skill: c.ref.Skill, Index: int32(ph), Phrase: true}) {
			return false
		}
	}
	// A phrase exercise that uses a word new in this session comes after
	// that word's card.
	for _, l := range p.newItems {
		if l.Phrase || slices.Contains(introduced, l) || (c.intro && l == c.introOf) {
			continue
		}
		term := p.c.Skills[l.Skill].Challenges[p.introOf(l)].Metadata().Terms
		if len(term) > 0 && slices.Contains(m.Terms, term[0]) {
			return false
		}
	}
	return true
}

// introOf returns the introduction of a new item (its priority-0 challenge).
func (p *planner) introOf(l loc) int32 {
	for _, ci := range p.items(l) {
		if p.c.Skills[l.Skill].Challenges[ci].Metadata().Priority == 0 {
			return ci
		}
	}
	return -1
}
