package entrypoint

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"sleeve-check/check"
)

// Version is set at build time with -ldflags "-X sleeve-check/entrypoint.Version=...".
var Version = "dev"

// Report is the one machine-readable account of a run (--json), in
// snake_case with the status words Protectorate's Envoy uses.
type Report struct {
	Version    string              `json:"version"`
	CheckedAt  time.Time           `json:"checked_at"`
	Status     check.Status        `json:"status"`
	ExitCode   int                 `json:"exit_code"`
	Exit       string              `json:"exit"`
	Message    string              `json:"message,omitempty"`
	Hint       string              `json:"hint,omitempty"`
	Credential *check.Fingerprint  `json:"credential,omitempty"`
	ExpiresIn  *int64              `json:"expires_in_seconds,omitempty"`
	Shadowed   []check.Fingerprint `json:"shadowed,omitempty"`
	Findings   []check.Finding     `json:"findings"`
	Config     ConfigReport        `json:"config"`
	Probe      *check.Verdict      `json:"probe,omitempty"`
	Command    []string            `json:"command,omitempty"`
	User       string              `json:"user,omitempty"`
	UID        int                 `json:"uid"`
	Health     *HealthReport       `json:"health,omitempty"`
	DurationMS float64             `json:"duration_ms"`
}

// ConfigReport is what was (or, without a command, would be) written.
type ConfigReport struct {
	ConfigDir    string       `json:"config_dir,omitempty"`
	GlobalConfig string       `json:"global_config,omitempty"`
	DryRun       bool         `json:"dry_run,omitempty"`
	Files        []FileReport `json:"files,omitempty"`
}

// FileReport is one config file and its changes.
type FileReport struct {
	Path    string   `json:"path"`
	Changes []string `json:"changes"`
	Backup  string   `json:"backup,omitempty"`
	InPlace bool     `json:"in_place,omitempty"`
}

// interrupted is the cancel cause a signal leaves on the context.
type interrupted struct{ sig syscall.Signal }

func (i interrupted) Error() string { return "interrupted by " + i.sig.String() }

// Main is the whole program: it returns the exit status, or never returns
// because it exec'd the command.
func Main(args, environ []string, stdout, stderr io.Writer) int {
	return Recover(stderr, func() int { return main(args, environ, stdout, stderr) })
}

// Recover runs fn and turns a panic into the internal exit code. The
// panic value is not printed: it could hold anything, including a token.
// Its type and the stack locate the bug.
func Recover(stderr io.Writer, fn func() int) (code int) {
	defer func() {
		if p := recover(); p != nil {
			fmt.Fprintf(stderr, "sleeve-check: error: internal error (panic of type %T)\nsleeve-check: hint: report this bug with the stack below; no secret is printed\n%s", p, stackWithoutArgs())
			code = int(check.Internal)
		}
	}()
	return fn()
}

func main(args, environ []string, stdout, stderr io.Writer) int {
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
	return run(ctx, args, envMap(environ), environ, stdout, stderr)
}

type runner struct {
	ctx     context.Context
	inv     *Invocation
	env     map[string]string
	environ []string
	log     zerolog.Logger
	stdout  io.Writer
	start   time.Time
	rep     Report
	cwd     string
	res     *check.Resolution
	secrets *check.Secrets
	user    *sleeveUser
}

