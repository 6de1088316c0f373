// Package safefile is the one way sleeve-check reads and replaces a file.
//
// Everything it reads - a secret file, Claude Code's credentials and
// config, its own state - may have been planted or mounted by someone
// else: a FIFO that would block a read forever, a device that never ends,
// a directory that docker -v made in place of a missing file, a runaway
// file of gigabytes. Open and Read never block on one (O_NONBLOCK), judge
// the file they opened (fstat, not a stat that a swap can outrun), and
// read at most a given size. The errors say which case it was, so that
// each caller words it for its reader: fs.ErrNotExist and
// fs.ErrPermission as usual, *NotRegularError and *TooLargeError.
//
// WriteAtomic replaces a file the way every tool that must not lose a
// config does: a temporary file beside it, written, given its mode (and
// owner), optionally synced, renamed over the old one. A reader sees the
// old file or the new, never a half. Its *WriteError says which step
// failed, so that a caller can fall back (Claude Code's config, on a
// single-file bind mount, is rewritten in place). Swap replaces run-time
// state as atomically, and more cheaply, for a file that need not survive
// a crash.
package safefile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// NotRegularError: the path is a directory, a FIFO, a device or a socket.
type NotRegularError struct {
	Path string
	Mode fs.FileMode
}

func (e *NotRegularError) Error() string { return e.Path + " " + e.what() }

func (e *NotRegularError) what() string {
	if e.Mode.IsDir() {
		return "is a directory"
	}
	return fmt.Sprintf("is not a regular file (%s)", e.Mode.Type())
}

// IsDir tells the common mistake (docker -v of a missing host file) apart.
func (e *NotRegularError) IsDir() bool { return e.Mode.IsDir() }

// TooLargeError: the file holds more than the caller's bound.
type TooLargeError struct {
	Path string
	Max  int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("%s is larger than %d bytes", e.Path, e.Max)
}

// Options tune Open and Read.
type Options struct {
	// NoFollow refuses a symlink at the path itself (state files, which
	// live in shared directories).
	NoFollow bool
	// Swapped: the file is one that Swap replaces. It is read under a
	// shared lock (flock), which keeps a Swap from rewriting it in place
	// as its spare while it is read: the reader sees one whole version.
	Swapped bool
}

// swapTries is how often Open tries for a shared lock on a file that is
// locked exclusively (lockShared).
const swapTries = 3

// lockShared takes a shared lock on f, the file at path (Options.Swapped),
// and returns the file to read. Another's exclusive lock is a Swap that
// has just put the file in place and has not let go yet (microseconds),
// or a lock anyone who can read the file can take: it is tried again a
// few times, with the path opened again (it may name a newer file by
// then), and after that the file is read as it is. While that lock is
// held no Swap can write it either. On a file system without locks,
// where Swap never reuses a spare, the file is read as it is too.
func lockShared(f *os.File, path string, flags int) *os.File {
	for try := 1; try < swapTries; try++ {
		if syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB) != syscall.EWOULDBLOCK {
			return f
		}
		time.Sleep(time.Duration(try) * 50 * time.Microsecond)
		g, err := os.OpenFile(path, flags, 0)
		if err != nil {
			return f
		}
		f.Close()
		f = g
	}
	syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
	return f
}

// Open opens path for reading if it is a regular file.
func Open(path string, opt Options) (*os.File, fs.FileInfo, error) {
	flags := os.O_RDONLY | syscall.O_NONBLOCK | syscall.O_NOCTTY
	if opt.NoFollow {
		flags |= syscall.O_NOFOLLOW
	}
	f, err := os.OpenFile(path, flags, 0)
	if err == nil && opt.Swapped {
		f = lockShared(f, path, flags)
	}
	if err != nil {
		// What the path is says more than why it cannot be opened: a FIFO
		// of another user's is "not a regular file", not "permission denied".
		if st, serr := os.Stat(path); serr == nil && !st.Mode().IsRegular() {
			return nil, nil, &NotRegularError{Path: path, Mode: st.Mode()}
		}
		return nil, nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, nil, &NotRegularError{Path: path, Mode: st.Mode()}
	}
	return f, st, nil
}

// Read reads the regular file at path, at most max bytes.
func Read(path string, max int64, opt Options) ([]byte, fs.FileInfo, error) {
	f, st, err := Open(path, opt)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, nil, err
	}
	if int64(len(b)) > max {
		return nil, nil, &TooLargeError{Path: path, Max: max}
	}
	return b, st, nil
}

// WriteOptions tune WriteAtomic.
type WriteOptions struct {
	Mode fs.FileMode
	// UID and GID, when not -1 and running as root, are given to the new
	// file (the owner of the file it replaces).
	UID, GID int
	// Sync makes the data and the rename durable (fsync of the file and
	// its directory): for a config a person would miss. State that the
	// next start rebuilds is replaced by Swap instead.
	Sync bool
	// Rename replaces the file; nil means os.Rename.
	Rename func(oldpath, newpath string) error
}

// WriteError is a failed step of WriteAtomic or Swap: "create" (the
// temporary file), "write" or "rename".
type WriteError struct {
	Op  string
	Err error
}

func (e *WriteError) Error() string { return e.Op + ": " + e.Err.Error() }
func (e *WriteError) Unwrap() error { return e.Err }

// TempPattern is how the temporary files of WriteAtomic are named, after
// a dot and the name of the file they replace.
const TempPattern = ".sleeve-check-*"

// sparePath is the spare that Swap keeps beside path.
func sparePath(path string) string {
	return filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".spare")
}

// WriteAtomic replaces path with data. No temporary file is left behind.
func WriteAtomic(path string, data []byte, opt WriteOptions) error {
	tmp, err := writeTemp(path, data, opt)
	if err != nil {
		return err
	}
	rename := opt.Rename
	if rename == nil {
		rename = os.Rename
	}
	if err = rename(tmp, path); err != nil {
		os.Remove(tmp)
		return &WriteError{"rename", err}
	}
	if opt.Sync {
		if d, derr := os.Open(filepath.Dir(path)); derr == nil {
			d.Sync()
			d.Close()
		}
	}
	return nil
}

// writeTemp writes data into a new temporary file beside path, with the
// mode (owner, sync) of opt, and returns its name.
func writeTemp(path string, data []byte, opt WriteOptions) (name string, err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+TempPattern)
	if err != nil {
		return "", &WriteError{"create", err}
	}
	if _, err = tmp.Write(data); err == nil {
		err = tmp.Chmod(opt.Mode)
	}
	if err == nil && opt.UID >= 0 && os.Geteuid() == 0 {
		err = tmp.Chown(opt.UID, opt.GID)
	}
	if err == nil && opt.Sync {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp.Name())
		return "", &WriteError{"write", err}
	}
	return tmp.Name(), nil
}

// ErrText is an error's text without the path ("open /x:" of a PathError
// or LinkError), for messages that name the path themselves.
func ErrText(err error) string {
	var nr *NotRegularError
	if errors.As(err, &nr) {
		return nr.what()
	}
	var we *WriteError
	if errors.As(err, &we) {
		err = we.Err
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err.Error()
	}
	return err.Error()
}
