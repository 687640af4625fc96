package snapshot

import (
	"runtime"
	"sync"
	"unicode/utf8"

	"github.com/klauspost/compress/zstd"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/owlstack/owl/internal/course"
	pb "github.com/owlstack/owl/internal/course/snapshot/snapshotpb"
)

// Load verifies and decodes a snapshot file into a course ready to serve.
//
// Servers load new versions while they serve requests, so Load is gentle
// with them: it decodes the payload one skill at a time, converting each
// to its in-memory form before the next (the protobuf form of the whole
// payload never exists at once), yields the processor between skills, and
// reuses its decompression buffer from one call to the next. A server has
// few cores, and without the yields a request could wait a whole
// scheduler time slice (10 ms) behind a refresh.
func Load(data []byte) (*Course, error) {
	h, compressed, err := ReadHeader(data)
	if err != nil {
		return nil, err
	}
	buf := rawBuffers.Get().(*[]byte)
	defer rawBuffers.Put(buf)
	raw, err := decompress(h, compressed, (*buf)[:0])
	if err != nil {
		return nil, err
	}
	*buf = raw[:0]

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

// decompress decompresses a verified payload into dst, checking its size
// against the header's.
func decompress(h *Header, compressed, dst []byte) ([]byte, error) {
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(uint64(h.UncompressedSize)+1))
	if err != nil {
		return nil, err
	}
	defer dec.Close()
	if int64(cap(dst)) < h.UncompressedSize {
		dst = make([]byte, 0, h.UncompressedSize)
	}
	raw, err := dec.DecodeAll(compressed, dst[:0])
	if err != nil {
		return nil, corrupt("decompress payload: %v", err)
	}
	if int64(len(raw)) != h.UncompressedSize {
		return nil, corrupt("payload decompresses to %d bytes, header says %d", len(raw), h.UncompressedSize)
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
	var sc course.SkillChallenges
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
	if sc.Challenges == nil {
		sc.Challenges = []course.Challenge{}
	}
	return sc, nil
}
