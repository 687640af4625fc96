package session

import (
	"cmp"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"math/bits"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
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
	fsrs    *memory.FSRS
	scratch sync.Pool // of *scratch
}

// New returns a generator that ranks reviews with the FSRS model m.
func New(m *memory.FSRS) *Generator {
	return &Generator{fsrs: m, scratch: sync.Pool{New: func() any { return new(scratch) }}}
}

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

// userWord is a word of the user state found in the course. It holds no
// pointers, so the pooled slices of them cost the collector nothing.
type userWord struct {
	at  loc
	src int32 // index in the request's User.Words
	// missed indexes scratch.missed when the word was missed within
	// MissedWindow, else -1.
	missed int32
	// p is the predicted recall, once known.
	p    float64
	hasP bool
}

// missedWord is a recently missed word and when it was missed.
type missedWord struct {
	w  int32
	at time.Time
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
	return g.generate(c, &req, false, new(Session))
}

// generate is Generate into dst, whose Challenges' memory it reuses; valid
// says the user state is already checked.
func (g *Generator) generate(c *snapshot.Course, req *Request, valid bool, dst *Session) (*Session, error) {
	sc := g.scratch.Get().(*scratch)
	defer g.scratch.Put(sc)
	if !valid {
		if err := req.User.validate(&sc.set); err != nil {
			return nil, err
		}
		req.hashes = sc.set.of
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

	p := &planner{c: c, ix: c.Items, settings: req.User.Settings, length: length, now: req.Now, req: req, s: sc, fsrs: g.fsrs}
	sc.reset(c.Items.Count())
	p.rng.Seed(req.Seed, seedOf(req.User.ID, req.Skill))
	p.resolve()

	s := dst
	*s = Session{
		ID:            sessionID(c, req),
		Course:        c.Header.CourseID,
		CourseVersion: c.Header.CourseVersion,
		Skill:         req.Skill,
		Challenges:    s.Challenges[:0],
		course:        c,
	}
	if skill >= 0 {
		s.Level = p.planSkill(skill)
	} else {
		p.planPractice()
	}
	s.Challenges = p.order(s.Challenges)
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

// scratch is the working memory of one generation, reused through a pool
// so that a request allocates little more than its answer.
type scratch struct {
	words           []userWord
	missed          []missedWord
	known, newSet   bitset
	ready, pending  []ranked // heaps of the review order, see nextByRecall
	seq             []int32  // the review order found so far
	plan, fill, tmp []cand
	reviews, extra  []cand
	chosen          []uint64 // chosenKey of every chosen challenge
	newItems        []loc
	introduced      []loc
	eligible, exs   []int32
	blocks          [][2]int
	cands           []cand
	done            []bool
	nMissed, nDue   int     // how many words are missed, and due among the rest
	set             wordSet // of User.validate
}

func (s *scratch) reset(items int) {
	s.words, s.missed = s.words[:0], s.missed[:0]
	s.known.reset(items)
	s.newSet.reset(items)
	s.ready, s.pending, s.seq = s.ready[:0], s.pending[:0], s.seq[:0]
	s.plan, s.fill, s.tmp = s.plan[:0], s.fill[:0], s.tmp[:0]
	s.reviews, s.extra = s.reviews[:0], s.extra[:0]
	s.chosen, s.newItems, s.introduced = s.chosen[:0], s.newItems[:0], s.introduced[:0]
	s.blocks = s.blocks[:0]
	s.nMissed, s.nDue = 0, 0
}

// bitset is a set of small integers.
type bitset []uint64

func (b *bitset) reset(n int) {
	words := (n + 63) / 64
	if cap(*b) < words {
		*b = make(bitset, words)
		return
	}
	*b = (*b)[:words]
	clear(*b)
}

func (b bitset) has(i int32) bool { return b[i>>6]&(1<<(i&63)) != 0 }
func (b bitset) add(i int32)      { b[i>>6] |= 1 << (i & 63) }

// ranked is a word in one of the heaps of the review order: key is its
// recall in ready, its FSRS base (the larger, the lower the recall) in
// pending.
type ranked struct {
	key float64
	w   int32
}

// recallSlack bounds by how much rounding can make the recall of a larger
// FSRS base exceed that of a smaller one: a few steps of the 1e-8 grid
// that FSRS rounds recall to.
const recallSlack = 3e-8

// resolve finds the user's words in the course, marks them known and
// prepares the review order: recently missed words first, most recent
// first; then the others by lowest predicted recall. Recall is computed
// only for the words the session reaches (see nextByRecall) and near the
// review threshold.
func (p *planner) resolve() {
	s, req, ix := p.s, p.req, p.ix
	xDue := p.fsrs.BaseOfRecall(ReviewThreshold)
	xLo, xHi := xDue*(1-1e-6), xDue*(1+1e-6)
	hashes := req.hashes
	if len(hashes) != len(req.User.Words) {
		hashes = nil
	}
	for i := range req.User.Words {
		w := &req.User.Words[i]
		var at loc
		var ok bool
		if hashes != nil {
			at, ok = ix.LookupHash(hashes[i], w.Word)
		} else {
			at, ok = ix.Lookup(w.Word)
		}
		if !ok {
			continue
		}
		s.known.add(ix.ID(at))
		uw := userWord{at: at, src: int32(i), missed: -1}
		if n := len(w.History); n > 0 {
			last := w.History[n-1]
			if last.Grade == memory.Again && !last.At.After(req.Now) && req.Now.Sub(last.At) <= MissedWindow {
				uw.missed = int32(len(s.missed))
				s.missed = append(s.missed, missedWord{w: int32(len(s.words)), at: last.At})
				s.words = append(s.words, uw)
				continue
			}
		}
		st := w.State
		if st.Stability == 0 && len(w.History) > 0 {
			st = memory.State{}
			for _, r := range w.History {
				st = p.fsrs.Update(st, r.At, r.Grade)
			}
		}
		if st.Last.IsZero() && len(w.History) > 0 {
			st.Last = w.History[len(w.History)-1].At
		}
		wi := int32(len(s.words))
		if st.Stability == 0 && p.c.HLR != nil && !st.Last.IsZero() && st.Seen > 0 {
			// Answer counts without FSRS state (e.g. imported from another
			// system): the course's published HLR weights predict recall.
			uw.p, uw.hasP = p.c.HLR.Predict(st, req.Now), true
		} else if x, ok := p.fsrs.Base(st, req.Now); ok {
			switch {
			case x > xHi:
				s.nDue++
			case x >= xLo:
				uw.p, uw.hasP = p.fsrs.RecallOfBase(x), true
			}
			if !uw.hasP {
				s.pending = append(s.pending, ranked{key: x, w: wi})
			}
		} else {
			uw.hasP = true // p = 0: never answered
		}
		if uw.hasP {
			if uw.p < ReviewThreshold {
				s.nDue++
			}
			s.ready = append(s.ready, ranked{key: uw.p, w: wi})
		}
		s.words = append(s.words, uw)
	}
	slices.SortFunc(s.missed, func(a, b missedWord) int {
		return cmp.Or(b.at.Compare(a.at), strings.Compare(p.text(a.w), p.text(b.w)))
	})
	for i, m := range s.missed {
		s.words[m.w].missed = int32(i)
		s.seq = append(s.seq, m.w)
	}
	s.nMissed = len(s.missed)
	for i := len(s.ready)/2 - 1; i >= 0; i-- {
		p.downReady(i)
	}
	for i := len(s.pending)/2 - 1; i >= 0; i-- {
		p.downPending(i)
	}
}

// text returns the word's text as the request has it.
func (p *planner) text(w int32) string { return p.req.User.Words[p.s.words[w].src].Word }

// readyLess orders by recall, then by text, for determinism.
func (p *planner) readyLess(a, b ranked) bool {
	if a.key != b.key {
		return a.key < b.key
	}
	return p.text(a.w) < p.text(b.w)
}

func (p *planner) downReady(i int) {
	h := p.s.ready
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		if r := l + 1; r < len(h) && p.readyLess(h[r], h[l]) {
			l = r
		}
		if !p.readyLess(h[l], h[i]) {
			return
		}
		h[i], h[l] = h[l], h[i]
		i = l
	}
}

func (p *planner) upReady(i int) {
	h := p.s.ready
	for i > 0 {
		parent := (i - 1) / 2
		if !p.readyLess(h[i], h[parent]) {
			return
		}
		h[i], h[parent] = h[parent], h[i]
		i = parent
	}
}

// downPending keeps pending a max-heap by base; ties by word index (the
// order does not matter there: recall decides in ready).
func (p *planner) downPending(i int) {
	h := p.s.pending
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		if r := l + 1; r < len(h) && h[r].key > h[l].key {
			l = r
		}
		if !(h[l].key > h[i].key) {
			return
		}
		h[i], h[l] = h[l], h[i]
		i = l
	}
}

