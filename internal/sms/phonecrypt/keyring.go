package phonecrypt

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"
)

// Keyring is the Cipher of a keys folder that follows the folder: Run
// reloads it when the keyset files change (a rotation step), so running
// processes pick up a new key without a restart. It is safe for concurrent
// use.
type Keyring struct {
	dir string
	kek KEK
	log *slog.Logger
	cur atomic.Pointer[Cipher]
}

// OpenKeyring loads the keysets in dir.
func OpenKeyring(dir string, kek KEK, log *slog.Logger) (*Keyring, error) {
	c, err := Load(dir, kek)
	if err != nil {
		return nil, err
	}
	k := &Keyring{dir: dir, kek: kek, log: log}
	k.cur.Store(c)
	return k, nil
}

// Cipher is the current cipher.
func (k *Keyring) Cipher() *Cipher { return k.cur.Load() }

// EncryptPhone seals with the current cipher.
func (k *Keyring) EncryptPhone(e164, userID string) ([]byte, error) {
	return k.cur.Load().EncryptPhone(e164, userID)
}

// DecryptPhone opens with the current cipher.
func (k *Keyring) DecryptPhone(ct []byte, userID string) (string, error) {
	return k.cur.Load().DecryptPhone(ct, userID)
}

// Index computes a blind index with the current cipher.
func (k *Keyring) Index(e164 string) ([]byte, error) { return k.cur.Load().Index(e164) }

// Reload loads the keysets again when their files changed; it reports
// whether it did. A bad file leaves the current cipher in place.
func (k *Keyring) Reload() (bool, error) {
	a, err := os.ReadFile(filepath.Join(k.dir, AEADFile))
	if err != nil {
		return false, fmt.Errorf("reload keyset: %w", err)
	}
	m, err := os.ReadFile(filepath.Join(k.dir, IndexFile))
	if err != nil {
		return false, fmt.Errorf("reload keyset: %w", err)
	}
	if sha256.Sum256(append(bytes.Clone(a), m...)) == k.cur.Load().version {
		return false, nil
	}
	c, err := Load(k.dir, k.kek)
	if err != nil {
		return false, err
	}
	k.cur.Store(c)
	return true, nil
}

// Run reloads the keysets every interval until ctx ends.
func (k *Keyring) Run(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			changed, err := k.Reload()
			if err != nil {
				k.log.Warn("sms: keyset reload failed; keeping the loaded keys", "err", err)
			} else if changed {
				k.log.Info("sms: keyset reloaded", "primary_key", k.Cipher().Primary())
			}
		}
	}
}
