package claudeconfig

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// ConfigPlan is what to prepare in Claude Code's config so that it starts
// without a screen that waits for a person.
type ConfigPlan struct {
	// GlobalConfig is the .claude.json Claude Code reads.
	GlobalConfig string
	// ConfigDir holds settings.json.
	ConfigDir string
	// TrustDirs are absolute directories to mark as trusted.
	TrustDirs []string
	// APIKeySuffix is the last 20 characters of the API key to approve, or "".
	APIKeySuffix string
	// AcceptBypass accepts the bypass-permissions warning: the key of
	// Claude Code 2.1.40 and later (skipDangerousModePermissionPrompt in
	// settings.json), and the key of the releases before it
	// (bypassPermissionsModeAccepted in the global config), which the later
	// ones still read and move to settings.json themselves.
	AcceptBypass bool
	// MCPServers are the project MCP servers (.mcp.json) to approve in
	// settings.json: names, or AllMCPServers.
	MCPServers []string
	// Base holds the top-level keys of another global config (a copy of
	// the operator's .claude.json, as Protectorate's `envoy auth sync`
	// makes), added where the file lacks them: every key the file has is
	// kept, and the keys above are set over both. BaseName names it.
	Base     map[string]any
	BaseName string
	// ClaudeMDImports answers "Allow external CLAUDE.md file imports?"
	// for the project at Cwd: "allow", "deny" or "" (not at all).
	ClaudeMDImports, Cwd string
}

// AllMCPServers approves every project MCP server (enableAllProjectMcpServers).
const AllMCPServers = "all"

// PrepareResult lists the files looked at and what changed in each.
type PrepareResult struct {
	Files []EditResult
}

