package entrypoint

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sleeve-check/internal/outcome"
	"strconv"
	"time"

	"sleeve-check/check"
	"sleeve-check/internal/safefile"
)

// seedSource is the file named by SLEEVE_CHECK_SEED_CREDENTIALS, read and
// checked: before the user switch when there is one, since the operator
// named it (as with the *_FILE secrets).
type seedSource struct {
	data     []byte
	file     check.OAuthFile
	findings outcome.Findings
}

func (r *runner) readSeed() *seedSource {
	if r.seed == nil && r.inv.Settings.SeedCredentials != "" {
		data, of, fs := check.ReadSeed(r.inv.Settings.SeedCredentials)
		r.seed = &seedSource{data, of, fs}
	}
	return r.seed
}

// seedCredentials copies the seed to the credentials file Claude Code
// reads - atomically, mode 0600, as the sleeve user - unless the copy there
// holds a later expiresAt: Claude Code refreshed it, and putting the seed
// back would restore a refresh token the server has already rotated. A
// broken seed stops the start with its own code; nothing is written.
func (r *runner) seedCredentials() outcome.Code {
	src := r.readSeed()
	if src == nil {
		return outcome.OK
	}
	for _, f := range src.findings {
		r.finding(f)
	}
	if e := src.findings.FirstError(); e != nil {
		return e.Code
	}
	dst := check.CredentialsPath(r.resolveInput())
	if dst == "" || sameFile(dst, r.inv.Settings.SeedCredentials) {
		return outcome.OK // no home (Resolve says so), or the seed is the file itself
	}
	if cur, kept := r.keepCopy(dst, src); kept {
		r.log.Debug().Str("path", dst).Time("copy_expires_at", cur).Time("seed_expires_at", src.file.ExpiresAt).
			Msg("kept the credentials file: Claude Code refreshed it since it was seeded")
		return outcome.OK
	}
	change := fmt.Sprintf("copied the credentials from %s (expires %s)", strconv.Quote(r.inv.Settings.SeedCredentials), src.file.ExpiresAt.Format(time.RFC3339))
	if len(r.inv.Command) == 0 {
		// Nothing is written: the checks judge the seed as the copy.
		r.seeded = src.data
		r.rep.Config.Files = append(r.rep.Config.Files, FileReport{Path: dst, Changes: []string{"would have " + change}})
		return outcome.OK
	}
	err := os.MkdirAll(filepath.Dir(dst), 0o700)
	if err == nil {
		err = safefile.WriteAtomic(dst, src.data, safefile.WriteOptions{Mode: 0o600, UID: -1, GID: -1, Sync: true})
	}
	if err != nil {
		r.finding(outcome.Finding{Severity: outcome.Error, Code: outcome.ConfigWrite, ID: "seed_write",
			Message: fmt.Sprintf("cannot seed %s from %s: %s", strconv.Quote(dst), strconv.Quote(r.inv.Settings.SeedCredentials), safefile.ErrText(err)),
			Hint:    "make the config directory writable by the sleeve user (a volume, or CLAUDE_CONFIG_DIR)"})
		return outcome.ConfigWrite
	}
	r.rep.Config.Files = append(r.rep.Config.Files, FileReport{Path: dst, Changes: []string{change}})
	r.log.Debug().Str("path", dst).Msg(change)
	return outcome.OK
}

// keepCopy reports whether the credentials file at dst is to be kept: it
// is a valid login whose expiresAt is later than the seed's. It returns
// that expiry.
func (r *runner) keepCopy(dst string, src *seedSource) (time.Time, bool) {
	b, _, err := safefile.Read(dst, 1<<20, safefile.Options{})
	if err != nil || bytes.Equal(b, src.data) {
		return time.Time{}, err == nil
	}
	cur, fs := check.ParseCredentials(dst, b)
	if fs.HasError() || !cur.ExpiresAt.After(src.file.ExpiresAt) {
		return cur.ExpiresAt, false
	}
	return cur.ExpiresAt, true
}

func sameFile(a, b string) bool {
	x, err1 := os.Stat(a)
	y, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(x, y)
}
