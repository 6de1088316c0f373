package sleeve

import (
	"os"
	"os/signal"
	"sync"
	"time"
)

// Catcher puts a run's signal policy in force: its stop signals end the
// run (stopped is told which), its kept ones are caught and dropped.
//
// A run that is usually quick (a start, a health check: a few
// milliseconds) catches them only when it comes to wait or to write:
// before a step or a part of one that waits on something outside the
// process or writes what a kill must not cut short (Catch), or once it
// has lasted a while (the after of NewCatcher), whichever comes first.
// Catching costs the runtime a thread of its own and a round trip to it
// per signal, and an exec as many again to give them back: a tenth of a
// start. Until then a signal has its default effect, and the process ends
// as any program does that is killed in its first milliseconds. That
// loses nothing: until then the run has only read, and replaced its own
// state files atomically, and no child or wait is left behind.
type Catcher struct {
	stop, keep []os.Signal
	stopped    func(os.Signal)

	mu     sync.Mutex
	timer  *time.Timer
	chans  []chan os.Signal // while catching
	closed bool             // never catches again
}

// NewCatcher catches stop and keep once the run has lasted after (at
// once for 0), or when Catch is called before that.
func NewCatcher(stop, keep []os.Signal, after time.Duration, stopped func(os.Signal)) *Catcher {
	c := &Catcher{stop: stop, keep: keep, stopped: stopped}
	if after <= 0 {
		c.Catch()
	} else {
		c.timer = time.AfterFunc(after, c.Catch)
	}
	return c
}

// Catch begins catching, if it has not begun (and the catcher is not
// closed). It returns once the signals are caught.
func (c *Catcher) Catch() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.chans != nil {
		return
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, c.stop...)
	c.chans = append(c.chans, stop)
	go func() {
		if s, ok := <-stop; ok {
			c.stopped(s)
		}
	}()
	if len(c.keep) > 0 {
		kept := make(chan os.Signal, 4)
		signal.Notify(kept, c.keep...)
		c.chans = append(c.chans, kept)
		go func() {
			for range kept {
			}
		}()
	}
}

// Close ends the catching for good (a catch not yet begun never
// begins): the signals caught get the dispositions the process was
// started with back, as an exec'd command must start with them.
func (c *Catcher) Close() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	if c.timer != nil {
		c.timer.Stop()
	}
	for _, ch := range c.chans {
		signal.Stop(ch)
		close(ch)
	}
	c.chans = nil
}

// catching reports whether the catcher catches now.
func (c *Catcher) catching() bool {
	if c == nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.chans != nil
}
