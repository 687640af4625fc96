// Package snapshot reads and writes owl course snapshots: the compiled form
// of a course that servers load into memory.
//
// A snapshot file is the magic "OWLCSNAP", a big-endian uint32 header
// length, a protobuf Header (snapshotpb/snapshot.proto), and the payload.
// The payload of format 2, which this package writes, is a sequence of
// chunks compressed one by one with zstd: the course, then each skill with
// its challenges, then the HLR weights. The header carries the format
// version, course id and version, compiler version and a table of contents
// with the SHA-256 of every compressed chunk, which a reader checks before
// it decompresses anything. Consecutive versions of a course share most of
// their chunks, so a server that holds the previous version decodes only
// the skills that changed (see Reload). Format 1, one zstd stream for the
// whole payload, is still read.
// A store names a snapshot by the SHA-256 of the whole file.
// Nothing in a snapshot depends on when or where it was built, so the same
// source always gives byte-identical files.
package snapshot

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/klauspost/compress/zstd"
	"google.golang.org/protobuf/proto"

	"github.com/owlstack/owl/internal/course/snapshot/snapshotpb"
)

// Magic starts every snapshot file.
const Magic = "OWLCSNAP"

// FormatVersion is the layout version this package writes. It reads this
// one and format 1.
const FormatVersion = 2

// Extension is the file name extension of snapshots.
const Extension = ".owlc"

const (
	maxHeaderSize       = 1 << 20
	maxUncompressedSize = 2 << 30
)

// ErrCorrupt is wrapped by every error about a damaged or foreign file.
var ErrCorrupt = errors.New("corrupt snapshot")

// Header describes a snapshot file.
type Header struct {
	FormatVersion   int
	CourseID        string
	CourseVersion   string
	CompilerVersion string
	// SHA256 is the hex SHA-256 of the whole file, as sha256sum prints it;
	// it names the snapshot in a store.
	SHA256 string
	// PayloadSHA256 is the hex checksum of the payload that the header
	// records and every read verifies: in format 2 the SHA-256 of the
	// chunks' checksums, in format 1 the SHA-256 of the compressed payload.
	PayloadSHA256    string
	PayloadSize      int64
	UncompressedSize int64
	Summary          *snapshotpb.Summary

	// chunks is the table of contents of a format 2 payload.
	chunks []chunk
}

// chunk is one compressed part of a format 2 payload.
type chunk struct {
	kind snapshotpb.ChunkKind
	// off and size locate the compressed bytes in the payload.
	off, size int64
	rawSize   int64
	sum       [sha256.Size]byte
}

// name says which chunk c is, for errors: i is its index in the table of
// contents and skill the index of its skill.
func (c *chunk) name(i, skill int) string {
	switch c.kind {
	case snapshotpb.ChunkKind_CHUNK_KIND_COURSE:
		return fmt.Sprintf("chunk %d (course)", i)
	case snapshotpb.ChunkKind_CHUNK_KIND_SKILL:
		return fmt.Sprintf("chunk %d (skill %d)", i, skill)
	case snapshotpb.ChunkKind_CHUNK_KIND_HLR:
		return fmt.Sprintf("chunk %d (HLR weights)", i)
	}
	return fmt.Sprintf("chunk %d (kind %d)", i, c.kind)
}

var marshal = proto.MarshalOptions{Deterministic: true}

// newEncoder returns the zstd encoder of every snapshot: one goroutine and
// fixed settings keep the output identical run to run.
func newEncoder() (*zstd.Encoder, error) {
	return zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithEncoderLevel(zstd.SpeedBetterCompression), zstd.WithEncoderCRC(false))
}

