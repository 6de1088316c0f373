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

// stateDirs lists where state may live: the configured directory, then a
// per-user fallback in the temporary directory for when it cannot be
// created (a non-root sleeve with a root-owned /run).
func stateDirs(configured string) []string {
	return []string{configured, filepath.Join(os.TempDir(), "sleeve-check-"+strconv.Itoa(os.Geteuid()))}
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
		if sys, ok := st.Sys().(*syscall.Stat_t); ok && int(sys.Uid) != os.Geteuid() && sys.Uid != 0 {
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
	var newest string
	var newestT time.Time
	for _, d := range stateDirs(configured) {
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
		return "", fs.ErrNotExist
	}
	f, err := os.OpenFile(newest, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return newest, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 1<<20))
	if err != nil {
		return newest, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return newest, fmt.Errorf("%s is not valid JSON: %v", newest, err)
	}
	return newest, nil
}

// sameCredential tells whether a cached verdict is about the credential
// in use now.
func sameCredential(a, b check.Fingerprint) bool {
	return a.Kind == b.Kind && a.Source == b.Source && a.Length == b.Length && a.Last4 == b.Last4
}

// saveState leaves the start's report and probe verdict for health checks.
// Failing to is a warning: the start itself is sound.
func (r *runner) saveState() {
	dir, err := writableStateDir(r.inv.Settings.StateDir)
	if err == nil {
		rep := r.rep
		rep.ExitCode, rep.Exit = 0, check.OK.Name()
		err = writeStateFile(dir, stateFile, rep)
		if err == nil && r.rep.Probe != nil && r.rep.Credential != nil {
			err = writeStateFile(dir, probeFile, ProbeCache{CheckedAt: r.start.UTC(), Credential: *r.rep.Credential, Verdict: *r.rep.Probe})
		}
	}
	if err != nil {
		r.finding(check.Finding{Severity: check.Warning, ID: "state_not_saved",
			Message: fmt.Sprintf("cannot save state for health checks in %q: %s", r.inv.Settings.StateDir, check.ErrText(err)),
			Hint:    "make SLEEVE_CHECK_STATE_DIR writable by the sleeve user; health checks will probe the API on their own"})
		return
	}
	r.log.Debug().Str("dir", dir).Msg("saved state for health checks")
}
