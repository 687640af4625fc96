package stitch

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"time"

	"github.com/owlstack/owl/internal/tracectx"
	"github.com/owlstack/owl/internal/tracing"
)

// A record is one parsed log line in the compact form the stitcher
// buffers, sorts, spills and merges: a key, three numbers that order it,
// and a payload of bytes with the rest, decoded only when its trace is
// built.
//
// The payload:
//
//	seq      8 bytes, little-endian: where the line was read; among
//	         duplicates the line read first wins
//	flags    1 byte: the kind (low two bits), flagParent, flagSelf, flagAttrs
//	parent   8 bytes if flagParent: the parent span id the line named
//	self     8 bytes if flagSelf: the span id of the ALB named by Self
//	status, start (Unix µs), duration (µs), request and response bytes: varints
//	service, caller, peer, method, route, path, content type, encoding,
//	accept encoding, fingerprint, error: each a uvarint length and bytes
//	attrs    if flagAttrs: a uvarint count, then keys and values as strings

// key orders records by trace id, then span id. Span ids are 16
// lower-case hex digits, so their numeric order is their text order.
type key struct {
	hi, lo uint64 // the trace id, big-endian halves
	span   uint64
}

func newKey(id *tracectx.TraceID, span uint64) key {
	return key{hi: binary.BigEndian.Uint64(id[:8]), lo: binary.BigEndian.Uint64(id[8:]), span: span}
}

func (k key) sameTrace(o key) bool { return k.hi == o.hi && k.lo == o.lo }

func (k key) traceID() tracectx.TraceID {
	var id tracectx.TraceID
	binary.BigEndian.PutUint64(id[:8], k.hi)
	binary.BigEndian.PutUint64(id[8:], k.lo)
	return id
}

func compareKeys(a, b key) int {
	switch {
	case a.hi != b.hi:
		return cmpUint(a.hi, b.hi)
	case a.lo != b.lo:
		return cmpUint(a.lo, b.lo)
	}
	return cmpUint(a.span, b.span)
}

func cmpUint(a, b uint64) int {
	if a < b {
		return -1
	}
	if a > b {
		return 1
	}
	return 0
}

// seqOf is the read position at the start of a payload.
func seqOf(p []byte) uint64 { return binary.LittleEndian.Uint64(p) }

// compareRecords orders records by key, then duplicates by read position.
func compareRecords(ka key, pa []byte, kb key, pb []byte) int {
	if c := compareKeys(ka, kb); c != 0 {
		return c
	}
	return cmpUint(seqOf(pa), seqOf(pb))
}

// minPayload is the seq and the flags.
const minPayload = 9

// links are the fields of a payload that link its span into the tree.
type links struct {
	kind      uint8
	hasParent bool
	hasSelf   bool
	parent    uint64
	self      uint64 // the span id of the ALB named by Self
}

var errCorrupt = errors.New("corrupt spill file")

// decodePayload decodes the payload p into sp and l; sp's strings are
// slices of p, which the caller makes from one string per trace.
func decodePayload(p string, sp *tracing.Span, l *links) error {
	if len(p) < minPayload {
		return errCorrupt
	}
	flags := p[8]
	*l = links{kind: flags & 3, hasParent: flags&flagParent != 0, hasSelf: flags&flagSelf != 0}
	if l.kind > kindLB || flags>>5 != 0 {
		return errCorrupt
	}
	d := decoder{s: p[minPayload:]}
	if l.hasParent {
		l.parent = d.fixed()
	}
	if l.hasSelf {
		l.self = d.fixed()
	}
	*sp = tracing.Span{Kind: kindNames[l.kind]}
	sp.Status = int(d.int())
	sp.Start = time.UnixMicro(d.int()).UTC()
	sp.DurationUS = d.int()
	sp.ReqBytes = d.int()
	sp.RespBytes = d.int()
	for _, f := range [...]*string{&sp.Service, &sp.Caller, &sp.Peer, &sp.Method, &sp.Route, &sp.Path, &sp.ContentType, &sp.Encoding, &sp.AcceptEncoding, &sp.Fingerprint, &sp.Error} {
		*f = d.str()
	}
	if flags&flagAttrs != 0 && d.err == nil {
		n := d.uint()
		if n == 0 || n > uint64(len(d.s)) {
			return errCorrupt
		}
		sp.Attrs = make(map[string]string, n)
		for range n {
			k := d.str()
			sp.Attrs[k] = d.str()
		}
	}
	if d.err != nil || len(d.s) != 0 {
		return errCorrupt
	}
	return nil
}

// decoder reads a payload from a string.
type decoder struct {
	s   string
	err error
}

