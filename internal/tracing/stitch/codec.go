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

func (n *node) size() int64 {
	s := &n.span
	// The node itself is about 400 bytes (a Span and two strings); its
	// strings come on top.
	sz := 450 + len(s.SpanID) + len(s.Kind) + len(s.Service) + len(s.Caller) + len(s.Peer) + len(s.Method) + len(s.Route) +
		len(s.Path) + len(s.ContentType) + len(s.Encoding) + len(s.Fingerprint) + len(s.Error) + len(n.self) + len(n.parent)
	for k, v := range s.Attrs {
		sz += 32 + len(k) + len(v)
	}
	return int64(sz)
}

// The spill format: per node a uvarint length, then the fields, strings as
// uvarint length and bytes, numbers as varints.

func appendNode(b []byte, n *node) []byte {
	start := len(b)
	b = append(b, 0, 0, 0, 0, 0) // room for the length, fixed below
	b = append(b, n.trace[:]...)
	s := &n.span
	for _, v := range [...]string{s.SpanID, s.Kind, s.Service, s.Caller, s.Peer, s.Method, s.Route, s.Path, s.ContentType, s.Encoding, s.Fingerprint, s.Error, n.self, n.parent} {
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

func decodeNode(b []byte, n *node) error {
	d := decoder{b: b}
	if len(b) < 16 {
		return errCorrupt
	}
	copy(n.trace[:], b[:16])
	d.b = b[16:]
	s := &n.span
	*s = tracing.Span{}
	for _, p := range [...]*string{&s.SpanID, &s.Kind, &s.Service, &s.Caller, &s.Peer, &s.Method, &s.Route, &s.Path, &s.ContentType, &s.Encoding, &s.Fingerprint, &s.Error, &n.self, &n.parent} {
		*p = d.str()
	}
	s.Status = int(d.int())
	s.Start = time.UnixMicro(d.int()).UTC()
	s.DurationUS = d.int()
	s.ReqBytes = d.int()
	s.RespBytes = d.int()
	if na := d.uint(); na > 0 && d.err == nil {
		if na > uint64(len(d.b)) {
			return errCorrupt
		}
		s.Attrs = make(map[string]string, na)
		for range na {
			k := d.str()
			s.Attrs[k] = d.str()
		}
	}
	if d.err != nil || len(d.b) != 0 {
		return errCorrupt
	}
	return nil
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errCorrupt
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) int() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errCorrupt
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) str() string {
	l := d.uint()
	if d.err != nil || l > uint64(len(d.b)) {
		d.err = errCorrupt
		return ""
	}
	s := string(d.b[:l])
	d.b = d.b[l:]
	return s
}
