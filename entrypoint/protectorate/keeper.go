//go:build linux

package protectorate

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"sleeve-check/entrypoint/internal/fleet"
	"sleeve-check/entrypoint/internal/settings"
	"sleeve-check/entrypoint/internal/sleeve"
	"sleeve-check/entrypoint/internal/state"
	"sleeve-check/internal/outcome"
)

// keeperSocket is where the session asks the keeper, in its directory.
const keeperSocket = "keeper.sock"

// keeperReply is what the session gets: the verdict and, when it passed,
// the variables claude needs (the pasted token).
type keeperReply struct {
	state.KeeperVerdict
	Env map[string]string `json:"env,omitempty"`
}

type keeperRun struct {
	c    settings.Call
	user *sleeve.User
	self string
	mu   sync.Mutex // one check at a time
	gw   *keeperGateway
}

// Keeper runs the supervisor until a signal: it starts the session, and
// answers its requests with a fresh check.
func Keeper(ctx context.Context, c settings.Call) int {
	s := c.Settings()
	k := &keeperRun{c: c}
	var err error
	if k.user, err = sleeve.Lookup(s.User); err != nil || os.Geteuid() != 0 || len(c.Inv.Command) == 0 {
		c.Log.Error().Str("hint", "run it as root with SLEEVE_CHECK_USER (the sleeve user) and the command after --, as the protectorate image does").
			Msg("sleeve-check keeper needs root, SLEEVE_CHECK_USER and a command")
		return int(outcome.Config)
	}
	if k.self, err = os.Executable(); err != nil {
		return int(outcome.Internal)
	}
	k.gw = &keeperGateway{self: k.self, env: c.Env, user: k.user, stderr: c.Stderr}
	defer k.gw.stop()
	ln, err := k.listen()
	if err != nil {
		c.Log.Error().Str("hint", "give the keeper a directory of its own (SLEEVE_CHECK_KEEPER_DIR), owned by root").Msg(err.Error())
		return int(outcome.Config)
	}
	defer ln.Close()
	go k.serve(ln)
	if addr := s.StatusListen; addr != "" && addr != "off" {
		if err := newStatusServer(c, k.user).serve(addr); err != nil {
			c.Log.Warn().Str("hint", "set SLEEVE_CHECK_STATUS_LISTEN to a free HOST:PORT, or off").Msgf("keeper: cannot answer Envoy's /status at %s: %v", addr, err)
		}
	}
	c.Log.Info().Msgf("keeper: the session is at %s (attach: dtach -a %s -e '^\\' -z, as %s)", s.SessionSocket, s.SessionSocket, k.user.Name)
	k.check() // the first verdict, in docker logs at once
	for {
		if !k.gw.alive() {
			c.Log.Warn().Msg("keeper: its credential gateway stopped; starting it again")
			k.check()
		}
		if !k.sessionAlive() {
			if err := k.startSession(); err != nil {
				c.Log.Error().Msg("keeper: cannot start the session: " + err.Error())
			}
		}
		select {
		case <-ctx.Done():
			return int(outcome.Interrupted) + int(syscall.SIGTERM)
		case <-time.After(2 * time.Second):
		}
		if v := state.ReadKeeperVerdict(s.KeeperDir); v != nil && v.OK && time.Since(v.CheckedAt) > s.HealthTTL && s.HealthTTL > 0 {
			k.check() // health's view of the API stays within the TTL
		}
	}
}

