package safefile

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
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

// Swap replaces the file: the new content, a new file where there was
// none, and a directory in the way left as it was, with the rename's
// error. Beside the file it leaves at most its spare, the file it
// replaced.
func TestSwap(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "state.json")
	for i, content := range []string{"first", "second, longer", "third"} {
		if err := Swap(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		st, _ := os.Lstat(p)
		if b, _ := os.ReadFile(p); string(b) != content || st.Mode() != 0o644 {
			t.Fatalf("got %q (%v), want %q", b, st.Mode(), content)
		}
		if ents, _ := os.ReadDir(dir); len(ents) > 1 && (len(ents) != 2 || ents[0].Name() != ".state.json.spare") {
			t.Fatalf("write %d: files left beside it: %v", i, ents)
		}
	}
	d := filepath.Join(dir, "dir.json")
	if err := os.MkdirAll(filepath.Join(d, "inside"), 0o755); err != nil {
		t.Fatal(err)
	}
	for range 2 { // without a spare, then with one
		os.WriteFile(sparePath(d), []byte("spare"), 0o644)
		err := Swap(d, []byte("x"), 0o644)
		var we *WriteError
		if !errors.As(err, &we) || we.Op != "rename" {
			t.Fatalf("over a directory: %v", err)
		}
		if st, err := os.Stat(filepath.Join(d, "inside")); err != nil || !st.IsDir() {
			t.Fatalf("the directory was not left as it was: %v", err)
		}
	}
	os.Remove(sparePath(d))
	if ents, _ := os.ReadDir(dir); len(ents) != 3 {
		t.Fatalf("files left beside them: %v", ents)
	}
}

// From the third write on, Swap makes no file: it writes the spare in
// place (its new mode too) and exchanges it with the file, whose old
// inode becomes the spare.
func TestSwapReusesTheSpare(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "probe.json")
	Swap(p, []byte("one"), 0o600)
	Swap(p, []byte("two"), 0o600)
	ino := func(path string) uint64 {
		st, err := os.Lstat(path)
		if err != nil {
			t.Fatal(err)
		}
		return st.Sys().(*syscall.Stat_t).Ino
	}
	cur, spare := ino(p), ino(sparePath(p))
	if b, _ := os.ReadFile(sparePath(p)); string(b) != "one" {
		t.Fatalf("the spare holds %q, want the file it replaced", b)
	}
	if err := Swap(p, []byte("three"), 0o644); err != nil {
		t.Fatal(err)
	}
	if ino(p) != spare || ino(sparePath(p)) != cur {
		t.Fatal("the spare was not written and exchanged")
	}
	if b, _ := os.ReadFile(p); string(b) != "three" {
		t.Fatalf("got %q", b)
	}
	if st, _ := os.Stat(p); st.Mode() != 0o644 {
		t.Fatalf("mode %v", st.Mode())
	}
}

// A spare that could write through to another file - a symlink, a hard
// link, not a regular file - is never written: Swap makes a new file,
// and what the spare points at is unchanged.
func TestSwapDoesNotWriteThroughTheSpare(t *testing.T) {
	for _, kind := range []string{"symlink", "hardlink", "fifo"} {
		t.Run(kind, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "state.json")
			other := filepath.Join(dir, "other")
			os.WriteFile(other, []byte("keep"), 0o644)
			os.WriteFile(p, []byte("old"), 0o644)
			switch kind {
			case "symlink":
				os.Symlink(other, sparePath(p))
			case "hardlink":
				os.Link(other, sparePath(p))
			case "fifo":
				syscall.Mkfifo(sparePath(p), 0o644)
			}
			if err := Swap(p, []byte("new"), 0o644); err != nil {
				t.Fatal(err)
			}
			if b, _ := os.ReadFile(p); string(b) != "new" {
				t.Fatalf("got %q", b)
			}
			if b, _ := os.ReadFile(other); string(b) != "keep" {
				t.Fatalf("written through the spare: %q", b)
			}
		})
	}
}

// Writers at once each leave a whole file: a reader (under its shared
// lock) sees one of their contents, never a mix, and no temporary file
// is left.
func TestSwapConcurrent(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "state.json")
	var wg sync.WaitGroup
	stop := make(chan struct{})
	bad := make(chan string, 1)
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			b, _, err := Read(p, 1<<20, Options{NoFollow: true, Swapped: true})
			if err == nil && len(b) > 0 && strings.Trim(string(b), string(b[:1])) != "" {
				select {
				case bad <- string(b):
				default:
				}
			}
		}
	}()
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := strings.Repeat(string(rune('a'+w)), 100+w*37)
			for range 200 {
				if err := Swap(p, []byte(c), 0o644); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	select {
	case b := <-bad:
		t.Fatalf("a reader saw a mix: %q", b)
	default:
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 2 {
		t.Fatalf("files left: %v", ents)
	}
}

// A file still being read is not rewritten: a reader that opened the
// file just before a Swap made it the spare holds a shared lock on it,
// and the next Swap writes a new file instead.
func TestSwapLeavesAFileBeingRead(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "state.json")
	Swap(p, []byte("one"), 0o644)
	f, _, err := Open(p, Options{NoFollow: true, Swapped: true})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	Swap(p, []byte("two"), 0o644)   // the file being read is now the spare
	Swap(p, []byte("three"), 0o644) // and is not written
	b, _ := io.ReadAll(f)
	if string(b) != "one" {
		t.Fatalf("the reader saw %q", b)
	}
	if b, _ := os.ReadFile(p); string(b) != "three" {
		t.Fatalf("got %q", b)
	}
}

// A spare another writer holds is not written: Swap writes a new file,
// and the spare is as it was.
func TestSwapLeavesALockedSpare(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "probe.json")
	Swap(p, []byte("one"), 0o644)
	Swap(p, []byte("two"), 0o644) // the spare now holds "one"
	spare, err := os.OpenFile(sparePath(p), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer spare.Close()
	if err := syscall.Flock(int(spare.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	if err := Swap(p, []byte("three"), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "three" {
		t.Fatalf("got %q", b)
	}
	if b, _ := io.ReadAll(spare); string(b) != "one" {
		t.Fatalf("a locked spare was written: %q", b)
	}
}

// Anyone who can read a state file can lock it: a reader that cannot
// get its shared lock still reads the file (no Swap can write it while
// that lock is held), after a few short tries.
func TestReadPastAnotherLock(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "verdict.json")
	Swap(p, []byte("whole"), 0o644)
	hostile, err := os.Open(p) // read-only, as any user could
	if err != nil {
		t.Fatal(err)
	}
	defer hostile.Close()
	if err := syscall.Flock(int(hostile.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	b, _, err := Read(p, 1<<10, Options{NoFollow: true, Swapped: true})
	if err != nil || string(b) != "whole" {
		t.Fatalf("got %q, %v", b, err)
	}
}
