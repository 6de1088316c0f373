package sleeve

import (
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// RealPath is p with every symlink resolved, the path Claude Code sees: it
// keys projects (and so the trust dialog) by process.cwd(), which the
// kernel reports without links (observed with 2.1.332: with the working
// directory /x/ws a link to real-ws, it asks to trust /x/real-ws). A part
// that does not exist yet is kept as written after the resolved prefix.
func RealPath(p string) string {
	p = filepath.Clean(p)
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r
	}
	dir, base := filepath.Split(p)
	if dir == "" || dir == p || base == "" {
		return p
	}
	return filepath.Join(RealPath(filepath.Clean(dir)), base)
}

// WorkingDir is the working directory as the kernel reports it, as
// Claude Code's process.cwd() does: os.Getwd prefers $PWD, which may name
// a symlink.
func WorkingDir() string {
	wd, _ := syscall.Getwd()
	return wd
}

// PasswdHome is the home directory of the effective user in /etc/passwd,
// where Claude Code (node's os.homedir) looks when HOME is unset.
func PasswdHome() string {
	u, err := user.LookupId(strconv.Itoa(os.Geteuid()))
	if err != nil {
		return ""
	}
	return u.HomeDir
}
