package state

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"

	"sleeve-check/check"
	"sleeve-check/internal/safefile"
)

// identityKeyFile holds the random key of credential identities, 0600,
// beside the state it protects.
const identityKeyFile = "identity.key"

// credentialID is a credential's identity in the state files: HMAC-SHA-256
// of the secret under a random per-host key kept in dir. Two tokens that
// share their length and last four characters differ here, and without
// the key no stored value can be checked against a guessed token offline.
// It is "" when there is no key (and create is false) or no secret.
func credentialID(dir string, c *check.Credential, create bool) string {
	if c == nil || c.Value.Len() == 0 {
		return ""
	}
	key, err := identityKey(dir, create)
	if err != nil {
		return ""
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(string(c.Kind) + "\x00" + c.Value.Reveal()))
	return hex.EncodeToString(m.Sum(nil))
}

func identityKey(dir string, create bool) ([]byte, error) {
	p := filepath.Join(dir, identityKeyFile)
	if b, _, err := safefile.Read(p, 64, safefile.Options{NoFollow: true}); err == nil && len(b) == 32 {
		return b, nil
	} else if !create {
		return nil, os.ErrNotExist
	}
	key := make([]byte, 32)
	rand.Read(key)
	// No fsync: a key lost in a crash costs one probe (no identity then
	// matches, so no verdict is reused), never a wrong verdict.
	if err := safefile.WriteAtomic(p, key, safefile.WriteOptions{Mode: 0o600, UID: -1, GID: -1}); err != nil {
		return nil, err
	}
	return key, nil
}
