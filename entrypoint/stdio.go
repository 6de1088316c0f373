package entrypoint

import (
	"os"
	"syscall"
	"time"
	"unsafe"
)

// stdinWait is how long Claude Code 2.1.332 waits for a first byte on a
// piped standard input in print mode before it gives up ("no stdin data
// received in 3s, proceeding without it", then exit 1).
const stdinWait = 3 * time.Second

// devNull is /dev/null's device number (major 1, minor 3).
const devNull = 1<<8 | 3

// noInput says why standard input will give claude's print mode no
// prompt, or "" when it may: a pipe or file with data, or something
// sleeve-check cannot judge. Nothing is read from it: the command gets
// all of it.
func noInput(stdin *os.File, wait time.Duration) string {
	if stdin == nil {
		return "standard input is closed"
	}
	st, err := stdin.Stat()
	if err != nil {
		return "standard input is closed"
	}
	mode := st.Mode()
	switch {
	case mode&os.ModeCharDevice != 0 && isTerminal(stdin):
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

// pipeInput waits up to wait for a pipe or socket to have data or to be
// closed, without reading from it.
func pipeInput(fd int, wait time.Duration) string {
	var set syscall.FdSet
	set.Bits[fd/64] |= 1 << (uint(fd) % 64)
	tv := syscall.NsecToTimeval(wait.Nanoseconds())
	n, err := syscall.Select(fd+1, &set, nil, nil, &tv)
	switch {
	case err != nil:
		return ""
	case n == 0:
		return "standard input is a pipe that gave no data in " + wait.String() + " (docker run -i without -t keeps it open and empty)"
	}
	var avail int32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.TIOCINQ, uintptr(unsafe.Pointer(&avail))); e == 0 && avail == 0 {
		return "standard input is a pipe that closed without data"
	}
	return ""
}