// nextByRecall returns the word of lowest predicted recall not returned
// yet (ties by text). Words with FSRS state wait in pending, a max-heap by
// base, without their recall; a word moves to ready, with its recall
// computed, while no word left in pending can have a lower recall than
// the best of ready. Recall falls as the base grows, up to rounding
// (recallSlack), so the order is the same as sorting every word by its
// recall, at the cost of computing recall for the words taken and a few
// more.
func (p *planner) nextByRecall() (int32, bool) {
	s := p.s
	for len(s.pending) > 0 {
		top := s.pending[0]
		uw := &s.words[top.w]
		if !uw.hasP {
			uw.p, uw.hasP = p.fsrs.RecallOfBase(top.key), true
		}
		if len(s.ready) > 0 && uw.p > s.ready[0].key+recallSlack {
			break
		}
		n := len(s.pending) - 1
		s.pending[0] = s.pending[n]
		s.pending = s.pending[:n]
		p.downPending(0)
		s.ready = append(s.ready, ranked{key: uw.p, w: top.w})
		p.upReady(len(s.ready) - 1)
	}
	if len(s.ready) == 0 {
		return 0, false
	}
	w := s.ready[0].w
	n := len(s.ready) - 1
	s.ready[0] = s.ready[n]
	s.ready = s.ready[:n]
	p.downReady(0)
	return w, true
}

