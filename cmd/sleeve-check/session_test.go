//go:build linux

package main

import (
	"bytes"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Issue 28: Ctrl+C at the session's failure screen (Envoy's terminal) does
// not end the session; SIGTERM (docker stop) does. The session here finds
// no keeper, and says so, as it would while the keeper is not up yet.
func TestSessionKeepsCtrlC(t *testing.T) {
	bin := buildBinary(t)
	cmd := exec.Command(bin, "session", "--keeper-dir="+t.TempDir(), "--", "true")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	time.Sleep(500 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGINT)
	cmd.Process.Signal(syscall.SIGQUIT)
	// Past the session's 5 s wait before it asks the keeper again, when a
	// stop would take effect.
	select {
	case err := <-done:
		t.Fatalf("Ctrl+C or Ctrl+\\ ended the session (%v):\n%s", err, out.String())
	case <-time.After(6500 * time.Millisecond):
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("SIGTERM did not end the session:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "cannot reach the keeper") {
		t.Fatalf("no word of the keeper:\n%s", out.String())
	}
}
