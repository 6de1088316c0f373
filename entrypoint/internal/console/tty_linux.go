package console

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
	ready, err := Readable(fd, wait)
	switch {
	case err != nil:
		return ""
	case !ready:
		return "standard input is a pipe that gave no data in " + wait.String() + " (docker run -i without -t keeps it open and empty)"
	}
	var avail int32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.TIOCINQ, uintptr(unsafe.Pointer(&avail))); e == 0 && avail == 0 {
		return "standard input is a pipe that closed without data"
	}
	return ""
}

// Readable waits up to d for fd to have data to read (or to be closed).
func Readable(fd int, d time.Duration) (bool, error) {
	var set syscall.FdSet
	set.Bits[fd/64] |= 1 << (uint(fd) % 64)
	tv := syscall.NsecToTimeval(d.Nanoseconds())
	n, err := syscall.Select(fd+1, &set, nil, nil, &tv)
	return n > 0, err
}

// RawInput turns off line editing and echo on the terminal fd (each byte
// is read as it comes), and returns what restores it.
func RawInput(fd int) (func(), error) {
	var t syscall.Termios
	if e := termiosIoctl(uintptr(fd), syscall.TCGETS, &t); e != 0 {
		return nil, e
	}
	old := t
	t.Lflag &^= syscall.ICANON | syscall.ECHO
	t.Cc[syscall.VMIN], t.Cc[syscall.VTIME] = 1, 0
	if e := termiosIoctl(uintptr(fd), syscall.TCSETS, &t); e != 0 {
		return nil, e
	}
	return func() { termiosIoctl(uintptr(fd), syscall.TCSETS, &old) }, nil
}
