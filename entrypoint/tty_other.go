//go:build !linux

package entrypoint

import (
	"os"
	"syscall"
	"time"
	"unsafe"
)

// isTerminal reports whether w is a terminal (BSD and macOS: TIOCGETA).
// sleeve-check runs in Linux containers; this build is for working on it
// elsewhere.
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	if !ok || f == nil {
		return false
	}
	var t syscall.Termios
	_, _, e := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), syscall.TIOCGETA, uintptr(unsafe.Pointer(&t)))
	return e == 0
}

// pipeInput cannot tell, without Linux's TIOCINQ, whether a pipe will
// give data: "" lets the command judge for itself.
func pipeInput(fd int, wait time.Duration) string { return "" }
