package tracectx

import (
	"crypto/hmac"
	"crypto/sha256"
	"hash"
	"sync"
)

// Hasher computes keyed hashes (HMAC-SHA256, first 64 bits in hex) of
// values that must not be stored but must be comparable: query strings, user
// agents, user ids and request fingerprints. Without the key the hashes
// cannot be reversed by guessing likely values.
type Hasher struct {
	pool sync.Pool
}

// macBuf is a pooled HMAC with the scratch space to feed it without
// allocating on every request.
type macBuf struct {
	mac hash.Hash
	buf []byte
	sum [sha256.Size]byte
}

// NewHasher returns a hasher with key; every service of a deployment must
// share the key for their hashes to match.
func NewHasher(key []byte) *Hasher {
	key = append([]byte(nil), key...)
	h := &Hasher{}
	h.pool.New = func() any { return &macBuf{mac: hmac.New(sha256.New, key), buf: make([]byte, 0, 256)} }
	return h
}

// Sum returns the keyed hash of s.
func (h *Hasher) Sum(s string) string {
	m := h.pool.Get().(*macBuf)
	m.buf = append(m.buf[:0], s...)
	return h.finish(m)
}

// Fingerprint is the keyed hash of a request: method, route (or host and
// path for a call), raw query and the digest of the body.
func (h *Hasher) Fingerprint(method, route, query string, body []byte) string {
	m := h.pool.Get().(*macBuf)
	b := append(m.buf[:0], method...)
	b = append(b, 0)
	b = append(b, route...)
	b = append(b, 0)
	b = append(b, query...)
	b = append(b, 0)
	m.buf = append(b, body...)
	return h.finish(m)
}

// finish hashes m.buf and returns the first 64 bits in hex.
func (h *Hasher) finish(m *macBuf) string {
	m.mac.Reset()
	m.mac.Write(m.buf)
	out := m.mac.Sum(m.sum[:0])
	var dst [16]byte
	for i := range 8 {
		dst[2*i], dst[2*i+1] = hexdigits[out[i]>>4], hexdigits[out[i]&15]
	}
	if cap(m.buf) <= 64<<10 { // do not keep a huge query's buffer
		h.pool.Put(m)
	}
	return string(dst[:])
}
