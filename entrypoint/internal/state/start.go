package state

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"

	"sleeve-check/check"
	"sleeve-check/entrypoint/internal/report"
	"sleeve-check/entrypoint/internal/settings"
	"sleeve-check/entrypoint/internal/sleeve"
	"sleeve-check/internal/outcome"
	"sleeve-check/internal/safefile"
)

// StartState is state.json: the start's report, and what a health check
// needs to judge the same sleeve (Docker runs it without the ENTRYPOINT's
// flags, often as another user).
type StartState struct {
	report.Report
	Start StartContext `json:"start"`
}

// LastStart is what a health check reads of state.json: the fields of
// the start's report it judges by (named as in report.Report), and how
// the start ran. Only these: encoding/json prepares every type of the
// value it decodes into, and the whole report's made up half of a health
// check's own time.
type LastStart struct {
	CheckedAt  time.Time          `json:"checked_at"`
	Status     check.Status       `json:"status"`
	Credential *check.Fingerprint `json:"credential,omitempty"`
	Command    []string           `json:"command,omitempty"`
	Start      StartContext       `json:"start"`
	// dir is where ReadStart found it: the key of Start.Identity is there.
	dir string
	// found are the fallback directories ReadStart looked in.
	found fallbacks
}

// StartContext is how the start ran, beyond its report.
type StartContext struct {
	// Waiting is set while the start waits for a usage limit's reset.
	Waiting *Waiting `json:"waiting,omitempty"`
	Home    string   `json:"home,omitempty"`
	// Settings are the start's settings not at their defaults, by
	// environment variable name (Invocation.Given).
	Settings map[string]string `json:"settings,omitempty"`
	// Identity is the keyed hash of the credential the command was given
	// (credentialID, under the key beside this file): health tells a
	// changed value from the start's even when its length and last four
	// are the same.
	Identity string `json:"identity,omitempty"`
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

// SaveStart leaves the start's report and how it ran (st), and its probe
// verdict (v, when there was one), for health checks. Failing to is a
// warning: the start itself is sound.
func SaveStart(dirs Dirs, st StartState, cred *check.Credential, v *Proved, log zerolog.Logger) outcome.Findings {
	dir, err := dirs.Writable()
	if err == nil {
		err = writeStart(dir, st, cred)
		if fb := dirs.fallback(os.Geteuid()); err == nil && dir != defaultStateDir && dir != fb {
			// A health check not told the start's --state-dir looks in the
			// default directory and the fallbacks: leave a copy where it looks.
			if os.MkdirAll(fb, 0o755) == nil {
				writeStart(fb, st, cred)
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

// writeStart writes state.json into dir, with the identity of cred under
// dir's key.
func writeStart(dir string, st StartState, cred *check.Credential) error {
	st.Start.Identity = credentialID(dir, cred, true)
	return writeFile(dir, stateFile, st)
}

// IsCredential tells whether c is the credential the start gave its
// command, by its keyed identity; known is false when the state holds no
// identity to compare (a state from an older start, or no key).
func (st *LastStart) IsCredential(c *check.Credential) (same, known bool) {
	if st == nil || st.Start.Identity == "" {
		return false, false
	}
	id := credentialID(st.dir, c, false)
	if id == "" {
		return false, false
	}
	return id == st.Start.Identity, true
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
func ReadStart(dirs Dirs) *LastStart {
	var st LastStart
	all := dirs.forHealth(nil)
	path, owner, err := readNewest(all, stateFile, &st)
	if err != nil {
		return nil
	}
	st.dir, st.found = filepath.Dir(path), fallbacks{dirs.tmp, all[1:]}
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
func (st *LastStart) Cmd() []string {
	if st == nil {
		return nil
	}
	return st.Command
}
