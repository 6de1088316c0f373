// Package pipeline runs the steps of a start or a health check, in the
// order the calling function writes them. A step is a plain function of
// the values the steps before it returned, described once by a Step (its
// name, what it waits for, its exit status at the deadline, whether the
// deadline covers it). The pipeline times each step (--verbose logs "step
// NAME"), gives it what is left of the one start deadline
// (SLEEVE_CHECK_START_TIMEOUT), logs what it says as it says it, says at
// the default level that a long step is still waiting, and ends the run
// at the first error, at a signal (128+n) or when the deadline has passed.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"sleeve-check/internal/outcome"
)

// Step describes one step, in one place.
type Step struct {
	// Name is what --verbose, starting.json and health call the step.
	Name string
	// Waits is what the step waits for while it runs, for the progress
	// lines and for health ("starting: ...").
	Waits string
	// Code is the exit status when the start deadline ends the step
	// without an error of its own.
	Code outcome.Code
	// Outside: the start deadline does not cover the step (the waits,
	// which keep their own caps, and saving the state).
	Outside bool
	// Quick: the step reads local files and decides, and usually ends
	// there. Every other step has the run catch its signals before it
	// begins (OnWait); a Quick step calls Waiting before what in it waits
	// (a lock, standard input) or writes what a kill must not cut short.
	Quick bool
}

// Pipeline is one run of steps.
type Pipeline struct {
	ctx context.Context // ended by SIGINT or SIGTERM
	log zerolog.Logger
	// limit is SLEEVE_CHECK_START_TIMEOUT (0: none); left is what the
	// steps run so far have not used of it.
	limit, left time.Duration
	said        outcome.Findings
	// ended is the error that ended the run, if one did.
	ended *outcome.Finding
	// onLong, when set, is told of each step that runs longer than
	// noteAfter (the start leaves it for health checks: "starting: ...").
	onLong func(Step)
	// onWait, when set, is called before each step that is not Quick.
	onWait func()
}

// New is a pipeline under ctx (which a signal ends) and the start
// deadline limit (0: none).
func New(ctx context.Context, log zerolog.Logger, limit time.Duration) *Pipeline {
	return &Pipeline{ctx: ctx, log: log, limit: limit, left: limit}
}

// OnLongStep has note told of each step once it has run 100 ms: a run
// whose steps are all quick tells it nothing. Notes come one at a time.
func (p *Pipeline) OnLongStep(note func(Step)) { p.onLong = note }

// OnWait has wait called before each step that is not Quick: the run
// catches its signals then (sleeve.Catcher), so that a signal ends a wait
// or a child with the run's own exit status.
func (p *Pipeline) OnWait(wait func()) { p.onWait = wait }

// Waiting is called by a step about to wait on something or to write:
// the run catches its signals now (OnWait), if it does not already.
func (p *Pipeline) Waiting() {
	if p.onWait != nil {
		p.onWait()
	}
}

// Log is the run's logger.
func (p *Pipeline) Log() zerolog.Logger { return p.log }

// Said is every finding the steps gave, in order.
func (p *Pipeline) Said() outcome.Findings { return p.said }

// Ended is the error that ended the run, or nil.
func (p *Pipeline) Ended() *outcome.Finding { return p.ended }

// Code is the run's exit status so far.
func (p *Pipeline) Code() outcome.Code {
	if p.ended == nil {
		return outcome.OK
	}
	return p.ended.Code
}

// errStartTimeout is the cause a step's context carries when the start
// deadline ended it.
var errStartTimeout = errors.New("start timeout")

// Run runs fn as the step s, under what is left of the start deadline
// (unless s is Outside it), and records what it said. It reports whether
// the run goes on.
func Run[T any](p *Pipeline, s Step, fn func(ctx context.Context) (T, outcome.Findings)) (T, bool) {
	var zero T
	if !s.Quick {
		p.Waiting()
	}
	deadline := p.limit > 0 && !s.Outside
	if deadline && p.left <= 0 {
		return zero, p.timedOut(s, nil)
	}
	ctx, cancel := context.WithCancel(p.ctx)
	if deadline {
		ctx, cancel = context.WithTimeoutCause(p.ctx, p.left, errStartTimeout)
	}
	defer cancel()
	v, fs, took := timed(p, s, deadline, fn, ctx)
	p.log.Debug().Dur("took_ms", took).Msgf("step %s", s.Name)
	if deadline {
		p.left -= took
	}
	if p.signalled() {
		return v, false
	}
	if deadline && errors.Is(context.Cause(ctx), errStartTimeout) {
		return v, p.timedOut(s, fs)
	}
	return v, p.Add(fs...)
}

