package entrypoint

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sleeve-check/internal/outcome"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"sleeve-check/check"
	"sleeve-check/entrypoint/claudecli"
	"sleeve-check/entrypoint/claudeconfig"
	"sleeve-check/internal/environ"
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

// interrupted is the cancel cause a signal leaves on the context.
type interrupted struct{ sig syscall.Signal }

func (i interrupted) Error() string { return "interrupted by " + i.sig.String() }

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

type runner struct {
	ctx context.Context
	inv *Invocation
	// env is the environment, read once: the command gets it, with the
	// user switch's and the *_FILE secrets' changes.
	env     environ.Env
	log     zerolog.Logger
	stdin   *os.File
	stdout  io.Writer
	start   time.Time
	rep     Report
	cwd     string
	res     *check.Resolution
	secrets *check.Secrets
	user    *sleeveUser
	// started is the state the start left, read by a health check.
	started *StartState
	// seed is the credentials file to seed from, once read; seeded, the
	// bytes a report (which writes nothing) judges as the copy.
	seed   *seedSource
	seeded []byte
	// probedAt is when the verdict was reached: the probe's answer, or
	// the pass a restart reused.
	probedAt time.Time
}

func run(ctx context.Context, args []string, env environ.Env, stdin *os.File, stdout, stderr io.Writer) int {
	start := time.Now()
	inv, err := Parse(args, env)
	format := "console"
	if inv != nil && inv.Settings.LogFormat == "json" {
		format = "json"
	}
	color := isTerminal(stderr) && env.Get("NO_COLOR") == ""
	switch {
	case err != nil:
		return parseFailed(inv, err, stdout, newLogger(stderr, format, false, color))
	case inv.Help:
		fmt.Fprint(stdout, helpText())
		return 0
	case inv.Version:
		fmt.Fprint(stdout, versionLine())
		return 0
	}
	r := &runner{ctx: ctx, inv: inv, env: env, stdin: stdin, stdout: stdout, start: start,
		log: newLogger(stderr, format, inv.Settings.Verbose, color)}
	if inv.Sub == "health" && !inv.Settings.Verbose {
		// Docker keeps stdout and stderr of a health check: only the line.
		r.log = zerolog.Nop()
	}
	r.rep = Report{Version: Version, CheckedAt: start.UTC(), Command: inv.Command, Findings: []outcome.Finding{}, UID: os.Geteuid()}
	r.cwd = workingDir()
	if inv.Sub == "health" {
		r.adoptStartSettings(args)
	}
	r.logSettings()
	if code, stop := r.becomeUser(); stop {
		return code
	}
	if r.inv.Sub == "health" {
		return r.health()
	}
	return r.startCommand()
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
func (r *runner) logSettings() {
	defaults := 0
	for _, f := range settingFields {
		src := r.inv.Sources[f.Name]
		if src == "default" {
			defaults++
			continue
		}
		r.log.Debug().Str("source", src).Msgf("setting %s", f.Flag)
	}
	r.log.Debug().Msgf("%d settings at their defaults (see --help)", defaults)
}

// becomeUser drops to --user, if set; stop is true when that failed.
func (r *runner) becomeUser() (code int, stop bool) {
	if r.inv.Settings.User == "" {
		return 0, false
	}
	f := r.switchUser()
	if f == nil {
		return 0, false
	}
	if r.inv.Sub == "health" {
		fmt.Fprintln(r.stdout, healthLine(false, false, f.Message))
		return 1, true
	}
	r.finding(*f)
	r.finish(f.Code)
	return int(f.Code), true
}

// startCommand runs the checks and, when they pass, execs the command.
func (r *runner) startCommand() int {
	path, code := r.steps()
	r.finish(code)
	if code != outcome.OK || len(r.inv.Command) == 0 {
		return int(code)
	}
	r.log.Debug().Str("path", path).Float64("took_ms", r.rep.DurationMS).Msgf("exec %s", strings.Join(r.inv.Command, " "))
	if err := Exec(path, r.inv.Command, r.childEnv()); err != nil {
		return int(r.lookFailed(err))
	}
	return 0 // not reached
}

// steps runs the checks in order; the first error ends them.
func (r *runner) steps() (string, outcome.Code) {
	var path string
	if len(r.inv.Command) > 0 {
		var err error
		if !r.step("find command", func() error { path, err = LookPath(r.inv.Command[0], r.env.Get("PATH")); return err }) {
			return "", r.lookFailed(err)
		}
	}
	if r.inv.Settings.SeedCredentials != "" {
		var code outcome.Code
		r.step("seed credentials", func() error { code = r.seedCredentials(); return nil })
		if code != outcome.OK {
			return "", code
		}
	}
	var res *check.Resolution
	r.step("resolve credential", func() error { res = check.Resolve(r.resolveInput()); return nil })
	r.resolution(res)
	if c, stop := r.interrupted(); stop {
		return "", c
	}
	if f := res.Findings.FirstError(); f != nil {
		return "", f.Code
	}
	trust := r.realTrustDirs()
	r.commandChecks(res, trust)
	if f := outcome.Findings(r.rep.Findings).FirstError(); f != nil {
		return "", f.Code
	}
	// The config first: the CLI probe is Claude Code, which reads it (and,
	// at a FIFO or a corrupt file, would hang or move it aside itself), so
	// the probe runs claude as the command will find the sleeve.
	if code := r.prepareConfig(res, trust); code != outcome.OK {
		return "", code
	}
	if code, stop := r.probe(res); stop {
		return "", code
	}
	if c, stop := r.interrupted(); stop {
		return "", c
	}
	if len(r.inv.Command) > 0 {
		r.saveState()
	}
	return path, outcome.OK
}

// prepareConfig writes what Claude Code needs to start without a screen
// (without a command: says what it would write).
func (r *runner) prepareConfig(res *check.Resolution, trust []string) outcome.Code {
	plan := claudeconfig.ConfigPlan{GlobalConfig: res.GlobalConfig, ConfigDir: res.ConfigDir, TrustDirs: trust, AcceptBypass: r.inv.Settings.AcceptBypass,
		MCPServers: r.inv.Settings.ApproveMCP}
	r.unknownMCP()
	if r.inv.Settings.ApproveAPIKey {
		if res.Selected != nil && res.Selected.Kind == check.KindAPIKey {
			plan.APIKeySuffix = last20(res.Selected.Value)
		} else {
			r.finding(outcome.Finding{Severity: outcome.Warning, ID: "approve_no_api_key",
				Message: "SLEEVE_CHECK_APPROVE_API_KEY is set but Claude Code will not use ANTHROPIC_API_KEY", Hint: "unset it, or check which credential wins above"})
		}
	}
	dry := len(r.inv.Command) == 0
	r.rep.Config.DryRun = dry
	var prep claudeconfig.PrepareResult
	var perr error
	r.step("prepare config", func() error {
		prep, perr = claudeconfig.Prepare(plan, claudeconfig.EditOptions{DryRun: dry, Now: r.start, Ctx: r.ctx})
		return perr
	})
	for _, f := range prep.Files {
		r.configFile(f, dry)
	}
	if perr == nil {
		return outcome.OK
	}
	if c, stop := r.interrupted(); stop {
		return c
	}
	var fe *claudeconfig.FileError
	if !errors.As(perr, &fe) {
		fe = &claudeconfig.FileError{ID: "config_write", Msg: perr.Error()}
	}
	if claudecli.IsClaude(r.inv.Command) && !r.claudeInteractive() {
		// Print mode shows none of the screens these keys skip (observed
		// with claude -p 2.1.332 on a read-only home), so it starts regardless.
		r.finding(outcome.Finding{Severity: outcome.Warning, ID: fe.ID, Message: fe.Msg + "; claude -p needs none of it, so starting anyway", Hint: fe.Hint})
		return outcome.OK
	}
	r.finding(outcome.Finding{Severity: outcome.Error, Code: outcome.ConfigWrite, ID: fe.ID, Message: fe.Msg, Hint: fe.Hint})
	return outcome.ConfigWrite
}

// configFile reports what was (or would be) changed in one file.
func (r *runner) configFile(f claudeconfig.EditResult, dry bool) {
	fr := FileReport{Path: f.Path, Changes: f.Changes, Backup: f.Backup, InPlace: f.InPlace}
	if fr.Changes == nil {
		fr.Changes = []string{}
	}
	r.rep.Config.Files = append(r.rep.Config.Files, fr)
	verb := "changed"
	if dry {
		verb = "would change"
	}
	for _, c := range f.Changes {
		r.log.Debug().Str("path", f.Path).Msgf("%s: %s", verb, c)
	}
	if f.Backup != "" {
		r.finding(outcome.Finding{Severity: outcome.Warning, ID: "config_corrupt",
			Message: fmt.Sprintf("%q was corrupt; a copy is kept at %q and a fresh one was written", f.Path, f.Backup),
			Hint:    "Claude Code's settings in it (projects, history) are in the copy if you need them"})
	}
	if f.InPlace {
		r.finding(outcome.Finding{Severity: outcome.Info, ID: "config_in_place",
			Message: fmt.Sprintf("%q could not be replaced by rename (a single-file bind mount?), so it was rewritten in place", f.Path)})
	}
}

// realTrustDirs are the trust directories as Claude Code will see them:
// with symlinks resolved.
func (r *runner) realTrustDirs() []string {
	var out []string
	for _, d := range r.inv.Settings.TrustDirs {
		if rd := realPath(d); rd != filepath.Clean(d) {
			r.log.Debug().Str("dir", d).Str("real", rd).Msg("trust dir is reached through a symlink; trusting its real path")
			d = rd
		}
		out = append(out, d)
	}
	return out
}

// resolveInput is what the credential decision depends on, for the start
// and for health alike.
func (r *runner) resolveInput() check.Input {
	s := r.inv.Settings
	in := check.Input{Env: r.env, Cwd: r.cwd, Now: r.start, ExpiryWarning: s.ExpiryWarning,
		TokenIssued: s.TokenIssued.Time, ManagedSettings: s.Managed, Secrets: r.secrets, Seeded: r.seeded}
	if r.env.Get("HOME") == "" {
		in.PasswdHome = passwdHome()
	}
	return in
}

// step runs fn and logs its timing with --verbose.
func (r *runner) step(name string, fn func() error) bool {
	t := time.Now()
	err := fn()
	r.log.Debug().Dur("took_ms", time.Since(t)).Msgf("step %s", name)
	return err == nil
}

func (r *runner) interrupted() (outcome.Code, bool) {
	var i interrupted
	if errors.As(context.Cause(r.ctx), &i) {
		r.finding(outcome.Finding{Severity: outcome.Error, Code: outcome.Interrupted + outcome.Code(i.sig), ID: "interrupted",
			Message: fmt.Sprintf("stopped by %s before the command was started", sigName(i.sig))})
		return outcome.Interrupted + outcome.Code(i.sig), true
	}
	return outcome.OK, false
}

func (r *runner) resolution(res *check.Resolution) {
	r.rep.Status = res.Status
	r.rep.Config.ConfigDir = res.ConfigDir
	r.rep.Config.GlobalConfig = res.GlobalConfig
	if res.Selected != nil {
		fp := res.Selected.Fingerprint()
		r.rep.Credential = &fp
		if fp.ExpiresAt != nil {
			s := int64(fp.ExpiresAt.Sub(r.start).Seconds())
			r.rep.ExpiresIn = &s
		}
		ev := r.log.Debug()
		if fp.ExpiresAt != nil {
			ev = ev.Time("expires_at", *fp.ExpiresAt).Str("expires", relTime(*fp.ExpiresAt, r.start))
		}
		ev.Msgf("credential: %s", fp)
	}
	for _, sh := range res.Shadowed {
		r.rep.Shadowed = append(r.rep.Shadowed, sh.Fingerprint())
	}
	for _, p := range res.SettingsRead {
		r.log.Debug().Str("path", p).Msg("read settings file")
	}
	r.log.Debug().Str("home", res.Home).Str("home_from", res.HomeSource).Str("global_config", res.GlobalConfig).Str("credentials_file", res.CredentialsFile).Msg("paths")
	for _, f := range res.Findings {
		r.finding(f)
	}
	r.res = res
}

// finding records f in the report and logs it; with adds fields to the line.
func (r *runner) finding(f outcome.Finding, with ...func(*zerolog.Event) *zerolog.Event) {
	r.rep.Findings = append(r.rep.Findings, f)
	var ev *zerolog.Event
	switch f.Severity {
	case outcome.Error:
		ev = r.log.Error()
	case outcome.Warning:
		ev = r.log.Warn()
	default:
		ev = r.log.Debug()
	}
	if f.Hint != "" {
		ev = ev.Str("hint", f.Hint)
	}
	for _, w := range with {
		ev = w(ev)
	}
	ev.Str("id", f.ID).Msg(f.Message)
}

func (r *runner) lookFailed(err error) outcome.Code {
	var le *LookError
	if !errors.As(err, &le) {
		le = &LookError{Msg: err.Error()}
	}
	code := outcome.NotExecutable
	if le.NotFound {
		code = outcome.NotFound
	}
	r.finding(outcome.Finding{Severity: outcome.Error, Code: code, ID: code.Name(), Message: le.Msg, Hint: le.Hint})
	return code
}

// childEnv is the environment passed on, plus the plain variables read
// from *_FILE secrets.
func (r *runner) childEnv() []string {
	if r.res == nil || len(r.res.ChildEnv) == 0 {
		return r.env.Slice()
	}
	child := r.env.Clone()
	for _, k := range slices.Sorted(maps.Keys(r.res.ChildEnv)) {
		child.Set(k, r.res.ChildEnv[k])
	}
	return child.Slice()
}

func sigName(s syscall.Signal) string {
	switch s {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return s.String()
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
