package gateway

import (
	"bufio"
	"bytes"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// revokedList is the file of revoked sleeve names, read again when it
// changes (looked at no more than once a second): revoking a sleeve is
// one line in a file, with no restart and no new fleet credential.
type revokedList struct {
	path string
	mu   sync.Mutex
	seen time.Time // when the file was last looked at
	stat struct {
		mod  time.Time
		size int64
		ok   bool
	}
	names map[string]bool
	log   zerolog.Logger
}

func newRevokedList(path string, log zerolog.Logger) *revokedList {
	r := &revokedList{path: path, names: map[string]bool{}, log: log}
	if path != "" {
		r.reload()
		if !r.stat.ok {
			log.Warn().Str("hint", "check SLEEVE_CHECK_GATEWAY_REVOKED; an empty file revokes nobody").Msgf("gateway: the revoked list %q cannot be read: nobody is revoked until it can", path)
		}
	}
	return r
}

// has reports whether name is revoked. A file that cannot be read, or is
// gone, keeps the names it last held: a revoked sleeve must not come back
// because an editor moved the file aside to write it again. (To let every
// sleeve back, empty the file.)
func (r *revokedList) has(name string, now time.Time) bool {
	if r.path == "" {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if now.Sub(r.seen) >= time.Second {
		r.seen = now
		r.reload()
	}
	return r.names[name]
}

func (r *revokedList) reload() {
	fi, err := os.Stat(r.path)
	if err != nil {
		return
	}
	if r.stat.ok && fi.ModTime().Equal(r.stat.mod) && fi.Size() == r.stat.size {
		return
	}
	b, err := os.ReadFile(r.path)
	if err != nil {
		return
	}
	r.names = parseRevoked(b)
	r.stat.mod, r.stat.size, r.stat.ok = fi.ModTime(), fi.Size(), true
	r.log.Info().Msgf("gateway: %d sleeves revoked (%s)", len(r.names), r.path)
}

// parseRevoked reads one name a line; # begins a comment.
func parseRevoked(b []byte) map[string]bool {
	out := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, len(b)+1) // no line too long to read
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		if line = strings.TrimSpace(line); line != "" {
			out[line] = true
		}
	}
	return out
}
