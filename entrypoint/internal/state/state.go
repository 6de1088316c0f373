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

	"github.com/rs/zerolog"

	"sleeve-check/check"
	"sleeve-check/check/probe"
	"sleeve-check/entrypoint/internal/report"
	"sleeve-check/entrypoint/internal/settings"
	"sleeve-check/entrypoint/internal/sleeve"
	"sleeve-check/internal/environ"
	"sleeve-check/internal/outcome"
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

// ProbeCache is the last probe verdict and whom it was about.
type ProbeCache struct {
	CheckedAt  time.Time         `json:"checked_at"`
	Credential check.Fingerprint `json:"credential"`
	// Identity is the credential's keyed hash (credentialID): the
	// fingerprint is for people, this tells two tokens apart.
	Identity string        `json:"identity,omitempty"`
	Means    probe.Means   `json:"means,omitempty"`
	Verdict  probe.Verdict `json:"verdict"`
}

// StartState is state.json: the start's report, and what a health check
// needs to judge the same sleeve (Docker runs it without the ENTRYPOINT's
// flags, often as another user).
type StartState struct {
	report.Report
	Start StartContext `json:"start"`
}

// Waiting is a start that waits for a usage window to reset
// (--on-usage-limit=wait); health reports it as such.
type Waiting struct {
	Until  time.Time `json:"until"`
	Window string    `json:"window"`
	// API: the start waits for an unreachable API (--on-unavailable=wait),
	// not for a usage window.
	API bool `json:"api,omitempty"`
}

// Starting is starting.json: the step a start is in, since when, and
// when the start began.
type Starting struct {
	Began time.Time `json:"began"`
	Step  string    `json:"step"`
	// Waits is what the step waits for (pipeline.Step.Waits).
	Waits string    `json:"waits,omitempty"`
	Since time.Time `json:"since"`
}

