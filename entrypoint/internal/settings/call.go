package settings

import (
	"io"
	"os"
	"time"

	"github.com/rs/zerolog"

	"sleeve-check/entrypoint/internal/sleeve"
	"sleeve-check/internal/environ"
)

// Call is one run's inputs, read once at the edge and handed to a mode:
// the parsed invocation, the environment, the standard streams, the
// logger, when the run began, and the catcher of its signals (a step
// that waits has it catch them; an exec gives them back their
// dispositions).
type Call struct {
	Inv    *Invocation
	Env    environ.Env
	Stdin  *os.File
	Stdout io.Writer
	Stderr io.Writer
	Log    zerolog.Logger
	Began  time.Time
	Caught *sleeve.Catcher
}

// Settings is the call's settings.
func (c Call) Settings() Settings { return c.Inv.Settings }