// Encode writes a format 2 snapshot of payload. Only the course id and
// version, the compiler version and the summary are taken from h; the rest
// is computed.
func Encode(h Header, payload *snapshotpb.Payload) ([]byte, error) {
	parts, err := split(payload)
	if err != nil {
		return nil, fmt.Errorf("encode snapshot payload: %w", err)
	}
	enc, err := newEncoder()
	if err != nil {
		return nil, err
	}
	defer enc.Close()
	var body []byte
	toc := make([]*snapshotpb.Chunk, len(parts))
	sums := make([]byte, 0, len(parts)*sha256.Size)
	var rawSize uint64
	for i, p := range parts {
		raw, err := marshal.Marshal(p.msg)
		if err != nil {
			return nil, fmt.Errorf("encode snapshot payload: %w", err)
		}
		start := len(body)
		body = enc.EncodeAll(raw, body)
		sum := sha256.Sum256(body[start:])
		toc[i] = &snapshotpb.Chunk{Kind: p.kind, Size: uint64(len(body) - start), UncompressedSize: uint64(len(raw)), Sha256: sum[:]}
		sums = append(sums, sum[:]...)
		rawSize += uint64(len(raw))
	}
	root := sha256.Sum256(sums)
	hb, err := marshal.Marshal(&snapshotpb.Header{
		FormatVersion:    FormatVersion,
		CourseId:         h.CourseID,
		CourseVersion:    h.CourseVersion,
		CompilerVersion:  h.CompilerVersion,
		PayloadSha256:    root[:],
		PayloadSize:      uint64(len(body)),
		UncompressedSize: rawSize,
		Compression:      "zstd",
		Summary:          h.Summary,
		Chunks:           toc,
	})
	if err != nil {
		return nil, fmt.Errorf("encode snapshot header: %w", err)
	}
	var buf bytes.Buffer
	buf.Grow(len(Magic) + 4 + len(hb) + len(body))
	buf.WriteString(Magic)
	buf.Write(binary.BigEndian.AppendUint32(nil, uint32(len(hb))))
	buf.Write(hb)
	buf.Write(body)
	return buf.Bytes(), nil
}

// part is a message to encode as one chunk.
type part struct {
	kind snapshotpb.ChunkKind
	msg  proto.Message
}

// split cuts a payload into the messages of its chunks: the course with
// its modules' skills counted rather than held, one SkillChunk per skill,
// and the HLR weights.
func split(p *snapshotpb.Payload) ([]part, error) {
	pc, _ := proto.Clone(p.GetCourse()).(*snapshotpb.Course)
	if pc == nil {
		return nil, errors.New("payload has no course")
	}
	var skills []*snapshotpb.Skill
	for _, m := range pc.Modules {
		skills = append(skills, m.Skills...)
		m.SkillCount, m.Skills = uint32(len(m.Skills)), nil
	}
	if len(skills) != len(p.Skills) {
		return nil, fmt.Errorf("payload has challenges for %d skills, its course has %d", len(p.Skills), len(skills))
	}
	parts := make([]part, 0, len(skills)+2)
	parts = append(parts, part{snapshotpb.ChunkKind_CHUNK_KIND_COURSE, pc})
	for i, s := range skills {
		parts = append(parts, part{snapshotpb.ChunkKind_CHUNK_KIND_SKILL, &snapshotpb.SkillChunk{Skill: s, Challenges: p.Skills[i]}})
	}
	if p.Hlr != nil {
		parts = append(parts, part{snapshotpb.ChunkKind_CHUNK_KIND_HLR, p.Hlr})
	}
	return parts, nil
}

func corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

// ReadHeader parses the header of a snapshot file and verifies the payload
// checksums, without decompressing. It returns the header and the
// compressed payload.
func ReadHeader(data []byte) (*Header, []byte, error) {
	h, payload, err := readHeader(data)
	if err != nil {
		return nil, nil, err
	}
	for i := range h.chunks {
		if err := h.verify(i, payload); err != nil {
			return nil, nil, err
		}
	}
	return h, payload, nil
}

