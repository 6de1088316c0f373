// Package sleeve is the process's own world before the exec: whom it
// runs as (the user switch, as gosu does it), where (the paths as Claude
// Code sees them: symlinks resolved, the kernel's working directory), and
// the exec itself (a command found as a shell finds it, 126 told from
// 127). The start, health and the keeper use it.
package sleeve

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"
	"syscall"

	"github.com/rs/zerolog"

	"sleeve-check/internal/environ"
	"sleeve-check/internal/outcome"
)

// User is who Claude Code runs as.
type User struct {
	UID, GID int
	Groups   []int
	Name     string
	Home     string // "" when the user is not in /etc/passwd
}

// Lookup resolves NAME|UID[:GID] the way gosu and su-exec do: a name
// must exist; a bare number need not (it then has no home and no groups).
func Lookup(spec string) (*User, error) {
	name, gidSpec, hasGID := strings.Cut(spec, ":")
	if name == "" {
		return nil, fmt.Errorf("SLEEVE_CHECK_USER %q names no user", spec)
	}
	u := &User{}
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
func (u *User) become() error {
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

// Env returns the variables that follow the user: HOME, USER, LOGNAME.
func (u *User) Env() map[string]string {
	m := map[string]string{"USER": u.Name, "LOGNAME": u.Name}
	if u.Home != "" {
		m["HOME"] = u.Home
	}
	return m
}

// Switch drops to SLEEVE_CHECK_USER (spec), and returns the user and
// the environment that follows it (HOME, USER, LOGNAME).
func Switch(spec string, env environ.Env, log zerolog.Logger) (*User, environ.Env, outcome.Findings) {
	var fs outcome.Findings
	u, err := Lookup(spec)
	if err != nil {
		fs.Errf(outcome.Config, "user_unknown", err.Error(), "name a user of the image (see /etc/passwd), or a numeric UID[:GID]")
		return nil, env, fs
	}
	if os.Geteuid() != 0 {
		if u.UID == os.Geteuid() {
			return nil, env, nil // already that user
		}
		fs.Errf(outcome.Config, "user_needs_root", fmt.Sprintf("SLEEVE_CHECK_USER=%s needs root to switch to uid %d, and sleeve-check runs as uid %d", spec, u.UID, os.Geteuid()),
			"start the container as root (the image's USER root, or docker run --user 0), or drop SLEEVE_CHECK_USER and rely on the image's USER")
		return nil, env, fs
	}
	if err := u.become(); err != nil {
		fs.Errf(outcome.Config, "user_switch", fmt.Sprintf("cannot switch to %s: %v", spec, err), "the container may lack CAP_SETUID/CAP_SETGID")
		return nil, env, fs
	}
	add := u.Env()
	if u.Home == "" && env.Get("HOME") == "" {
		add["HOME"] = "/"
	}
	env = env.With(add)
	log.Debug().Int("uid", u.UID).Int("gid", u.GID).Ints("groups", u.Groups).Str("home", env.Get("HOME")).Msg("switched user")
	return u, env, nil
}

// Credential is u as a child process's credential (SysProcAttr).
func (u *User) Credential() *syscall.Credential {
	groups := make([]uint32, len(u.Groups))
	for i, g := range u.Groups {
		groups[i] = uint32(g)
	}
	return &syscall.Credential{Uid: uint32(u.UID), Gid: uint32(u.GID), Groups: groups}
}
