package session

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/owlstack/owl/internal/course/snapshot"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var largeOnce struct {
	sync.Once
	c *snapshot.Course
}

// sharedLarge is the generated 2,000-word course, built once per test
// binary.
func sharedLarge(t testing.TB) *snapshot.Course {
	t.Helper()
	largeOnce.Do(func() { largeOnce.c = largeCourse(t) })
	if largeOnce.c == nil {
		t.Fatal("large course did not compile")
	}
	return largeOnce.c
}

// goldenLine is one session of the golden file: the request's name, the
// SHA-256 of the session's JSON and its reasons, so that a change of
// choice or order shows in a diff.
func goldenLine(name string, s *Session) (string, []byte) {
	data, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	sum := sha256.Sum256(data)
	return fmt.Sprintf("%s %x %s", name, sum[:8], strings.Join(whys(s), "|")), data
}

// TestGolden pins the sessions generated for a fixed set of requests: the
// demo course with random learners, and the 2,000-word course with the
// benchmark's learner. Speed work must not change a single byte; run
// with -update to accept an intended change.
func TestGolden(t *testing.T) {
	g := newGenerator()
	var lines []string
	bodies := map[string][]byte{}
	add := func(name string, c *snapshot.Course, req Request) {
		s, err := g.Generate(c, req)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		check(t, c, req, s)
		line, data := goldenLine(name, s)
		// The server's encoder writes what json.Marshal writes.
		fast, err := appendSession(nil, s)
		if err != nil || !bytes.Equal(fast, data) {
			t.Fatalf("%s: appendSession differs from json.Marshal (%v):\n%s\n%s", name, err, fast, data)
		}
		lines = append(lines, line)
		bodies[name] = data
	}
	demo := demoCourse(t)
	rng := rand.New(rand.NewPCG(42, 43))
	for i := range 150 {
		u := randomUser(rng, demo)
		skill := Practice
		if rng.IntN(4) > 0 {
			skill = demo.Skills[rng.IntN(len(demo.Skills))].ID
		}
		add(fmt.Sprintf("demo-%03d", i), demo, Request{Skill: skill, Length: 1 + rng.IntN(30), Seed: rng.Uint64(), Now: now, User: u})
	}
	if !testing.Short() {
		large := sharedLarge(t)
		u := benchUser(large, 500)
		next := nextSkill(large, u)
		for _, skill := range []string{next, Practice, large.Skills[0].ID, large.Skills[len(large.Skills)-1].ID} {
			for seed := range uint64(3) {
				add(fmt.Sprintf("large-%s-%d", skill, seed), large, Request{Skill: skill, Length: 15, Seed: seed, Now: now, User: u})
			}
		}
		quiet := u
		quiet.Settings = Settings{ListeningOff: true, SpeakingOff: true}
		add("large-quiet", large, Request{Skill: next, Length: MaxLength, Seed: 7, Now: now, User: quiet})
	}
	got := []byte(strings.Join(lines, "\n") + "\n")
	path := filepath.Join("testdata", "golden", "sessions.txt")
	if *update {
		if testing.Short() {
			t.Fatal("-update needs the whole set: run without -short")
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v; run go test -update to write it", err)
	}
	if testing.Short() {
		// The 2,000-word course is skipped: compare the demo sessions.
		var demoLines []string
		for l := range strings.Lines(string(want)) {
			if strings.HasPrefix(l, "demo-") {
				demoLines = append(demoLines, l)
			}
		}
		want = []byte(strings.Join(demoLines, ""))
	}
	if bytes.Equal(got, want) {
		return
	}
	wantLines := strings.Split(string(want), "\n")
	for i, l := range lines {
		if i >= len(wantLines) || wantLines[i] != l {
			name, _, _ := strings.Cut(l, " ")
			w := ""
			if i < len(wantLines) {
				w = wantLines[i]
			}
			t.Fatalf("session %s differs from %s:\nwant %s\ngot  %s\nsession: %s", name, path, w, l, bodies[name])
		}
	}
	t.Fatalf("%s has %d lines, got %d", path, len(wantLines)-1, len(lines))
}