func run(ctx context.Context, args []string, env map[string]string, environ []string, stdout, stderr io.Writer) int {
	start := time.Now()
	inv, err := Parse(args, env)
	format := "console"
	if inv != nil && inv.Settings.LogFormat == "json" {
		format = "json"
	}
	color := isTerminal(stderr) && env["NO_COLOR"] == ""
	if err != nil {
		var pe *ParseError
		errors.As(err, &pe)
		if inv.Sub == "health" {
			fmt.Fprintln(stdout, healthLine(false, false, "sleeve-check health: "+pe.Error()))
			return 1
		}
		log := newLogger(stderr, format, false, color)
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
			return int(check.Usage)
		}
		return int(check.Config)
	}
	if inv.Help {
		fmt.Fprint(stdout, helpText())
		return 0
	}
	if inv.Version {
		fmt.Fprintf(stdout, "sleeve-check %s\n", Version)
		return 0
	}
	r := &runner{ctx: ctx, inv: inv, env: env, environ: environ, stdout: stdout, start: start,
		log: newLogger(stderr, format, inv.Settings.Verbose, color)}
	if inv.Sub == "health" && !inv.Settings.Verbose {
		// Docker keeps stdout and stderr of a health check: only the line.
		r.log = zerolog.Nop()
	}
	r.rep = Report{Version: Version, CheckedAt: start.UTC(), Command: inv.Command, Findings: []check.Finding{}, UID: os.Geteuid()}
	r.cwd, _ = os.Getwd()
	for _, f := range settingFields {
		r.log.Debug().Str("source", inv.Sources[f.Name]).Msgf("setting %s", f.Flag)
	}
	if inv.Settings.User != "" {
		if f := r.switchUser(); f != nil {
			if inv.Sub == "health" {
				fmt.Fprintln(stdout, healthLine(false, false, f.Message))
				return 1
			}
			r.finding(*f)
			r.finish(f.Code)
			return int(f.Code)
		}
	}
	if inv.Sub == "health" {
		return r.health()
	}
	path, code := r.steps()
	r.finish(code)
	if code != check.OK || len(inv.Command) == 0 {
		return int(code)
	}
	r.log.Debug().Str("path", path).Msgf("exec %s", strings.Join(inv.Command, " "))
	if err := Exec(path, inv.Command, r.childEnv()); err != nil {
		return r.lookFailed(err)
	}
	return 0 // not reached
}

// steps runs the checks in order; the first error ends them.
func (r *runner) steps() (string, check.Code) {
	var path string
	if len(r.inv.Command) > 0 {
		var err error
		if !r.step("find command", func() error { path, err = LookPath(r.inv.Command[0], r.env["PATH"]); return err }) {
			return "", check.Code(r.lookFailed(err))
		}
	}
	var res *check.Resolution
	r.step("resolve credential", func() error {
		res = check.Resolve(check.Input{
			Env: r.env, Cwd: r.cwd, Now: r.start, ExpiryWarning: r.inv.Settings.ExpiryWarning,
			TokenIssued: r.inv.Settings.TokenIssued.Time, ManagedSettings: r.inv.Settings.Managed, Secrets: r.secrets,
		})
		return nil
	})
	r.resolution(res)
	if c, stop := r.interrupted(); stop {
		return "", c
	}
	if f := res.Findings.FirstError(); f != nil {
		return "", f.Code
	}
	r.commandChecks(res)
	if f := check.Findings(r.rep.Findings).FirstError(); f != nil {
		return "", f.Code
	}
	if code, stop := r.probe(res); stop {
		return "", code
	}
	plan := ConfigPlan{GlobalConfig: res.GlobalConfig, ConfigDir: res.ConfigDir, TrustDirs: r.inv.Settings.TrustDirs,
		AcceptBypass: r.inv.Settings.AcceptBypass}
	if r.inv.Settings.ApproveAPIKey {
		if res.Selected != nil && res.Selected.Kind == check.KindAPIKey {
			plan.APIKeySuffix = last20(res.Selected.Value)
		} else {
			r.finding(check.Finding{Severity: check.Warning, ID: "approve_no_api_key",
				Message: "SLEEVE_CHECK_APPROVE_API_KEY is set but Claude Code will not use ANTHROPIC_API_KEY", Hint: "unset it, or check which credential wins above"})
		}
	}
	dry := len(r.inv.Command) == 0
	r.rep.Config.DryRun = dry
	var prep PrepareResult
	var perr error
	r.step("prepare config", func() error {
		prep, perr = Prepare(plan, EditOptions{DryRun: dry, Now: r.start})
		return perr
	})
	for _, f := range prep.Files {
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
			r.finding(check.Finding{Severity: check.Warning, ID: "config_corrupt",
				Message: fmt.Sprintf("%q was corrupt; a copy is kept at %q and a fresh one was written", f.Path, f.Backup),
				Hint:    "Claude Code's settings in it (projects, history) are in the copy if you need them"})
		}
		if f.InPlace {
			r.finding(check.Finding{Severity: check.Info, ID: "config_in_place",
				Message: fmt.Sprintf("%q could not be replaced by rename (a single-file bind mount?), so it was rewritten in place", f.Path)})
		}
	}
	if perr != nil {
		var fe *FileError
		if !errors.As(perr, &fe) {
			fe = &FileError{"config_write", perr.Error(), ""}
		}
		r.finding(check.Finding{Severity: check.Error, Code: check.ConfigWrite, ID: fe.ID, Message: fe.Msg, Hint: fe.Hint})
		return "", check.ConfigWrite
	}
	if c, stop := r.interrupted(); stop {
		return "", c
	}
	if len(r.inv.Command) > 0 {
		r.saveState()
	}
	return path, check.OK
}

