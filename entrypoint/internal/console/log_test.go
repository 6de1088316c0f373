package console

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

func TestLoggerFormats(t *testing.T) {
	var b bytes.Buffer
	l := NewLogger(&b, "console", false, false, false)
	l.Error().Str("hint", "do this").Str("id", "x").Msg("it broke")
	if got := b.String(); got != "sleeve-check: error: it broke\nsleeve-check: hint: do this\n" {
		t.Fatalf("console: %q", got)
	}
	b.Reset()
	l = NewLogger(&b, "console", false, false, true)
	l.Warn().Msg("careful")
	if !strings.Contains(b.String(), "\x1b[33mwarning\x1b[0m") {
		t.Fatalf("no colour on a terminal: %q", b.String())
	}
	b.Reset()
	l = NewLogger(&b, "json", false, false, true)
	l.Error().Str("hint", "h").Msg("m")
	if got := b.String(); !strings.HasPrefix(got, `{"level":"error","logger":"sleeve-check","hint":"h",`) || strings.Contains(got, "\x1b") {
		t.Fatalf("json: %q", got)
	}
	b.Reset()
	l = NewLogger(&b, "console", false, false, false)
	l.Debug().Msg("step")
	if b.Len() != 0 {
		t.Fatalf("debug shown without --verbose: %q", b.String())
	}
}

func TestIsTerminal(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "x")
	if err != nil {
		t.Fatal(err)
	}
	if IsTerminal(f) || IsTerminal(&bytes.Buffer{}) {
		t.Fatal("a file or buffer is not a terminal")
	}
	if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
		defer tty.Close()
		if !IsTerminal(tty) {
			t.Fatal("/dev/tty is a terminal")
		}
	}
}