func (d *decoder) fixed() uint64 {
	if len(d.s) < 8 {
		d.err = errCorrupt
		return 0
	}
	v := uint64(d.s[0])<<56 | uint64(d.s[1])<<48 | uint64(d.s[2])<<40 | uint64(d.s[3])<<32 |
		uint64(d.s[4])<<24 | uint64(d.s[5])<<16 | uint64(d.s[6])<<8 | uint64(d.s[7])
	d.s = d.s[8:]
	return v
}

func (d *decoder) uint() uint64 {
	if len(d.s) > 0 && d.s[0] < 0x80 { // most lengths: one byte
		v := uint64(d.s[0])
		d.s = d.s[1:]
		return v
	}
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
	d.s = ""
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
		d.s = ""
		return ""
	}
	s := d.s[:l]
	d.s = d.s[l:]
	return s
}

// The run file format: per record its key (24 bytes, big-endian), the
// payload's length (a uvarint) and the payload.

const keySize = 24

// maxPayload bounds a payload read back, so that a damaged length cannot
// ask for gigabytes.
const maxPayload = 1 << 30

// runWriter writes a run file.
type runWriter struct {
	w   *bufio.Writer
	hdr []byte
}

func newRunWriter(f io.Writer) *runWriter {
	return &runWriter{w: bufio.NewWriterSize(f, 1<<20), hdr: make([]byte, 0, keySize+binary.MaxVarintLen64)}
}

func (rw *runWriter) write(k key, p []byte) error {
	if rw.w.Available() >= keySize+binary.MaxVarintLen64+len(p) {
		// The common case: one copy, into the writer's buffer.
		b := rw.w.AvailableBuffer()
		b = binary.BigEndian.AppendUint64(b, k.hi)
		b = binary.BigEndian.AppendUint64(b, k.lo)
		b = binary.BigEndian.AppendUint64(b, k.span)
		b = binary.AppendUvarint(b, uint64(len(p)))
		b = append(b, p...)
		_, err := rw.w.Write(b)
		return err
	}
	h := rw.hdr[:0]
	h = binary.BigEndian.AppendUint64(h, k.hi)
	h = binary.BigEndian.AppendUint64(h, k.lo)
	h = binary.BigEndian.AppendUint64(h, k.span)
	h = binary.AppendUvarint(h, uint64(len(p)))
	if _, err := rw.w.Write(h); err != nil {
		return err
	}
	_, err := rw.w.Write(p)
	return err
}

func (rw *runWriter) flush() error { return rw.w.Flush() }

// runReader reads the records of a run file back, in order.
type runReader struct {
	r    io.Reader
	buf  []byte
	i, n int // buf[i:n] is read and not yet used
}

func newRunReader(r io.Reader, size int) *runReader {
	return &runReader{r: r, buf: make([]byte, size)}
}

// fill makes at least n bytes available, unless the input ends first
// (io.EOF) or fails.
func (rr *runReader) fill(n int) error {
	if rr.n-rr.i >= n {
		return nil
	}
	if rr.i > 0 {
		rr.n = copy(rr.buf, rr.buf[rr.i:rr.n])
		rr.i = 0
	}
	if n > len(rr.buf) {
		buf := make([]byte, max(n, 2*len(rr.buf)))
		copy(buf, rr.buf[:rr.n])
		rr.buf = buf
	}
	for rr.n < n {
		m, err := rr.r.Read(rr.buf[rr.n:])
		rr.n += m
		if err != nil {
			return err
		}
	}
	return nil
}

// next returns the next record; p is valid until the following call.
// ok is false at the end of the file.
func (rr *runReader) next() (k key, p []byte, ok bool, err error) {
	if err := rr.fill(keySize + binary.MaxVarintLen64); err != nil && !errors.Is(err, io.EOF) {
		return k, nil, false, err
	}
	b := rr.buf[rr.i:rr.n]
	if len(b) == 0 {
		return k, nil, false, nil
	}
	if len(b) <= keySize {
		return k, nil, false, errCorrupt
	}
	k = key{hi: binary.BigEndian.Uint64(b), lo: binary.BigEndian.Uint64(b[8:]), span: binary.BigEndian.Uint64(b[16:])}
	l, m := binary.Uvarint(b[keySize:])
	if m <= 0 || l < minPayload || l > maxPayload {
		return k, nil, false, errCorrupt
	}
	size := keySize + m + int(l)
	if err := rr.fill(size); err != nil && !errors.Is(err, io.EOF) {
		return k, nil, false, err
	}
	if rr.n-rr.i < size {
		return k, nil, false, errCorrupt
	}
	p = rr.buf[rr.i+keySize+m : rr.i+size]
	rr.i += size
	return k, p, true, nil
}

// openRun opens a run file for reading with a buffer of size bytes.
func openRun(path string, size int) (*os.File, *runReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	return f, newRunReader(f, size), nil
}