// readHeader is ReadHeader without the verification of the chunks of a
// format 2 payload, which the loaders verify one by one, as they read them.
func readHeader(data []byte) (*Header, []byte, error) {
	if len(data) < len(Magic)+4 || string(data[:len(Magic)]) != Magic {
		return nil, nil, corrupt("not an owl snapshot (no %q magic)", Magic)
	}
	n := binary.BigEndian.Uint32(data[len(Magic):])
	rest := data[len(Magic)+4:]
	if n > maxHeaderSize || int(n) > len(rest) {
		return nil, nil, corrupt("header length %d exceeds the file", n)
	}
	var hp snapshotpb.Header
	if err := proto.Unmarshal(rest[:n], &hp); err != nil {
		return nil, nil, corrupt("header: %v", err)
	}
	if hp.FormatVersion != 1 && hp.FormatVersion != FormatVersion {
		return nil, nil, corrupt("format version %d; this owl reads versions 1 and %d", hp.FormatVersion, FormatVersion)
	}
	if hp.Compression != "zstd" {
		return nil, nil, corrupt("unknown compression %q", hp.Compression)
	}
	payload := rest[n:]
	if uint64(len(payload)) != hp.PayloadSize {
		return nil, nil, corrupt("payload is %d bytes, header says %d (truncated?)", len(payload), hp.PayloadSize)
	}
	if len(hp.PayloadSha256) != sha256.Size {
		return nil, nil, corrupt("header has no payload checksum")
	}
	if hp.UncompressedSize > maxUncompressedSize {
		return nil, nil, corrupt("uncompressed size %d is over the limit of %d", hp.UncompressedSize, maxUncompressedSize)
	}
	h := &Header{
		FormatVersion:    int(hp.FormatVersion),
		CourseID:         hp.CourseId,
		CourseVersion:    hp.CourseVersion,
		CompilerVersion:  hp.CompilerVersion,
		SHA256:           fileSum(data),
		PayloadSHA256:    hex.EncodeToString(hp.PayloadSha256),
		PayloadSize:      int64(hp.PayloadSize),
		UncompressedSize: int64(hp.UncompressedSize),
		Summary:          hp.Summary,
	}
	if hp.FormatVersion == 1 {
		if sum := sum256(payload); !bytes.Equal(sum[:], hp.PayloadSha256) {
			return nil, nil, corrupt("payload checksum %x does not match the header's %x", sum[:6], hp.PayloadSha256[:6])
		}
		return h, payload, nil
	}
	chunks, err := readChunks(&hp, payload)
	if err != nil {
		return nil, nil, err
	}
	h.chunks = chunks
	return h, payload, nil
}

// readChunks checks the table of contents of a format 2 payload against
// the payload and the header's checksum.
func readChunks(hp *snapshotpb.Header, payload []byte) ([]chunk, error) {
	if len(hp.Chunks) == 0 {
		return nil, corrupt("header lists no chunks")
	}
	chunks := make([]chunk, len(hp.Chunks))
	sums := make([]byte, 0, len(hp.Chunks)*sha256.Size)
	var off, raw uint64
	for i, pc := range hp.Chunks {
		if len(pc.Sha256) != sha256.Size {
			return nil, corrupt("chunk %d has no checksum", i)
		}
		if pc.Size > uint64(len(payload))-off {
			return nil, corrupt("chunk %d ends past the payload's %d bytes (truncated?)", i, len(payload))
		}
		if pc.UncompressedSize > maxUncompressedSize-raw {
			return nil, corrupt("uncompressed size is over the limit of %d", maxUncompressedSize)
		}
		chunks[i] = chunk{kind: pc.Kind, off: int64(off), size: int64(pc.Size), rawSize: int64(pc.UncompressedSize)}
		copy(chunks[i].sum[:], pc.Sha256)
		sums = append(sums, pc.Sha256...)
		off += pc.Size
		raw += pc.UncompressedSize
	}
	if off != uint64(len(payload)) {
		return nil, corrupt("payload is %d bytes, its chunks %d", len(payload), off)
	}
	if raw != hp.UncompressedSize {
		return nil, corrupt("chunks decompress to %d bytes, header says %d", raw, hp.UncompressedSize)
	}
	if sum := sha256.Sum256(sums); !bytes.Equal(sum[:], hp.PayloadSha256) {
		return nil, corrupt("checksum %x of the table of contents does not match the header's %x", sum[:6], hp.PayloadSha256[:6])
	}
	return chunks, nil
}

