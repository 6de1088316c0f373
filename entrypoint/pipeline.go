package entrypoint

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"sleeve-check/internal/outcome"
)

// pipeline runs the steps of a start or a health check, in the order the
// calling function writes them. A step is a plain function of the values
// before it; the pipeline times it (--verbose), gives it what is left of
// the start deadline, logs what it says as it says it, and ends the run
// at the first error, at a signal, or when the deadline has passed.
type pipeline struct {
	ctx context.Context // ended by SIGINT or SIGTERM
	log zerolog.Logger
	// limit is SLEEVE_CHECK_START_TIMEOUT (0: none); left is what the
	// steps run so far have not used of it.
	limit, left time.Duration
	said        outcome.Findings
	// ended is the error that ended the run, if one did.
	ended *outcome.Finding
	// onStep, when set, is told the name of each step that runs longer
	// than noteAfter (the start leaves it for health checks: "starting: ...").
	onStep func(name string)
	// endNote, when set, ends what onStep noted.
	endNote func()
}

func newPipeline(ctx context.Context, log zerolog.Logger, limit time.Duration) *pipeline {
	return &pipeline{ctx: ctx, log: log, limit: limit, left: limit}
}

// errStartTimeout is the cause a step's context carries when the start
// deadline ended it.
var errStartTimeout = errors.New("start timeout")

// step runs fn as the step called name, under what is left of the start
// deadline, and records what it said. It reports whether the run goes on.
// code is the exit status when the deadline ends the step without an error
// of its own.
func step[T any](p *pipeline, name string, code outcome.Code, fn func(ctx context.Context) (T, outcome.Findings)) (T, bool) {
	var zero T
	if p.limit > 0 && p.left <= 0 {
		return zero, p.timedOut(name, code, nil)
	}
	ctx, cancel := context.WithCancel(p.ctx)
	if p.limit > 0 {
		ctx, cancel = context.WithTimeoutCause(p.ctx, p.left, errStartTimeout)
	}
	defer cancel()
	v, fs, took := timed(p, name, fn, ctx)
	p.log.Debug().Dur("took_ms", took).Msgf("step %s", name)
	p.left -= took
	if p.signalled() {
		return v, false
	}
	if errors.Is(context.Cause(ctx), errStartTimeout) {
		return v, p.timedOut(name, code, fs)
	}
	return v, p.add(fs...)
}

// pause runs fn as a step outside the start deadline: the usage-limit
// wait, which keeps its own cap (SLEEVE_CHECK_USAGE_WAIT_MAX).
func pause[T any](p *pipeline, name string, fn func(ctx context.Context) (T, outcome.Findings)) (T, bool) {
	v, fs, took := timed(p, name, fn, p.ctx)
	p.log.Debug().Dur("took_ms", took).Msgf("step %s", name)
	if p.signalled() {
		return v, false
	}
	return v, p.add(fs...)
}

// timed runs fn, and says at the default level that it is still waiting
// when it takes a while (after 2 s, 10 s, 30 s, 1 min, then every 5 min),
// so that `docker logs -f` and `docker run -it` are never silent.
func timed[T any](p *pipeline, name string, fn func(ctx context.Context) (T, outcome.Findings), ctx context.Context) (T, outcome.Findings, time.Duration) {
	t := time.Now()
	done, ended := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(ended)
		p.progress(name, t, done, p.onStep, p.left)
	}()
	v, fs := fn(ctx)
	took := time.Since(t)
	close(done)
	// A note being written as the step ended is written before the start
	// goes on (and, at its end, removes the note).
	<-ended
	return v, fs, took
}

// progressAt is when a step that is still running says so.
var progressAt = []time.Duration{2 * time.Second, 10 * time.Second, 30 * time.Second, time.Minute}

// noteAfter is how long a step runs before onStep is told: a start whose
// steps are all quick writes no note at all.
const noteAfter = 100 * time.Millisecond

