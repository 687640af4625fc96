package stitch

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"time"

	"github.com/owlstack/owl/internal/tracing"
)

// node is one parsed log line on its way to a trace: its span, with the
// parent not yet resolved, and the raw linking fields.
type node struct {
	trace  [16]byte
	span   tracing.Span
	self   string // the ALB Self the lb added, or the one a server received
	parent string // the parent span id the record or header named
}

// nodeOverhead is what a buffered node costs besides its strings: the
// allocation headers of its strings and maps (the node itself is counted
// with the buffer's capacity).
const nodeOverhead = 64

// attrsSize estimates the memory of an attribute map.
func attrsSize(m map[string]string) int64 {
	var sz int64
	for k, v := range m {
		sz += 48 + int64(len(k)+len(v))
	}
	return sz
}

// size estimates the memory n holds besides the node itself.
func (n *node) size() int64 {
	s := &n.span
	sz := nodeOverhead + len(s.SpanID) + len(s.Kind) + len(s.Service) + len(s.Caller) + len(s.Peer) + len(s.Method) + len(s.Route) +
		len(s.Path) + len(s.ContentType) + len(s.Encoding) + len(s.AcceptEncoding) + len(s.Fingerprint) + len(s.Error) + len(n.self) + len(n.parent)
	return int64(sz) + attrsSize(s.Attrs)
}

// The spill format: per node a uvarint length, then the fields, strings as
// uvarint length and bytes, numbers as varints.

func appendNode(b []byte, n *node) []byte {
	start := len(b)
	b = append(b, 0, 0, 0, 0, 0) // room for the length, fixed below
	b = append(b, n.trace[:]...)
	s := &n.span
	for _, v := range [...]string{s.SpanID, s.Kind, s.Service, s.Caller, s.Peer, s.Method, s.Route, s.Path, s.ContentType, s.Encoding, s.AcceptEncoding, s.Fingerprint, s.Error, n.self, n.parent} {
		b = binary.AppendUvarint(b, uint64(len(v)))
		b = append(b, v...)
	}
	for _, v := range [...]int64{int64(s.Status), s.Start.UnixMicro(), s.DurationUS, s.ReqBytes, s.RespBytes} {
		b = binary.AppendVarint(b, v)
	}
	b = binary.AppendUvarint(b, uint64(len(s.Attrs)))
	for k, v := range s.Attrs {
		b = binary.AppendUvarint(b, uint64(len(k)))
		b = append(b, k...)
		b = binary.AppendUvarint(b, uint64(len(v)))
		b = append(b, v...)
	}
	// Fixed five-byte length prefix: simple to patch and to read.
	n5 := uint64(len(b) - start - 5)
	for i := range 5 {
		b[start+i] = byte(n5 >> (8 * i))
	}
	return b
}

var errCorrupt = errors.New("corrupt spill file")

// runReader reads nodes back from a spill file.
type runReader struct {
	r   *bufio.Reader
	buf []byte
}

func (rr *runReader) next(n *node) error {
	var hdr [5]byte
	if _, err := io.ReadFull(rr.r, hdr[:]); err != nil {
		if err == io.ErrUnexpectedEOF {
			return errCorrupt
		}
		return err
	}
	var size uint64
	for i := range 5 {
		size |= uint64(hdr[i]) << (8 * i)
	}
	if size > 1<<30 {
		return errCorrupt
	}
	if uint64(cap(rr.buf)) < size {
		rr.buf = make([]byte, size)
	}
	b := rr.buf[:size]
	if _, err := io.ReadFull(rr.r, b); err != nil {
		return errCorrupt
	}
	return decodeNode(b, n)
}

// decodeNode decodes one spilled node; its strings are slices of one
// string made from b, one allocation per node.
func decodeNode(b []byte, n *node) error {
	if len(b) < 16 {
		return errCorrupt
	}
	copy(n.trace[:], b[:16])
	d := decoder{s: string(b[16:])}
	s := &n.span
	*s = tracing.Span{}
	for _, p := range [...]*string{&s.SpanID, &s.Kind, &s.Service, &s.Caller, &s.Peer, &s.Method, &s.Route, &s.Path, &s.ContentType, &s.Encoding, &s.AcceptEncoding, &s.Fingerprint, &s.Error, &n.self, &n.parent} {
		*p = d.str()
	}
	s.Status = int(d.int())
	s.Start = time.UnixMicro(d.int()).UTC()
	s.DurationUS = d.int()
	s.ReqBytes = d.int()
	s.RespBytes = d.int()
	if na := d.uint(); na > 0 && d.err == nil {
		if na > uint64(len(d.s)) {
			return errCorrupt
		}
		s.Attrs = make(map[string]string, na)
		for range na {
			k := d.str()
			s.Attrs[k] = d.str()
		}
	}
	if d.err != nil || len(d.s) != 0 {
		return errCorrupt
	}
	return nil
}

// decoder reads the spill format from a string.
type decoder struct {
	s   string
	err error
}

func (d *decoder) uint() uint64 {
	var v uint64
	for i := 0; i < len(d.s) && i < binary.MaxVarintLen64; i++ {
		c := d.s[i]
		if c < 0x80 {
			if i == binary.MaxVarintLen64-1 && c > 1 {
				break // overflow
			}
			d.s = d.s[i+1:]
			return v | uint64(c)<<(7*i)
		}
		v |= uint64(c&0x7f) << (7 * i)
	}
	d.err = errCorrupt
	return 0
}

func (d *decoder) int() int64 {
	u := d.uint()
	v := int64(u >> 1)
	if u&1 != 0 {
		v = ^v
	}
	return v
}

func (d *decoder) str() string {
	l := d.uint()
	if d.err != nil || l > uint64(len(d.s)) {
		d.err = errCorrupt
		return ""
	}
	s := d.s[:l]
	d.s = d.s[l:]
	return s
}
