package session

import (
	"sync"
	"sync/atomic"

	"github.com/owlstack/owl/internal/course/snapshot"
)

// loc locates a word or phrase of a compiled course.
type loc struct {
	skill  int32
	index  int32 // in the skill's Words, or Phrases when phrase
	phrase bool
}

func (a loc) less(b loc) bool {
	if a.skill != b.skill {
		return a.skill < b.skill
	}
	if a.phrase != b.phrase {
		return !a.phrase
	}
	return a.index < b.index
}

// index maps the main target-language text of every word and phrase of a
// course to where it is taught, first in course order.
type index struct {
	items map[string]loc
	// words and phrases give, per skill and item, where the item's text
	// is first taught: the item itself, or an earlier copy (courses repeat
	// words and phrases).
	words, phrases [][]loc
}

// canon returns where the text of the item at l is first taught.
func (ix *index) canon(l loc) loc {
	if l.phrase {
		return ix.phrases[l.skill][l.index]
	}
	return ix.words[l.skill][l.index]
}

func newIndex(c *snapshot.Course) *index {
	ix := &index{items: make(map[string]loc)}
	defer func() {
		for s := range c.Skills {
			sk := &c.Skills[s]
			ws := make([]loc, len(sk.Words))
			for w := range sk.Words {
				ws[w] = ix.items[sk.Words[w].Target[0]]
			}
			ps := make([]loc, len(sk.Phrases))
			for p := range sk.Phrases {
				ps[p] = ix.items[sk.Phrases[p].Target[0]]
			}
			ix.words, ix.phrases = append(ix.words, ws), append(ix.phrases, ps)
		}
	}()
	for s := range c.Skills {
		sk := &c.Skills[s]
		for w := range sk.Words {
			key := sk.Words[w].Target[0]
			if _, ok := ix.items[key]; !ok {
				ix.items[key] = loc{skill: int32(s), index: int32(w)}
			}
		}
		for p := range sk.Phrases {
			key := sk.Phrases[p].Target[0]
			if _, ok := ix.items[key]; !ok {
				ix.items[key] = loc{skill: int32(s), index: int32(p), phrase: true}
			}
		}
	}
	return ix
}

// maxIndexes bounds the indexes kept: a few versions of each course served.
const maxIndexes = 32

// indexes keeps one index per compiled course, built on first use. Reads
// take no lock; a course replaced by a refresh eventually falls out.
type indexes struct {
	mu sync.Mutex
	m  atomic.Pointer[map[*snapshot.Course]*index]
}

func (x *indexes) get(c *snapshot.Course) *index {
	if m := x.m.Load(); m != nil {
		if ix, ok := (*m)[c]; ok {
			return ix
		}
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	old := x.m.Load()
	if old != nil {
		if ix, ok := (*old)[c]; ok {
			return ix
		}
	}
	ix := newIndex(c)
	next := map[*snapshot.Course]*index{c: ix}
	if old != nil && len(*old) < maxIndexes {
		for k, v := range *old {
			next[k] = v
		}
	}
	x.m.Store(&next)
	return ix
}
