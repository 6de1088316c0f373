//go:build !linux

package main

import (
	"fmt"
	"os"
)

// ttyrun needs Linux's pseudo-terminal ioctls (tty_test.go); elsewhere
// the scripts that use it fail with this line, and the rest run.
func ttyrun() {
	fmt.Fprintln(os.Stderr, "ttyrun: needs Linux")
	os.Exit(2)
}
