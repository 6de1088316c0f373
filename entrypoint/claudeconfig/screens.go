package claudeconfig

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"sleeve-check/internal/outcome"
	"sleeve-check/internal/safefile"
)

// ScreenQuery is what decides which start-up screens an interactive
// claude would wait at: the config as it is now, and what sleeve-check is
// about to write.
type ScreenQuery struct {
	GlobalConfig, ConfigDir string
	// Cwd is the working directory as the kernel reports it (Claude Code
	// keys projects by it).
	Cwd string
	// Bypass: claude runs with --dangerously-skip-permissions;
	// AcceptBypass: sleeve-check is about to accept its warning.
	Bypass, AcceptBypass bool
	// APIKeySuffix is the last 20 characters of the ANTHROPIC_API_KEY in
	// use ("" when the credential is another); ApproveAPIKey: about to
	// approve it.
	APIKeySuffix  string
	ApproveAPIKey bool
	ApproveMCP    []string
	// TrustDirs will be trusted, symlinks resolved.
	TrustDirs []string
	// SettingsRead are the settings files Claude Code reads, which may
	// decide the project's MCP servers.
	SettingsRead []string
	// Home resolves ~/ in CLAUDE.md imports; ClaudeMDImports is the
	// answer about to be written to the external-imports question ("" for
	// none).
	Home, ClaudeMDImports string
}

// Screens are the start-up screens that would remain, each a warning
// saying which setting skips it. The welcome screen is not among them:
// Prepare always sets hasCompletedOnboarding (see Onboarding).
func Screens(q ScreenQuery) outcome.Findings {
	var fs outcome.Findings
	global, _ := ReadJSON(q.GlobalConfig)
	if q.Bypass && !q.AcceptBypass {
		settings, _ := ReadJSON(filepath.Join(q.ConfigDir, "settings.json"))
		if settings["skipDangerousModePermissionPrompt"] != true && global["bypassPermissionsModeAccepted"] != true {
			fs.Warn("bypass_prompt", "claude will stop at the \"Bypass Permissions mode\" warning and wait for an answer",
				"set SLEEVE_CHECK_ACCEPT_BYPASS_PERMISSIONS=true (--accept-bypass-permissions) to accept it ahead of time")
		}
	}
	if q.APIKeySuffix != "" && !q.ApproveAPIKey {
		resp, _ := global["customApiKeyResponses"].(map[string]any)
		approved, _ := resp["approved"].([]any)
		if !slices.Contains(approved, any(q.APIKeySuffix)) {
			fs.Warn("api_key_prompt", "claude will ask \"Detected a custom API key in your environment\" and wait, with No preselected",
				"set SLEEVE_CHECK_APPROVE_API_KEY=true (--approve-api-key) to approve this key ahead of time")
		}
	}
	if ask := mcpToAsk(q); len(ask) > 0 {
		fs.Warn("mcp_prompt", fmt.Sprintf("claude will ask whether to use the MCP servers %s of this project's .mcp.json and wait", quoteAll(ask)),
			fmt.Sprintf("set SLEEVE_CHECK_APPROVE_MCP_SERVERS=%s (--approve-mcp-servers), or all, to approve them ahead of time: an MCP server runs code, so approve only the ones you trust", strings.Join(ask, ",")))
	}
	projects, _ := global["projects"].(map[string]any)
	project, _ := projects[q.Cwd].(map[string]any)
	if ext := ExternalImports(q.Cwd, q.Home); len(ext) > 0 && q.ClaudeMDImports == "" && project["hasClaudeMdExternalIncludesWarningShown"] != true {
		// Observed with 2.1.332: after the trust dialog, "Allow external
		// CLAUDE.md file imports?" with "No, disable external imports"
		// preselected; the answer is kept in the project's entry.
		fs.Warn("claude_md_imports_prompt", fmt.Sprintf("claude will ask whether to allow the files %s that this project's CLAUDE.md imports from outside %q, and wait", quoteAll(ext), q.Cwd),
			"set SLEEVE_CHECK_CLAUDE_MD_IMPORTS=deny (claude's own default answer) or allow (--claude-md-imports) to answer ahead of time: an allowed file goes into every prompt, so allow only files you trust")
	}
	if q.Cwd != "" && !slices.Contains(q.TrustDirs, q.Cwd) {
		p := project
		if p["hasTrustDialogAccepted"] != true {
			fs.Warn("trust_prompt", fmt.Sprintf("claude will ask whether to trust the folder %q and wait", q.Cwd),
				fmt.Sprintf("set SLEEVE_CHECK_TRUST_DIRS=%s (--trust-dirs) to trust it ahead of time", q.Cwd))
		}
	}
	return fs
}

// Onboarding says why claude would wait at its welcome screen, or "": the
// global config lacks hasCompletedOnboarding. Only that one top-level key
// is read: a .claude.json can grow to tens of MB.
func Onboarding(globalConfig string) string {
	glob, err := TopLevel(globalConfig, "hasCompletedOnboarding")
	if err != nil {
		return fmt.Sprintf("cannot read %q: %s", globalConfig, safefile.ErrText(err))
	}
	if string(glob["hasCompletedOnboarding"]) != "true" {
		return fmt.Sprintf("hasCompletedOnboarding is not set in %q, so claude waits at its welcome screen", globalConfig)
	}
	return ""
}

// mcpToAsk lists the project MCP servers that claude will ask about: in a
// .mcp.json of the project, decided in no settings file, and not about to
// be approved.
func mcpToAsk(q ScreenQuery) []string {
	if slices.Contains(q.ApproveMCP, AllMCPServers) {
		return nil
	}
	names, _ := ProjectMCPServers(q.Cwd)
	return slices.DeleteFunc(MCPUndecided(names, q.SettingsRead), func(n string) bool { return slices.Contains(q.ApproveMCP, n) })
}

// UnknownMCP warns about approved names that no .mcp.json of the project
// in cwd defines: a typo approves nothing.
func UnknownMCP(cwd string, approve []string) outcome.Findings {
	names, _ := ProjectMCPServers(cwd)
	var unknown []string
	for _, n := range approve {
		if n != AllMCPServers && !slices.Contains(names, n) {
			unknown = append(unknown, n)
		}
	}
	var fs outcome.Findings
	if len(unknown) > 0 {
		fs.Warn("mcp_approve_unknown", fmt.Sprintf("SLEEVE_CHECK_APPROVE_MCP_SERVERS names %s, which no .mcp.json of this project defines", quoteAll(unknown)),
			"check the names against the mcpServers of .mcp.json; they are approved anyway, for when the file appears")
	}
	return fs
}

// quoteAll quotes each name, comma-separated.
func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}