// saveState leaves the start's report and probe verdict for health checks.
// Failing to is a warning: the start itself is sound.
func (r *runner) saveState() {
	dir, err := writableStateDir(r.inv.Settings.StateDir)
	if err == nil {
		rep := r.rep
		rep.ExitCode, rep.Exit = 0, check.OK.Name()
		err = writeStateFile(dir, stateFile, rep)
		if err == nil && r.rep.Probe != nil && r.rep.Credential != nil {
			err = writeStateFile(dir, probeFile, ProbeCache{CheckedAt: r.start.UTC(), Credential: *r.rep.Credential, Verdict: *r.rep.Probe})
		}
	}
	if err != nil {
		r.finding(check.Finding{Severity: check.Warning, ID: "state_not_saved",
			Message: fmt.Sprintf("cannot save state for health checks in %q: %s", r.inv.Settings.StateDir, errText(err)),
			Hint:    "make SLEEVE_CHECK_STATE_DIR writable by the sleeve user; health checks will probe the API on their own"})
		return
	}
	r.log.Debug().Str("dir", dir).Msg("saved state for health checks")
}

// switchUser drops to SLEEVE_CHECK_USER before anything else is read.
// The *_FILE secrets are read first, as root: the operator named them.
func (r *runner) switchUser() *check.Finding {
	spec := r.inv.Settings.User
	u, err := lookupUser(spec)
	if err != nil {
		return &check.Finding{Severity: check.Error, Code: check.Config, ID: "user_unknown", Message: err.Error(),
			Hint: "name a user of the image (see /etc/passwd), or a numeric UID[:GID]"}
	}
	if os.Geteuid() != 0 {
		if u.UID == os.Geteuid() {
			return nil // already that user
		}
		return &check.Finding{Severity: check.Error, Code: check.Config, ID: "user_needs_root",
			Message: fmt.Sprintf("SLEEVE_CHECK_USER=%s needs root to switch to uid %d, and sleeve-check runs as uid %d", spec, u.UID, os.Geteuid()),
			Hint:    "start the container as root (the image's USER root, or docker run --user 0), or drop SLEEVE_CHECK_USER and rely on the image's USER"}
	}
	r.secrets = check.LoadSecrets(r.env)
	if err := u.become(); err != nil {
		return &check.Finding{Severity: check.Error, Code: check.Config, ID: "user_switch",
			Message: fmt.Sprintf("cannot switch to %s: %v", spec, err), Hint: "the container may lack CAP_SETUID/CAP_SETGID"}
	}
	add := u.env()
	if u.Home == "" && r.env["HOME"] == "" {
		add["HOME"] = "/"
	}
	for k, v := range add {
		r.env[k] = v
	}
	out := make([]string, 0, len(r.environ)+len(add))
	for _, kv := range r.environ {
		k, _, _ := strings.Cut(kv, "=")
		if _, ok := add[k]; !ok {
			out = append(out, kv)
		}
	}
	for k, v := range add {
		out = append(out, k+"="+v)
	}
	r.environ = out
	r.user = u
	r.rep.User, r.rep.UID = u.Name, u.UID
	r.log.Debug().Int("uid", u.UID).Int("gid", u.GID).Ints("groups", u.Groups).Str("home", r.env["HOME"]).Msg("switched user")
	return nil
}

