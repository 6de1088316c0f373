//go:build linux

package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"unsafe"
)

// ttyrun runs its arguments with standard output on a new pseudo-terminal
// (as docker run -t gives it), copies what they print to its own standard
// output, and exits with their status: `exec ttyrun sleeve-check -- claude`.
func ttyrun() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: ttyrun command [args...]")
		os.Exit(2)
	}
	master, slave, err := openPTY()
	if err != nil {
		fmt.Fprintln(os.Stderr, "ttyrun:", err)
		os.Exit(2)
	}
	var out bytes.Buffer
	done := make(chan struct{})
	go func() { io.Copy(&out, master); close(done) }()
	cmd := exec.Command(os.Args[1], os.Args[2:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, slave, os.Stderr
	err = cmd.Run()
	slave.Close()
	<-done // the master reads EIO once the last writer is gone
	os.Stdout.Write(bytes.ReplaceAll(out.Bytes(), []byte("\r\n"), []byte("\n")))
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		os.Exit(ee.ExitCode())
	case err != nil:
		fmt.Fprintln(os.Stderr, "ttyrun:", err)
		os.Exit(2)
	}
	os.Exit(0)
}

// openPTY opens a pseudo-terminal pair: /dev/ptmx, unlocked, and its /dev/pts/N.
func openPTY() (master, slave *os.File, err error) {
	master, err = os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, nil, err
	}
	var unlock int32
	var n uint32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, master.Fd(), syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); e != 0 {
		master.Close()
		return nil, nil, e
	}
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, master.Fd(), syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); e != 0 {
		master.Close()
		return nil, nil, e
	}
	slave, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		master.Close()
		return nil, nil, err
	}
	return master, slave, nil
}
