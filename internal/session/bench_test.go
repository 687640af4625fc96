package session

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/owlstack/owl/internal/course/snapshot"
	"github.com/owlstack/owl/internal/memory"
)

// benchUser is a learner of the large course who has reviewed 500 words
// of its first skills, with FSRS state carried in the request.
func benchUser(c *snapshot.Course, words int) User {
	rng := rand.New(rand.NewPCG(11, 12))
	u := User{ID: "bench"}
	for s := 0; s < len(c.Skills) && len(u.Words) < words; s++ {
		for _, w := range c.Skills[s].Words {
			if len(u.Words) == words {
				break
			}
			u.Words = append(u.Words, WordState{Word: w.Target[0], State: memory.State{
				Last:       now.Add(-days(rng.Float64() * 30)),
				Seen:       3,
				Correct:    2,
				Stability:  0.5 + rng.Float64()*40,
				Difficulty: 1 + rng.Float64()*9,
			}})
		}
	}
	if n := len(u.Words); n > 0 {
		// One recent miss, so every kind of reason is exercised.
		u.Words[n-1].History = []Review{{At: now.Add(-days(1)), Grade: memory.Again}}
	}
	return u
}

// nextSkill is the first skill the bench user has not finished.
func nextSkill(c *snapshot.Course, u User) string {
	known := map[string]bool{}
	for _, w := range u.Words {
		known[w.Word] = true
	}
	for _, sk := range c.Skills {
		for _, w := range sk.Words {
			if !known[w.Target[0]] {
				return sk.ID
			}
		}
	}
	return Practice
}

// BenchmarkGenerate measures one 15-challenge session from the generated
// 2,000-word course for a learner with 500 reviewed words. It reports
// sessions/s, p50 and p99 latency, and the ratio of its time to a baseline
// measured in the same run: ranking the 500 words by predicted recall
// alone, the least any recall-based generator does.
func BenchmarkGenerate(b *testing.B) {
	if testing.Short() {
		b.Skip("builds a 2,000-word course; skipped with -short")
	}
	c := sharedLarge(b)
	u := benchUser(c, 500)
	g := newGenerator()
	req := Request{Skill: nextSkill(c, u), Length: 15, Seed: 1, Now: now, User: u}
	if s, err := g.Generate(c, req); err != nil || len(s.Challenges) != 15 {
		b.Fatalf("session: %v (%v)", s, err)
	}

	// The baseline runs first, in the same process and run.
	var base float64
	b.Run("baseline=rank-by-recall", func(b *testing.B) {
		ps := make([]float64, len(u.Words))
		b.ReportAllocs()
		start := time.Now()
		n := 0
		for b.Loop() {
			for i := range u.Words {
				ps[i] = g.fsrs.Predict(u.Words[i].State, now)
			}
			sort.Float64s(ps)
			n++
		}
		base = float64(time.Since(start).Nanoseconds()) / float64(n)
	})
	b.Run("generate", func(b *testing.B) {
		lat := make([]time.Duration, 0, 1<<16)
		b.ReportAllocs()
		start := time.Now()
		n := 0
		for b.Loop() {
			t0 := time.Now()
			if _, err := g.Generate(c, req); err != nil {
				b.Fatal(err)
			}
			if len(lat) < cap(lat) {
				lat = append(lat, time.Since(t0))
			}
			n++
		}
		elapsed := time.Since(start)
		slices.Sort(lat)
		b.ReportMetric(float64(n)/elapsed.Seconds(), "sessions/s")
		b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
		b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")
		if base > 0 {
			b.ReportMetric(float64(elapsed.Nanoseconds())/float64(n)/base, "x-baseline")
		}
	})
}

// BenchmarkDecodeRequest measures decoding and checking the body of the
// HTTP benchmark: a request for a learner with 500 reviewed words. Its
// baselines, in the same run, read the same body with encoding/json: only
// checking that it is JSON (json.Valid), and decoding it into the request
// (json.Unmarshal).
func BenchmarkDecodeRequest(b *testing.B) {
	if testing.Short() {
		b.Skip("builds a 2,000-word course; skipped with -short")
	}
	_, body := largeRequest(b)
	if file := os.Getenv("OWL_BENCH_BODY"); file != "" {
		// scripts/json-floor times another parser on the same body.
		if err := os.WriteFile(file, body, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	var valid, unmarshal float64
	b.Run("baseline=json.Valid", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if !json.Valid(body) {
				b.Fatal("invalid body")
			}
		}
		valid = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	})
	b.Run("baseline=json.Unmarshal", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			var req APIRequest
			if err := json.Unmarshal(body, &req); err != nil {
				b.Fatal(err)
			}
		}
		unmarshal = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	})
	b.Run("owl", func(b *testing.B) {
		var req APIRequest
		var reviews []Review
		var set wordSet
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if err := decodeRequest(body, &req, &reviews, &set); err != nil {
				b.Fatal(err)
			}
		}
		per := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
		b.ReportMetric(per/float64(len(req.User.Words)), "ns/word")
		if valid > 0 && unmarshal > 0 {
			b.ReportMetric(per/valid, "x-json.Valid")
			b.ReportMetric(per/unmarshal, "x-json.Unmarshal")
		}
	})
}

// largeRequest is the body of the HTTP benchmark: a session in the
// 2,000-word course for a learner with 500 reviewed words.
func largeRequest(b *testing.B) (*snapshot.Course, []byte) {
	c := sharedLarge(b)
	u := benchUser(c, 500)
	body, err := json.Marshal(APIRequest{Course: c.Header.CourseID, Skill: nextSkill(c, u), Length: 15, Seed: 1, Now: now.Format(time.RFC3339), User: u})
	if err != nil {
		b.Fatal(err)
	}
	return c, body
}