// probe asks the API whether the selected credential works. It reports
// whether the start must stop, and with which code.
func (r *runner) probe(res *check.Resolution) (check.Code, bool) {
	s := r.inv.Settings
	if skip := r.probeSkip(res); skip != "" {
		r.log.Debug().Msg("not probed: " + skip)
		return check.OK, false
	}
	if s.ProbeSplay > 0 {
		d := time.Duration(rand.Int64N(int64(s.ProbeSplay)))
		r.log.Debug().Dur("splay_ms", d).Msg("waiting before the probe")
		select {
		case <-time.After(d):
		case <-r.ctx.Done():
			return r.interrupted()
		}
	}
	var v check.Verdict
	r.step("probe", func() error { v = r.runProbe(res, s.ProbeTimeout); return nil })
	if v.Class == "interrupted" {
		return r.interrupted()
	}
	r.rep.Probe = &v
	r.log.Debug().Int("attempts", v.Attempts).Int("http_status", v.HTTPStatus).Str("request_id", v.RequestID).Msgf("probe: %s", v.Class)
	r.applyVerdict(v)
	r.finding(v.Finding)
	if v.Finding.Severity == check.Error {
		return v.Finding.Code, true
	}
	return check.OK, false
}

// probeSkip says why the selected credential is not probed, or "".
func (r *runner) probeSkip(res *check.Resolution) string {
	sel := res.Selected
	switch {
	case r.inv.Settings.Probe == "off":
		return "the probe is off (SLEEVE_CHECK_PROBE=off)"
	case sel == nil:
		return "there is no credential"
	case sel.Value.Len() == 0:
		return "Claude Code authenticates through " + string(sel.Kind) + ", which sleeve-check does not probe"
	case sel.Kind == check.KindOAuthFile && sel.Refreshable && !sel.ExpiresAt.After(r.start):
		return "the access token has expired and Claude Code refreshes it before its first request"
	}
	return ""
}

// runProbe asks, by the configured means, whether the credential works.
func (r *runner) runProbe(res *check.Resolution, deadline time.Duration) check.Verdict {
	if r.inv.Settings.Probe != "cli" {
		return check.Probe(r.ctx, *res.Selected, r.probeConfig(res, deadline))
	}
	claude := "claude"
	if c := r.inv.Command; len(c) > 0 && filepath.Base(c[0]) == "claude" {
		claude = c[0]
	}
	path, err := LookPath(claude, r.env["PATH"])
	if err != nil {
		return check.Verdict{Class: "insecure", Status: check.StatusUnknown, Finding: check.Finding{Severity: check.Error, Code: check.Config, ID: "probe_cli_no_claude",
			Message: "--probe=cli needs the claude binary: " + err.Error(), Hint: "install Claude Code in the image, or use --probe=http"}}
	}
	r.log.Debug().Str("path", path).Strs("args", check.CLIArgs).Msg("probe: running claude")
	return check.ProbeCLI(r.ctx, check.CLIProbeConfig{Path: path, Env: r.childEnv(), Dir: r.cwd, Timeout: deadline,
		Strict: r.inv.Settings.Strict, WarnUnavailable: r.inv.Settings.OnUnavailable == "warn"})
}

