package console

import (
	"os"
	"syscall"
	"time"
)

// StdinWait is how long Claude Code 2.1.332 waits for a first byte on a
// piped standard input in print mode before it gives up ("no stdin data
// received in 3s, proceeding without it", then exit 1).
const StdinWait = 3 * time.Second

// devNull is /dev/null's device number (major 1, minor 3).
const devNull = 1<<8 | 3

// NoInput says why standard input will give claude's print mode no
// prompt, or "" when it may: a pipe or file with data, or something
// sleeve-check cannot judge. Nothing is read from it: the command gets
// all of it.
func NoInput(stdin *os.File, wait time.Duration) string {
	if stdin == nil {
		return "standard input is closed"
	}
	st, err := stdin.Stat()
	if err != nil {
		return "standard input is closed"
	}
	mode := st.Mode()
	switch {
	case mode&os.ModeCharDevice != 0 && IsTerminal(stdin):
		return "standard input is a terminal, which print mode does not read"
	case mode&os.ModeCharDevice != 0:
		if sys, ok := st.Sys().(*syscall.Stat_t); ok && sys.Rdev == devNull {
			return "standard input is /dev/null"
		}
	case mode.IsRegular() && st.Size() == 0:
		return "standard input is an empty file"
	case mode&(os.ModeNamedPipe|os.ModeSocket) != 0:
		return pipeInput(int(stdin.Fd()), wait)
	}
	return ""
}
