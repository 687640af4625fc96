package snapshot

import (
	"crypto/sha256"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"unicode/utf8"

	"github.com/klauspost/compress/zstd"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/owlstack/owl/internal/course"
	pb "github.com/owlstack/owl/internal/course/snapshot/snapshotpb"
)

// Load verifies and decodes a snapshot file into a course ready to serve.
func Load(data []byte) (*Course, error) { return Reload(nil, data) }

// Reload verifies and decodes a snapshot file into a course ready to serve,
// reusing what it can of prev, a course already in memory (usually the
// previous version of the same course; nil for none): the skills whose
// chunk has the same checksum, with their challenges and indexes, the HLR
// weights, and the word and phrase index when no text it holds changed.
// Only the chunks that changed are verified, decompressed and decoded, so a
// new version costs a server in proportion to what changed, not to the size
// of the course. What is reused was decoded from verified bytes with the
// checksum the header lists, so the course is the one the header
// describes; the bytes of reused chunks are left to the file's SHA-256
// (Header.SHA256), which the course cache checks against the store's
// manifest. Format 1 files have no chunks and are always decoded whole.
//
// Servers load new versions while they serve requests, so Reload is gentle
// with them: it decodes one skill at a time, yields the processor between
// batches of challenges, and reuses its decompression buffer from one call
// to the next. A server has few cores, and without the yields a request
// could wait a whole scheduler time slice (10 ms) behind a refresh.
func Reload(prev *Course, data []byte) (*Course, error) {
	h, compressed, err := readHeader(data)
	if err != nil {
		return nil, err
	}
	if h.FormatVersion == 1 {
		return loadV1(h, compressed)
	}
	r := newChunkReader(h, compressed)
	defer r.close()

	if h.chunks[0].kind != pb.ChunkKind_CHUNK_KIND_COURSE {
		return nil, corrupt("%s: the course must come first", h.chunks[0].name(0, 0))
	}
	raw, err := r.read(0, 0)
	if err != nil {
		return nil, err
	}
	var pc pb.Course
	if err := proto.Unmarshal(raw, &pc); err != nil {
		return nil, corrupt("%s: %v", h.chunks[0].name(0, 0), err)
	}
	nskills := 0
	for _, c := range h.chunks {
		if c.kind == pb.ChunkKind_CHUNK_KIND_SKILL {
			nskills++
		}
	}
	counted := 0
	for _, pm := range pc.Modules {
		counted += int(pm.SkillCount)
		if counted > nskills {
			break
		}
	}
	if counted != nskills {
		return nil, corrupt("the course counts %d skills, the payload has %d", counted, nskills)
	}
	d := newDecoder()
	c := d.courseOnly(&pc)
	for i, pm := range pc.Modules {
		c.Modules[i].Skills = make([]course.Skill, 0, pm.SkillCount)
	}

	reuse := map[[sha256.Size]byte]*Skill{}
	if prev != nil {
		for i := range prev.Skills {
			if s := &prev.Skills[i]; s.sum != ([sha256.Size]byte{}) {
				reuse[s.sum] = s
			}
		}
	}
	out := &Course{Header: h, Course: c, Skills: make([]Skill, 0, nskills)}
	x := newIndexer()
	hasHLR := false
	m := 0 // the module of the next skill
	for i := 1; i < len(h.chunks); i++ {
		ch := &h.chunks[i]
		switch ch.kind {
		case pb.ChunkKind_CHUNK_KIND_COURSE:
			return nil, corrupt("%s: a second course", ch.name(i, len(out.Skills)))
		case pb.ChunkKind_CHUNK_KIND_SKILL:
			for len(c.Modules[m].Skills) == cap(c.Modules[m].Skills) {
				m++
			}
			var sk Skill
			if old, ok := reuse[ch.sum]; ok {
				c.Modules[m].Skills = append(c.Modules[m].Skills, *old.Skill)
				sk = *old
				sk.Skill, sk.Module = &c.Modules[m].Skills[len(c.Modules[m].Skills)-1], m
				out.stats.ReusedSkills++
			} else {
				raw, err := r.read(i, len(out.Skills))
				if err != nil {
					return nil, err
				}
				ps, sc, err := d.skillChunk(len(out.Skills), raw)
				if err != nil {
					return nil, corrupt("%s: %v", ch.name(i, len(out.Skills)), err)
				}
				c.Modules[m].Skills = append(c.Modules[m].Skills, d.skillOf(ps))
				sk = newSkill(&c.Modules[m].Skills[len(c.Modules[m].Skills)-1], m, sc, x)
				sk.sum = ch.sum
				out.stats.DecodedSkills++
				runtime.Gosched() // let requests run
			}
			out.Skills = append(out.Skills, sk)
		case pb.ChunkKind_CHUNK_KIND_HLR:
			if hasHLR {
				return nil, corrupt("%s: a second set of HLR weights", ch.name(i, len(out.Skills)))
			}
			hasHLR = true
			out.hlrSum = ch.sum
			if prev != nil && prev.HLR != nil && prev.hlrSum == ch.sum {
				out.HLR = prev.HLR
				continue
			}
			raw, err := r.read(i, len(out.Skills))
			if err != nil {
				return nil, err
			}
			var ph pb.HLRWeights
			if err := proto.Unmarshal(raw, &ph); err != nil {
				return nil, corrupt("%s: %v", ch.name(i, len(out.Skills)), err)
			}
			if out.HLR, err = hlrFromProto(&ph); err != nil {
				return nil, err
			}
		default:
			// A kind of chunk this owl does not know, written by a newer
			// one: verified, then skipped, as proto.Unmarshal skips unknown
			// fields.
			if err := h.verify(i, compressed); err != nil {
				return nil, err
			}
		}
	}
	out.index(prev)
	return out, nil
}

