package state

import (
	"bytes"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// Processes that find no key at once (a start saving its state while the
// first health check saves a verdict) end up with one key: the first
// linked into place.
func TestIdentityKeyIsMadeOnce(t *testing.T) {
	for round := 0; round < 20; round++ {
		dir := t.TempDir()
		keys := make([][]byte, 8)
		var wg sync.WaitGroup
		for i := range keys {
			wg.Add(1)
			go func() {
				defer wg.Done()
				keys[i], _ = identityKey(dir, true)
			}()
		}
		wg.Wait()
		for i, k := range keys {
			if len(k) != 32 || !bytes.Equal(k, keys[0]) {
				t.Fatalf("round %d: key %d differs", round, i)
			}
		}
		if left, _ := filepath.Glob(filepath.Join(dir, ".*")); len(left) > 0 {
			t.Fatalf("temporary files left: %v", left)
		}
	}
	// A key that cannot be read (here: not a regular file) is not
	// replaced: no identity, rather than one that matches nothing.
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, identityKeyFile), 0o700)
	if k, err := identityKey(dir, true); err == nil || k != nil {
		t.Fatalf("got a key beside a directory: %v", err)
	}
}