// wordAt returns the i-th word of the review order: missed words, then
// the others by lowest recall.
func (p *planner) wordAt(i int) int32 {
	s := p.s
	for len(s.seq) <= i {
		w, ok := p.nextByRecall()
		if !ok {
			panic("session: review order overrun") // callers stay below len(words)
		}
		s.seq = append(s.seq, w)
	}
	return s.seq[i]
}

// span is a part of the review order, [lo, hi).
type span struct{ lo, hi int }

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
func sessionID(c *snapshot.Course, req *Request) string {
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
	var sum [16]byte
	return hex.EncodeToString(h.Sum(sum[:0]))
}

// planner builds one session.
type planner struct {
	c        *snapshot.Course
	ix       *snapshot.Items
	fsrs     *memory.FSRS
	req      *Request
	settings Settings
	length   int
	now      time.Time
	rng      rand.PCG
	s        *scratch
	fill     filler
}

func (p *planner) intn(n int) int {
	hi, _ := bits.Mul64(p.rng.Uint64(), uint64(n))
	return int(hi)
}

func (p *planner) isKnown(l loc) bool { return p.s.known.has(p.ix.CanonID(l)) }

func (p *planner) isNew(l loc) bool { return p.s.newSet.has(p.ix.CanonID(l)) }

// introduce records the item at l (where its text is first taught) as new
// in this session.
func (p *planner) introduce(l loc) {
	p.s.newItems = append(p.s.newItems, l)
	p.s.newSet.add(p.ix.ID(l))
}

func (p *planner) allowed(t course.Type) bool {
	switch t {
	case course.TypeListening:
		return !p.settings.ListeningOff
	case course.TypeSpeaking:
		return !p.settings.SpeakingOff
	}
	return true
}