// listen makes the keeper's directory (root's, 0755) and its socket.
func (k *keeperRun) listen() (net.Listener, error) {
	dir := k.c.Settings().KeeperDir
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	st, err := os.Lstat(dir)
	if err != nil || !st.IsDir() || state.OwnerOf(st) != 0 {
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
			conn.SetDeadline(time.Now().Add(k.c.Settings().StartTimeout + time.Minute))
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
// found (as `sleeve-check --json -- true`, which drops to the sleeve user,
// prepares the config, probes and leaves its state), then records the
// verdict for health. The checks' own lines go to the keeper's stderr
// (docker logs) as they come, in SLEEVE_CHECK_LOG_FORMAT.
func (k *keeperRun) check() (state.KeeperVerdict, map[string]string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	s := k.c.Settings()
	var v state.KeeperVerdict
	creds, fs := envoyCredentials(s.CredsDir)
	env := map[string]string{}
	if f := fs.FirstError(); f != nil {
		v = verdictOf(fs, int(f.Code))
		k.c.Log.Error().Str("hint", f.Hint).Str("id", f.ID).Msg(f.Message)
	} else if tok, ok := creds["CLAUDE_CODE_OAUTH_TOKEN"]; ok {
		v, env = k.behindGateway(creds, tok)
	} else {
		v = k.runChecks(creds)
	}
	state.WriteKeeperVerdict(s.KeeperDir, v)
	if !v.OK {
		return v, nil
	}
	return v, env
}

// behindGateway checks the pasted token through the keeper's gateway
// (which holds it), as a sleeve behind a gateway is checked, and returns
// the verdict and what claude gets: the gateway and the user's key.
func (k *keeperRun) behindGateway(creds map[string]string, token string) (state.KeeperVerdict, map[string]string) {
	path := filepath.Join(k.c.Settings().CredsDir, envoyToken)
	if mode, ok := readableBy(path, k.user); ok {
		k.c.Log.Warn().Str("hint", fmt.Sprintf("on the host, make the file in Envoy's agent-creds volume root's alone: chown root:root and chmod 600 %s (envoy auth login writes it so)", envoyToken)).
			Msgf("keeper: %s is readable by %s (mode %04o): the agent can read the pasted token there, whatever the gateway keeps from it", path, k.user.Name, mode)
	}
	url, key, err := k.gw.ensure(token)
	if err != nil {
		return verdictOf(failure(outcome.Internal, "the keeper cannot start its credential gateway: "+err.Error()), int(outcome.Internal)), nil
	}
	check := map[string]string{}
	for n, v := range creds {
		if n != "CLAUDE_CODE_OAUTH_TOKEN" {
			check[n] = v
		}
	}
	check[fleet.GatewayVar], check[fleet.KeyVar] = url, key
	v := k.runChecks(check)
	return v, map[string]string{"ANTHROPIC_BASE_URL": url, "CLAUDE_CODE_OAUTH_TOKEN": key}
}

// runChecks runs the start's pipeline in a child with Envoy's credential,
// and takes its verdict from the child's JSON report (--json), never from
// its console text.
func (k *keeperRun) runChecks(creds map[string]string) state.KeeperVerdict {
	return runStart(k.self, k.c.Env.With(creds).With(map[string]string{"NO_COLOR": "1"}), k.c.Stderr)
}

// sessionAlive reports whether the session answers at its socket.
func (k *keeperRun) sessionAlive() bool {
	conn, err := net.DialTimeout("unix", k.c.Settings().SessionSocket, time.Second)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

// startSession starts, as the sleeve user, the dtach session Envoy's
// terminal attaches to, running `sleeve-check session -- CMD`.
func (k *keeperRun) startSession() error {
	s, u := k.c.Settings(), k.user
	env := k.c.Env.With(u.Env())
	if env.Get("TERM") == "" {
		env.Set("TERM", "xterm-256color")
	}
	// All of it as the sleeve user: the socket's directory is theirs.
	args := append([]string{"-c", `mkdir -p -m 0700 "$(dirname "$0")" && rm -f "$0" && exec dtach -n "$0" -z "$@"`, s.SessionSocket, k.self, "session", "--"}, k.c.Inv.Command...)
	cmd := exec.Command("/bin/sh", args...)
	cmd.Env, cmd.Dir = env.Slice(), sleeve.WorkingDir()
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: u.Credential()}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("dtach: %v: %s", err, out)
	}
	return nil
}
