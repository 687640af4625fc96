package tracectx

import (
	"crypto/hmac"
	"crypto/sha256"
	"hash"
	"hash/maphash"
	"sync"
	"sync/atomic"
)

// Hasher computes keyed hashes (HMAC-SHA256, first 64 bits in hex) of
// values that must not be stored but must be comparable: query strings, user
// agents, user ids and request fingerprints. Without the key the hashes
// cannot be reversed by guessing likely values.
//
// The same few values come back request after request (a handful of user
// agents, a user's id during their session, the same call repeated), so a
// Hasher remembers recent results in a small fixed table: a value seen twice
// is hashed once more and then answered from memory. It is safe for
// concurrent use.
type Hasher struct {
	pool  sync.Pool
	seed  maphash.Seed
	slots [cacheSlots]atomic.Pointer[cachedSum]
	// seen holds, per slot, the maphash of the last value that missed, so
	// a value is cached only on its second miss: values that never repeat
	// (unique query strings) cost no cache allocations.
	seen [cacheSlots]atomic.Uint64
}

const (
	cacheSlots = 1024 // a power of two
	// maxCached bounds the inputs kept: longer ones are hashed every time.
	maxCached = 256
)

// cachedSum is one remembered input and its keyed hash.
type cachedSum struct {
	in, out string
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
	h := &Hasher{seed: maphash.MakeSeed()}
	h.pool.New = func() any { return &macBuf{mac: hmac.New(sha256.New, key), buf: make([]byte, 0, 256)} }
	return h
}

// Sum returns the keyed hash of s.
func (h *Hasher) Sum(s string) string {
	var mh uint64
	if len(s) <= maxCached {
		mh = maphash.String(h.seed, s)
		if c := h.slots[mh&(cacheSlots-1)].Load(); c != nil && c.in == s {
			return c.out
		}
	}
	m := h.pool.Get().(*macBuf)
	m.buf = append(m.buf[:0], s...)
	return h.finish(m, mh)
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
	var mh uint64
	if len(m.buf) <= maxCached {
		mh = maphash.Bytes(h.seed, m.buf)
		if c := h.slots[mh&(cacheSlots-1)].Load(); c != nil && c.in == string(m.buf) {
			h.pool.Put(m)
			return c.out
		}
	}
	return h.finish(m, mh)
}

// finish hashes m.buf and returns the first 64 bits in hex; mh is the
// maphash of m.buf when it is short enough to be cached.
func (h *Hasher) finish(m *macBuf, mh uint64) string {
	m.mac.Reset()
	m.mac.Write(m.buf)
	out := m.mac.Sum(m.sum[:0])
	var dst [16]byte
	for i := range 8 {
		dst[2*i], dst[2*i+1] = hexdigits[out[i]>>4], hexdigits[out[i]&15]
	}
	sum := string(dst[:])
	if len(m.buf) <= maxCached {
		// Sum and Fingerprint share the table: equal inputs have equal hashes.
		i := mh & (cacheSlots - 1)
		if h.seen[i].Swap(mh) == mh {
			h.slots[i].Store(&cachedSum{in: string(m.buf), out: sum})
		}
	}
	if cap(m.buf) <= 64<<10 { // do not keep a huge query's buffer
		h.pool.Put(m)
	}
	return sum
}
