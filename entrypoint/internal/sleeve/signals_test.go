package sleeve

import (
	"os"
	"syscall"
	"testing"
	"time"
)

// A catcher catches nothing until asked (Catch) or until its time has
// come, then ends the run at a stop signal, drops a kept one, and after
// Close never catches again.
func TestCatcher(t *testing.T) {
	stopped := make(chan os.Signal, 1)
	c := NewCatcher([]os.Signal{syscall.SIGUSR1}, []os.Signal{syscall.SIGUSR2}, time.Hour, func(s os.Signal) { stopped <- s })
	if c.catching() {
		t.Fatal("caught before it was asked to")
	}
	c.Catch()
	c.Catch() // once only
	if !c.catching() {
		t.Fatal("Catch did not catch")
	}
	syscall.Kill(os.Getpid(), syscall.SIGUSR2) // kept: dropped, and the test lives on
	syscall.Kill(os.Getpid(), syscall.SIGUSR1)
	select {
	case s := <-stopped:
		if s != syscall.SIGUSR1 {
			t.Fatalf("stopped by %v", s)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a stop signal did not stop the run")
	}
	select {
	case s := <-stopped:
		t.Fatalf("stopped again, by %v", s)
	case <-time.After(50 * time.Millisecond):
	}
	c.Close()
	c.Catch()
	if c.catching() {
		t.Fatal("caught again after Close")
	}
}

// Without a step that waits, the catcher catches once the run has lasted
// its time; closed before then, never.
func TestCatcherAfter(t *testing.T) {
	c := NewCatcher([]os.Signal{syscall.SIGUSR1}, nil, 5*time.Millisecond, func(os.Signal) {})
	defer c.Close()
	for deadline := time.Now().Add(10 * time.Second); !c.catching(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("never caught")
		}
	}
	closed := NewCatcher([]os.Signal{syscall.SIGUSR1}, nil, 5*time.Millisecond, func(os.Signal) {})
	closed.Close()
	time.Sleep(50 * time.Millisecond)
	if closed.catching() {
		t.Fatal("caught after Close")
	}
	if now := NewCatcher([]os.Signal{syscall.SIGUSR1}, nil, 0, func(os.Signal) {}); !now.catching() {
		t.Fatal("a catcher for at once did not catch at once")
	} else {
		now.Close()
	}
}

// A nil catcher (a run without one) does nothing.
func TestNilCatcher(t *testing.T) {
	var c *Catcher
	c.Catch()
	c.Close()
	if c.catching() {
		t.Fatal("a nil catcher caught")
	}
}
