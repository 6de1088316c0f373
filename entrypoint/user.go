package entrypoint

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/user"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/rs/zerolog"

	"sleeve-check/check"
	"sleeve-check/internal/environ"
	"sleeve-check/internal/outcome"
	"sleeve-check/internal/safefile"
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

// rootFiles are what is read before the user switch, with the rights
// the container started with: the operator named these files, and a
// root-owned 0600 mount is for root to read.
type rootFiles struct {
	secrets *check.Secrets // the *_FILE secrets
	seed    *seedSource    // SLEEVE_CHECK_SEED_CREDENTIALS, if set
	// base is SLEEVE_CHECK_MERGE_CONFIG's object, if set.
	base map[string]any
}

// maxMergeConfig bounds the config to merge (a .claude.json grows with
// its projects' history).
const maxMergeConfig = 64 << 20

// readRootFiles reads the *_FILE secrets, the seed and the config to merge.
func readRootFiles(s Settings, env environ.Env) (rootFiles, outcome.Findings) {
	rf := rootFiles{secrets: check.LoadSecrets(env)}
	if s.SeedCredentials != "" {
		data, of, fs := check.ReadSeed(s.SeedCredentials)
		rf.seed = &seedSource{data, of, fs}
	}
	var fs outcome.Findings
	if p := s.MergeConfig; p != "" {
		b, _, err := safefile.Read(p, maxMergeConfig, safefile.Options{})
		if err == nil {
			err = json.Unmarshal(b, &rf.base)
			if err == nil && rf.base == nil {
				err = errors.New("it is null")
			}
		}
		if err != nil {
			fs.Errf(outcome.Config, "merge_config", fmt.Sprintf("SLEEVE_CHECK_MERGE_CONFIG %q cannot be merged into Claude Code's config: it is not a JSON object (%s)", p, safefile.ErrText(err)),
				"point it at a copy of a .claude.json, or unset it")
		}
	}
	return rf, fs
}

// switchUser drops to SLEEVE_CHECK_USER (spec), and returns the user and
// the environment that follows it (HOME, USER, LOGNAME).
func switchUser(spec string, env environ.Env, log zerolog.Logger) (*sleeveUser, environ.Env, outcome.Findings) {
	var fs outcome.Findings
	u, err := lookupUser(spec)
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
	env = env.Clone()
	add := u.env()
	if u.Home == "" && env.Get("HOME") == "" {
		add["HOME"] = "/"
	}
	for _, k := range slices.Sorted(maps.Keys(add)) {
		env.Set(k, add[k])
	}
	log.Debug().Int("uid", u.UID).Int("gid", u.GID).Ints("groups", u.Groups).Str("home", env.Get("HOME")).Msg("switched user")
	return u, env, nil
}
