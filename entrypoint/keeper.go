//go:build linux

package entrypoint

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"sleeve-check/internal/outcome"
)

// The keeper is the small supervisor of a Protectorate sleeve (`sleeve-check
// keeper -- claude ...`, as root under tini). Only it keeps root, for one
// job: reading Envoy's root-owned 0600 files and running the start's checks
// with them (which drop to the sleeve user for everything they write). It
// writes nothing into a path the sleeve user controls: its own directory
// (SLEEVE_CHECK_KEEPER_DIR) is root's. The session Envoy attaches to runs
// as the sleeve user (`sleeve-check session`, in dtach) and asks the keeper,
// over a unix socket whose peer it checks, for a verdict and the
// environment claude needs.
const keeperSocket = "keeper.sock"

// keeperReply is what the session gets: the verdict and, when it passed,
// the variables claude needs (the pasted token).
type keeperReply struct {
	KeeperVerdict
	Env map[string]string `json:"env,omitempty"`
}

type keeperRun struct {
	c    call
	user *sleeveUser
	self string
	mu   sync.Mutex // one check at a time
}

// keeper runs the supervisor until a signal: it starts the session, and
// answers its requests with a fresh check.
func keeper(ctx context.Context, c call) int {
	s := c.inv.Settings
	k := &keeperRun{c: c}
	var err error
	if k.user, err = lookupUser(s.User); err != nil || os.Geteuid() != 0 || len(c.inv.Command) == 0 {
		c.log.Error().Str("hint", "run it as root with SLEEVE_CHECK_USER (the sleeve user) and the command after --, as the protectorate image does").
			Msg("sleeve-check keeper needs root, SLEEVE_CHECK_USER and a command")
		return int(outcome.Config)
	}
	if k.self, err = os.Executable(); err != nil {
		return int(outcome.Internal)
	}
	ln, err := k.listen()
	if err != nil {
		c.log.Error().Str("hint", "give the keeper a directory of its own (SLEEVE_CHECK_KEEPER_DIR), owned by root").Msg(err.Error())
		return int(outcome.Config)
	}
	defer ln.Close()
	go k.serve(ln)
	c.log.Info().Msgf("keeper: the session is at %s (attach: dtach -a %s -e '^\\' -z, as %s)", s.SessionSocket, s.SessionSocket, k.user.Name)
	k.check() // the first verdict, in docker logs at once
	for {
		if !k.sessionAlive() {
			if err := k.startSession(); err != nil {
				c.log.Error().Msg("keeper: cannot start the session: " + err.Error())
			}
		}
		select {
		case <-ctx.Done():
			return int(outcome.Interrupted) + int(syscall.SIGTERM)
		case <-time.After(2 * time.Second):
		}
		if v := readKeeperVerdict(s.KeeperDir); v != nil && v.OK && time.Since(v.CheckedAt) > s.HealthTTL && s.HealthTTL > 0 {
			k.check() // health's view of the API stays within the TTL
		}
	}
}

// listen makes the keeper's directory (root's, 0755) and its socket.
func (k *keeperRun) listen() (net.Listener, error) {
	dir := k.c.inv.Settings.KeeperDir
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	st, err := os.Lstat(dir)
	if err != nil || !st.IsDir() || ownerOf(st) != 0 {
		return nil, fmt.Errorf("the keeper's directory %q is not a directory of root's", dir)
	}
	p := filepath.Join(dir, keeperSocket)
	os.Remove(p)
	ln, err := net.Listen("unix", p)
	if err != nil {
		return nil, err
	}
	// Anyone may connect; only the sleeve user is answered (SO_PEERCRED).
	return ln, os.Chmod(p, 0o666)
}

// serve answers the session: one request, one check, one reply.
func (k *keeperRun) serve(ln net.Listener) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer conn.Close()
			if !k.fromSleeveUser(conn) {
				return
			}
			conn.SetDeadline(time.Now().Add(k.c.inv.Settings.StartTimeout + time.Minute))
			if _, err := bufio.NewReader(conn).ReadString('\n'); err != nil {
				return
			}
			v, env := k.check()
			json.NewEncoder(conn).Encode(keeperReply{KeeperVerdict: v, Env: env})
		}()
	}
}