// verify checks chunk i of payload against its checksum.
func (h *Header) verify(i int, payload []byte) error {
	c := &h.chunks[i]
	if sum := sum256(payload[c.off : c.off+c.size]); sum != c.sum {
		skill := 0
		for _, o := range h.chunks[:i] {
			if o.kind == snapshotpb.ChunkKind_CHUNK_KIND_SKILL {
				skill++
			}
		}
		return corrupt("%s: checksum %x does not match the header's %x", c.name(i, skill), sum[:6], c.sum[:6])
	}
	return nil
}

func fileSum(data []byte) string {
	sum := sum256(data)
	return hex.EncodeToString(sum[:])
}

// sum256 is sha256.Sum256 in pieces: the assembly that hashes a piece
// cannot be preempted, and a server hashes megabytes while it serves
// requests, which would wait for a stop-the-world phase of the garbage
// collector until a whole file is hashed.
func sum256(data []byte) [sha256.Size]byte {
	const piece = 64 << 10
	if len(data) <= piece {
		return sha256.Sum256(data)
	}
	h := sha256.New()
	for len(data) > 0 {
		n := min(len(data), piece)
		h.Write(data[:n])
		data = data[n:]
	}
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

// Decode verifies a snapshot file and returns its header and payload, in
// the form of a format 1 payload whatever the file's format.
func Decode(data []byte) (*Header, *snapshotpb.Payload, error) {
	h, compressed, err := readHeader(data)
	if err != nil {
		return nil, nil, err
	}
	if h.FormatVersion == 1 {
		raw, err := decompress(compressed, h.UncompressedSize, nil)
		if err != nil {
			return nil, nil, corrupt("payload: %v", err)
		}
		var p snapshotpb.Payload
		if err := proto.Unmarshal(raw, &p); err != nil {
			return nil, nil, corrupt("payload: %v", err)
		}
		return h, &p, nil
	}
	r := newChunkReader(h, compressed)
	defer r.close()
	p := &snapshotpb.Payload{}
	var skills []*snapshotpb.Skill
	for i := range h.chunks {
		c := &h.chunks[i]
		if c.kind < snapshotpb.ChunkKind_CHUNK_KIND_COURSE || c.kind > snapshotpb.ChunkKind_CHUNK_KIND_HLR {
			// Written by a newer owl: verified and skipped, as Load does.
			if err := h.verify(i, compressed); err != nil {
				return nil, nil, err
			}
			continue
		}
		raw, err := r.read(i, len(skills))
		if err != nil {
			return nil, nil, err
		}
		switch c.kind {
		case snapshotpb.ChunkKind_CHUNK_KIND_COURSE:
			if i != 0 {
				return nil, nil, corrupt("%s: the course must come first", c.name(i, len(skills)))
			}
			p.Course = &snapshotpb.Course{}
			err = proto.Unmarshal(raw, p.Course)
		case snapshotpb.ChunkKind_CHUNK_KIND_SKILL:
			var sc snapshotpb.SkillChunk
			err = proto.Unmarshal(raw, &sc)
			skills = append(skills, sc.GetSkill())
			p.Skills = append(p.Skills, sc.GetChallenges())
		case snapshotpb.ChunkKind_CHUNK_KIND_HLR:
			p.Hlr = &snapshotpb.HLRWeights{}
			err = proto.Unmarshal(raw, p.Hlr)
		}
		if err != nil {
			return nil, nil, corrupt("%s: %v", c.name(i, len(skills)), err)
		}
	}
	if p.Course == nil {
		return nil, nil, corrupt("payload has no course")
	}
	for _, m := range p.Course.Modules {
		n := int(m.SkillCount)
		if n > len(skills) {
			return nil, nil, corrupt("module %q counts %d skills, the payload has %d more", m.Name, n, len(skills))
		}
		for _, s := range skills[:n] {
			if s == nil {
				s = &snapshotpb.Skill{}
			}
			m.Skills = append(m.Skills, s)
		}
		skills, m.SkillCount = skills[n:], 0
	}
	if len(skills) > 0 {
		return nil, nil, corrupt("payload has %d skills that no module counts", len(skills))
	}
	for i, s := range p.Skills {
		if s == nil {
			p.Skills[i] = &snapshotpb.SkillChallenges{}
		}
	}
	return h, p, nil
}
