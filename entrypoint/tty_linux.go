package entrypoint

import (
	"syscall"
	"time"
	"unsafe"
)

// getTermios is the ioctl that reads a terminal's attributes.
const getTermios = syscall.TCGETS

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

// pipeReadable waits up to d for fd to have data to read.
func pipeReadable(fd int, d time.Duration) bool {
	var set syscall.FdSet
	set.Bits[fd/64] |= 1 << (uint(fd) % 64)
	tv := syscall.NsecToTimeval(d.Nanoseconds())
	n, err := syscall.Select(fd+1, &set, nil, nil, &tv)
	return err == nil && n > 0
}

// rawInput turns off line editing and echo on the terminal fd (each byte
// is read as it comes), and returns what restores it.
func rawInput(fd int) (func(), error) {
	var t syscall.Termios
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.TCGETS, uintptr(unsafe.Pointer(&t))); e != 0 {
		return nil, e
	}
	old := t
	t.Lflag &^= syscall.ICANON | syscall.ECHO
	t.Cc[syscall.VMIN], t.Cc[syscall.VTIME] = 1, 0
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.TCSETS, uintptr(unsafe.Pointer(&t))); e != 0 {
		return nil, e
	}
	return func() { syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.TCSETS, uintptr(unsafe.Pointer(&old))) }, nil
}
