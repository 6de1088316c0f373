package entrypoint

import (
	"fmt"
	"os"
	"path/filepath"
	"sleeve-check/internal/outcome"
	"slices"
	"strconv"
	"strings"

	"sleeve-check/check"
	"sleeve-check/entrypoint/claudecli"
	"sleeve-check/entrypoint/claudeconfig"
)

// commandChecks foresees the screens and refusals of the claude command.
// trust lists the directories that will be trusted, symlinks resolved.
func (r *runner) commandChecks(res *check.Resolution, trust []string) {
	if !claudecli.IsClaude(r.inv.Command) {
		return
	}
	c := claudecli.Parse(r.inv.Command[1:])
	if c.Bypass && os.Geteuid() == 0 && !outcome.Truthy(r.env.Get("IS_SANDBOX")) {
		r.finding(outcome.Finding{Severity: outcome.Error, Code: outcome.Config, ID: "bypass_as_root",
			Message: "claude refuses --dangerously-skip-permissions when run as root (uid 0), so it would exit at once",
			Hint:    "set SLEEVE_CHECK_USER=agent (--user agent) to run claude as the sleeve user, or USER in the Dockerfile; or set IS_SANDBOX=1 if the container is itself the sandbox"})
		return
	}
	if os.Geteuid() == 0 && !c.Bypass {
		r.finding(outcome.Finding{Severity: outcome.Warning, ID: "claude_as_root",
			Message: "claude will run as root",
			Hint:    "set SLEEVE_CHECK_USER (--user) to the sleeve user; as root claude refuses --dangerously-skip-permissions"})
	}
	r.autoUpdater(res)
	if !r.claudeInteractive() {
		r.printModeInput(c)
		return // print mode shows none of the start-up screens
	}
	r.screens(res, trust, c)
}

// autoUpdater warns that Claude Code will try to update itself inside the
// sleeve (reported with 2.0.76 and 2.1.86: "Auto-update failed"), which at
// best fails and at worst changes the release the image pinned.
func (r *runner) autoUpdater(res *check.Resolution) {
	if v, _, ok := res.Lookup("DISABLE_AUTOUPDATER"); ok && v != "" {
		return
	}
	r.finding(outcome.Finding{Severity: outcome.Warning, ID: "claude_auto_update",
		Message: "claude will try to update itself inside the sleeve (\"Auto-update failed\"), away from the release the image pinned",
		Hint:    "set DISABLE_AUTOUPDATER=1 in the image (ENV) or in the env block of settings.json"})
}

// claudeInteractive reports whether the claude command will start its
// interactive UI: no -p, no subcommand, no --version or --help, and a
// terminal on standard output (Claude Code falls into print mode without
// one: observed with 2.1.332, and read from its code).
func (r *runner) claudeInteractive() bool {
	c := claudecli.Parse(r.inv.Command[1:])
	return !c.Print && !c.Info && c.Sub == "" && isTerminal(r.stdout)
}

// printModeInput stops a claude that falls into print mode with nothing
// to read: without a prompt argument or data on standard input it exits 1
// at once, and a restart policy loops on it.
func (r *runner) printModeInput(c claudecli.Command) {
	if !c.NeedsInput() {
		return
	}
	why := noInput(r.stdin, stdinWait)
	if why == "" {
		return
	}
	mode := "claude -p"
	if !c.Print {
		mode = "claude (standard output is not a terminal, so it runs in print mode)"
	}
	r.finding(outcome.Finding{Severity: outcome.Error, Code: outcome.Config, ID: "claude_no_input",
		Message: fmt.Sprintf("%s has no prompt: no prompt argument, and %s, so it would exit 1 with \"Input must be provided either through stdin or as a prompt argument when using --print\"", mode, why),
		Hint:    "give the sleeve a terminal: docker run -it, compose tty: true and stdin_open: true, Kubernetes tty: true and stdin: true, or run it in tmux or dtach; or give the task as a prompt: -- claude -p \"the task\""})
}

