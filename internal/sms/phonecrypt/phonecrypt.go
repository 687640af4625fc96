// Package phonecrypt keeps phone numbers encrypted at rest: envelope
// encryption with a Tink AEAD keyset (AES-256-GCM) that is itself stored
// encrypted under a key-encryption key (KEK), and a keyed blind index
// (HMAC-SHA256) to find a user by number without decrypting anything.
//
// The keyset is unwrapped once, when a Cipher is loaded, into one cached
// primitive: encrypting or decrypting a number never calls the KEK or sets up
// a key. The user id is the associated data of every ciphertext, so a
// ciphertext copied to another user does not decrypt.
package phonecrypt

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"unsafe"

	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/aead/aesgcm"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/mac"
	"github.com/tink-crypto/tink-go/v2/tink"
)

// File names inside a keys folder.
const (
	AEADFile  = "phone-aead.keyset.json"  // the data keyset, encrypted under the KEK
	IndexFile = "phone-index.keyset.json" // the blind-index keyset, encrypted under the KEK
)

// Associated data binding each wrapped keyset to its role.
var (
	aeadAD  = []byte("owl sms phone aead keyset")
	indexAD = []byte("owl sms phone index keyset")
)

// ErrDecrypt reports a ciphertext that does not open: tampered, moved to
// another user, or under a key that is no longer in the keyset.
var ErrDecrypt = errors.New("phone number ciphertext does not decrypt")

// ErrNoKeys reports a keys folder without keysets; 'owl sms keys init'
// creates them.
var ErrNoKeys = errors.New("no phone number keyset (run 'owl sms keys init')")

// Cipher encrypts, decrypts and indexes phone numbers with one loaded
// keyset. It is safe for concurrent use.
type Cipher struct {
	aead tink.AEAD
	// byKey holds each enabled key's own AES-GCM primitive, found by the
	// key id in a ciphertext's prefix: decrypting skips the keyset
	// wrapper's search and bookkeeping.
	byKey   map[uint32]tink.AEAD
	mac     tink.MAC
	primary uint32
	version [sha256.Size]byte
}

// Init creates the data and index keysets in dir, each encrypted under kek,
// unless they exist already. It reports whether it created them.
func Init(dir string, kek tink.AEAD) (created bool, err error) {
	if _, err := os.Stat(filepath.Join(dir, AEADFile)); err == nil {
		if _, err := os.Stat(filepath.Join(dir, IndexFile)); err == nil {
			return false, nil
		}
		return false, fmt.Errorf("keys folder %s has %s without %s", dir, AEADFile, IndexFile)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, fmt.Errorf("keys folder: %w", err)
	}
	ah, err := keyset.NewHandle(aead.AES256GCMKeyTemplate())
	if err != nil {
		return false, fmt.Errorf("new data keyset: %w", err)
	}
	mh, err := keyset.NewHandle(mac.HMACSHA256Tag256KeyTemplate())
	if err != nil {
		return false, fmt.Errorf("new index keyset: %w", err)
	}
	// The index keyset first: a data keyset alone marks a half-made folder.
	if err := writeHandle(filepath.Join(dir, IndexFile), mh, kek, indexAD); err != nil {
		return false, err
	}
	if err := writeHandle(filepath.Join(dir, AEADFile), ah, kek, aeadAD); err != nil {
		return false, err
	}
	return true, nil
}

