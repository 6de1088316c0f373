package entrypoint

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"sleeve-check/internal/environ"
	"sleeve-check/internal/outcome"
)

// Version and Commit are set at build time with -ldflags
// "-X sleeve-check/entrypoint.Version=... -X sleeve-check/entrypoint.Commit=...".
var (
	Version = "dev"
	Commit  = "unknown"
)

// versionLine is what --version prints: the version, the commit, the Go
// release and the platform the binary was built for.
func versionLine() string {
	return fmt.Sprintf("sleeve-check %s (commit %s, %s, %s/%s)\n", Version, Commit, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

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

func main(args, env []string, stdin *os.File, stdout, stderr io.Writer) int {
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		if s, ok := <-sigs; ok {
			cancel(interrupted{s.(syscall.Signal)})
		}
	}()
	return run(ctx, args, environ.New(env), stdin, stdout, stderr)
}

func run(ctx context.Context, args []string, env environ.Env, stdin *os.File, stdout, stderr io.Writer) int {
	began := time.Now()
	inv, err := Parse(args, env)
	format := "console"
	if inv != nil && inv.Settings.LogFormat == "json" {
		format = "json"
	}
	color := isTerminal(stderr) && env.Get("NO_COLOR") == ""
	switch {
	case err != nil:
		return parseFailed(inv, err, stdout, newLogger(stderr, format, false, false, color))
	case inv.Help:
		fmt.Fprint(stdout, helpText())
		return 0
	case inv.Version:
		fmt.Fprint(stdout, versionLine())
		return 0
	}
	if inv.Sub == "health" {
		last, inv, env := adoptStart(args, inv, env)
		log := zerolog.Nop() // Docker keeps stdout and stderr of a health check: only the line
		if inv.Settings.Verbose {
			log = newLogger(stderr, format, true, false, color)
		}
		logSettings(inv, log)
		return health(ctx, call{inv: inv, env: env, stdin: stdin, stdout: stdout, log: log, began: began}, last)
	}
	c := call{inv: inv, env: env, stdin: stdin, stdout: stdout, log: newLogger(stderr, format, inv.Settings.Verbose, inv.Settings.Quiet, color), began: began}
	logSettings(inv, c.log)
	switch inv.Sub {
	case "keeper":
		return keeper(ctx, c)
	case "session":
		return session(ctx, c)
	}
	return start(ctx, c)
}

// parseFailed reports every problem with the command line and settings.
func parseFailed(inv *Invocation, err error, stdout io.Writer, log zerolog.Logger) int {
	var pe *ParseError
	errors.As(err, &pe)
	if inv.Sub == "health" {
		fmt.Fprintln(stdout, healthLine(false, false, "sleeve-check health: "+pe.Error()))
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
func logSettings(inv *Invocation, log zerolog.Logger) {
	defaults := 0
	for _, f := range settingFields {
		src := inv.Sources[f.Name]
		if src == "default" {
			defaults++
			continue
		}
		log.Debug().Str("source", src).Msgf("setting %s", f.Flag)
	}
	log.Debug().Msgf("%d settings at their defaults (see --help)", defaults)
}

// findCommand is the start's step that finds the command the way a shell does.
func findCommand(name, path string) (string, outcome.Findings) {
	p, err := LookPath(name, path)
	if err != nil {
		return "", lookFailed(err)
	}
	return p, nil
}

// lookFailed says why the command cannot be run: 127 or 126.
func lookFailed(err error) outcome.Findings {
	var le *LookError
	if !errors.As(err, &le) {
		le = &LookError{Msg: err.Error()}
	}
	code := outcome.NotExecutable
	if le.NotFound {
		code = outcome.NotFound
	}
	var fs outcome.Findings
	fs.Errf(code, code.Name(), le.Msg, le.Hint)
	return fs
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
