// Package state is what the modes hand each other through files, each
// with a schema: state.json (the start's report and how it ran, read by
// health), probe.json (the last API verdict, keyed by the credential's
// identity, written by whichever run probed), starting.json (the step a
// start in progress is in) and verdict.json (the keeper's last check, in
// root's directory). No secret is in any of them: credentials appear as
// fingerprints and as a keyed hash (identity.go).
package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"sleeve-check/entrypoint/internal/settings"
	"sleeve-check/internal/environ"
	"sleeve-check/internal/safefile"
)

// The files of the state directory.
const (
	stateFile = "state.json"
	probeFile = "probe.json"
	// startingFile says which step a start in progress is in; the start
	// removes it as it ends, however it ends.
	startingFile = "starting.json"
)

// defaultStateDir is SLEEVE_CHECK_STATE_DIR's default.
var defaultStateDir = settings.FieldByName("StateDir").Default

// maxStateSize bounds what is read of a state file.
const maxStateSize = 1 << 20

// Dirs is where state may live: the configured directory, and per-user
// fallbacks in the temporary directory, for when the configured one cannot
// be used (a non-root sleeve with a root-owned /run).
type Dirs struct{ configured, tmp string }

// NewDirs are the state directories of the settings s, in env.
func NewDirs(s settings.Settings, env environ.Env) Dirs { return Dirs{s.StateDir, env.TempDir()} }

// fallback is the per-user directory of uid.
func (d Dirs) fallback(uid int) string {
	return filepath.Join(d.tmp, "sleeve-check-"+strconv.Itoa(uid))
}

// own lists the directories of this user: the configured one, then its fallback.
func (d Dirs) own() []string { return []string{d.configured, d.fallback(os.Geteuid())} }

// forHealth is where a health check looks for the start's state: the
// configured directory (the default one unless told otherwise), and every
// user's fallback, since the start may have dropped to the sleeve user
// (--user) before saving it, and leaves a copy there when it used a
// --state-dir that health is not told about. Fallbacks already found in
// the same temporary directory (known, or nil) are not looked for again:
// a listing of it is a tenth of a health check's own time.
func (d Dirs) forHealth(known *fallbacks) []string {
	var others []string
	if known != nil && known.tmp == d.tmp {
		others = known.dirs
	} else {
		others, _ = filepath.Glob(filepath.Join(d.tmp, "sleeve-check-*"))
	}
	return append([]string{d.configured}, others...)
}

// fallbacks are the per-user directories found in the temporary directory tmp.
type fallbacks struct {
	tmp  string
	dirs []string
}

// Writable returns the first of own() that exists (or can be made) as a
// directory owned by this user, or by root for root-made /run
// directories that the image prepared.
func (d Dirs) Writable() (string, error) {
	var firstErr error
	for _, dir := range d.own() {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		st, err := os.Lstat(dir)
		if err != nil || !st.IsDir() {
			continue
		}
		// A directory in a shared place that someone else owns could be a
		// trap laid for us; only our own (or root's, which we trust) is used.
		if !trustedOwner(OwnerOf(st)) {
			continue
		}
		if syscall.Access(dir, 2) == nil {
			return dir, nil
		}
	}
	if firstErr == nil {
		firstErr = errors.New("no writable directory")
	}
	return "", firstErr
}

// writeFile writes v as JSON into dir/name atomically, readable by the
// container's users (mode 0644: there is no secret in it). No fsync:
// this is run-time state, rebuilt by the next start (safefile.Swap, which
// leaves the file it replaced beside it as .NAME.spare).
func writeFile(dir, name string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return safefile.Swap(filepath.Join(dir, name), append(b, '\n'), 0o644)
}

// read reads the newest name among this user's directories.
func (d Dirs) read(name string, v any) (string, error) {
	p, _, err := readNewest(d.own(), name, v)
	return p, err
}

// readNewest reads the newest regular file name in dirs into v, and
// returns its path and owner.
func readNewest(dirs []string, name string, v any) (string, int, error) {
	var newest string
	var newestT time.Time
	for _, d := range dirs {
		p := filepath.Join(d, name)
		st, err := os.Lstat(p)
		if err != nil || !st.Mode().IsRegular() {
			continue
		}
		if newest == "" || st.ModTime().After(newestT) {
			newest, newestT = p, st.ModTime()
		}
	}
	if newest == "" {
		return "", -1, fs.ErrNotExist
	}
	b, st, err := safefile.Read(newest, maxStateSize, safefile.Options{NoFollow: true, Swapped: true})
	if err != nil {
		return newest, -1, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return newest, OwnerOf(st), fmt.Errorf("%s is not valid JSON: %v", newest, err)
	}
	return newest, OwnerOf(st), nil
}

// OwnerOf is the uid that owns a file, or -1.
func OwnerOf(fi fs.FileInfo) int {
	if sys, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(sys.Uid)
	}
	return -1
}

// trustedOwner: a state file or directory of this user's or root's.
func trustedOwner(uid int) bool { return uid == 0 || uid == os.Geteuid() }
