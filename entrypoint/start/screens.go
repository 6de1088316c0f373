package start

import (
	"fmt"
	"io"
	"os"
	"time"

	"sleeve-check/check"
	"sleeve-check/entrypoint/claudecli"
	"sleeve-check/entrypoint/claudeconfig"
	"sleeve-check/entrypoint/internal/console"
	"sleeve-check/entrypoint/internal/settings"
	"sleeve-check/internal/environ"
	"sleeve-check/internal/outcome"
)

// sleeveView is how the command will find the sleeve: what foreseeing
// claude's screens and refusals depends on.
type sleeveView struct {
	cmd    []string
	s      settings.Settings
	env    environ.Env
	cwd    string
	stdin  *os.File
	stdout io.Writer
	// trust are the directories about to be trusted, symlinks resolved.
	trust []string
	now   time.Time
}

// foresee is the start's step that foresees the screens and refusals of
// the claude command (nothing for another command).
func foresee(v sleeveView, res *check.Resolution, waiting func()) outcome.Findings {
	if !claudecli.IsClaude(v.cmd) {
		return nil
	}
	var fs outcome.Findings
	c := claudecli.Parse(v.cmd[1:])
	if c.Bypass && os.Geteuid() == 0 && !outcome.Truthy(v.env.Get("IS_SANDBOX")) {
		fs.Errf(outcome.Config, "bypass_as_root", "claude refuses --dangerously-skip-permissions when run as root (uid 0), so it would exit at once",
			"set SLEEVE_CHECK_USER=agent (--user agent) to run claude as the sleeve user, or USER in the Dockerfile; or set IS_SANDBOX=1 if the container is itself the sandbox")
		return fs
	}
	if os.Geteuid() == 0 && !c.Bypass {
		fs.Warn("claude_as_root", "claude will run as root",
			"set SLEEVE_CHECK_USER (--user) to the sleeve user; as root claude refuses --dangerously-skip-permissions")
	}
	fs = append(fs, autoUpdater(res)...)
	if !claudeInteractive(v.cmd, v.stdout) {
		return append(fs, printModeInput(c, v.stdin, waiting)...) // print mode shows none of the start-up screens
	}
	q := claudeconfig.ScreenQuery{GlobalConfig: res.GlobalConfig, ConfigDir: res.ConfigDir, Cwd: v.cwd, Bypass: c.Bypass, AcceptBypass: v.s.AcceptBypass,
		ApproveAPIKey: v.s.ApproveAPIKey, ApproveMCP: v.s.ApproveMCP, TrustDirs: v.trust, SettingsRead: res.SettingsRead,
		Home: res.Home, ClaudeMDImports: v.s.ClaudeMDImports}
	if res.Selected != nil && res.Selected.Kind == check.KindAPIKey {
		q.APIKeySuffix = last20(res.Selected.Value)
	}
	return append(fs, claudeconfig.Screens(q)...)
}

// autoUpdater warns that Claude Code will try to update itself inside the
// sleeve (reported with 2.0.76 and 2.1.86: "Auto-update failed"), which at
// best fails and at worst changes the release the image pinned.
func autoUpdater(res *check.Resolution) outcome.Findings {
	var fs outcome.Findings
	if v, _, ok := res.Lookup("DISABLE_AUTOUPDATER"); ok && v != "" {
		return nil
	}
	fs.Warn("claude_auto_update", "claude will try to update itself inside the sleeve (\"Auto-update failed\"), away from the release the image pinned",
		"set DISABLE_AUTOUPDATER=1 in the image (ENV) or in the env block of settings.json")
	return fs
}

// claudeInteractive reports whether the claude command will start its
// interactive UI: no -p, no subcommand, no --version or --help, and a
// terminal on standard output (Claude Code falls into print mode without
// one: observed with 2.1.332, and read from its code).
func claudeInteractive(cmd []string, stdout io.Writer) bool {
	c := claudecli.Parse(cmd[1:])
	return !c.Print && !c.Info && c.Sub == "" && console.IsTerminal(stdout)
}

// printModeInput stops a claude that falls into print mode with nothing
// to read: without a prompt argument or data on standard input it exits 1
// at once, and a restart policy loops on it.
func printModeInput(c claudecli.Command, stdin *os.File, waiting func()) outcome.Findings {
	if !c.NeedsInput() {
		return nil
	}
	waiting() // NoInput may wait for standard input
	why := console.NoInput(stdin, console.StdinWait)
	if why == "" {
		return nil
	}
	mode := "claude -p"
	if !c.Print {
		mode = "claude (standard output is not a terminal, so it runs in print mode)"
	}
	var fs outcome.Findings
	fs.Errf(outcome.Config, "claude_no_input",
		fmt.Sprintf("%s has no prompt: no prompt argument, and %s, so it would exit 1 with \"Input must be provided either through stdin or as a prompt argument when using --print\"", mode, why),
		"give the sleeve a terminal: docker run -it, compose tty: true and stdin_open: true, Kubernetes tty: true and stdin: true, or run it in tmux or dtach; or give the task as a prompt: -- claude -p \"the task\"")
	return fs
}

func last20(s check.Secret) string {
	v := s.Reveal()
	if len(v) <= 20 {
		return v
	}
	return v[len(v)-20:]
}