// skillChunk decodes a SkillChunk message: the skill and its challenges.
// A message field that repeats merges, as in proto.Unmarshal.
func (d *decoder) skillChunk(i int, b []byte) (*pb.Skill, course.SkillChallenges, error) {
	var ps pb.Skill
	var challenges []byte
	merge := proto.UnmarshalOptions{Merge: true}
	err := eachField(b, func(f field) error {
		switch {
		case f.is(1, protowire.BytesType):
			if err := merge.Unmarshal(f.b, &ps); err != nil {
				return fmt.Errorf("skill: %w", err)
			}
		case f.is(2, protowire.BytesType):
			if challenges == nil {
				challenges = f.b // no copy: b outlives the decoding
			} else {
				challenges = append(slices.Clip(challenges), f.b...)
			}
		}
		return nil
	})
	if err != nil {
		return nil, course.SkillChallenges{}, err
	}
	sc, err := d.skillBytes(i, challenges)
	return &ps, sc, err
}

// loadV1 decodes the payload of a format 1 file one skill at a time,
// converting each to its in-memory form before the next: the protobuf form
// of the whole payload never exists at once.
func loadV1(h *Header, compressed []byte) (*Course, error) {
	buf := rawBuffers.Get().(*[]byte)
	defer rawBuffers.Put(buf)
	raw, err := decompress(compressed, h.UncompressedSize, *buf)
	if cap(raw) > cap(*buf) {
		*buf = raw[:0]
	}
	if err != nil {
		return nil, corrupt("payload: %v", err)
	}

	d := newDecoder()
	var pc pb.Course
	var ph pb.HLRWeights
	hasCourse, hasHLR := false, false
	var skills []course.SkillChallenges
	merge := proto.UnmarshalOptions{Merge: true}
	for b := raw; len(b) > 0; {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, corrupt("payload: %v", protowire.ParseError(n))
		}
		b = b[n:]
		if typ != protowire.BytesType || num < 1 || num > 3 {
			// Not a field this owl knows: proto.Unmarshal would keep it
			// aside, unread.
			m := protowire.ConsumeFieldValue(num, typ, b)
			if m < 0 {
				return nil, corrupt("payload: %v", protowire.ParseError(m))
			}
			b = b[m:]
			continue
		}
		v, m := protowire.ConsumeBytes(b)
		if m < 0 {
			return nil, corrupt("payload: %v", protowire.ParseError(m))
		}
		b = b[m:]
		switch num {
		case 1: // course; a repeated message field merges, as in proto.Unmarshal
			if err := merge.Unmarshal(v, &pc); err != nil {
				return nil, corrupt("payload course: %v", err)
			}
			hasCourse = true
		case 2: // the challenges of one skill
			sc, err := d.skillBytes(len(skills), v)
			if err != nil {
				return nil, err
			}
			skills = append(skills, sc)
		case 3: // HLR weights
			if err := merge.Unmarshal(v, &ph); err != nil {
				return nil, corrupt("payload HLR weights: %v", err)
			}
			hasHLR = true
		}
	}
	var pcp *pb.Course
	if hasCourse {
		pcp = &pc
	}
	c, err := d.course(pcp, len(skills))
	if err != nil {
		return nil, err
	}
	var php *pb.HLRWeights
	if hasHLR {
		php = &ph
	}
	hlr, err := hlrFromProto(php)
	if err != nil {
		return nil, err
	}
	out := NewCourse(h, c, skills)
	out.HLR = hlr
	return out, nil
}

// rawBuffers holds decompression buffers for reuse by Load: a payload is
// megabytes, and a server that refreshes its courses would otherwise
// allocate (and collect) one per refresh.
var rawBuffers = sync.Pool{New: func() any { return new([]byte) }}

// chunkReader decompresses the chunks of a format 2 payload, one at a
// time, into a buffer it reuses.
type chunkReader struct {
	h       *Header
	payload []byte
	buf     *[]byte
}

func newChunkReader(h *Header, payload []byte) *chunkReader {
	return &chunkReader{h: h, payload: payload, buf: rawBuffers.Get().(*[]byte)}
}

