//go:build linux

package safefile

import (
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// Swap replaces path with data, for run-time state that is rewritten at
// every start and need not survive a crash (no fsync), without making a
// file. Creating one is the dearest part of a write on ext4: the inode
// allocator skips over recently deleted inodes, reading their blocks, and
// a start that wrote a temporary file, renamed it and deleted the old
// one spent up to a millisecond there, a fifth of its time.
//
// Beside path lives its spare, the file the previous write swapped out
// (.NAME.spare, of the same mode and owner). Swap takes it under an
// exclusive lock, writes data into it in place, and exchanges the two
// names (renameat2 RENAME_EXCHANGE): a reader sees the old file or the
// new, never a half, and the old file is the next spare. Exchanging, not
// renaming over, also spares the new file ext4's early write-out
// (auto_da_alloc), as a file that need not survive a crash needs none.
// A reader that opened the old file just before still reads it whole: it
// reads under a shared lock (Options.Swapped), and a spare that is locked
// is not written.
//
// Without a usable spare (the first writes; a spare that is locked, not
// a regular file of this user's with one link, or no longer the spare
// once locked) Swap writes a new file as WriteAtomic does, and keeps the
// old one as the spare. Where path is not a regular file (a directory),
// it is left as it is, with the rename's error.
func Swap(path string, data []byte, mode fs.FileMode) error {
	ok, err := swapSpare(path, data, mode)
	if !ok {
		return swapNew(path, data, mode)
	}
	return err
}

// swapSpare writes data into the spare in place and exchanges it with
// path, all under the spare's lock, if there is a usable spare (ok).
func swapSpare(path string, data []byte, mode fs.FileMode) (ok bool, err error) {
	spare := sparePath(path)
	fd, err := unix.Open(spare, unix.O_RDWR|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false, nil
	}
	defer unix.Close(fd) // and the lock with it, once the file is in path's place
	// Never waited for: a spare another writer holds, or a reader that
	// opened it as the file a moment ago still reads (Open's shared lock),
	// is left alone.
	if unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB) != nil {
		return false, nil
	}
	// Judged under the lock: the file opened is still the spare (a writer
	// that held the lock before did not exchange it into path's place),
	// and one that only this user can have made.
	var st, at unix.Stat_t
	if unix.Fstat(fd, &st) != nil || unix.Lstat(spare, &at) != nil || st.Ino != at.Ino || st.Dev != at.Dev ||
		st.Mode&unix.S_IFMT != unix.S_IFREG || st.Nlink != 1 || int(st.Uid) != os.Geteuid() {
		return false, nil
	}
	for off := 0; off < len(data); {
		n, err := unix.Pwrite(fd, data[off:], int64(off))
		if err != nil {
			return true, &WriteError{"write", err}
		}
		off += n
	}
	// Shortened to the new length, never to zero first: a file truncated
	// to zero and written again is written out at close (auto_da_alloc).
	if err := unix.Ftruncate(fd, int64(len(data))); err != nil {
		return true, &WriteError{"write", err}
	}
	if fs.FileMode(st.Mode)&fs.ModePerm != mode.Perm() {
		if err := unix.Fchmod(fd, uint32(mode.Perm())); err != nil {
			return true, &WriteError{"write", err}
		}
	}
	// Exchanged before the lock is let go: a writer that locked the spare
	// after this one let go, and found it still the spare, would
	// otherwise write it too, and the two exchanges would put the old
	// file back.
	if err := exchange(spare, path); err != nil {
		return true, &WriteError{"rename", err}
	}
	return true, nil
}

// swapNew puts a new file with data in path's place, and keeps the file
// it replaces as the spare (unless there is one already).
func swapNew(path string, data []byte, mode fs.FileMode) error {
	tmp, err := writeTemp(path, data, WriteOptions{Mode: mode, UID: -1})
	if err != nil {
		return err
	}
	if err := exchange(tmp, path); err != nil {
		os.Remove(tmp)
		return &WriteError{"rename", err}
	}
	if _, err := os.Lstat(tmp); err == nil {
		if unix.Renameat2(unix.AT_FDCWD, tmp, unix.AT_FDCWD, sparePath(path), unix.RENAME_NOREPLACE) != nil {
			os.Remove(tmp)
		}
	}
	return nil
}

// exchange puts the regular file from in path's place; what was there (a
// regular file) is then at from. Where it cannot exchange (nothing to
// exchange with, a file system or a seccomp filter that refuses
// renameat2) it renames. What is not a regular file is left in place,
// and the rename says why it cannot be replaced.
func exchange(from, path string) error {
	if unix.Renameat2(unix.AT_FDCWD, from, unix.AT_FDCWD, path, unix.RENAME_EXCHANGE) != nil {
		return os.Rename(from, path)
	}
	var st unix.Stat_t
	if unix.Lstat(from, &st) == nil && st.Mode&unix.S_IFMT != unix.S_IFREG {
		unix.Renameat2(unix.AT_FDCWD, from, unix.AT_FDCWD, path, unix.RENAME_EXCHANGE)
		return os.Rename(from, path)
	}
	return nil
}
