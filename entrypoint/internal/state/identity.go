package state

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
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

// identityKey is dir's key. With create, a missing key is made - once:
// two processes that both find none (a start saving its state while the
// first health check saves a verdict) must not each write their own, or
// the loser's identities no longer match and health reads a changed
// credential. The new key is linked into place, which fails if one is
// already there, and whichever key is there is read back.
func identityKey(dir string, create bool) ([]byte, error) {
	p := filepath.Join(dir, identityKeyFile)
	b, _, err := safefile.Read(p, 64, safefile.Options{NoFollow: true})
	switch {
	case err == nil && len(b) == 32:
		return b, nil
	case !create || (err != nil && !errors.Is(err, fs.ErrNotExist)):
		return nil, os.ErrNotExist
	case err == nil:
		// Not a key of ours (cut short, or written by hand): replace it.
		os.Remove(p)
	}
	key := make([]byte, 32)
	rand.Read(key)
	tmp, err := os.CreateTemp(dir, "."+identityKeyFile+safefile.TempPattern)
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(key)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	// No fsync: a key lost in a crash costs one probe (no identity then
	// matches, so no verdict is reused), never a wrong verdict.
	if err := os.Link(tmp.Name(), p); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, err
	}
	if b, _, err := safefile.Read(p, 64, safefile.Options{NoFollow: true}); err == nil && len(b) == 32 {
		return b, nil
	}
	return nil, os.ErrNotExist
}
