package state

import (
	"os"
	"path/filepath"
	"time"

	"sleeve-check/entrypoint/internal/settings"
)

// Starting is starting.json: the step a start is in, since when, and
// when the start began.
type Starting struct {
	Began time.Time `json:"began"`
	Step  string    `json:"step"`
	// Waits is what the step waits for (pipeline.Step.Waits).
	Waits string    `json:"waits,omitempty"`
	Since time.Time `json:"since"`
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
func StartingNow(dirs Dirs, last *LastStart) *Starting {
	var st Starting
	var known *fallbacks
	if last != nil {
		known = &last.found
	}
	_, owner, err := readNewest(dirs.forHealth(known), startingFile, &st)
	if err != nil || (!trustedOwner(owner) && (last == nil || last.Start.Settings[settings.EnvPrefix+"USER"] == "")) {
		return nil
	}
	if last != nil && st.Began.Before(last.CheckedAt) {
		return nil
	}
	return &st
}