func (r *runner) probeConfig(res *check.Resolution, deadline time.Duration) check.ProbeConfig {
	s := r.inv.Settings
	base, baseSrc, _ := res.Lookup("ANTHROPIC_BASE_URL")
	headers, _, _ := res.Lookup("ANTHROPIC_CUSTOM_HEADERS")
	cfg := check.ProbeConfig{
		BaseURL: base, BaseURLSource: baseSrc, Model: s.ProbeModel, Deadline: deadline, AttemptTimeout: min(s.AttemptTime, deadline),
		CustomHeaders: headers, ExtraCAFile: r.env["NODE_EXTRA_CA_CERTS"], UserAgent: "sleeve-check/" + Version,
		Strict: s.Strict, WarnUnavailable: s.OnUnavailable == "warn", RetryWaitMin: 500 * time.Millisecond, RetryWaitMax: 4 * time.Second,
		Proxy: http.ProxyFromEnvironment, Log: r.log,
	}
	if cfg.BaseURL != "" {
		cfg.BaseURLSource = "the base URL " + strconv.Quote(base) + " (" + baseSrc + ")"
	}
	return cfg
}

// applyVerdict lets the API's word set the status, except that a valid
// answer does not hide a coming expiry, and no answer changes nothing.
func (r *runner) applyVerdict(v check.Verdict) {
	if v.Status != check.StatusUnknown && !(v.Status == check.StatusValid && r.rep.Status == check.StatusExpiringSoon) {
		r.rep.Status = v.Status
	}
}

// step runs fn and logs its timing with --verbose.
func (r *runner) step(name string, fn func() error) bool {
	t := time.Now()
	err := fn()
	r.log.Debug().Dur("took_ms", time.Since(t)).Msgf("step %s", name)
	return err == nil
}

func (r *runner) interrupted() (check.Code, bool) {
	var i interrupted
	if errors.As(context.Cause(r.ctx), &i) {
		r.finding(check.Finding{Severity: check.Error, Code: check.Interrupted + check.Code(i.sig), ID: "interrupted",
			Message: fmt.Sprintf("stopped by %s before the command was started", sigName(i.sig))})
		return check.Interrupted + check.Code(i.sig), true
	}
	return check.OK, false
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
		r.log.Debug().Msgf("credential: %s", fp)
	}
	for _, sh := range res.Shadowed {
		r.rep.Shadowed = append(r.rep.Shadowed, sh.Fingerprint())
	}
	for _, p := range res.SettingsRead {
		r.log.Debug().Str("path", p).Msg("read settings file")
	}
	r.log.Debug().Str("global_config", res.GlobalConfig).Str("credentials_file", res.CredentialsFile).Msg("paths")
	for _, f := range res.Findings {
		r.finding(f)
	}
	r.res = res
}

