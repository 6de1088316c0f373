package claudeconfig

import (
	"os"
	"path/filepath"
	"strings"

	"sleeve-check/internal/safefile"
)

// maxImportDepth is how deep imports are followed (Claude Code's own
// limit, documented: five hops).
const maxImportDepth = 5

// maxMemoryFile bounds what is read of one CLAUDE.md.
const maxMemoryFile = 1 << 20

// ExternalImports are the files outside cwd that the project's memory
// files import with @path (CLAUDE.md, CLAUDE.local.md, .claude/CLAUDE.md,
// .claude/rules/*.md, and what they import inside cwd): the imports that
// make Claude Code 2.1.332 ask "Allow external CLAUDE.md file imports?"
// at start, with "No" preselected. Observed: an import of a file that
// does not exist, or one in a code span or block, does not make it ask.
// home resolves ~/.
func ExternalImports(cwd, home string) []string {
	if cwd == "" {
		return nil
	}
	roots := []string{filepath.Join(cwd, "CLAUDE.md"), filepath.Join(cwd, "CLAUDE.local.md"), filepath.Join(cwd, ".claude", "CLAUDE.md")}
	rules, _ := filepath.Glob(filepath.Join(cwd, ".claude", "rules", "*.md"))
	seen, external := map[string]bool{}, []string{}
	var visit func(file string, depth int)
	visit = func(file string, depth int) {
		if seen[file] || depth > maxImportDepth {
			return
		}
		seen[file] = true
		b, _, err := safefile.Read(file, maxMemoryFile, safefile.Options{})
		if err != nil {
			return
		}
		for _, imp := range imports(string(b)) {
			p := resolveImport(imp, filepath.Dir(file), home)
			if st, err := os.Stat(p); err != nil || !st.Mode().IsRegular() {
				continue
			}
			if within(p, cwd) {
				visit(p, depth+1)
			} else if !seen[p] {
				seen[p] = true
				external = append(external, p)
			}
		}
	}
	for _, f := range append(roots, rules...) {
		visit(f, 0)
	}
	return external
}

// imports are the @path words of a memory file, outside code spans and
// fenced code blocks.
func imports(text string) []string {
	var out []string
	fenced := false
	for _, line := range strings.Split(text, "\n") {
		if t := strings.TrimSpace(line); strings.HasPrefix(t, "```") || strings.HasPrefix(t, "~~~") {
			fenced = !fenced
			continue
		}
		if fenced {
			continue
		}
		// The text between backticks is code: drop it, then split.
		var prose strings.Builder
		for i, part := range strings.Split(line, "`") {
			if i%2 == 0 {
				prose.WriteString(part + " ")
			}
		}
		for _, w := range strings.Fields(prose.String()) {
			if p, ok := strings.CutPrefix(w, "@"); ok && p != "" {
				out = append(out, strings.TrimRight(p, ".,;:)"))
			}
		}
	}
	return out
}

func resolveImport(p, dir, home string) string {
	switch {
	case strings.HasPrefix(p, "~/") && home != "":
		return filepath.Join(home, p[2:])
	case filepath.IsAbs(p):
		return filepath.Clean(p)
	}
	return filepath.Join(dir, p)
}

func within(p, dir string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}