// StartContext is how the start ran, beyond its report.
type StartContext struct {
	// Waiting is set while the start waits for a usage limit's reset.
	Waiting *Waiting `json:"waiting,omitempty"`
	Home    string   `json:"home,omitempty"`
	// Settings are the start's settings not at their defaults, by
	// environment variable name (Invocation.Given).
	Settings map[string]string `json:"settings,omitempty"`
}

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
// --state-dir that health is not told about.
func (d Dirs) forHealth() []string {
	others, _ := filepath.Glob(filepath.Join(d.tmp, "sleeve-check-*"))
	return append([]string{d.configured}, others...)
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
// this is run-time state, rebuilt by the next start.
func writeFile(dir, name string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return safefile.WriteAtomic(filepath.Join(dir, name), append(b, '\n'), safefile.WriteOptions{Mode: 0o644, UID: -1})
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
	b, st, err := safefile.Read(newest, maxStateSize, safefile.Options{NoFollow: true})
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

// SameCredential tells whether a cached verdict is about the credential
// in use now.
func SameCredential(a, b check.Fingerprint) bool {
	return a.Kind == b.Kind && a.Source == b.Source && a.Length == b.Length && a.Last4 == b.Last4
}

// Proved is a verdict and how and when it was reached: what probe.json
// records of a credential.
type Proved struct {
	Verdict probe.Verdict
	Means   probe.Means
	At      time.Time
}

// SaveVerdict writes probe.json into dir: the verdict, when it was
// reached, and for which credential (its keyed identity) by which probe.
func SaveVerdict(dir string, cred *check.Credential, v Proved) error {
	pc := ProbeCache{CheckedAt: v.At.UTC(), Credential: cred.Fingerprint(), Identity: credentialID(dir, cred, true), Means: v.Means, Verdict: v.Verdict}
	return writeFile(dir, probeFile, pc)
}

// CachedVerdict is probe.json when it is for this very credential (the
// same keyed identity, not only the same fingerprint), proved by means.
func CachedVerdict(dirs Dirs, cred *check.Credential, means probe.Means) (ProbeCache, bool) {
	var c ProbeCache
	path, err := dirs.read(probeFile, &c)
	ok := err == nil && c.Means == means && c.Identity != "" && SameCredential(c.Credential, cred.Fingerprint()) &&
		credentialID(filepath.Dir(path), cred, false) == c.Identity
	return c, ok
}

// SaveStart leaves the start's report and how it ran (st), and its probe
// verdict (v, when there was one), for health checks. Failing to is a
// warning: the start itself is sound.
func SaveStart(dirs Dirs, st StartState, cred *check.Credential, v *Proved, log zerolog.Logger) outcome.Findings {
	dir, err := dirs.Writable()
	if err == nil {
		err = writeFile(dir, stateFile, st)
		if fb := dirs.fallback(os.Geteuid()); err == nil && dir != defaultStateDir && dir != fb {
			// A health check not told the start's --state-dir looks in the
			// default directory and the fallbacks: leave a copy where it looks.
			if os.MkdirAll(fb, 0o755) == nil {
				writeFile(fb, stateFile, st)
			}
		}
		if err == nil && v != nil && cred != nil {
			err = SaveVerdict(dir, cred, *v)
		}
	}
	var fs outcome.Findings
	if err != nil {
		fs.Warn("state_not_saved", fmt.Sprintf("cannot save state for health checks in %q: %s", dirs.configured, safefile.ErrText(err)),
			"make SLEEVE_CHECK_STATE_DIR writable by the sleeve user; until then health checks cannot remember the API's verdict, so they ask the API only in the first minute of every SLEEVE_CHECK_HEALTH_TTL, and cannot see the start's flags")
		return fs
	}
	log.Debug().Str("dir", dir).Msg("saved state for health checks")
	return nil
}

// NoteStarting returns what tells of a long step of a start with a
// command (its name, and what it waits for), and the function that ends
// the note: it leaves starting.json saying which step runs, so that a
// health check during the start says "starting: ..." and no false reason
// (Docker runs the first ones while the start still probes). The last
// state.json is left as it is.
func NoteStarting(dirs Dirs, began time.Time) (note func(step, waits string), done func()) {
	// The directory is looked for only when a step first runs long: a
	// quick start touches nothing. (Notes come one at a time: each step
	// waits for its own.)
	var dir string
	return func(name, waits string) {
			if dir == "" {
				if d, err := dirs.Writable(); err == nil {
					dir = d
				} else {
					return
				}
			}
			writeFile(dir, startingFile, Starting{Began: began.UTC(), Step: name, Waits: waits, Since: time.Now().UTC()})
		}, func() {
			if dir != "" {
				os.Remove(filepath.Join(dir, startingFile))
			}
		}
}

// StartingNow is the note of a start in progress, when there is one newer
// than the last state a start left (last).
func StartingNow(dirs Dirs, last *StartState) *Starting {
	var st Starting
	_, owner, err := readNewest(dirs.forHealth(), startingFile, &st)
	if err != nil || (!trustedOwner(owner) && (last == nil || last.Start.Settings[settings.EnvPrefix+"USER"] == "")) {
		return nil
	}
	if last != nil && st.Began.Before(last.CheckedAt) {
		return nil
	}
	return &st
}

// SaveWaiting leaves a state that says the start is waiting for a usage
// window's reset, for health checks in the meantime.
func SaveWaiting(dirs Dirs, st StartState) {
	if dir, err := dirs.Writable(); err == nil {
		writeFile(dir, stateFile, st)
	}
}

// ReadStart finds the state the start left, for a health check. A state
// file someone other than root or this user wrote is used only when it
// names its writer as the sleeve user, so that the health check drops to
// that user before it acts on anything else in it.
func ReadStart(dirs Dirs) *StartState {
	var st StartState
	_, owner, err := readNewest(dirs.forHealth(), stateFile, &st)
	if err != nil {
		return nil
	}
	if !trustedOwner(owner) {
		spec := st.Start.Settings[settings.EnvPrefix+"USER"]
		if spec == "" {
			return nil
		}
		if u, err := sleeve.Lookup(spec); err != nil || u.UID != owner {
			return nil
		}
	}
	return &st
}

// Cmd is the start's command, or nil (also of no state).
func (st *StartState) Cmd() []string {
	if st == nil {
		return nil
	}
	return st.Command
}