// progress tells onStep of the step name, begun at t, once it has run for
// noteAfter, and logs its progress lines, until done.
// note and left are read before the step runs: the pipeline moves on
// while this goroutine ends.
func (p *pipeline) progress(name string, t time.Time, done <-chan struct{}, note func(string), left time.Duration) {
	if note != nil {
		timer := time.NewTimer(noteAfter)
		select {
		case <-done:
			timer.Stop()
			return
		case <-timer.C:
			note(name)
		}
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
		if p.limit > 0 && stepWaits[name].deadline {
			msg = fmt.Sprintf("; %s left of SLEEVE_CHECK_START_TIMEOUT (%s)", (left - time.Since(t)).Round(time.Second), p.limit)
		}
		p.log.Info().Msgf("still waiting for %s (step %q, %s so far%s)", stepWaits[name].what, name, time.Since(t).Round(time.Second), msg)
	}
}

// stepWaits says what each step waits for while it runs, for the progress
// lines, and whether the start deadline covers it.
var stepWaits = map[string]struct {
	what     string
	deadline bool
}{
	"read root-only files":     {"the *_FILE secrets and the seed to be read", true},
	"switch user":              {"the user switch", true},
	"find command":             {"the command to be found", true},
	"seed credentials":         {"the seed to be copied", true},
	"resolve credential":       {"Claude Code's settings and credentials to be read", true},
	"run apiKeyHelper":         {"the apiKeyHelper to print a key", true},
	"foresee claude's screens": {"standard input to give claude -p its prompt", true},
	"prepare config":           {"Claude Code's config lock (another process is writing .claude.json)", true},
	"spread the probe":         {"a random part of SLEEVE_CHECK_PROBE_SPLAY, which spreads the probes of sleeves started together", true},
	"probe":                    {"the probe's answer (the API, or claude -p)", true},
	"wait for the API":         {"the API to answer again (SLEEVE_CHECK_ON_UNAVAILABLE=wait)", false},
	"wait for the usage reset": {"the subscription's usage window to reset (SLEEVE_CHECK_ON_USAGE_LIMIT=wait)", false},
	"probe after the reset":    {"the probe's answer after the reset", true},
	"save state":               {"the state for health checks to be written", false},
	"check the sleeve":         {"Claude Code's config to be read", false},
	"ask the API":              {"the health probe's answer", false},
}

// add logs and keeps fs; it reports whether none of them is an error.
// with adds fields to the lines (how a verdict was reached).
func (p *pipeline) add(fs ...outcome.Finding) bool {
	for _, f := range fs {
		p.note(f)
	}
	return p.ended == nil
}

// note logs and keeps one finding, with extra fields on its line.
func (p *pipeline) note(f outcome.Finding, with ...func(*zerolog.Event) *zerolog.Event) {
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

// code is the run's exit status so far.
func (p *pipeline) code() outcome.Code {
	if p.ended == nil {
		return outcome.OK
	}
	return p.ended.Code
}

// signalled ends the run when a signal arrived: 128+signal.
func (p *pipeline) signalled() bool {
	var i interrupted
	if !errors.As(context.Cause(p.ctx), &i) {
		return false
	}
	if p.ended == nil {
		p.note(outcome.Finding{Severity: outcome.Error, Code: outcome.Interrupted + outcome.Code(i.sig), ID: "interrupted",
			Message: fmt.Sprintf("stopped by %s before the command was started", sigName(i.sig))})
	}
	return true
}

// timedOut ends the run in the step called name: with the step's own
// error, if it gave one, said as a start timeout.
func (p *pipeline) timedOut(name string, code outcome.Code, fs outcome.Findings) bool {
	f := outcome.Finding{Severity: outcome.Error, Code: code, ID: "start_timeout",
		Message: fmt.Sprintf("start timeout: the step %q did not finish within SLEEVE_CHECK_START_TIMEOUT (%s)", name, p.limit),
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
		p.note(g)
	}
	p.note(f)
	return false
}

// interrupted is the cancel cause a signal leaves on the context.
type interrupted struct{ sig syscall.Signal }

func (i interrupted) Error() string { return "interrupted by " + i.sig.String() }

func sigName(s syscall.Signal) string {
	switch s {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return s.String()
}
