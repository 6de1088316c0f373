package safefile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestReadRefusesWhatIsNotAFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big")
	os.WriteFile(big, []byte(strings.Repeat("x", 11)), 0o600)
	ok := filepath.Join(dir, "ok")
	os.WriteFile(ok, []byte("0123456789"), 0o600)
	link := filepath.Join(dir, "link")
	os.Symlink(ok, link)

	var nr *NotRegularError
	if _, _, err := Read(fifo, 10, Options{}); !errors.As(err, &nr) || nr.IsDir() {
		t.Fatalf("fifo: %v", err) // and it returned: no hang
	}
	if _, _, err := Read(dir, 10, Options{}); !errors.As(err, &nr) || !nr.IsDir() {
		t.Fatalf("dir: %v", err)
	}
	var tl *TooLargeError
	if _, _, err := Read(big, 10, Options{}); !errors.As(err, &tl) || tl.Max != 10 {
		t.Fatalf("big: %v", err)
	}
	if _, _, err := Read(filepath.Join(dir, "none"), 10, Options{}); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing: %v", err)
	}
	if b, st, err := Read(link, 10, Options{}); err != nil || string(b) != "0123456789" || st.Size() != 10 {
		t.Fatalf("link followed: %q %v", b, err)
	}
	if _, _, err := Read(link, 10, Options{NoFollow: true}); err == nil {
		t.Fatal("NoFollow read through a symlink")
	}
}

func TestWriteAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f.json")
	os.WriteFile(p, []byte("old"), 0o600)
	if err := WriteAtomic(p, []byte("new"), WriteOptions{Mode: 0o640, UID: -1, Sync: true}); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(p)
	if b, _ := os.ReadFile(p); string(b) != "new" || st.Mode().Perm() != 0o640 {
		t.Fatalf("%q %v", b, st.Mode())
	}
	busy := func(o, n string) error { return &os.LinkError{Op: "rename", Old: o, New: n, Err: syscall.EBUSY} }
	err := WriteAtomic(p, []byte("newer"), WriteOptions{Mode: 0o600, UID: -1, Rename: busy})
	var we *WriteError
	if !errors.As(err, &we) || we.Op != "rename" || !errors.Is(err, syscall.EBUSY) || ErrText(err) != syscall.EBUSY.Error() {
		t.Fatalf("%v", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "new" {
		t.Fatal("a failed rename changed the file")
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("temp file left behind: %v", ents)
	}
	err = WriteAtomic(filepath.Join(dir, "no", "such"), nil, WriteOptions{UID: -1})
	if !errors.As(err, &we) || we.Op != "create" || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("%v", err)
	}
}

// A file that is not synced is replaced by exchanging names on Linux:
// the same outcome as a rename - the new content, no file left beside
// it, a new file where there was none - and a directory in the way is
// left as it was, with the rename's error.
func TestWriteAtomicUnsynced(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "state.json")
	for _, content := range []string{"first", "second"} {
		if err := WriteAtomic(p, []byte(content), WriteOptions{Mode: 0o644, UID: -1}); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(p); string(b) != content {
			t.Fatalf("got %q, want %q", b, content)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 1 {
			t.Fatalf("files left beside it: %v", ents)
		}
	}
	d := filepath.Join(dir, "dir.json")
	if err := os.MkdirAll(filepath.Join(d, "inside"), 0o755); err != nil {
		t.Fatal(err)
	}
	err := WriteAtomic(d, []byte("x"), WriteOptions{Mode: 0o644, UID: -1})
	var we *WriteError
	if !errors.As(err, &we) || we.Op != "rename" {
		t.Fatalf("over a directory: %v", err)
	}
	if st, err := os.Stat(filepath.Join(d, "inside")); err != nil || !st.IsDir() {
		t.Fatalf("the directory was not left as it was: %v", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 2 {
		t.Fatalf("files left beside them: %v", ents)
	}
}
