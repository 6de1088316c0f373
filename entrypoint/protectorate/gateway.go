//go:build linux

package protectorate

import (
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"sleeve-check/entrypoint/internal/fleet"
	"sleeve-check/entrypoint/internal/settings"
	"sleeve-check/entrypoint/internal/sleeve"
	"sleeve-check/internal/environ"
)

// keeperGateway is the credential gateway the keeper runs for its sleeve:
// `sleeve-check gateway` as a child that stays root, on loopback, holding
// the pasted token. The sleeve user's claude gets the gateway and a key;
// the token is in no process of the sleeve user's, so a command the agent
// runs in Envoy's terminal cannot read it (/proc/<root's pid>/environ is
// root's). A new token in Envoy's volume starts a new gateway; one that
// died is started again at the keeper's next look. The port and the
// secret are the keeper's, for its whole life: the keeper holds the
// listening socket and hands it to each gateway it starts (LISTEN_FDS),
// so a gateway started again is where the running claude looks, its key
// still works, and no other process can take the port in between.
type keeperGateway struct {
	self   string
	env    environ.Env // the keeper's, to start the child from
	user   *sleeve.User
	stderr io.Writer

	mu     sync.Mutex
	ln     *os.File // the listening socket, made once
	secret string
	cmd    *exec.Cmd
	done   chan struct{}
	token  string
	url    string
	key    string
}

// ensure returns the URL of a gateway that holds token, and the sleeve
// user's key for it, starting (or restarting) the child as needed.
func (g *keeperGateway) ensure(token string) (url, key string, err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.cmd != nil && g.token == token && g.running() {
		return g.url, g.key, nil
	}
	g.stopLocked()
	if g.ln == nil {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", "", err
		}
		f, err := ln.(*net.TCPListener).File()
		ln.Close() // f is a dup of it, and stays open
		if err != nil {
			return "", "", err
		}
		g.ln, g.url, g.secret = f, "http://"+ln.Addr().String(), rand.Text()+rand.Text()
		g.key, _ = fleet.Key([]byte(g.secret), keyName(g.user.Name))
	}
	env := fleet.WithoutCredentials(g.env)
	// The child keeps root: only root may read its environment.
	env.Unset(settings.EnvPrefix + "USER")
	env.Set("CLAUDE_CODE_OAUTH_TOKEN", token)
	env.Set(fleet.SecretVar, g.secret)
	env.Set("LISTEN_FDS", "1")
	env.Unset("LISTEN_PID")
	env.Set("NO_COLOR", "1")
	cmd := exec.Command(g.self, "gateway")
	cmd.Env, cmd.Stdout, cmd.Stderr = env.Slice(), g.stderr, g.stderr
	// Fd 3; and root's own directory, not the sleeve user's workspace.
	cmd.ExtraFiles, cmd.Dir = []*os.File{g.ln}, "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return "", "", err
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	g.cmd, g.done, g.token = cmd, done, token
	if err := g.waitReady(5 * time.Second); err != nil {
		g.stopLocked()
		return "", "", err
	}
	return g.url, g.key, nil
}

// keyName is the sleeve user's name as a key's name.
func keyName(user string) string {
	if fleet.ValidName(user) != nil {
		return "agent"
	}
	return user
}

func (g *keeperGateway) running() bool {
	select {
	case <-g.done:
		return false
	default:
		return true
	}
}

// alive reports whether a gateway was started and still runs.
func (g *keeperGateway) alive() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.cmd == nil || g.running()
}

// waitReady waits until the child answers /status, or it exits.
func (g *keeperGateway) waitReady(d time.Duration) error {
	c := &http.Client{Timeout: time.Second}
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if !g.running() {
			return fmt.Errorf("the gateway exited at once (its reason is in the lines above)")
		}
		if resp, err := c.Get(g.url + "/status"); err == nil {
			resp.Body.Close()
			return nil
		}
	}
	return fmt.Errorf("the gateway did not answer on %s within %s", g.url, d)
}

// stop ends the child (it drains for SLEEVE_CHECK_GATEWAY_DRAIN).
func (g *keeperGateway) stop() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.stopLocked()
}

func (g *keeperGateway) stopLocked() {
	if g.cmd == nil {
		return
	}
	if g.running() {
		g.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-g.done:
		case <-time.After(30 * time.Second):
			g.cmd.Process.Kill()
			<-g.done
		}
	}
	g.cmd = nil
}

// readableBy says whether the sleeve user could read the file at path by
// its mode and owner (their supplementary groups aside): then the agent
// reads the pasted token there, gateway or not.
func readableBy(path string, u *sleeve.User) (os.FileMode, bool) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	m := fi.Mode().Perm()
	return m, m&0o004 != 0 || int(st.Uid) == u.UID && m&0o400 != 0 || int(st.Gid) == u.GID && m&0o040 != 0
}
