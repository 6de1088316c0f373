// Package console is what a person at the sleeve's console sees and
// types: the one logger of a run (console lines "sleeve-check: error: ..."
// and "sleeve-check: hint: ...", or JSON lines), whether a stream is a
// terminal, what standard input will give Claude Code's print mode, and
// the session's raw input (Linux: tty_linux.go; a stand-in elsewhere).
package console

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"syscall"
	"unsafe"

	"github.com/rs/zerolog"
)

// NewLogger builds the one logger of a run. Console lines read
// "sleeve-check: error: ..." followed by "sleeve-check: hint: ..."; JSON
// lines carry the same as fields. Only warnings and errors appear unless
// verbose; errors only when quiet.
func NewLogger(w io.Writer, format string, verbose, quiet, color bool) zerolog.Logger {
	level := zerolog.InfoLevel
	switch {
	case verbose:
		level = zerolog.DebugLevel
	case quiet:
		level = zerolog.ErrorLevel
	}
	if format == "json" {
		return zerolog.New(w).Level(level).With().Timestamp().Str("logger", "sleeve-check").Logger()
	}
	cw := zerolog.ConsoleWriter{
		Out:           w,
		NoColor:       !color,
		PartsOrder:    []string{zerolog.LevelFieldName, zerolog.MessageFieldName},
		FieldsExclude: []string{"hint", "id"},
		FormatLevel: func(i any) string {
			l, _ := i.(string)
			word := map[string]string{"error": "error", "warn": "warning", "info": "info", "debug": "debug", "fatal": "error", "panic": "error"}[l]
			if word == "" {
				word = l
			}
			if color {
				switch l {
				case "error", "fatal", "panic":
					word = "\x1b[31m" + word + "\x1b[0m"
				case "warn":
					word = "\x1b[33m" + word + "\x1b[0m"
				}
			}
			return "sleeve-check: " + word + ":"
		},
		FormatExtra: func(m map[string]any, b *bytes.Buffer) error {
			if h, ok := m["hint"].(string); ok && h != "" {
				fmt.Fprintf(b, "\nsleeve-check: hint: %s", h)
			}
			return nil
		},
	}
	return zerolog.New(cw).Level(level)
}

// IsTerminal reports whether w is a terminal, as isatty(3) does: the
// terminal ioctl answers. (A character device is not enough: /dev/null is one.)
func IsTerminal(w any) bool {
	f, ok := w.(*os.File)
	if !ok || f == nil {
		return false
	}
	var t syscall.Termios
	return termiosIoctl(f.Fd(), getTermios, &t) == 0
}

// termiosIoctl reads or sets a terminal's attributes (req: TCGETS, ...).
func termiosIoctl(fd, req uintptr, t *syscall.Termios) syscall.Errno {
	_, _, e := syscall.Syscall(syscall.SYS_IOCTL, fd, req, uintptr(unsafe.Pointer(t)))
	return e
}
