package snapshot

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/klauspost/compress/zstd"
	"google.golang.org/protobuf/proto"

	"github.com/owlstack/owl/internal/course"
	pb "github.com/owlstack/owl/internal/course/snapshot/snapshotpb"
	"github.com/owlstack/owl/internal/memory"
)

// edited returns a copy of c in which edit changed the skills it wanted.
func edited(c *course.Course, edit func(i int, s *course.Skill)) *course.Course {
	out := *c
	out.Modules = slices.Clone(c.Modules)
	i := 0
	for m := range out.Modules {
		out.Modules[m].Skills = slices.Clone(out.Modules[m].Skills)
		for s := range out.Modules[m].Skills {
			edit(i, &out.Modules[m].Skills[s])
			i++
		}
	}
	return &out
}

// sameCourse compares what Reload and Load build from the same file.
func sameCourse(t *testing.T, want, got *Course) {
	t.Helper()
	if d := cmp.Diff(want.Course, got.Course); d != "" {
		t.Errorf("course (-load +reload):\n%s", d)
	}
	if d := cmp.Diff(challengesOf(want), challengesOf(got)); d != "" {
		t.Errorf("challenges (-load +reload):\n%s", d)
	}
	if d := cmp.Diff(want.HLR, got.HLR); d != "" {
		t.Errorf("HLR (-load +reload):\n%s", d)
	}
	opts := cmp.Options{cmp.AllowUnexported(Items{}, textEntry{}), cmpopts.IgnoreFields(Skill{}, "Skill", "encoded", "sum")}
	if d := cmp.Diff(want.Items, got.Items, opts); d != "" {
		t.Errorf("items (-load +reload):\n%s", d)
	}
	if d := cmp.Diff(want.Skills, got.Skills, cmp.AllowUnexported(Skill{}), opts); d != "" {
		t.Errorf("skills (-load +reload):\n%s", d)
	}
	if d := cmp.Diff(want.skillByID, got.skillByID); d != "" {
		t.Errorf("skills by id (-load +reload):\n%s", d)
	}
	for i := range got.Skills {
		s := &got.Skills[i]
		if s.Skill != &got.Course.Modules[s.Module].Skills[i-firstOfModule(got, s.Module)] {
			t.Errorf("skill %d does not point into its course", i)
		}
	}
}

// firstOfModule returns the index in c.Skills of module m's first skill.
func firstOfModule(c *Course, m int) int {
	n := 0
	for i := range m {
		n += len(c.Course.Modules[i].Skills)
	}
	return n
}

func TestReload(t *testing.T) {
	c, ch := generated(t, small)
	hlr := &memory.HLR{Weights: [memory.HLRFeatures]float64{1, 0.5, -0.25}}
	compile := func(c *course.Course, ch []course.SkillChallenges) []byte {
		t.Helper()
		data, err := Compile(header(), c, ch)
		if err != nil {
			t.Fatal(err)
		}
		if data, err = WithHLR(data, hlr); err != nil {
			t.Fatal(err)
		}
		return data
	}
	base := compile(c, ch)
	prev, err := Load(base)
	if err != nil {
		t.Fatal(err)
	}
	reordered := slices.Clone(ch)
	reordered[0], reordered[1] = reordered[1], reordered[0]
	for _, tc := range []struct {
		name     string
		data     []byte
		decoded  int
		newItems bool
	}{
		{"same version", base, 0, false},
		{"one introduction edited", compile(edited(c, func(i int, s *course.Skill) {
			if i == 2 {
				s.Introduction += "\n\nEdited."
			}
		}), ch), 1, false},
		{"one word's text edited", compile(edited(c, func(i int, s *course.Skill) {
			if i == 1 {
				s.Words = slices.Clone(s.Words)
				s.Words[0].Target = []string{"edited"}
			}
		}), ch), 1, true},
		{"two skills swapped", compile(edited(c, func(i int, s *course.Skill) {
			if i < 2 {
				*s = c.Modules[0].Skills[1-i]
			}
		}), reordered), 0, true},
		{"every skill edited", compile(edited(c, func(_ int, s *course.Skill) { s.Name += " (edited)" }), ch), len(ch), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Reload(prev, tc.data)
			if err != nil {
				t.Fatal(err)
			}
			want, err := Load(tc.data)
			if err != nil {
				t.Fatal(err)
			}
			sameCourse(t, want, got)
			if st := got.LoadStats(); st.DecodedSkills != tc.decoded || st.DecodedSkills+st.ReusedSkills != len(ch) {
				t.Errorf("load stats %+v, want %d of %d skills decoded", st, tc.decoded, len(ch))
			}
			reused := 0
			for i := range got.Skills {
				for j := range prev.Skills {
					if len(got.Skills[i].Challenges) > 0 && &got.Skills[i].Challenges[0] == &prev.Skills[j].Challenges[0] {
						reused++
					}
				}
			}
			if reused != got.LoadStats().ReusedSkills {
				t.Errorf("%d skills share their challenges with the previous version, stats say %d", reused, got.LoadStats().ReusedSkills)
			}
			if (got.Items != prev.Items) != tc.newItems {
				t.Errorf("new word and phrase index: %v, want %v", got.Items != prev.Items, tc.newItems)
			}
			if got.HLR != prev.HLR {
				t.Error("the unchanged HLR weights were decoded again")
			}
		})
	}
}