// screens warns about each start-up screen that would wait for a person.
func (r *runner) screens(res *check.Resolution, trust []string, c claudecli.Command) {
	global, _ := claudeconfig.ReadJSON(res.GlobalConfig)
	if c.Bypass && !r.inv.Settings.AcceptBypass {
		settings, _ := claudeconfig.ReadJSON(filepath.Join(res.ConfigDir, "settings.json"))
		if settings["skipDangerousModePermissionPrompt"] != true && global["bypassPermissionsModeAccepted"] != true {
			r.finding(outcome.Finding{Severity: outcome.Warning, ID: "bypass_prompt",
				Message: "claude will stop at the \"Bypass Permissions mode\" warning and wait for an answer",
				Hint:    "set SLEEVE_CHECK_ACCEPT_BYPASS_PERMISSIONS=true (--accept-bypass-permissions) to accept it ahead of time"})
		}
	}
	if res.Selected != nil && res.Selected.Kind == check.KindAPIKey && !r.inv.Settings.ApproveAPIKey {
		resp, _ := global["customApiKeyResponses"].(map[string]any)
		approved, _ := resp["approved"].([]any)
		if !slices.Contains(approved, any(last20(res.Selected.Value))) {
			r.finding(outcome.Finding{Severity: outcome.Warning, ID: "api_key_prompt",
				Message: "claude will ask \"Detected a custom API key in your environment\" and wait, with No preselected",
				Hint:    "set SLEEVE_CHECK_APPROVE_API_KEY=true (--approve-api-key) to approve this key ahead of time"})
		}
	}
	if ask := r.mcpToAsk(res); len(ask) > 0 {
		r.finding(outcome.Finding{Severity: outcome.Warning, ID: "mcp_prompt",
			Message: fmt.Sprintf("claude will ask whether to use the MCP servers %s of this project's .mcp.json and wait", quoteAll(ask)),
			Hint:    fmt.Sprintf("set SLEEVE_CHECK_APPROVE_MCP_SERVERS=%s (--approve-mcp-servers), or all, to approve them ahead of time: an MCP server runs code, so approve only the ones you trust", strings.Join(ask, ","))})
	}
	if r.cwd != "" && !slices.Contains(trust, r.cwd) {
		projects, _ := global["projects"].(map[string]any)
		p, _ := projects[r.cwd].(map[string]any)
		if p["hasTrustDialogAccepted"] != true {
			r.finding(outcome.Finding{Severity: outcome.Warning, ID: "trust_prompt",
				Message: fmt.Sprintf("claude will ask whether to trust the folder %q and wait", r.cwd),
				Hint:    fmt.Sprintf("set SLEEVE_CHECK_TRUST_DIRS=%s (--trust-dirs) to trust it ahead of time", r.cwd)})
		}
	}
}

// mcpToAsk lists the project MCP servers that claude will ask about: in a
// .mcp.json of the project, decided in no settings file, and not about to
// be approved.
func (r *runner) mcpToAsk(res *check.Resolution) []string {
	approve := r.inv.Settings.ApproveMCP
	if slices.Contains(approve, claudeconfig.AllMCPServers) {
		return nil
	}
	names, _ := claudeconfig.ProjectMCPServers(r.cwd)
	return slices.DeleteFunc(claudeconfig.MCPUndecided(names, res.SettingsRead), func(n string) bool { return slices.Contains(approve, n) })
}

// unknownMCP warns about approved names that no .mcp.json defines: a typo
// approves nothing.
func (r *runner) unknownMCP() {
	names, _ := claudeconfig.ProjectMCPServers(r.cwd)
	var unknown []string
	for _, n := range r.inv.Settings.ApproveMCP {
		if n != claudeconfig.AllMCPServers && !slices.Contains(names, n) {
			unknown = append(unknown, n)
		}
	}
	if len(unknown) > 0 {
		r.finding(outcome.Finding{Severity: outcome.Warning, ID: "mcp_approve_unknown",
			Message: fmt.Sprintf("SLEEVE_CHECK_APPROVE_MCP_SERVERS names %s, which no .mcp.json of this project defines", quoteAll(unknown)),
			Hint:    "check the names against the mcpServers of .mcp.json; they are approved anyway, for when the file appears"})
	}
}

func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}

func last20(s check.Secret) string {
	v := s.Reveal()
	if len(v) <= 20 {
		return v
	}
	return v[len(v)-20:]
}
