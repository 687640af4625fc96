package phonecrypt

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/tink-crypto/tink-go-awskms/v3/integration/awskms"
	"github.com/tink-crypto/tink-go/v2/aead/subtle"
	"github.com/tink-crypto/tink-go/v2/core/registry"
	"github.com/tink-crypto/tink-go/v2/tink"
)

// KEK is a key-encryption key: it wraps and unwraps keysets. A local master
// key file, AWS KMS and any other Tink KMS client satisfy it.
type KEK = tink.AEAD

// masterKeySize is the size of a local master key: AES-256.
const masterKeySize = 32

// CreateMasterKey writes a new random master key to path with mode 0600.
// It fails when the file exists, so a key in use is never replaced.
func CreateMasterKey(path string) error {
	key := make([]byte, masterKeySize)
	if _, err := rand.Read(key); err != nil {
		return fmt.Errorf("master key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("create master key: %w", err)
	}
	if _, err := f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n"); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("write master key %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("write master key %s: %w", path, err)
	}
	return f.Close()
}

// OpenMasterKey reads a local master key file. It refuses a file that
// others than its owner may read.
func OpenMasterKey(path string) (KEK, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("master key %s has mode %04o: it must be readable by its owner only (chmod 600)", path, fi.Mode().Perm())
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(raw)))
	if err != nil || len(key) != masterKeySize {
		return nil, fmt.Errorf("master key %s: expected %d base64-encoded bytes", path, masterKeySize)
	}
	a, err := subtle.NewAESGCM(key)
	if err != nil {
		return nil, fmt.Errorf("master key %s: %w", path, err)
	}
	return a, nil
}

// OpenKEK opens the key-encryption key named by uri: a local master key
// file (a path, or file://PATH), an AWS KMS key (aws-kms://arn:aws:kms:...),
// or a key of any other KMS among clients.
func OpenKEK(ctx context.Context, uri string, clients ...registry.KMSClient) (KEK, error) {
	switch {
	case uri == "":
		return nil, errors.New("no key-encryption key configured")
	case strings.HasPrefix(uri, "file://"):
		return OpenMasterKey(strings.TrimPrefix(uri, "file://"))
	case !strings.Contains(uri, "://"):
		return OpenMasterKey(uri)
	}
	for _, c := range clients {
		if c.Supported(uri) {
			return c.GetAEAD(uri)
		}
	}
	if strings.HasPrefix(uri, "aws-kms://") {
		c, err := awskms.NewClientWithOptions(ctx, uri)
		if err != nil {
			return nil, fmt.Errorf("AWS KMS client: %w", err)
		}
		a, err := c.GetAEAD(uri)
		if err != nil {
			return nil, fmt.Errorf("AWS KMS key: %w", err)
		}
		return a, nil
	}
	scheme, _, _ := strings.Cut(uri, "://")
	return nil, fmt.Errorf("key-encryption key %q: unsupported scheme %q (expected a file path, file:// or aws-kms://)", uri, scheme)
}
