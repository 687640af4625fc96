package session

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/owlstack/owl/internal/memory"
)

// TestReviewOrderIsSortByRecall checks the lazy review order against
// sorting every word by its predicted recall (ties by text), on learners
// built to have many equal and nearly equal recalls, and words near the
// review threshold.
func TestReviewOrderIsSortByRecall(t *testing.T) {
	c := demoCourse(t)
	g := newGenerator()
	var texts []string
	for s := range c.Skills {
		texts = append(texts, itemsOf(&c.Skills[s])...)
	}
	slices.Sort(texts)
	texts = slices.Compact(texts)
	rng := rand.New(rand.NewPCG(3, 4))
	for run := range 300 {
		u := User{ID: "r"}
		for _, text := range texts {
			if rng.IntN(4) == 0 {
				continue
			}
			w := WordState{Word: text}
			switch rng.IntN(6) {
			case 0: // the same state as many others: equal recall
				w.State = memory.State{Last: now.Add(-days(3)), Stability: 3, Difficulty: 5, Seen: 1}
			case 1: // elapsed time proportional to stability: equal ratios
				s := 1 + float64(rng.IntN(20))
				w.State = memory.State{Last: now.Add(-days(s * 0.5)), Stability: s, Difficulty: 5, Seen: 1}
			case 2: // near the review threshold (one stability ago)
				s := 0.5 + rng.Float64()*30
				w.State = memory.State{Last: now.Add(-days(s*(1+(rng.Float64()-0.5)*1e-5)) - time.Duration(rng.IntN(3))), Stability: s, Difficulty: 5, Seen: 1}
			case 3: // history only
				w.History = []Review{{At: now.Add(-days(rng.Float64() * 20)), Grade: memory.Grade(1 + rng.IntN(4))}}
			case 4: // nothing known: recall 0
			default:
				w.State = memory.State{Last: now.Add(-days(rng.Float64() * 60)), Stability: 0.1 + rng.Float64()*50, Difficulty: 5, Seen: 2}
			}
			u.Words = append(u.Words, w)
		}
		rng.Shuffle(len(u.Words), func(i, j int) { u.Words[i], u.Words[j] = u.Words[j], u.Words[i] })
		req := &Request{Skill: Practice, Length: 15, Seed: 1, Now: now, User: u}
		sc := new(scratch)
		sc.reset(c.Items.Count())
		p := &planner{c: c, ix: c.Items, fsrs: g.fsrs, req: req, now: now, s: sc, length: 15}
		p.resolve()
		got := make([]string, 0, len(sc.words))
		for i := range sc.words {
			got = append(got, p.text(p.wordAt(i)))
		}

		// The reference: every recall computed, one full sort.
		type ranked struct {
			text   string
			p      float64
			missed time.Time
		}
		var all []ranked
		for _, w := range u.Words {
			if _, ok := c.Items.Lookup(w.Word); !ok {
				continue
			}
			st := w.State
			if st.Stability == 0 && len(w.History) > 0 {
				st = memory.State{}
				for _, r := range w.History {
					st = g.fsrs.Update(st, r.At, r.Grade)
				}
			}
			r := ranked{text: w.Word, p: g.fsrs.Predict(st, now)}
			if n := len(w.History); n > 0 && w.History[n-1].Grade == memory.Again && now.Sub(w.History[n-1].At) <= MissedWindow {
				r.missed = w.History[n-1].At
			}
			all = append(all, r)
		}
		slices.SortFunc(all, func(a, b ranked) int {
			if a.missed.IsZero() != b.missed.IsZero() {
				if a.missed.IsZero() {
					return 1
				}
				return -1
			}
			if !a.missed.IsZero() {
				return cmp.Or(b.missed.Compare(a.missed), strings.Compare(a.text, b.text))
			}
			return cmp.Or(cmp.Compare(a.p, b.p), strings.Compare(a.text, b.text))
		})
		want := make([]string, len(all))
		due := 0
		for i, r := range all {
			want[i] = r.text
			if r.missed.IsZero() && r.p < ReviewThreshold {
				due++
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("run %d: review order differs from sorting by recall:\ngot  %v\nwant %v", run, got, want)
		}
		if sc.nDue != due {
			t.Fatalf("run %d: %d words due, want %d", run, sc.nDue, due)
		}
	}
}
