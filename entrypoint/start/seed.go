package start

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/rs/zerolog"

	"sleeve-check/check"
	"sleeve-check/entrypoint/internal/pipeline"
	"sleeve-check/entrypoint/internal/prelude"
	"sleeve-check/entrypoint/internal/report"
	"sleeve-check/internal/outcome"
	"sleeve-check/internal/safefile"
)

// seedStep copies the seed where Claude Code reads it.
var seedStep = pipeline.Step{Name: "seed credentials", Waits: "the seed to be copied", Code: outcome.ConfigWrite, Quick: true}

// seeded is what seeding returns: the seed's bytes when a report (which
// writes nothing) must judge them as the copy, and the file changed.
type seeded struct {
	asCopy []byte
	file   *report.FileReport
}

// seedCredentials copies the seed (from the file named from) to dst, the
// credentials file Claude Code reads - atomically, mode 0600, as the sleeve
// user - unless the copy there holds a later expiresAt: Claude Code
// refreshed it, and putting the seed back would restore a refresh token
// the server has already rotated. A broken seed stops the start with its
// own code; nothing is written. dry (a report) writes nothing.
func seedCredentials(src *prelude.Seed, from, dst string, dry bool, waiting func(), log zerolog.Logger) (seeded, outcome.Findings) {
	fs := append(outcome.Findings(nil), src.Findings...)
	if fs.HasError() || dst == "" || sameFile(dst, from) {
		return seeded{}, fs // broken; no home (Resolve says so); or the seed is the file itself
	}
	if cur, kept := keepCopy(dst, src); kept {
		log.Debug().Str("path", dst).Time("copy_expires_at", cur).Time("seed_expires_at", src.File.ExpiresAt).
			Msg("kept the credentials file: Claude Code refreshed it since it was seeded")
		return seeded{}, fs
	}
	change := fmt.Sprintf("copied the credentials from %s (expires %s)", strconv.Quote(from), src.File.ExpiresAt.Format(time.RFC3339))
	if dry {
		// Nothing is written: the checks judge the seed as the copy.
		return seeded{asCopy: src.Data, file: &report.FileReport{Path: dst, Changes: []string{"would have " + change}}}, fs
	}
	waiting() // a kill must not leave a temporary copy of the login behind
	err := os.MkdirAll(filepath.Dir(dst), 0o700)
	if err == nil {
		// Synced: a crash must not leave a login Claude Code reads as
		// half a file (it would then refresh nothing and stop at /login).
		err = safefile.WriteAtomic(dst, src.Data, safefile.WriteOptions{Mode: 0o600, UID: -1, GID: -1, Sync: true})
	}
	if err != nil {
		fs.Errf(outcome.ConfigWrite, "seed_write", fmt.Sprintf("cannot seed %s from %s: %s", strconv.Quote(dst), strconv.Quote(from), safefile.ErrText(err)),
			"make the config directory writable by the sleeve user (a volume, or CLAUDE_CONFIG_DIR)")
		return seeded{}, fs
	}
	log.Debug().Str("path", dst).Msg(change)
	return seeded{file: &report.FileReport{Path: dst, Changes: []string{change}}}, fs
}

// keepCopy reports whether the credentials file at dst is to be kept: it
// is a valid login whose expiresAt is later than the seed's. It returns
// that expiry.
func keepCopy(dst string, src *prelude.Seed) (time.Time, bool) {
	b, _, err := safefile.Read(dst, 1<<20, safefile.Options{})
	if err != nil || bytes.Equal(b, src.Data) {
		return time.Time{}, err == nil
	}
	cur, fs := check.ParseCredentials(dst, b)
	if fs.HasError() || !cur.ExpiresAt.After(src.File.ExpiresAt) {
		return cur.ExpiresAt, false
	}
	return cur.ExpiresAt, true
}

func sameFile(a, b string) bool {
	x, err1 := os.Stat(a)
	y, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(x, y)
}
