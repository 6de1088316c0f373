//go:build linux

package safefile

import (
	"os"

	"golang.org/x/sys/unix"
)

// replaceUnsynced puts tmp in path's place for a file that is not synced.
// A rename over a file makes ext4 (auto_da_alloc, its default) start
// writing the new file out at once, as half an fsync, for programs that
// replace a file without syncing it: what a file that need not survive a
// crash does not need, and a tenth of a millisecond each time. Exchanging
// the two names is as atomic for a reader and does not trigger it; the
// old file, now under tmp's name, is then removed. Where there is nothing
// to exchange with (no file yet) or the file system cannot exchange,
// this is a rename; where path is not a file (a directory), the exchange
// is undone and the rename says why it cannot be replaced.
func replaceUnsynced(tmp, path string) error {
	if unix.Renameat2(unix.AT_FDCWD, tmp, unix.AT_FDCWD, path, unix.RENAME_EXCHANGE) != nil {
		return os.Rename(tmp, path)
	}
	if unix.Unlink(tmp) != nil {
		unix.Renameat2(unix.AT_FDCWD, tmp, unix.AT_FDCWD, path, unix.RENAME_EXCHANGE)
		return os.Rename(tmp, path)
	}
	return nil
}
