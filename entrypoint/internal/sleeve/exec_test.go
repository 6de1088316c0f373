package sleeve

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLookPath(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "tool")
	must(t, os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755))
	noexec := filepath.Join(dir, "data")
	must(t, os.WriteFile(noexec, []byte("x"), 0o644))
	must(t, os.Mkdir(filepath.Join(dir, "sub"), 0o755))
	for _, tt := range []struct {
		name, path string
		found      string
		notFound   bool
		msg        string
	}{
		{"tool", dir, exe, false, ""},
		{"tool", "/nonexistent:" + dir, exe, false, ""},
		{"missing", dir, "", true, "not found in PATH"},
		{"data", dir, "", false, "is not executable"},
		{exe, "", exe, false, ""},
		{noexec, "", "", false, "is not executable"},
		{filepath.Join(dir, "sub"), "", "", false, "is a directory"},
		{filepath.Join(dir, "nope"), "", "", true, "does not exist"},
		{"", dir, "", true, "empty"},
	} {
		got, err := LookPath(tt.name, tt.path)
		var le *LookError
		switch {
		case tt.found != "":
			if err != nil || got != tt.found {
				t.Errorf("%s: %s %v", tt.name, got, err)
			}
		case !errors.As(err, &le) || le.NotFound != tt.notFound || !strings.Contains(le.Msg, tt.msg) || le.Hint == "":
			t.Errorf("%s: %v, want notFound=%v ~%q", tt.name, err, tt.notFound, tt.msg)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
