//go:build !linux

package safefile

import "os"

// replaceUnsynced puts tmp in path's place (see the Linux version).
func replaceUnsynced(tmp, path string) error { return os.Rename(tmp, path) }