// Prepare applies plan. The first error stops it; earlier files stay
// written, which is safe because every edit is idempotent.
func Prepare(plan ConfigPlan, opt EditOptions) (PrepareResult, error) {
	var out PrepareResult
	gopt := opt
	// $CLAUDE_CONFIG_DIR may not exist yet; a missing HOME is not ours to make.
	gopt.Mkdir = filepath.Dir(plan.GlobalConfig) == filepath.Clean(plan.ConfigDir)
	r, err := EditJSON(plan.GlobalConfig, gopt, func(obj map[string]any) []string {
		ch := mergeBase(obj, plan.Base, plan.BaseName)
		ch = append(ch, setTrue(obj, "hasCompletedOnboarding")...)
		if plan.AcceptBypass {
			ch = append(ch, setTrue(obj, "bypassPermissionsModeAccepted")...)
		}
		for _, d := range plan.TrustDirs {
			ch = append(ch, setTrue(obj, "projects", d, "hasTrustDialogAccepted")...)
		}
		if plan.APIKeySuffix != "" {
			ch = append(ch, approveKey(obj, plan.APIKeySuffix)...)
		}
		if plan.ClaudeMDImports != "" && plan.Cwd != "" {
			// The keys claude 2.1.332 writes when its question is answered.
			ch = append(ch, setTrue(obj, "projects", plan.Cwd, "hasClaudeMdExternalIncludesWarningShown")...)
			ch = append(ch, setBool(obj, plan.ClaudeMDImports == "allow", "projects", plan.Cwd, "hasClaudeMdExternalIncludesApproved")...)
		}
		return ch
	})
	out.Files = append(out.Files, r)
	if err != nil {
		return out, err
	}
	if plan.AcceptBypass || len(plan.MCPServers) > 0 {
		sopt := opt
		sopt.Mkdir = true
		r, err := EditJSON(filepath.Join(plan.ConfigDir, "settings.json"), sopt, func(obj map[string]any) []string {
			var ch []string
			if plan.AcceptBypass {
				ch = append(ch, setTrue(obj, "skipDangerousModePermissionPrompt")...)
			}
			return append(ch, approveMCP(obj, plan.MCPServers)...)
		})
		out.Files = append(out.Files, r)
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// setTrue sets obj[path...] = true, creating objects on the way. A value
// of another type on the way is replaced only if it is null; otherwise it
// is left alone and reported, because it is someone else's data.
func setTrue(obj map[string]any, path ...string) []string { return setBool(obj, true, path...) }

// setBool sets obj[path...] = v, as setTrue does for true.
func setBool(obj map[string]any, v bool, path ...string) []string {
	cur := obj
	for i, k := range path[:len(path)-1] {
		switch n := cur[k].(type) {
		case map[string]any:
			cur = n
		case nil:
			m := map[string]any{}
			cur[k] = m
			cur = m
		default:
			return []string{fmt.Sprintf("left %s alone: it is not an object, so %s could not be set", jsonPath(path[:i+1]), jsonPath(path))}
		}
	}
	last := path[len(path)-1]
	if b, ok := cur[last].(bool); ok && b == v {
		return nil
	}
	cur[last] = v
	return []string{fmt.Sprintf("set %s = %t", jsonPath(path), v)}
}

// approveKey lists the key's last 20 characters, the form Claude Code
// itself stores, in customApiKeyResponses.approved, and takes it out of
// rejected. The suffix never appears in the description.
func approveKey(obj map[string]any, suffix string) []string {
	resp, ok := obj["customApiKeyResponses"].(map[string]any)
	if !ok {
		if obj["customApiKeyResponses"] != nil {
			return []string{"left customApiKeyResponses alone: it is not an object, so the API key could not be approved"}
		}
		resp = map[string]any{}
		obj["customApiKeyResponses"] = resp
	}
	var ch []string
	approved, _ := resp["approved"].([]any)
	if resp["approved"] != nil && approved == nil {
		return []string{"left customApiKeyResponses.approved alone: it is not a list"}
	}
	if !containsStr(approved, suffix) {
		resp["approved"] = append(approved, suffix)
		ch = append(ch, "approved the API key in customApiKeyResponses.approved")
	}
	if rejected, ok := resp["rejected"].([]any); ok && containsStr(rejected, suffix) {
		kept := make([]any, 0, len(rejected))
		for _, v := range rejected {
			if s, _ := v.(string); s != suffix {
				kept = append(kept, v)
			}
		}
		resp["rejected"] = kept
		ch = append(ch, "removed the API key from customApiKeyResponses.rejected")
	}
	return ch
}

// approveMCP approves project MCP servers where Claude Code 2.1.332 reads
// its approvals (observed: the dialog's answer lands in
// enabledMcpjsonServers and disabledMcpjsonServers of a settings file, and
// the user settings.json is read for them too): each name goes into
// enabledMcpjsonServers and out of disabledMcpjsonServers; "all" sets
// enableAllProjectMcpServers.
func approveMCP(obj map[string]any, names []string) []string {
	var ch []string
	for _, n := range names {
		if n == AllMCPServers {
			ch = append(ch, setTrue(obj, "enableAllProjectMcpServers")...)
			continue
		}
		enabled, ok := obj["enabledMcpjsonServers"].([]any)
		if obj["enabledMcpjsonServers"] != nil && !ok {
			ch = append(ch, "left enabledMcpjsonServers alone: it is not a list, so "+strconv.Quote(n)+" could not be approved")
			continue
		}
		if !containsStr(enabled, n) {
			obj["enabledMcpjsonServers"] = append(enabled, n)
			ch = append(ch, "approved the MCP server "+strconv.Quote(n)+" in enabledMcpjsonServers")
		}
		if disabled, ok := obj["disabledMcpjsonServers"].([]any); ok && containsStr(disabled, n) {
			obj["disabledMcpjsonServers"] = slices.DeleteFunc(disabled, func(v any) bool { return v == any(n) })
			ch = append(ch, "removed "+strconv.Quote(n)+" from disabledMcpjsonServers")
		}
	}
	return ch
}

func containsStr(list []any, s string) bool {
	for _, v := range list {
		if x, ok := v.(string); ok && x == s {
			return true
		}
	}
	return false
}

func jsonPath(p []string) string {
	s := ""
	for i, k := range p {
		if i == 0 && isIdent(k) {
			s = k
			continue
		}
		if isIdent(k) {
			s += "." + k
		} else {
			s += "[" + strconv.Quote(k) + "]"
		}
	}
	return s
}

func isIdent(k string) bool {
	if k == "" {
		return false
	}
	for _, c := range k {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// mergeBase adds to obj the keys of base it lacks, and says how many.
func mergeBase(obj, base map[string]any, name string) []string {
	var added []string
	for _, k := range slices.Sorted(maps.Keys(base)) {
		if _, ok := obj[k]; !ok {
			obj[k] = base[k]
			added = append(added, k)
		}
	}
	if len(added) == 0 {
		return nil
	}
	return []string{fmt.Sprintf("added %d keys from %s (%s); kept every key it had", len(added), name, strings.Join(added, ", "))}
}
