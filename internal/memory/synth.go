package memory

import (
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"math/rand/v2"
)

// SynthOptions sizes a synthetic learning-trace file.
type SynthOptions struct {
	Users      int
	Vocabulary int    // words of the language; default 1,000
	Sessions   int    // most sessions per user; default 40
	Seed       uint64 // the same seed gives the same file
}

// Ground truth of Synth. Recall follows ACT-R's base-level learning
// (Anderson & Schooler 1991; Pavlik & Anderson 2005), neither HLR's
// exponential half-life nor FSRS's power curve of stability: every past
// session j leaves a trace, the word's activation is
//
//	m = ln Σ_j (age_j + 0.02 days)^(−d_u)
//
// and recall is p = σ(γ·(m − τ) + ε) with τ = b_w − a_u − 1.5, where a_u is
// the user's ability (normal, sd 0.6), d_u the user's decay (0.5 ± 0.1,
// within [0.2, 0.8]), b_w the word's difficulty (normal, sd 0.8), γ = 2.5
// and ε a per-answer logit noise (normal, sd 0.3). Each answer of a session
// is correct with probability p, independently.
const (
	synthGamma     = 2.5
	synthBaseTau   = 1.5
	synthNoise     = 0.3
	synthTraceLag  = 0.02
	synthStartUnix = 1767225600 // 2026-01-01T00:00:00Z
)

// Synth writes synthetic review logs in the 12-column format of Duolingo's
// HLR dataset, drawn from the ground-truth model above, and returns the
// number of rows. A word's first session is its introduction and gets no
// row, as in the real data, where delta is the time since the word was
// last seen.
func Synth(w io.Writer, o SynthOptions) (int, error) {
	if o.Users < 1 {
		return 0, fmt.Errorf("synth: need at least one user, got %d", o.Users)
	}
	if o.Vocabulary == 0 {
		o.Vocabulary = 1000
	}
	if o.Sessions == 0 {
		o.Sessions = 40
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0x73796e7468))
	difficulty := make([]float64, o.Vocabulary)
	lexID := make([]string, o.Vocabulary)
	for i := range difficulty {
		difficulty[i] = rng.NormFloat64() * 0.8
		h := fnv.New128a()
		fmt.Fprintf(h, "lexeme %d", i)
		lexID[i] = fmt.Sprintf("%x", h.Sum(nil))
	}
	tw, err := NewTraceWriter(w)
	if err != nil {
		return 0, err
	}
	rows := 0
	type word struct {
		idx     int
		traces  []float64 // session times, in days since start
		seen    int
		correct int
	}
	for u := range o.Users {
		ability := rng.NormFloat64() * 0.6
		decay := clamp(0.5+rng.NormFloat64()*0.1, 0.2, 0.8)
		meanGap := 0.3 + rng.Float64()*4
		t := rng.Float64() * 30
		var words []*word
		userID := fmt.Sprintf("u%06d", u)
		for range 5 + rng.IntN(o.Sessions) {
			t += rng.ExpFloat64()*meanGap + 0.01
			// Review up to 8 words met before, then meet up to 3 new ones.
			n := min(len(words), 1+rng.IntN(8))
			for _, k := range rng.Perm(len(words))[:n] {
				wd := words[k]
				last := wd.traces[len(wd.traces)-1]
				act := 0.0
				for _, tj := range wd.traces {
					act += math.Pow(t-tj+synthTraceLag, -decay)
				}
				tau := difficulty[wd.idx] - ability - synthBaseTau
				seen, correct := 1+rng.IntN(3), 0
				for range seen {
					p := 1 / (1 + math.Exp(-(synthGamma*(math.Log(act)-tau) + rng.NormFloat64()*synthNoise)))
					if rng.Float64() < p {
						correct++
					}
				}
				lex := fmt.Sprintf("w%04d/w%04d<n>", wd.idx, wd.idx)
				err := tw.Write(Row{
					PRecall:   float64(correct) / float64(seen),
					Timestamp: synthStartUnix + int64(t*86400),
					Delta:     int64((t - last) * 86400),
					UserID:    userID, LearningLang: "es", UILang: "en",
					LexemeID: lexID[wd.idx], LexemeString: lex,
					HistorySeen: wd.seen, HistoryCorrect: wd.correct,
					SessionSeen: seen, SessionCorrect: correct,
				})
				if err != nil {
					return rows, err
				}
				rows++
				wd.seen += seen
				wd.correct += correct
				wd.traces = append(wd.traces, t)
			}
			for range rng.IntN(4) {
				if len(words) >= o.Vocabulary {
					break
				}
				idx := rng.IntN(o.Vocabulary)
				dup := false
				for _, wd := range words {
					dup = dup || wd.idx == idx
				}
				if !dup {
					words = append(words, &word{idx: idx, traces: []float64{t}, seen: 1, correct: 1})
				}
			}
		}
	}
	return rows, tw.Flush()
}
