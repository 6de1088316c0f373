package entrypoint

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"
	"syscall"
)

// sleeveUser is who Claude Code runs as.
type sleeveUser struct {
	UID, GID int
	Groups   []int
	Name     string
	Home     string // "" when the user is not in /etc/passwd
}

// lookupUser resolves NAME|UID[:GID] the way gosu and su-exec do: a name
// must exist; a bare number need not (it then has no home and no groups).
func lookupUser(spec string) (*sleeveUser, error) {
	name, gidSpec, hasGID := strings.Cut(spec, ":")
	if name == "" {
		return nil, fmt.Errorf("SLEEVE_CHECK_USER %q names no user", spec)
	}
	u := &sleeveUser{}
	var pw *user.User
	if uid, err := strconv.Atoi(name); err == nil {
		if uid < 0 {
			return nil, fmt.Errorf("SLEEVE_CHECK_USER %q: negative uid", spec)
		}
		u.UID, u.GID, u.Name = uid, uid, name
		pw, _ = user.LookupId(name)
	} else {
		pw, err = user.Lookup(name)
		if err != nil {
			return nil, fmt.Errorf("SLEEVE_CHECK_USER %q: no such user in /etc/passwd", spec)
		}
	}
	if pw != nil {
		u.UID, _ = strconv.Atoi(pw.Uid)
		u.GID, _ = strconv.Atoi(pw.Gid)
		u.Name, u.Home = pw.Username, pw.HomeDir
		if ids, err := pw.GroupIds(); err == nil {
			for _, g := range ids {
				if n, err := strconv.Atoi(g); err == nil {
					u.Groups = append(u.Groups, n)
				}
			}
		}
	}
	if hasGID {
		if g, err := strconv.Atoi(gidSpec); err == nil && g >= 0 {
			u.GID = g
		} else if gr, err := user.LookupGroup(gidSpec); err == nil {
			u.GID, _ = strconv.Atoi(gr.Gid)
		} else {
			return nil, fmt.Errorf("SLEEVE_CHECK_USER %q: no such group %q", spec, gidSpec)
		}
	}
	if len(u.Groups) == 0 {
		u.Groups = []int{u.GID}
	}
	return u, nil
}

// become drops the process to u: supplementary groups, gid, uid, in that
// order, for every thread (Go does this with one call per kind since 1.16).
// Everything after it - reading credentials, writing the config, the exec
// - is done with u's rights, enforced by the kernel: nothing outside u's
// reach can be read, written or truncated, symlinks planted or not.
func (u *sleeveUser) become() error {
	if err := syscall.Setgroups(u.Groups); err != nil {
		return fmt.Errorf("setgroups: %w", err)
	}
	if err := syscall.Setgid(u.GID); err != nil {
		return fmt.Errorf("setgid %d: %w", u.GID, err)
	}
	if err := syscall.Setuid(u.UID); err != nil {
		return fmt.Errorf("setuid %d: %w", u.UID, err)
	}
	if os.Getuid() != u.UID || os.Geteuid() != u.UID {
		return fmt.Errorf("still uid %d after setuid %d", os.Geteuid(), u.UID)
	}
	return nil
}

// env returns the variables that follow the user: HOME, USER, LOGNAME.
func (u *sleeveUser) env() map[string]string {
	m := map[string]string{"USER": u.Name, "LOGNAME": u.Name}
	if u.Home != "" {
		m["HOME"] = u.Home
	}
	return m
}