// fromSleeveUser reports whether the peer of conn is the sleeve user.
func (k *keeperRun) fromSleeveUser(conn net.Conn) bool {
	uc, ok := conn.(*net.UnixConn)
	if !ok {
		return false
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return false
	}
	var cred *syscall.Ucred
	raw.Control(func(fd uintptr) { cred, _ = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED) })
	return cred != nil && int(cred.Uid) == k.user.UID
}

// check reads Envoy's volume and runs the start's checks with what it
// found (as `sleeve-check -- true`, which drops to the sleeve user,
// prepares the config, probes and leaves its state), then records the
// verdict for health and logs its lines (docker logs).
func (k *keeperRun) check() (KeeperVerdict, map[string]string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	s := k.c.inv.Settings
	v := KeeperVerdict{CheckedAt: time.Now().UTC(), Lines: []string{}}
	creds, fs := envoyCredentials(s.CredsDir)
	if f := fs.FirstError(); f != nil {
		v.Code, v.Message = int(f.Code), f.Message
		v.Lines = []string{"sleeve-check: error: " + f.Message, "sleeve-check: hint: " + f.Hint}
	} else {
		v = k.runChecks(creds)
	}
	for _, l := range v.Lines {
		fmt.Fprintln(os.Stderr, l)
	}
	writeStateFile(s.KeeperDir, keeperVerdict, v)
	if !v.OK {
		return v, nil
	}
	env := map[string]string{}
	if t, ok := creds["CLAUDE_CODE_OAUTH_TOKEN"]; ok {
		env["CLAUDE_CODE_OAUTH_TOKEN"] = t
	}
	return v, env
}

// runChecks runs the start's pipeline in a child with Envoy's credential.
func (k *keeperRun) runChecks(creds map[string]string) KeeperVerdict {
	env := k.c.env.Clone()
	for key, val := range creds {
		env.Set(key, val)
	}
	env.Set("NO_COLOR", "1")
	cmd := exec.Command(k.self, "--", "true")
	cmd.Env = env.Slice()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	v := KeeperVerdict{CheckedAt: time.Now().UTC(), Lines: []string{}}
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			v.Lines = append(v.Lines, l)
		}
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
		v.OK = true
	case errors.As(err, &ee):
		v.Code = ee.ExitCode()
	default:
		v.Code = int(outcome.Internal)
		v.Lines = append(v.Lines, "sleeve-check: error: "+err.Error())
	}
	for _, l := range v.Lines {
		if m, ok := strings.CutPrefix(l, "sleeve-check: error: "); ok && v.Message == "" {
			v.Message = m
		}
	}
	return v
}

// sessionAlive reports whether the session answers at its socket.
func (k *keeperRun) sessionAlive() bool {
	conn, err := net.DialTimeout("unix", k.c.inv.Settings.SessionSocket, time.Second)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

// startSession starts, as the sleeve user, the dtach session Envoy's
// terminal attaches to, running `sleeve-check session -- CMD`.
func (k *keeperRun) startSession() error {
	s, u := k.c.inv.Settings, k.user
	env := k.c.env.Clone()
	for key, val := range u.env() {
		env.Set(key, val)
	}
	if env.Get("TERM") == "" {
		env.Set("TERM", "xterm-256color")
	}
	// All of it as the sleeve user: the socket's directory is theirs.
	args := append([]string{"-c", `mkdir -p -m 0700 "$(dirname "$0")" && rm -f "$0" && exec dtach -n "$0" -z "$@"`, s.SessionSocket, k.self, "session", "--"}, k.c.inv.Command...)
	cmd := exec.Command("/bin/sh", args...)
	cmd.Env, cmd.Dir = env.Slice(), workingDir()
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(u.UID), Gid: uint32(u.GID), Groups: toUint32(u.Groups)}}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("dtach: %v: %s", err, out)
	}
	return nil
}

func toUint32(ids []int) []uint32 {
	out := make([]uint32, len(ids))
	for i, id := range ids {
		out[i] = uint32(id)
	}
	return out
}