// commandChecks foresees the screens and refusals of the claude command.
func (r *runner) commandChecks(res *check.Resolution) {
	cmd := r.inv.Command
	if len(cmd) == 0 || filepath.Base(cmd[0]) != "claude" {
		return
	}
	args := cmd[1:]
	bypass := hasArg(args, "--dangerously-skip-permissions") || hasArgValue(args, "--permission-mode", "bypassPermissions")
	print := hasArg(args, "-p") || hasArg(args, "--print")
	if bypass && os.Geteuid() == 0 && !truthyEnv(r.env["IS_SANDBOX"]) {
		r.finding(check.Finding{Severity: check.Error, Code: check.Config, ID: "bypass_as_root",
			Message: "claude refuses --dangerously-skip-permissions when run as root (uid 0), so it would exit at once",
			Hint:    "set SLEEVE_CHECK_USER=agent (--user agent) to run claude as the sleeve user, or USER in the Dockerfile; or set IS_SANDBOX=1 if the container is itself the sandbox"})
		return
	}
	if os.Geteuid() == 0 && !bypass {
		r.finding(check.Finding{Severity: check.Warning, ID: "claude_as_root",
			Message: "claude will run as root",
			Hint:    "set SLEEVE_CHECK_USER (--user) to the sleeve user; as root claude refuses --dangerously-skip-permissions"})
	}
	if print {
		return // -p shows none of the start-up screens
	}
	global, _ := ReadJSON(res.GlobalConfig)
	if bypass && !r.inv.Settings.AcceptBypass {
		settings, _ := ReadJSON(filepath.Join(res.ConfigDir, "settings.json"))
		if settings["skipDangerousModePermissionPrompt"] != true && global["bypassPermissionsModeAccepted"] != true {
			r.finding(check.Finding{Severity: check.Warning, ID: "bypass_prompt",
				Message: "claude will stop at the \"Bypass Permissions mode\" warning and wait for an answer",
				Hint:    "set SLEEVE_CHECK_ACCEPT_BYPASS_PERMISSIONS=true (--accept-bypass-permissions) to accept it ahead of time"})
		}
	}
	if res.Selected != nil && res.Selected.Kind == check.KindAPIKey && !r.inv.Settings.ApproveAPIKey {
		resp, _ := global["customApiKeyResponses"].(map[string]any)
		approved, _ := resp["approved"].([]any)
		if !containsStr(approved, last20(res.Selected.Value)) {
			r.finding(check.Finding{Severity: check.Warning, ID: "api_key_prompt",
				Message: "claude will ask \"Detected a custom API key in your environment\" and wait, with No preselected",
				Hint:    "set SLEEVE_CHECK_APPROVE_API_KEY=true (--approve-api-key) to approve this key ahead of time"})
		}
	}
	trusted := false
	for _, d := range r.inv.Settings.TrustDirs {
		trusted = trusted || filepath.Clean(d) == r.cwd
	}
	if !trusted && r.cwd != "" {
		projects, _ := global["projects"].(map[string]any)
		p, _ := projects[r.cwd].(map[string]any)
		if p["hasTrustDialogAccepted"] != true {
			r.finding(check.Finding{Severity: check.Warning, ID: "trust_prompt",
				Message: fmt.Sprintf("claude will ask whether to trust the folder %q and wait", r.cwd),
				Hint:    fmt.Sprintf("set SLEEVE_CHECK_TRUST_DIRS=%s (--trust-dirs) to trust it ahead of time", r.cwd)})
		}
	}
}

func (r *runner) finding(f check.Finding) {
	r.rep.Findings = append(r.rep.Findings, f)
	var ev *zerolog.Event
	switch f.Severity {
	case check.Error:
		ev = r.log.Error()
	case check.Warning:
		ev = r.log.Warn()
	default:
		ev = r.log.Debug()
	}
	if f.Hint != "" {
		ev = ev.Str("hint", f.Hint)
	}
	ev.Str("id", f.ID).Msg(f.Message)
}

// finish fills in the verdict and prints the report.
func (r *runner) finish(code check.Code) {
	r.rep.ExitCode = int(code)
	r.rep.Exit = code.Name()
	if f := check.Findings(r.rep.Findings).FirstError(); f != nil {
		r.rep.Message, r.rep.Hint = f.Message, f.Hint
	}
	if r.rep.Status == "" {
		r.rep.Status = check.StatusUnknown
	}
	r.rep.DurationMS = float64(time.Since(r.start).Microseconds()) / 1000
	if r.inv.Settings.JSON {
		enc := json.NewEncoder(r.stdout)
		enc.SetIndent("", "  ")
		enc.Encode(r.rep)
	} else if len(r.inv.Command) == 0 {
		r.printText()
	}
	if code == check.OK && r.rep.Credential != nil && len(r.inv.Command) > 0 {
		r.log.Info().Msgf("ok: %s, %s; starting %s", r.rep.Credential, r.rep.Status, r.inv.Command[0])
	}
	r.log.Debug().Float64("took_ms", r.rep.DurationMS).Msgf("done: exit %d (%s)", code, code.Name())
}

