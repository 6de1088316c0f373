//go:build linux

package protectorate

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"sleeve-check/entrypoint/internal/console"
	"sleeve-check/entrypoint/internal/settings"
	"sleeve-check/entrypoint/internal/sleeve"
)

// session is what runs in the dtach session Envoy's terminal attaches to,
// as the sleeve user: it asks the keeper for a check, runs the command
// (claude) with the terminal when it passed, and starts it again when it
// exits; when the check failed, it shows why, and checks again every
// minute or when Enter is pressed.
func Session(ctx context.Context, c settings.Call) int {
	out := c.Stdout
	// Ctrl+C is claude's, not the loop's: entrypoint's signal policy
	// (signalPolicy in entrypoint) ends a session by SIGTERM only.
	for ctx.Err() == nil {
		fmt.Fprintln(out, "sleeve-check: checking the sleeve ...")
		rep, err := askKeeper(c.Settings().KeeperDir)
		if err != nil {
			fmt.Fprintf(out, "sleeve-check: error: cannot reach the keeper: %v\n", err)
			waitEnter(c.Stdin, 5*time.Second, func() {})
			continue
		}
		if !rep.OK {
			show := func() {
				for _, l := range rep.Lines {
					fmt.Fprintln(out, l)
				}
				fmt.Fprintf(out, "sleeve-check: checking again in %s; press Enter to check now\n", recheckEvery)
			}
			show()
			waitEnter(c.Stdin, recheckEvery, show)
			continue
		}
		code := runInSession(c, rep.Env)
		fmt.Fprintf(out, "\r\nsleeve-check: %s exited (%s); starting it again (Ctrl+\\ detaches)\r\n", filepath.Base(c.Inv.Command[0]), code)
		time.Sleep(time.Second)
	}
	return 0
}

// runInSession runs the command with the terminal and the environment the
// keeper gave (the pasted token), and says how it ended.
func runInSession(c settings.Call, add map[string]string) string {
	env := c.Env.With(add)
	path, err := sleeve.LookPath(c.Inv.Command[0], env.Get("PATH"))
	if err != nil {
		return err.Error()
	}
	cmd := exec.Command(path, c.Inv.Command[1:]...)
	cmd.Env, cmd.Stdin, cmd.Stdout, cmd.Stderr = env.Slice(), c.Stdin, c.Stdout, c.Stdout
	if err := cmd.Run(); err != nil {
		return err.Error()
	}
	return "status 0"
}

// askKeeper asks the keeper for a fresh check.
func askKeeper(dir string) (keeperReply, error) {
	var rep keeperReply
	conn, err := net.Dial("unix", filepath.Join(dir, keeperSocket))
	if err != nil {
		return rep, err
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "check\n"); err != nil {
		return rep, err
	}
	err = json.NewDecoder(bufio.NewReader(conn)).Decode(&rep)
	return rep, err
}

// waitEnter waits for Enter on the terminal, or d. A terminal attaching
// to the session (dtach's default redraw sends Ctrl+L, and the new
// terminal's size comes as SIGWINCH) gets the screen again from redraw:
// what a user opening the sleeve in Envoy sees.
func waitEnter(in *os.File, d time.Duration, redraw func()) {
	if in == nil {
		time.Sleep(d)
		return
	}
	fd := int(in.Fd())
	// Byte by byte, without echo, for as long as this wait lasts.
	if restore, err := console.RawInput(fd); err == nil {
		defer restore()
	}
	// An attaching terminal also resizes the session's: SIGWINCH.
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, syscall.SIGWINCH)
	defer signal.Stop(winch)
	end := time.Now().Add(d)
	buf := make([]byte, 256)
	for left := time.Until(end); left > 0; left = time.Until(end) {
		select {
		case <-winch:
			redraw()
		default:
		}
		if ok, _ := console.Readable(fd, min(left, 200*time.Millisecond)); !ok {
			continue
		}
		n, err := in.Read(buf)
		if err != nil {
			time.Sleep(time.Until(end))
			return
		}
		for _, b := range buf[:n] {
			switch b {
			case '\r', '\n':
				return
			case '\f':
				redraw()
			}
		}
	}
}
