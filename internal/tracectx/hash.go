package tracectx

import (
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"math/bits"
	"unsafe"

	"github.com/dchest/siphash"
)

// Hasher computes keyed hashes of values that must not be stored but must
// be comparable: query strings, user agents, user ids and request
// fingerprints. Without the key the hashes cannot be reversed by guessing
// likely values. It is safe for concurrent use.
//
// The hash is SipHash-2-4, a pseudorandom function made for short inputs:
// without its 128-bit key, its output cannot be told from random, so an
// attacker cannot confirm a guessed user id against a log. The key is
// derived from the deployment's hash key (any length, at least 16 bytes)
// with HKDF-SHA256, so every byte of a longer key counts. The hash is
// written as the 16 hex digits of its 8 output bytes (little endian, as the
// SipHash reference writes them). SipHash costs tens of nanoseconds where
// HMAC-SHA256 cost hundreds, which is what keeps several hashes per request
// cheap without a cache of past values.
type Hasher struct {
	k0, k1 uint64
}

// hashKeyInfo binds the derived key to its one use.
const hashKeyInfo = "owl access-log hash: SipHash-2-4 key"

// NewHasher returns a hasher with key; every service of a deployment must
// share the key for their hashes to match.
func NewHasher(key []byte) *Hasher {
	k, err := hkdf.Key(sha256.New, key, nil, hashKeyInfo, 16)
	if err != nil { // only for output lengths HKDF cannot give; 16 bytes it always can
		panic("tracectx: " + err.Error())
	}
	return &Hasher{k0: binary.LittleEndian.Uint64(k[:8]), k1: binary.LittleEndian.Uint64(k[8:])}
}

// scratch holds the bytes of most fingerprinted requests on the stack;
// longer ones are copied to the heap.
const scratch = 256

// Sum returns the keyed hash of s.
func (h *Hasher) Sum(s string) string { return hexSum(h.sum64(s)) }

// Fingerprint is the keyed hash of a request: method, route (or host and
// path for a call), raw query and the digest of the body, joined by zero
// bytes.
func (h *Hasher) Fingerprint(method, route, query string, body []byte) string {
	return hexSum(h.fingerprint64(method, route, query, body))
}

func (h *Hasher) sum64(s string) uint64 {
	// s's own bytes, not a copy: Hash only reads them.
	return siphash.Hash(h.k0, h.k1, unsafe.Slice(unsafe.StringData(s), len(s)))
}

func (h *Hasher) fingerprint64(method, route, query string, body []byte) uint64 {
	var buf [scratch]byte
	b := append(buf[:0], method...)
	b = append(b, 0)
	b = append(b, route...)
	b = append(b, 0)
	b = append(b, query...)
	b = append(b, 0)
	b = append(b, body...)
	return siphash.Hash(h.k0, h.k1, b)
}

// appendSum appends the 16 hex digits of a keyed hash: its bytes in
// little-endian order.
func appendSum(b []byte, sum uint64) []byte {
	be := bits.ReverseBytes64(sum) // the little-endian bytes, first byte on top
	b = binary.BigEndian.AppendUint64(b, hex8(uint32(be>>32)))
	return binary.BigEndian.AppendUint64(b, hex8(uint32(be)))
}

func hexSum(sum uint64) string {
	var buf [16]byte
	return string(appendSum(buf[:0], sum))
}

// setSums sets each field to the hex form of its keyed hash. The hashes of
// one record share buf, which must not change afterwards: the strings are
// its bytes.
func setSums(buf *[4 * 16]byte, fields []*string, sums []uint64) {
	b := buf[:0]
	for _, s := range sums {
		b = appendSum(b, s)
	}
	// b is buf, never reallocated: there are at most four sums.
	all := unsafe.String(unsafe.SliceData(b), len(b))
	for i, f := range fields {
		*f = all[16*i : 16*i+16]
	}
}
