package entrypoint

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"sleeve-check/check"
	"sleeve-check/entrypoint/claudeconfig"
)

// commandChecks foresees the screens and refusals of the claude command.
// trust lists the directories that will be trusted, symlinks resolved.
func (r *runner) commandChecks(res *check.Resolution, trust []string) {
	cmd := r.inv.Command
	if len(cmd) == 0 || filepath.Base(cmd[0]) != "claude" {
		return
	}
	args := cmd[1:]
	bypass := hasArg(args, "--dangerously-skip-permissions") || hasArgValue(args, "--permission-mode", "bypassPermissions")
	print := claudePrintMode(cmd)
	if bypass && os.Geteuid() == 0 && !check.Truthy(r.env.Get("IS_SANDBOX")) {
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
	global, _ := claudeconfig.ReadJSON(res.GlobalConfig)
	if bypass && !r.inv.Settings.AcceptBypass {
		settings, _ := claudeconfig.ReadJSON(filepath.Join(res.ConfigDir, "settings.json"))
		if settings["skipDangerousModePermissionPrompt"] != true && global["bypassPermissionsModeAccepted"] != true {
			r.finding(check.Finding{Severity: check.Warning, ID: "bypass_prompt",
				Message: "claude will stop at the \"Bypass Permissions mode\" warning and wait for an answer",
				Hint:    "set SLEEVE_CHECK_ACCEPT_BYPASS_PERMISSIONS=true (--accept-bypass-permissions) to accept it ahead of time"})
		}
	}
	if res.Selected != nil && res.Selected.Kind == check.KindAPIKey && !r.inv.Settings.ApproveAPIKey {
		resp, _ := global["customApiKeyResponses"].(map[string]any)
		approved, _ := resp["approved"].([]any)
		if !slices.Contains(approved, any(last20(res.Selected.Value))) {
			r.finding(check.Finding{Severity: check.Warning, ID: "api_key_prompt",
				Message: "claude will ask \"Detected a custom API key in your environment\" and wait, with No preselected",
				Hint:    "set SLEEVE_CHECK_APPROVE_API_KEY=true (--approve-api-key) to approve this key ahead of time"})
		}
	}
	trusted := false
	for _, d := range trust {
		trusted = trusted || d == r.cwd
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

// claudePrintMode reports whether cmd is claude in print mode (-p), which
// needs no onboarding flag, trust or approval: it shows no screen.
func claudePrintMode(cmd []string) bool {
	return len(cmd) > 0 && filepath.Base(cmd[0]) == "claude" && (hasArg(cmd[1:], "-p") || hasArg(cmd[1:], "--print"))
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
