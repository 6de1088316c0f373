//go:build !linux

package console

import (
	"syscall"
	"time"
)

// getTermios is the ioctl that reads a terminal's attributes (BSD and
// macOS). sleeve-check runs in Linux containers; this build is for
// working on it elsewhere.
const getTermios = syscall.TIOCGETA

// pipeInput cannot tell, without Linux's TIOCINQ, whether a pipe will
// give data: "" lets the command judge for itself.
func pipeInput(fd int, wait time.Duration) string { return "" }