// timed runs fn, and says at the default level that it is still waiting
// when it takes a while (after 2 s, 10 s, 30 s, 1 min, then every 5 min),
// so that `docker logs -f` and `docker run -it` are never silent. The
// watcher that says so starts only once the step outlasts its first mark
// (the note's, or the first progress line's): most steps end within a
// millisecond, and a goroutine of their own, with the wake-ups of another
// thread it brought, cost more than some of them.
func timed[T any](p *Pipeline, s Step, deadline bool, fn func(ctx context.Context) (T, outcome.Findings), ctx context.Context) (T, outcome.Findings, time.Duration) {
	t := time.Now()
	done, ended := make(chan struct{}), make(chan struct{})
	left := time.Duration(-1)
	if deadline {
		left = p.left
	}
	first := progressAt[0]
	if p.onLong != nil {
		first = noteAfter
	}
	watcher := time.AfterFunc(first, func() {
		defer close(ended)
		p.progress(s, t, done, p.onLong, left)
	})
	v, fs := fn(ctx)
	took := time.Since(t)
	if watcher.Stop() {
		return v, fs, took // it never started
	}
	close(done)
	// A note being written as the step ended is written before the run
	// goes on (and, at its end, removes the note).
	<-ended
	return v, fs, took
}

// progressAt is when a step that is still running says so.
var progressAt = []time.Duration{2 * time.Second, 10 * time.Second, 30 * time.Second, time.Minute}

// noteAfter is how long a step runs before onLong is told.
const noteAfter = 100 * time.Millisecond

// progress runs once the step s, begun at t, has outlasted its first
// mark: it tells note of it (when there is one: the first mark was
// noteAfter), and logs its progress lines, until done. note and left (of
// the deadline; negative when it does not cover s) are read before the
// step runs: the pipeline moves on while this goroutine ends.
func (p *Pipeline) progress(s Step, t time.Time, done <-chan struct{}, note func(Step), left time.Duration) {
	if note != nil {
		note(s)
	}
	for i := 0; ; i++ {
		at := 5 * time.Minute * time.Duration(i-len(progressAt)+1)
		if i < len(progressAt) {
			at = progressAt[i]
		}
		timer := time.NewTimer(time.Until(t.Add(at)))
		select {
		case <-done:
			timer.Stop()
			return
		case <-timer.C:
		}
		msg := ""
		if left >= 0 {
			msg = fmt.Sprintf("; %s left of SLEEVE_CHECK_START_TIMEOUT (%s)", (left - time.Since(t)).Round(time.Second), p.limit)
		}
		p.log.Info().Msgf("still waiting for %s (step %q, %s so far%s)", s.Waits, s.Name, time.Since(t).Round(time.Second), msg)
	}
}

// Add logs and keeps fs; it reports whether none of them is an error.
func (p *Pipeline) Add(fs ...outcome.Finding) bool {
	for _, f := range fs {
		p.Note(f)
	}
	return p.ended == nil
}

// Note logs and keeps one finding, with extra fields on its line (with:
// how a verdict was reached).
func (p *Pipeline) Note(f outcome.Finding, with ...func(*zerolog.Event) *zerolog.Event) {
	p.said = append(p.said, f)
	if f.Severity == outcome.Error && p.ended == nil {
		p.ended = &p.said[len(p.said)-1]
	}
	var ev *zerolog.Event
	switch f.Severity {
	case outcome.Error:
		ev = p.log.Error()
	case outcome.Warning:
		ev = p.log.Warn()
	default:
		ev = p.log.Debug()
	}
	if f.Hint != "" {
		ev = ev.Str("hint", f.Hint)
	}
	for _, w := range with {
		ev = w(ev)
	}
	ev.Str("id", f.ID).Msg(f.Message)
}

// signalled ends the run when a signal arrived: 128+signal.
func (p *Pipeline) signalled() bool {
	var i Interrupted
	if !errors.As(context.Cause(p.ctx), &i) {
		return false
	}
	if p.ended == nil {
		p.Note(outcome.Finding{Severity: outcome.Error, Code: outcome.Interrupted + outcome.Code(i.Sig), ID: "interrupted",
			Message: fmt.Sprintf("stopped by %s before the command was started", sigName(i.Sig))})
	}
	return true
}

// timedOut ends the run in the step s: with the step's own error, if it
// gave one, said as a start timeout.
func (p *Pipeline) timedOut(s Step, fs outcome.Findings) bool {
	f := outcome.Finding{Severity: outcome.Error, Code: s.Code, ID: "start_timeout",
		Message: fmt.Sprintf("start timeout: the step %q did not finish within SLEEVE_CHECK_START_TIMEOUT (%s)", s.Name, p.limit),
		Hint:    "find what the step waits for (--verbose shows each step's time), or raise SLEEVE_CHECK_START_TIMEOUT"}
	for _, g := range fs {
		if g.Severity == outcome.Error {
			f.Code = g.Code
			f.Message += ": " + g.Message
			if g.Hint != "" {
				f.Hint = g.Hint + "; or raise SLEEVE_CHECK_START_TIMEOUT"
			}
			break
		}
		p.Note(g)
	}
	p.Note(f)
	return false
}

// Interrupted is the cancel cause a signal leaves on the run's context.
type Interrupted struct{ Sig syscall.Signal }

func (i Interrupted) Error() string { return "interrupted by " + i.Sig.String() }

func sigName(s syscall.Signal) string {
	switch s {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return s.String()
}

// Sleep waits d, or until ctx ends: it reports whether d passed.
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