// TestReloadVerifiesWhatItDecodes checks that a damaged chunk is refused,
// with an error that names it, when Reload decodes it, and that the file's
// checksum, which the course cache checks, covers the chunks it reuses.
func TestReloadVerifiesWhatItDecodes(t *testing.T) {
	c, ch := generated(t, small)
	base, err := Compile(header(), c, ch)
	if err != nil {
		t.Fatal(err)
	}
	prev, err := Load(base)
	if err != nil {
		t.Fatal(err)
	}
	next, err := Compile(header(), edited(c, func(i int, s *course.Skill) {
		if i == 2 {
			s.Introduction += "\n\nEdited."
		}
	}), ch)
	if err != nil {
		t.Fatal(err)
	}
	h, payload, err := ReadHeader(next)
	if err != nil {
		t.Fatal(err)
	}
	at := len(next) - len(payload)
	flip := func(i int) []byte {
		b := bytes.Clone(next)
		b[at+int(h.chunks[i].off)+int(h.chunks[i].size)/2] ^= 0x40
		return b
	}
	// Chunk 3 is skill 2, the edited one; chunk 1 is skill 0, reused.
	if _, err := Reload(prev, flip(3)); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "chunk 3 (skill 2)") {
		t.Errorf("damaged chunk of the edited skill: error %v, want ErrCorrupt naming chunk 3 (skill 2)", err)
	}
	damaged := flip(1)
	got, err := Reload(prev, damaged)
	if err != nil {
		t.Fatalf("damaged chunk of a reused skill: %v", err)
	}
	if got.Header.SHA256 == h.SHA256 {
		t.Error("the file's checksum does not cover a reused chunk")
	}
	if _, err := Load(damaged); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "chunk 1 (skill 0)") {
		t.Errorf("Load of a damaged chunk: error %v, want ErrCorrupt naming chunk 1 (skill 0)", err)
	}
	if _, _, err := ReadHeader(damaged); !errors.Is(err, ErrCorrupt) {
		t.Errorf("ReadHeader of a damaged chunk: error %v, want ErrCorrupt", err)
	}
}

