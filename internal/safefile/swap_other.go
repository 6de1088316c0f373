//go:build !linux

package safefile

import "io/fs"

// Swap replaces path with data, for run-time state that need not survive
// a crash: WriteAtomic without a sync (the Linux version keeps a spare
// file, see there).
func Swap(path string, data []byte, mode fs.FileMode) error {
	return WriteAtomic(path, data, WriteOptions{Mode: mode, UID: -1})
}
