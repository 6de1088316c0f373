package entrypoint

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"sleeve-check/entrypoint/gateway"
	"sleeve-check/entrypoint/health"
	"sleeve-check/entrypoint/internal/buildinfo"
	"sleeve-check/entrypoint/internal/console"
	"sleeve-check/entrypoint/internal/pipeline"
	"sleeve-check/entrypoint/internal/settings"
	"sleeve-check/entrypoint/internal/sleeve"
	"sleeve-check/entrypoint/protectorate"
	"sleeve-check/entrypoint/start"
	"sleeve-check/internal/environ"
	"sleeve-check/internal/outcome"
)

// Main is the whole program: it returns the exit status, or never returns
// because it exec'd the command. stdin is looked at, never read: the
// command inherits it.
func Main(args, environ []string, stdin *os.File, stdout, stderr io.Writer) int {
	code := Recover(stderr, func() int { return main(args, environ, stdin, stdout, stderr) })
	if len(args) > 0 && args[0] == "health" && code != 0 {
		// Docker reserves 2 and reads anything but 0 as a failure; a
		// health check says 0 or 1 and nothing else, even on a bug.
		return 1
	}
	return code
}

// Recover runs fn and turns a panic into the internal exit code. The
// panic value is not printed: it could hold anything, including a token.
// Its type and the stack locate the bug.
func Recover(stderr io.Writer, fn func() int) (code int) {
	defer func() {
		if p := recover(); p != nil {
			fmt.Fprintf(stderr, "sleeve-check: error: internal error (panic of type %T)\nsleeve-check: hint: report this bug with the stack below; no secret is printed\n%s", p, stackWithoutArgs())
			code = int(outcome.Internal)
		}
	}()
	return fn()
}

// main gives the run a context that the mode's stop signals end (the
// cause says which: 128+n).
func main(args, env []string, stdin *os.File, stdout, stderr io.Writer) int {
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	stop, keep, after := signalPolicy(args)
	caught := sleeve.NewCatcher(stop, keep, after, func(s os.Signal) {
		cancel(pipeline.Interrupted{Sig: s.(syscall.Signal)})
	})
	defer caught.Close()
	return run(ctx, args, environ.New(env), stdin, stdout, stderr, caught)
}

// signalPolicy is the one signal policy: which signals end a run (stop),
// which are caught only so that they do not (keep), and from when.
//
// Every mode stops at SIGINT and SIGTERM, but the session: its terminal
// (Envoy's) is claude's, so Ctrl+C (SIGINT) and Ctrl+\ (SIGQUIT) at its
// failure screen must not end it, only SIGTERM (docker stop) does. They
// are caught, not ignored, so that the command the session runs starts
// with their default dispositions (an ignored signal would stay ignored
// across exec).
//
// The keeper, a session and the gateway, long-running, catch at once. A
// start or a health check, quick runs, catch when a step comes to wait or
// write (sleeve.Catcher), or after quickCatchAfter: by then a quick run
// has exec'd or exited, and one still running is held up, by a lock or a
// slow disk, and must answer a signal as a long one does.
func signalPolicy(args []string) (stop, keep []os.Signal, after time.Duration) {
	mode := ""
	if len(args) > 0 {
		mode = args[0]
	}
	switch mode {
	case "session":
		return []os.Signal{syscall.SIGTERM}, []os.Signal{syscall.SIGINT, syscall.SIGQUIT}, 0
	case "keeper", "gateway":
		return []os.Signal{syscall.SIGINT, syscall.SIGTERM}, nil, 0
	}
	return []os.Signal{syscall.SIGINT, syscall.SIGTERM}, nil, quickCatchAfter
}

// quickCatchAfter is when a start or a health check catches its signals
// if no step has made it catch them already (signalPolicy).
const quickCatchAfter = 10 * time.Millisecond

// run parses the settings and dispatches to the mode they name.
func run(ctx context.Context, args []string, env environ.Env, stdin *os.File, stdout, stderr io.Writer, caught *sleeve.Catcher) int {
	began := time.Now()
	inv, err := settings.Parse(args, env)
	format := "console"
	if inv != nil && inv.Settings.LogFormat == "json" {
		format = "json"
	}
	color := console.IsTerminal(stderr) && env.Get("NO_COLOR") == ""
	switch {
	case err != nil:
		return parseFailed(inv, err, stdout, console.NewLogger(stderr, format, false, false, color))
	case inv.Help:
		fmt.Fprint(stdout, helpText())
		return 0
	case inv.Version:
		fmt.Fprint(stdout, buildinfo.Line())
		return 0
	}
	c := settings.Call{Inv: inv, Env: env, Stdin: stdin, Stdout: stdout, Stderr: stderr, Began: began, Caught: caught}
	if inv.Sub == "health" {
		last, inv, env := health.Adopt(args, inv, env)
		c.Inv, c.Env, c.Log = inv, env, zerolog.Nop() // Docker keeps stdout and stderr of a health check: only the line
		if inv.Settings.Verbose {
			c.Log = console.NewLogger(stderr, format, true, false, color)
		}
		logSettings(inv, c.Log)
		return health.Run(ctx, c, last)
	}
	c.Log = console.NewLogger(stderr, format, inv.Settings.Verbose, inv.Settings.Quiet, color)
	logSettings(inv, c.Log)
	switch inv.Sub {
	case "keeper":
		return protectorate.Keeper(ctx, c)
	case "session":
		return protectorate.Session(ctx, c)
	case "gateway":
		return gateway.Run(ctx, c)
	}
	return start.Run(ctx, c)
}

// parseFailed reports every problem with the command line and settings.
func parseFailed(inv *settings.Invocation, err error, stdout io.Writer, log zerolog.Logger) int {
	var pe *settings.ParseError
	errors.As(err, &pe)
	if inv.Sub == "health" {
		fmt.Fprintln(stdout, health.Unhealthy("sleeve-check health: "+pe.Error()))
		return 1
	}
	msgs := append(append([]string{}, pe.Usage...), pe.Config...)
	hint := pe.Hint
	if hint == "" {
		hint = "see sleeve-check --help"
	}
	for i, m := range msgs {
		ev := log.Error()
		if i == len(msgs)-1 {
			ev = ev.Str("hint", hint)
		}
		ev.Msg(m)
	}
	if len(pe.Usage) > 0 {
		return int(outcome.Usage)
	}
	return int(outcome.Config)
}

// logSettings shows, with --verbose, the settings that differ from their
// defaults and where each came from; the rest are counted.
func logSettings(inv *settings.Invocation, log zerolog.Logger) {
	defaults := 0
	for _, f := range settings.Fields {
		src := inv.Sources[f.Name]
		if src == "default" {
			defaults++
			continue
		}
		log.Debug().Str("source", src).Msgf("setting %s", f.Flag)
	}
	log.Debug().Msgf("%d settings at their defaults (see --help)", defaults)
}

// stackWithoutArgs is the goroutine stack with the argument words of each
// frame removed: they are raw memory words, and a string argument's
// pointer and length are all they show, but less is safer.
func stackWithoutArgs() string {
	lines := strings.Split(string(debug.Stack()), "\n")
	for i, l := range lines {
		if j := strings.LastIndex(l, "("); j > 0 && strings.HasSuffix(l, ")") && !strings.HasPrefix(l, "\t") {
			lines[i] = l[:j] + "(...)"
		}
	}
	return strings.Join(lines, "\n")
}