// Load unwraps the keysets in dir with kek, once, into a Cipher.
func Load(dir string, kek tink.AEAD) (*Cipher, error) {
	araw, err := os.ReadFile(filepath.Join(dir, AEADFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNoKeys
	}
	if err != nil {
		return nil, fmt.Errorf("read keyset: %w", err)
	}
	mraw, err := os.ReadFile(filepath.Join(dir, IndexFile))
	if err != nil {
		return nil, fmt.Errorf("read index keyset: %w", err)
	}
	ah, err := keyset.ReadWithAssociatedData(keyset.NewJSONReader(bytes.NewReader(araw)), kek, aeadAD)
	if err != nil {
		return nil, fmt.Errorf("unwrap keyset %s (wrong master key?): %w", filepath.Join(dir, AEADFile), err)
	}
	mh, err := keyset.ReadWithAssociatedData(keyset.NewJSONReader(bytes.NewReader(mraw)), kek, indexAD)
	if err != nil {
		return nil, fmt.Errorf("unwrap index keyset %s (wrong master key?): %w", filepath.Join(dir, IndexFile), err)
	}
	a, err := aead.New(ah)
	if err != nil {
		return nil, fmt.Errorf("keyset primitive: %w", err)
	}
	m, err := mac.New(mh)
	if err != nil {
		return nil, fmt.Errorf("index keyset primitive: %w", err)
	}
	c := &Cipher{aead: a, mac: m, primary: ah.KeysetInfo().GetPrimaryKeyId(), byKey: map[uint32]tink.AEAD{}}
	for i := range ah.Len() {
		e, err := ah.Entry(i)
		if err != nil {
			return nil, fmt.Errorf("keyset entry: %w", err)
		}
		if k, ok := e.Key().(*aesgcm.Key); ok && e.KeyStatus() == keyset.Enabled {
			p, err := aesgcm.NewAEAD(k)
			if err != nil {
				return nil, fmt.Errorf("keyset key %d: %w", e.KeyID(), err)
			}
			c.byKey[e.KeyID()] = p
		}
	}
	c.version = sha256.Sum256(append(araw, mraw...))
	return c, nil
}

// EncryptPhone seals an E.164 number for userID.
func (c *Cipher) EncryptPhone(e164, userID string) ([]byte, error) {
	ct, err := c.aead.Encrypt([]byte(e164), []byte(userID))
	if err != nil {
		return nil, fmt.Errorf("encrypt phone number: %w", err)
	}
	return ct, nil
}

// DecryptPhone opens a ciphertext sealed for userID. The error never
// contains the ciphertext or the number.
//
// The user id goes to the cipher as associated data without a copy: an
// AEAD only reads it.
func (c *Cipher) DecryptPhone(ciphertext []byte, userID string) (string, error) {
	ad := unsafe.Slice(unsafe.StringData(userID), len(userID))
	var pt []byte
	var err error
	if p, ok := c.byKey[KeyID(ciphertext)]; ok {
		pt, err = p.Decrypt(ciphertext, ad)
	} else {
		pt, err = c.aead.Decrypt(ciphertext, ad)
	}
	if err != nil {
		return "", ErrDecrypt
	}
	return string(pt), nil
}

// Index is the blind index of an E.164 number: equal numbers give equal
// indexes, and the index reveals nothing without the index key.
func (c *Cipher) Index(e164 string) ([]byte, error) {
	tag, err := c.mac.ComputeMAC([]byte(e164))
	if err != nil {
		return nil, fmt.Errorf("index phone number: %w", err)
	}
	return tag, nil
}

// Primary is the id of the key that new ciphertexts are sealed with.
func (c *Cipher) Primary() uint32 { return c.primary }

// KeyID is the id of the key that sealed a ciphertext (Tink's 5-byte
// prefix), or 0 when the ciphertext has none.
func KeyID(ciphertext []byte) uint32 {
	if len(ciphertext) < 5 || ciphertext[0] != 1 {
		return 0
	}
	return binary.BigEndian.Uint32(ciphertext[1:5])
}

func writeHandle(path string, h *keyset.Handle, kek tink.AEAD, ad []byte) error {
	var buf bytes.Buffer
	if err := h.WriteWithAssociatedData(keyset.NewJSONWriter(&buf), kek, ad); err != nil {
		return fmt.Errorf("wrap keyset: %w", err)
	}
	return WriteFileAtomic(path, buf.Bytes(), 0o600)
}

// WriteFileAtomic writes data to path through a temporary file in the same
// folder, synced and renamed, so that readers see the old or the new
// content, never a part.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync() // best effort: make the rename durable
		d.Close()
	}
	return nil
}
