package phonecrypt

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/keyset"
	tinkpb "github.com/tink-crypto/tink-go/v2/proto/tink_go_proto"
)

// KeyInfo describes one key of the data keyset.
type KeyInfo struct {
	ID      uint32
	Status  string // ENABLED, DISABLED or DESTROYED
	Primary bool
}

func readAEADHandle(dir string, kek KEK) (*keyset.Handle, error) {
	raw, err := os.ReadFile(filepath.Join(dir, AEADFile))
	if os.IsNotExist(err) {
		return nil, ErrNoKeys
	}
	if err != nil {
		return nil, fmt.Errorf("read keyset: %w", err)
	}
	h, err := keyset.ReadWithAssociatedData(keyset.NewJSONReader(bytes.NewReader(raw)), kek, aeadAD)
	if err != nil {
		return nil, fmt.Errorf("unwrap keyset (wrong master key?): %w", err)
	}
	return h, nil
}

// Keys lists the keys of the data keyset in dir.
func Keys(dir string, kek KEK) ([]KeyInfo, error) {
	h, err := readAEADHandle(dir, kek)
	if err != nil {
		return nil, err
	}
	info := h.KeysetInfo()
	var keys []KeyInfo
	for _, k := range info.GetKeyInfo() {
		keys = append(keys, KeyInfo{
			ID:      k.GetKeyId(),
			Status:  k.GetStatus().String(),
			Primary: k.GetKeyId() == info.GetPrimaryKeyId(),
		})
	}
	return keys, nil
}

func updateAEAD(dir string, kek KEK, change func(m *keyset.Manager) error) error {
	h, err := readAEADHandle(dir, kek)
	if err != nil {
		return err
	}
	m := keyset.NewManagerFromHandle(h)
	if err := change(m); err != nil {
		return err
	}
	nh, err := m.Handle()
	if err != nil {
		return fmt.Errorf("keyset: %w", err)
	}
	return writeHandle(filepath.Join(dir, AEADFile), nh, kek, aeadAD)
}

// AddKey adds a new enabled key to the data keyset, not yet primary: every
// process can decrypt with it before anything is encrypted with it.
func AddKey(dir string, kek KEK) (uint32, error) {
	var id uint32
	err := updateAEAD(dir, kek, func(m *keyset.Manager) error {
		var err error
		id, err = m.Add(aead.AES256GCMKeyTemplate())
		if err != nil {
			return fmt.Errorf("add key: %w", err)
		}
		return nil
	})
	return id, err
}

// Promote makes key id the primary key: new ciphertexts are sealed with it.
func Promote(dir string, kek KEK, id uint32) error {
	return updateAEAD(dir, kek, func(m *keyset.Manager) error {
		if err := m.SetPrimary(id); err != nil {
			return fmt.Errorf("promote key %d: %w", id, err)
		}
		return nil
	})
}

// Disable disables key id: ciphertexts sealed with it no longer decrypt.
func Disable(dir string, kek KEK, id uint32) error {
	return updateAEAD(dir, kek, func(m *keyset.Manager) error {
		if err := m.Disable(id); err != nil {
			return fmt.Errorf("disable key %d: %w", id, err)
		}
		return nil
	})
}

// Rows is the store of encrypted numbers, as rotation needs it.
type Rows interface {
	// Reencrypt rewrites up to limit ciphertexts not sealed with key
	// primary, each through seal, and returns how many it rewrote; a row
	// that changed meanwhile is left for the next call.
	Reencrypt(ctx context.Context, primary uint32, limit int, seal func(userID string, ciphertext []byte) ([]byte, error)) (int, error)
	// CountNotUnder counts the ciphertexts not sealed with key primary.
	CountNotUnder(ctx context.Context, primary uint32) (int, error)
}

// RotateOptions tune Rotate.
type RotateOptions struct {
	// ReloadWait is how long running processes need to pick up a changed
	// keyset (twice their reload interval is safe).
	ReloadWait time.Duration
	// Page is how many rows one transaction re-encrypts.
	Page int
	// Progress, when set, is told what rotation is doing.
	Progress func(format string, args ...any)
}

// Rotate replaces the primary key of the data keyset without downtime, in
// steps that a rerun resumes: add a key (unless one is staged), wait for
// every process to load it, promote it, re-encrypt every row in pages, and
// disable the old keys. It returns the new primary key id.
func Rotate(ctx context.Context, dir string, kek KEK, rows Rows, o RotateOptions) (uint32, error) {
	say := o.Progress
	if say == nil {
		say = func(string, ...any) {}
	}
	if o.Page <= 0 {
		o.Page = 500
	}
	keys, err := Keys(dir, kek)
	if err != nil {
		return 0, err
	}
	var primary, staged uint32
	for _, k := range keys {
		switch {
		case k.Primary:
			primary = k.ID
		case k.Status == tinkpb.KeyStatusType_ENABLED.String():
			staged = k.ID // an enabled non-primary key: added by an unfinished rotation
		}
	}
	left, err := rows.CountNotUnder(ctx, primary)
	if err != nil {
		return 0, err
	}
	if staged == 0 && left == 0 {
		if staged, err = AddKey(dir, kek); err != nil {
			return 0, err
		}
		say("added key %d; waiting %s for every process to load it", staged, o.ReloadWait)
		if err := sleep(ctx, o.ReloadWait); err != nil {
			return 0, err
		}
	}
	if staged != 0 {
		if err := Promote(dir, kek, staged); err != nil {
			return 0, err
		}
		say("key %d is primary", staged)
		primary = staged
	}
	c, err := Load(dir, kek)
	if err != nil {
		return 0, err
	}
	total := 0
	for {
		n, err := rows.Reencrypt(ctx, primary, o.Page, func(userID string, ct []byte) ([]byte, error) {
			pt, err := c.DecryptPhone(ct, userID)
			if err != nil {
				return nil, fmt.Errorf("user %s: %w", userID, err)
			}
			return c.EncryptPhone(pt, userID)
		})
		if err != nil {
			return 0, fmt.Errorf("re-encrypt: %w", err)
		}
		total += n
		if n == 0 {
			break
		}
		say("re-encrypted %d rows", total)
	}
	if left, err := rows.CountNotUnder(ctx, primary); err != nil {
		return 0, err
	} else if left > 0 {
		return 0, fmt.Errorf("re-encrypt: %d rows are still under an old key; run rotate again", left)
	}
	// Every process loaded the new key before the first row moved to it, so
	// the old keys can go.
	for _, k := range keys {
		if k.ID != primary && k.Status == tinkpb.KeyStatusType_ENABLED.String() {
			if err := Disable(dir, kek, k.ID); err != nil {
				return 0, err
			}
			say("disabled key %d", k.ID)
		}
	}
	return primary, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
