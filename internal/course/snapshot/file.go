// Package snapshot reads and writes owl course snapshots: the compiled form
// of a course that servers load into memory.
//
// A snapshot file is the magic "OWLCSNAP", a big-endian uint32 header
// length, a protobuf Header (snapshotpb/snapshot.proto), and the payload: a
// protobuf Payload compressed with zstd. The header carries the format
// version, course id and version, compiler version and the SHA-256 of the
// compressed payload, which a reader checks before it decompresses anything.
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

// FormatVersion is the layout version this package writes and reads.
const FormatVersion = 1

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
	// PayloadSHA256 is the hex SHA-256 of the compressed payload, which
	// the header records and every read verifies.
	PayloadSHA256    string
	PayloadSize      int64
	UncompressedSize int64
	Summary          *snapshotpb.Summary
}

var marshal = proto.MarshalOptions{Deterministic: true}

// Encode writes a snapshot of payload. Only the course id and version, the
// compiler version and the summary are taken from h; the rest is computed.
func Encode(h Header, payload *snapshotpb.Payload) ([]byte, error) {
	raw, err := marshal.Marshal(payload)
	if err != nil {
		return nil, fmt.Errorf("encode snapshot payload: %w", err)
	}
	// One goroutine and fixed settings keep the output identical run to run.
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithEncoderLevel(zstd.SpeedBetterCompression), zstd.WithEncoderCRC(false))
	if err != nil {
		return nil, err
	}
	compressed := enc.EncodeAll(raw, nil)
	enc.Close()
	sum := sha256.Sum256(compressed)
	hb, err := marshal.Marshal(&snapshotpb.Header{
		FormatVersion:    FormatVersion,
		CourseId:         h.CourseID,
		CourseVersion:    h.CourseVersion,
		CompilerVersion:  h.CompilerVersion,
		PayloadSha256:    sum[:],
		PayloadSize:      uint64(len(compressed)),
		UncompressedSize: uint64(len(raw)),
		Compression:      "zstd",
		Summary:          h.Summary,
	})
	if err != nil {
		return nil, fmt.Errorf("encode snapshot header: %w", err)
	}
	var buf bytes.Buffer
	buf.Grow(len(Magic) + 4 + len(hb) + len(compressed))
	buf.WriteString(Magic)
	buf.Write(binary.BigEndian.AppendUint32(nil, uint32(len(hb))))
	buf.Write(hb)
	buf.Write(compressed)
	return buf.Bytes(), nil
}

func corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

// ReadHeader parses the header of a snapshot file and verifies the payload
// checksum, without decompressing. It returns the header and the
// compressed payload.
func ReadHeader(data []byte) (*Header, []byte, error) {
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
	if hp.FormatVersion != FormatVersion {
		return nil, nil, corrupt("format version %d; this owl reads version %d", hp.FormatVersion, FormatVersion)
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
	if sum := sha256.Sum256(payload); !bytes.Equal(sum[:], hp.PayloadSha256) {
		return nil, nil, corrupt("payload checksum %x does not match the header's %x", sum[:6], hp.PayloadSha256[:6])
	}
	if hp.UncompressedSize > maxUncompressedSize {
		return nil, nil, corrupt("uncompressed size %d is over the limit of %d", hp.UncompressedSize, maxUncompressedSize)
	}
	return &Header{
		FormatVersion:    int(hp.FormatVersion),
		CourseID:         hp.CourseId,
		CourseVersion:    hp.CourseVersion,
		CompilerVersion:  hp.CompilerVersion,
		SHA256:           fileSum(data),
		PayloadSHA256:    hex.EncodeToString(hp.PayloadSha256),
		PayloadSize:      int64(hp.PayloadSize),
		UncompressedSize: int64(hp.UncompressedSize),
		Summary:          hp.Summary,
	}, payload, nil
}

func fileSum(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// Decode verifies a snapshot file and returns its header and payload.
func Decode(data []byte) (*Header, *snapshotpb.Payload, error) {
	h, compressed, err := ReadHeader(data)
	if err != nil {
		return nil, nil, err
	}
	raw, err := decompress(h, compressed, nil)
	if err != nil {
		return nil, nil, err
	}
	var p snapshotpb.Payload
	if err := proto.Unmarshal(raw, &p); err != nil {
		return nil, nil, corrupt("payload: %v", err)
	}
	return h, &p, nil
}
