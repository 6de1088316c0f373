package claudeconfig

import (
	"path/filepath"
	"slices"
	"sort"
)

// ProjectMCPServers lists the MCP servers that the .mcp.json files of
// dir's project define, and those files. Claude Code 2.1.332 reads
// .mcp.json in the working directory and in every directory above it, up
// to the root (read from its code, and observed with one in a parent).
func ProjectMCPServers(dir string) (names, files []string) {
	if dir == "" {
		return nil, nil
	}
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		p := filepath.Join(d, ".mcp.json")
		obj, err := ReadJSON(p)
		if servers, ok := obj["mcpServers"].(map[string]any); err == nil && ok && len(servers) > 0 {
			files = append(files, p)
			for n := range servers {
				if !slices.Contains(names, n) {
					names = append(names, n)
				}
			}
		}
		if d == filepath.Dir(d) {
			break
		}
	}
	sort.Strings(names)
	return names, files
}

// MCPUndecided returns the servers among names that Claude Code will ask
// about: enabled or disabled in no settings file, with no
// enableAllProjectMcpServers in any.
func MCPUndecided(names, settingsFiles []string) []string {
	decided := map[string]bool{}
	for _, p := range settingsFiles {
		obj, _ := ReadJSON(p)
		if obj["enableAllProjectMcpServers"] == true {
			return nil
		}
		for _, key := range []string{"enabledMcpjsonServers", "disabledMcpjsonServers"} {
			list, _ := obj[key].([]any)
			for _, v := range list {
				if s, ok := v.(string); ok {
					decided[s] = true
				}
			}
		}
	}
	var out []string
	for _, n := range names {
		if !decided[n] {
			out = append(out, n)
		}
	}
	return out
}