// chosenKey identifies a challenge up to identical copies (same skill and
// id, from a repeated word or phrase).
func (p *planner) chosenKey(ref snapshot.ChallengeRef) uint64 {
	return uint64(ref.Skill)<<32 | uint64(uint32(p.c.Skills[ref.Skill].SameID[ref.Challenge]))
}

// has reports whether the challenge, or an identical one, is already
// chosen.
func (p *planner) has(ref snapshot.ChallengeRef) bool {
	return slices.Contains(p.s.chosen, p.chosenKey(ref))
}

// choose records the challenge as chosen.
func (p *planner) choose(ref snapshot.ChallengeRef) {
	p.s.chosen = append(p.s.chosen, p.chosenKey(ref))
}

// add appends c to dst and records its challenge as chosen.
func (p *planner) add(dst *[]cand, c cand) {
	*dst = append(*dst, c)
	p.choose(c.ref)
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
		id := p.ix.CanonID(loc{Skill: skill, Index: int32(w)})
		if !p.s.known.has(id) && !p.s.newSet.has(id) {
			return false
		}
	}
	for _, ph := range m.Phrases {
		id := p.ix.CanonID(loc{Skill: skill, Index: int32(ph), Phrase: true})
		if !p.s.known.has(id) && !p.s.newSet.has(id) {
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
	ok := p.s.eligible[:0]
	for _, ci := range p.items(l) {
		if p.exercise(l, ci) {
			ok = append(ok, ci)
		}
	}
	p.s.eligible = ok
	if len(ok) == 0 {
		return snapshot.ChallengeRef{}, false
	}
	return snapshot.ChallengeRef{Skill: l.Skill, Challenge: ok[p.intn(len(ok))]}, true
}

// reviewQueue returns the parts of the review order: recently missed
// words (most recent first), words due (predicted recall below
// ReviewThreshold, lowest first) and the rest; ties by text.
func (p *planner) reviewQueue() (missed, due, rest span) {
	s := p.s
	return span{0, s.nMissed}, span{s.nMissed, s.nMissed + s.nDue}, span{s.nMissed + s.nDue, len(s.words)}
}

func (p *planner) reason(w int32) Reason {
	uw := &p.s.words[w]
	if uw.missed >= 0 {
		return Reason{Kind: KindMissed, DaysAgo: int(p.now.Sub(p.s.missed[uw.missed].at) / (24 * time.Hour))}
	}
	return Reason{Kind: KindReview, P: uw.p}
}

// addReviews adds one exercise for each of up to n words of queue to dst
// and returns how many it added and the words left.
func (p *planner) addReviews(dst *[]cand, queue span, n int) (int, span) {
	added := 0
	for queue.lo < queue.hi && added < n {
		w := p.wordAt(queue.lo)
		queue.lo++
		if ref, ok := p.pickExercise(p.s.words[w].at); ok {
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
	sc := p.s
	sk := &p.c.Skills[s]
	nw, n := len(sk.Words), len(sk.Words)+len(sk.Phrases)
	levels := max(sk.Levels, 1)
	itemAt := func(i int) loc { return itemOf(s, nw, i) }
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
	nMissed := min(missed.hi-missed.lo, max(1, p.length/5))
	nDue := min(due.hi-due.lo, p.length/4)
	if level < 0 {
		nDue = min(due.hi-due.lo, p.length-nMissed)
	}
	reviews := sc.reviews[:0]
	got, missedLeft := p.addReviews(&reviews, missed, nMissed)
	got2, dueLeft := p.addReviews(&reviews, due, nDue)
	sc.reviews = reviews
	slots := p.length - got - got2

	// New material of the current level, in order: each item's
	// introduction, then up to practicePerNewItem exercises of different
	// types, easiest first.
	blocks := sc.blocks[:0] // [start, end) in sc.plan
	extra := sc.extra[:0]
	var late cand
	hasLate := false
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
			p.introduce(l)
			why := Reason{Kind: KindNew, Level: level + 1}
			// An introduction wants room for an exercise after it; with
			// one slot left it only fills what nothing else can.
			if slots == 1 && len(sc.newItems) > 1 {
				late = cand{ref: snapshot.ChallengeRef{Skill: s, Challenge: intro}, reason: why, intro: true, introOf: l}
				hasLate = true
				p.choose(late.ref)
				break
			}
			start := len(sc.plan)
			p.add(&sc.plan, cand{ref: snapshot.ChallengeRef{Skill: s, Challenge: intro}, reason: why, intro: true, introOf: l})
			slots--
			var firstType course.Type
			taken := 0
			for _, ci := range p.exercises(l) {
				ch := sk.Challenges[ci]
				c := cand{ref: snapshot.ChallengeRef{Skill: s, Challenge: ci}, reason: why}
				if taken < practicePerNewItem && slots > 0 && (taken == 0 || ch.ChallengeType() != firstType) {
					p.add(&sc.plan, c)
					firstType = ch.ChallengeType()
					taken++
					slots--
				} else {
					extra = append(extra, c)
				}
			}
			blocks = append(blocks, [2]int{start, len(sc.plan)})
		}
	}
	sc.blocks, sc.extra = blocks, extra
	p.interleave(blocks, reviews)

	// What fills the session when the plan falls short: more exercises of
	// the new items, practice of the skill's met material up to the current
	// level, and further reviews; order makes it as it needs it.
	p.fill = filler{
		stage: fillExtra, extra: extra, skill: s, n: n, nw: nw, levels: levels, level: level,
		queues: [3]span{missedLeft, dueLeft, rest}, limit: 4 * p.length,
		late: late, hasLate: hasLate,
	}
	if level < 0 {
		return 0
	}
	return level + 1
}

// itemOf returns the location of item i of skill s, whose first nw items
// are its words and the rest its phrases.
func itemOf(s int32, nw, i int) loc {
	if i < nw {
		return loc{Skill: s, Index: int32(i)}
	}
	return loc{Skill: s, Index: int32(i - nw), Phrase: true}
}

// filler makes the fill, the challenges that complete a session when the
// plan falls short, one at a time as order asks for it: most sessions
// need little or none of it, and each of its challenges costs an exercise
// picked or a word ranked. It makes the same challenges in the same order,
// with the same random draws, as making all of it first would: nothing
// else draws after the plan is made.
type filler struct {
	stage fillStage
	// extra are more exercises of the new items; e is the next.
	extra []cand
	e     int
	// Practice of the met material of skill (n items, nw of them words,
	// in levels levels, up to level): from start, k items done.
	skill                int32
	n, nw, levels, level int
	start, k             int
	// Further reviews, from each queue in turn; q is the current one.
	queues [3]span
	q      int
	// limit bounds the fill's length.
	limit int
	// late is an introduction that only fills what nothing else can.
	late    cand
	hasLate bool
}

type fillStage uint8

const (
	fillExtra fillStage = iota
	fillPracticeStart
	fillPractice
	fillReviews
	fillLate
	fillDone
)

// moreFill adds at least one challenge to the fill and reports whether
// there was one to add.
func (p *planner) moreFill() bool {
	f, sc := &p.fill, p.s
	for {
		switch f.stage {
		case fillExtra:
			for f.e < len(f.extra) {
				c := f.extra[f.e]
				f.e++
				if !p.has(c.ref) {
					p.add(&sc.fill, c)
					return true
				}
			}
			f.stage = fillPracticeStart
		case fillPracticeStart:
			f.start = p.intn(max(f.n, 1))
			f.stage = fillPractice
		case fillPractice:
			for f.k < f.n && len(sc.fill) < f.limit {
				i := (f.start + f.k) % f.n
				f.k++
				l := itemOf(f.skill, f.nw, i)
				lv := levelOf(i, f.n, f.levels)
				if f.level >= 0 && lv > f.level || !p.isKnown(l) {
					continue
				}
				if ref, ok := p.pickExercise(l); ok {
					p.add(&sc.fill, cand{ref: ref, reason: Reason{Kind: KindPractice, Level: lv + 1}})
					return true
				}
			}
			f.stage = fillReviews
		case fillReviews:
			for f.q < len(f.queues) {
				if len(sc.fill) < f.limit {
					added, left := p.addReviews(&sc.fill, f.queues[f.q], 1)
					f.queues[f.q] = left
					if added > 0 {
						return true
					}
				}
				f.q++
			}
			f.stage = fillLate
		case fillLate:
			f.stage = fillDone
			if f.hasLate {
				sc.fill = append(sc.fill, f.late)
				return true
			}
		default:
			return false
		}
	}
}

// exercises returns the exercises of a new item, easiest first, in random
// order within a priority. The slice is scratch, valid until the next
// call.
func (p *planner) exercises(l loc) []int32 {
	out := p.s.exs[:0]
	for _, ci := range p.items(l) {
		if p.exercise(l, ci) {
			out = append(out, ci)
		}
	}
	p.s.exs = out
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
// already in the plan.
func (p *planner) interleave(blocks [][2]int, reviews []cand) {
	sc := p.s
	if len(blocks) == 0 {
		sc.plan = append(sc.plan, reviews...)
		return
	}
	newMaterial := sc.plan
	out := sc.tmp[:0]
	for b, blk := range blocks {
		out = append(out, newMaterial[blk[0]:blk[1]]...)
		left := len(blocks) - b
		k := (len(reviews) + left - 1) / left
		out = append(out, reviews[:k]...)
		reviews = reviews[k:]
	}
	sc.plan, sc.tmp = out, newMaterial[:0]
}

// planPractice plans a review session across every skill the learner has
// met: missed words, then the lowest predicted recall, then second
// exercises of the same words.
func (p *planner) planPractice() {
	queue := span{0, len(p.s.words)}
	_, _ = p.addReviews(&p.s.plan, queue, p.length)
	p.fill = filler{stage: fillReviews, queues: [3]span{queue}, limit: 3 * p.length}
}

// order places the planned challenges, then the fill, in the first order
// that keeps every introduction before the exercises that need it and
// never puts three challenges of one type in a row.
func (p *planner) order(out []Item) []Item {
	sc := p.s
	cands := append(sc.cands[:0], sc.plan...)
	done := sc.done[:0]
	for range cands {
		done = append(done, false)
	}
	defer func() { sc.cands, sc.done = cands, done }()
	filled := 0 // of sc.fill, in cands
	out = slices.Grow(out[:0], p.length)
	for len(out) < p.length {
		found := -1
		for i := range cands {
			if !done[i] && p.placeable(&cands[i], out) {
				found = i
				break
			}
		}
		// Nothing of the plan fits here: the first of the fill that does.
		for found < 0 && (filled < len(sc.fill) || p.moreFill()) {
			for ; filled < len(sc.fill); filled++ {
				cands, done = append(cands, sc.fill[filled]), append(done, false)
				if found < 0 && p.placeable(&cands[len(cands)-1], out) {
					found = len(cands) - 1
				}
			}
		}
		if found < 0 {
			break
		}
		c := &cands[found]
		done[found] = true
		if c.intro {
			sc.introduced = append(sc.introduced, c.introOf)
		}
		out = append(out, Item{
			Challenge:  p.c.Challenge(c.ref),
			Skill:      p.c.Skills[c.ref.Skill].ID,
			Reason:     c.reason,
			ref:        c.ref,
			fromCourse: true,
		})
	}
	return out
}

func (p *planner) placeable(c *cand, out []Item) bool {
	ch := p.c.Challenge(c.ref)
	if n := len(out); n >= 2 && out[n-1].Challenge.ChallengeType() == ch.ChallengeType() && out[n-2].Challenge.ChallengeType() == ch.ChallengeType() {
		return false
	}
	introduced := p.s.introduced
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
	for _, l := range p.s.newItems {
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