func (r *runner) printText() {
	w := r.stdout
	fmt.Fprintf(w, "status:       %s\n", r.rep.Status)
	if c := r.rep.Credential; c != nil {
		fmt.Fprintf(w, "credential:   %s\n", c)
		if c.ExpiresAt != nil {
			fmt.Fprintf(w, "expires:      %s (%s)\n", c.ExpiresAt.Format(time.RFC3339), relTime(*c.ExpiresAt, r.start))
		}
	}
	for _, s := range r.rep.Shadowed {
		fmt.Fprintf(w, "ignored:      %s\n", s)
	}
	if r.rep.Config.GlobalConfig != "" {
		fmt.Fprintf(w, "config:       %s\n", r.rep.Config.GlobalConfig)
	}
	for _, f := range r.rep.Config.Files {
		for _, c := range f.Changes {
			fmt.Fprintf(w, "would change: %s: %s\n", f.Path, c)
		}
	}
	fmt.Fprintf(w, "result:       %s (exit %d)\n", r.rep.Exit, r.rep.ExitCode)
}

func (r *runner) lookFailed(err error) int {
	var le *LookError
	if !errors.As(err, &le) {
		le = &LookError{Msg: err.Error()}
	}
	code := check.NotExecutable
	if le.NotFound {
		code = check.NotFound
	}
	r.finding(check.Finding{Severity: check.Error, Code: code, ID: code.Name(), Message: le.Msg, Hint: le.Hint})
	return int(code)
}

// childEnv is the environment passed on, plus the plain variables read
// from *_FILE secrets.
func (r *runner) childEnv() []string {
	if r.res == nil || len(r.res.ChildEnv) == 0 {
		return r.environ
	}
	out := make([]string, 0, len(r.environ)+len(r.res.ChildEnv))
	for _, kv := range r.environ {
		k, _, _ := strings.Cut(kv, "=")
		if _, ok := r.res.ChildEnv[k]; !ok {
			out = append(out, kv)
		}
	}
	for k, v := range r.res.ChildEnv {
		out = append(out, k+"="+v)
	}
	return out
}

func helpText() string {
	return `sleeve-check guards the start of a container that runs Claude Code.

Usage:
  sleeve-check [flags] -- COMMAND [ARGS...]   check, prepare Claude Code's config, exec COMMAND
  sleeve-check [flags]                        check only and print a report (nothing is written)
  sleeve-check --version | --help

It finds the credential Claude Code will use (the same precedence as Claude
Code), checks its presence, shape and expiry, sets hasCompletedOnboarding in
Claude Code's global config, and replaces itself with COMMAND. On any
problem it stops with an exit code and one sentence saying what to fix.
Secrets are only ever shown as a fingerprint (kind, source, length, last 4).

Flags (each also an environment variable; a flag beats the variable):
` + SettingsTable(false) + `
Exit codes:
` + check.FormatTable(false)
}

func envMap(environ []string) map[string]string {
	m := make(map[string]string, len(environ))
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}

func last20(s check.Secret) string {
	v := s.Reveal()
	if len(v) <= 20 {
		return v
	}
	return v[len(v)-20:]
}

func hasArg(args []string, a string) bool {
	for _, x := range args {
		if x == a {
			return true
		}
		if x == "--" {
			return false
		}
	}
	return false
}

func hasArgValue(args []string, flag, val string) bool {
	for i, x := range args {
		if x == flag+"="+val || (x == flag && i+1 < len(args) && args[i+1] == val) {
			return true
		}
	}
	return false
}

func truthyEnv(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

func relTime(t, now time.Time) string {
	if t.Before(now) {
		return check.Human(now.Sub(t)) + " ago"
	}
	return "in " + check.Human(t.Sub(now))
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
