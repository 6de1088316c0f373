package entrypoint

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"sleeve-check/check"
)

// The state directory holds what the entrypoint run leaves for health
// checks: state.json (the start) and probe.json (the last API verdict,
// written by whichever run probed). No secret is in either: credentials
// appear as fingerprints only.
const (
	stateFile = "state.json"
	probeFile = "probe.json"
)

// ProbeCache is the last probe verdict and whom it was about.
type ProbeCache struct {
	CheckedAt  time.Time         `json:"checked_at"`
	Credential check.Fingerprint `json:"credential"`
	Verdict    check.Verdict     `json:"verdict"`
}

// StartState is state.json: the start's report, and what a health check
// needs to judge the same sleeve (Docker runs it without the ENTRYPOINT's
// flags, often as another user).
type StartState struct {
	Report
	Start StartContext `json:"start"`
}

// StartContext is how the start ran, beyond its report.
type StartContext struct {
	Home string `json:"home,omitempty"`
	// Settings are the start's settings not at their defaults, by
	// environment variable name (Invocation.Given).
	Settings map[string]string `json:"settings,omitempty"`
}

// defaultStateDir is SLEEVE_CHECK_STATE_DIR's default.
var defaultStateDir = fieldByName("StateDir").Default

// fallbackStateDir is the per-user state directory in the temporary
// directory, for when the configured one cannot be used (a non-root
// sleeve with a root-owned /run).
func fallbackStateDir(uid int) string {
	return filepath.Join(os.TempDir(), "sleeve-check-"+strconv.Itoa(uid))
}

// stateDirs lists where state may live: the configured directory, then
// this user's fallback.
func stateDirs(configured string) []string {
	return []string{configured, fallbackStateDir(os.Geteuid())}
}

// healthStateDirs is where a health check looks for the start's state: the
// configured directory (the default one unless told otherwise), and every
// user's fallback, since the start may have dropped to the sleeve user
// (--user) before saving it, and leaves a copy there when it used a
// --state-dir that health is not told about.
func healthStateDirs(configured string) []string {
	others, _ := filepath.Glob(filepath.Join(os.TempDir(), "sleeve-check-*"))
	return append([]string{configured}, others...)
}

// writableStateDir returns the first state directory that exists (or can
// be made) as a directory owned by this user, or by root for root-made
// /run directories that the image prepared.
func writableStateDir(configured string) (string, error) {
	var firstErr error
	for _, d := range stateDirs(configured) {
		if err := os.MkdirAll(d, 0o755); err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		st, err := os.Lstat(d)
		if err != nil || !st.IsDir() {
			continue
		}
		// A directory in a shared place that someone else owns could be a
		// trap laid for us; only our own (or root's, which we trust) is used.
		if !trustedOwner(ownerOf(st)) {
			continue
		}
		if syscall.Access(d, 2) == nil {
			return d, nil
		}
	}
	if firstErr == nil {
		firstErr = errors.New("no writable directory")
	}
	return "", firstErr
}

// writeStateFile writes v as JSON into dir/name atomically, readable by
// the container's users (mode 0644: there is no secret in it).
func writeStateFile(dir, name string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+name+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	// No fsync: this is run-time state, rebuilt by the next start; rename
	// alone makes a reader see the old file or the new, never a half.
	if _, err = tmp.Write(append(b, '\n')); err == nil {
		err = tmp.Chmod(0o644)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(dir, name))
}

// readStateFile reads the newest dir/name among the state directories.
func readStateFile(configured, name string, v any) (string, error) {
	p, _, err := readNewest(stateDirs(configured), name, v)
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
	f, err := os.OpenFile(newest, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return newest, -1, err
	}
	defer f.Close()
	owner := -1
	if st, err := f.Stat(); err == nil {
		owner = ownerOf(st)
	}
	b, err := io.ReadAll(io.LimitReader(f, 1<<20))
	if err != nil {
		return newest, owner, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return newest, owner, fmt.Errorf("%s is not valid JSON: %v", newest, err)
	}
	return newest, owner, nil
}

// ownerOf is the uid that owns a file, or -1.
func ownerOf(fi fs.FileInfo) int {
	if sys, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(sys.Uid)
	}
	return -1
}

// trustedOwner: a state file or directory of this user's or root's.
func trustedOwner(uid int) bool { return uid == 0 || uid == os.Geteuid() }

// sameCredential tells whether a cached verdict is about the credential
// in use now.
func sameCredential(a, b check.Fingerprint) bool {
	return a.Kind == b.Kind && a.Source == b.Source && a.Length == b.Length && a.Last4 == b.Last4
}

// saveState leaves the start's report, how it ran, and its probe verdict
// for health checks. Failing to is a warning: the start itself is sound.
func (r *runner) saveState() {
	dir, err := writableStateDir(r.inv.Settings.StateDir)
	if err == nil {
		st := StartState{Report: r.rep, Start: StartContext{Settings: r.inv.Given}}
		st.ExitCode, st.Exit = 0, check.OK.Name()
		if r.res != nil {
			st.Start.Home = r.res.Home
		}
		err = writeStateFile(dir, stateFile, st)
		if fb := fallbackStateDir(os.Geteuid()); err == nil && dir != defaultStateDir && dir != fb {
			// A health check not told the start's --state-dir looks in the
			// default directory and the fallbacks: leave a copy where it looks.
			if os.MkdirAll(fb, 0o755) == nil {
				writeStateFile(fb, stateFile, st)
			}
		}
		if err == nil && r.rep.Probe != nil && r.rep.Credential != nil {
			err = writeStateFile(dir, probeFile, ProbeCache{CheckedAt: r.start.UTC(), Credential: *r.rep.Credential, Verdict: *r.rep.Probe})
		}
	}
	if err != nil {
		r.finding(check.Finding{Severity: check.Warning, ID: "state_not_saved",
			Message: fmt.Sprintf("cannot save state for health checks in %q: %s", r.inv.Settings.StateDir, check.ErrText(err)),
			Hint:    "make SLEEVE_CHECK_STATE_DIR writable by the sleeve user; until then health checks cannot remember the API's verdict, so they ask the API only in the first minute of every SLEEVE_CHECK_HEALTH_TTL, and cannot see the start's flags"})
		return
	}
	r.log.Debug().Str("dir", dir).Msg("saved state for health checks")
}

// startState finds the state the start left, for a health check. A state
// file someone other than root or this user wrote is used only when it
// names its writer as the sleeve user, so that the health check drops to
// that user before it acts on anything else in it.
func startState(configured string) *StartState {
	var st StartState
	_, owner, err := readNewest(healthStateDirs(configured), stateFile, &st)
	if err != nil {
		return nil
	}
	if !trustedOwner(owner) {
		spec := st.Start.Settings[EnvPrefix+"USER"]
		if spec == "" {
			return nil
		}
		if u, err := lookupUser(spec); err != nil || u.UID != owner {
			return nil
		}
	}
	return &st
}