// TestReadsFormat1 loads a snapshot that owl wrote in format 1, before
// snapshots had chunks (testdata/format1.owlc: the small generated course
// with HLR weights), and checks it against format 2.
func TestReadsFormat1(t *testing.T) {
	old, err := os.ReadFile("testdata/format1.owlc")
	if err != nil {
		t.Fatal(err)
	}
	got, err := Load(old)
	if err != nil {
		t.Fatal(err)
	}
	if got.Header.FormatVersion != 1 {
		t.Fatalf("format version %d, want 1", got.Header.FormatVersion)
	}
	c, ch := generated(t, small)
	data, err := Compile(header(), c, ch)
	if err != nil {
		t.Fatal(err)
	}
	data, err = WithHLR(data, got.HLR)
	if err != nil {
		t.Fatal(err)
	}
	want, err := Load(data)
	if err != nil {
		t.Fatal(err)
	}
	sameCourse(t, want, got)
	// Rewriting a format 1 file gives the format 2 file of the same course.
	h, p, err := Decode(old)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Encode(*h, p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, data) {
		t.Error("format 1 rewritten differs from the same course compiled in format 2")
	}
	// A format 2 file reloaded over a format 1 course decodes every skill.
	re, err := Reload(got, data)
	if err != nil {
		t.Fatal(err)
	}
	if st := re.LoadStats(); st.ReusedSkills != 0 {
		t.Errorf("reused %d skills of a format 1 course", st.ReusedSkills)
	}
}

func TestDecodeEncodeRoundTrip(t *testing.T) {
	c, ch := generated(t, small)
	data, err := Compile(header(), c, ch)
	if err != nil {
		t.Fatal(err)
	}
	h, p, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Encode(*h, p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, data) {
		t.Error("Encode(Decode(file)) differs from the file")
	}
	if want := toProto(c, ch); !proto.Equal(p, want) {
		t.Error("Decode does not give back the payload that was compiled")
	}
}

// TestUnknownChunksAreSkipped checks that a chunk of a kind that a newer
// owl writes is verified and skipped by every reader.
func TestUnknownChunksAreSkipped(t *testing.T) {
	c, ch := generated(t, small)
	data, err := Compile(header(), c, ch)
	if err != nil {
		t.Fatal(err)
	}
	want, err := Load(data)
	if err != nil {
		t.Fatal(err)
	}
	extra := withChunk(t, data, pb.ChunkKind(9), []byte("from the future"))
	for name, load := range map[string]func([]byte) (*Course, error){
		"Load":   Load,
		"Reload": func(b []byte) (*Course, error) { return Reload(want, b) },
	} {
		got, err := load(extra)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		sameCourse(t, want, got)
	}
	if _, _, err := Decode(extra); err != nil {
		t.Errorf("Decode: %v", err)
	}
	damaged := bytes.Clone(extra)
	damaged[len(damaged)-2] ^= 1
	if _, err := Load(damaged); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "(kind 9)") {
		t.Errorf("damaged unknown chunk: error %v, want ErrCorrupt naming it", err)
	}
}

// withChunk returns the snapshot data with a chunk of kind holding msg
// appended.
func withChunk(t *testing.T, data []byte, kind pb.ChunkKind, msg []byte) []byte {
	t.Helper()
	n := binary.BigEndian.Uint32(data[len(Magic):])
	var hp pb.Header
	if err := proto.Unmarshal(data[len(Magic)+4:len(Magic)+4+int(n)], &hp); err != nil {
		t.Fatal(err)
	}
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	compressed := enc.EncodeAll(msg, nil)
	sum := sha256.Sum256(compressed)
	hp.Chunks = append(hp.Chunks, &pb.Chunk{Kind: kind, Size: uint64(len(compressed)), UncompressedSize: uint64(len(msg)), Sha256: sum[:]})
	hp.PayloadSize += uint64(len(compressed))
	hp.UncompressedSize += uint64(len(msg))
	var sums []byte
	for _, c := range hp.Chunks {
		sums = append(sums, c.Sha256...)
	}
	root := sha256.Sum256(sums)
	hp.PayloadSha256 = root[:]
	hb, err := proto.Marshal(&hp)
	if err != nil {
		t.Fatal(err)
	}
	out := binary.BigEndian.AppendUint32([]byte(Magic), uint32(len(hb)))
	out = append(out, hb...)
	out = append(out, data[len(Magic)+4+int(n):]...)
	return append(out, compressed...)
}