// read verifies and decompresses chunk i, of skill index skill; the bytes
// are valid until the next read.
func (r *chunkReader) read(i, skill int) ([]byte, error) {
	if err := r.h.verify(i, r.payload); err != nil {
		return nil, err
	}
	c := &r.h.chunks[i]
	raw, err := decompress(r.payload[c.off:c.off+c.size], c.rawSize, *r.buf)
	if cap(raw) > cap(*r.buf) {
		*r.buf = raw[:0]
	}
	if err != nil {
		return nil, corrupt("%s: %v", c.name(i, skill), err)
	}
	return raw, nil
}

func (r *chunkReader) close() { rawBuffers.Put(r.buf) }

// zstdDecoder decompresses chunks, for up to GOMAXPROCS goroutines at
// once (DecodeAll starts no goroutines). It is made when the package
// loads, not on first use: a decoder made inside a testing/synctest bubble
// holds that bubble's channels, and any use of it outside the bubble is a
// fatal error.
var zstdDecoder = func() *zstd.Decoder {
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecodeAllCapLimit(true), zstd.WithDecoderMaxMemory(maxUncompressedSize))
	if err != nil {
		panic(err) // only invalid options fail
	}
	return dec
}()

// decompress decompresses verified bytes that the header says are size
// bytes decompressed, into dst's memory when it is large enough. It never
// decompresses more than size bytes.
func decompress(compressed []byte, size int64, dst []byte) ([]byte, error) {
	// A frame that says how large it is (owl's always do) is checked
	// before the memory for it is allocated.
	var fh zstd.Header
	if err := fh.Decode(compressed); err == nil && fh.HasFCS && fh.FrameContentSize != uint64(size) {
		return dst, fmt.Errorf("decompresses to %d bytes, header says %d", fh.FrameContentSize, size)
	}
	if int64(cap(dst)) < size {
		dst = make([]byte, 0, size)
	}
	raw, err := zstdDecoder.DecodeAll(compressed, dst[:0:size]) // the capacity limits the output
	if err != nil {
		return raw, fmt.Errorf("decompress: %w", err)
	}
	if int64(len(raw)) != size {
		return raw, fmt.Errorf("decompresses to %d bytes, header says %d", len(raw), size)
	}
	return raw, nil
}

// yieldEvery is how many challenges Load decodes between two yields: about
// a hundred microseconds of work.
const yieldEvery = 64

// skillBytes decodes the SkillChallenges message v of skill i one challenge
// at a time (see wire.go), yielding the processor between batches.
// It reads the message as proto.Unmarshal does: the last value of a
// scalar field wins, and fields this owl does not know are skipped.
func (d *decoder) skillBytes(i int, v []byte) (course.SkillChallenges, error) {
	sc := course.SkillChallenges{Challenges: make([]course.Challenge, 0, countChallenges(v))}
	for b := v; len(b) > 0; {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return sc, corrupt("payload skill %d: %v", i, protowire.ParseError(n))
		}
		b = b[n:]
		switch {
		case num == 1 && typ == protowire.BytesType: // id
			id, m := protowire.ConsumeString(b)
			if m < 0 {
				return sc, corrupt("payload skill %d id: %v", i, protowire.ParseError(m))
			}
			if !utf8.ValidString(id) {
				return sc, corrupt("payload skill %d id: invalid UTF-8", i)
			}
			sc.ID = d.s(id)
			b = b[m:]
		case num == 2 && typ == protowire.VarintType: // levels
			l, m := protowire.ConsumeVarint(b)
			if m < 0 {
				return sc, corrupt("payload skill %d levels: %v", i, protowire.ParseError(m))
			}
			sc.Levels = int(uint32(l))
			b = b[m:]
		case num == 3 && typ == protowire.BytesType: // one challenge
			cv, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return sc, corrupt("payload skill %d: %v", i, protowire.ParseError(m))
			}
			b = b[m:]
			ch, err := d.challengeBytes(cv)
			if err != nil {
				return sc, corrupt("skill %d challenge %d: %v", i, len(sc.Challenges), err)
			}
			sc.Challenges = append(sc.Challenges, ch)
			if len(sc.Challenges)%yieldEvery == 0 {
				runtime.Gosched() // let requests run
			}
		default:
			m := protowire.ConsumeFieldValue(num, typ, b)
			if m < 0 {
				return sc, corrupt("payload skill %d: %v", i, protowire.ParseError(m))
			}
			b = b[m:]
		}
	}
	return sc, nil
}

// countChallenges returns how many challenges the SkillChallenges message
// v holds, at most: the fields numbered 3 that are length-delimited,
// counted until the first malformed field, which skillBytes reports. It
// stops at maxPrealloc, so that a crafted message of many tiny fields
// does not make skillBytes allocate many times its size up front.
func countChallenges(v []byte) int {
	const maxPrealloc = 1 << 16
	n := 0
	for b := v; len(b) > 0 && n < maxPrealloc; {
		num, typ, m := protowire.ConsumeTag(b)
		if m < 0 {
			break
		}
		b = b[m:]
		if num == 3 && typ == protowire.BytesType {
			n++
		}
		if m = protowire.ConsumeFieldValue(num, typ, b); m < 0 {
			break
		}
		b = b[m:]
	}
	return n
}
