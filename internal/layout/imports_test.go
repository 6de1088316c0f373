package layout

import (
	"fmt"
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// mayImport is the module's import graph, written down once: each
// package and the packages of this module it may import. A package's
// imports must be in its row (TestImportsFollowTheTable), every row's
// entry must be used, so that the table is the graph and not a wish, and
// docs/architecture.md draws exactly this table
// (TestArchitectureDrawsTheTable). Modes (entrypoint/start, health,
// protectorate) never import each other: they talk through the state
// files and the report, one floor down.
var mayImport = map[string][]string{
	// The floor every part stands on.
	"internal/outcome":  nil,
	"internal/environ":  nil,
	"internal/safefile": nil,
	"internal/leaktest": nil,
	// The decisions.
	"check":               {"internal/environ", "internal/outcome", "internal/safefile"},
	"check/probe":         {"check", "internal/outcome", "internal/safefile"},
	"check/anthropictest": nil,
	// Claude Code's own files and command line.
	"entrypoint/claudecli":    nil,
	"entrypoint/claudeconfig": {"internal/outcome", "internal/safefile"},
	// What the modes share.
	"entrypoint/internal/buildinfo": nil,
	"entrypoint/internal/console":   nil,
	"entrypoint/internal/settings":  {"entrypoint/internal/sleeve", "internal/environ"},
	"entrypoint/internal/pipeline":  {"internal/outcome"},
	"entrypoint/internal/sleeve":    {"internal/environ", "internal/outcome", "internal/safefile"},
	"entrypoint/internal/report":    {"check", "check/probe", "entrypoint/internal/buildinfo", "entrypoint/internal/sleeve", "internal/outcome"},
	"entrypoint/internal/state":     {"check", "check/probe", "entrypoint/internal/report", "entrypoint/internal/settings", "entrypoint/internal/sleeve", "internal/environ", "internal/outcome", "internal/safefile"},
	"entrypoint/internal/fleet":     {"check", "check/probe", "internal/environ", "internal/outcome", "internal/safefile"},
	"entrypoint/internal/prelude":   {"check", "check/probe", "entrypoint/internal/fleet", "entrypoint/internal/pipeline", "entrypoint/internal/settings", "entrypoint/internal/sleeve", "internal/environ", "internal/outcome", "internal/safefile"},
	"entrypoint/internal/proof":     {"check", "check/probe", "entrypoint/claudecli", "entrypoint/internal/buildinfo", "entrypoint/internal/fleet", "entrypoint/internal/settings", "entrypoint/internal/sleeve", "entrypoint/internal/state", "internal/environ", "internal/outcome"},
	// The modes.
	"entrypoint/start": {"check", "check/probe", "entrypoint/claudecli", "entrypoint/claudeconfig", "entrypoint/internal/console", "entrypoint/internal/pipeline", "entrypoint/internal/prelude",
		"entrypoint/internal/proof", "entrypoint/internal/report", "entrypoint/internal/settings", "entrypoint/internal/sleeve", "entrypoint/internal/state", "internal/environ", "internal/outcome", "internal/safefile"},
	"entrypoint/health": {"check", "check/probe", "entrypoint/claudeconfig", "entrypoint/internal/pipeline", "entrypoint/internal/prelude", "entrypoint/internal/proof", "entrypoint/internal/report",
		"entrypoint/internal/settings", "entrypoint/internal/sleeve", "entrypoint/internal/state", "internal/environ", "internal/outcome"},
	"entrypoint/protectorate": {"check", "check/probe", "entrypoint/claudecli", "entrypoint/internal/console", "entrypoint/internal/fleet", "entrypoint/internal/report", "entrypoint/internal/settings", "entrypoint/internal/sleeve", "entrypoint/internal/state", "internal/environ", "internal/outcome", "internal/safefile"},
	"entrypoint/gateway": {"check", "check/probe", "entrypoint/internal/buildinfo", "entrypoint/internal/fleet", "entrypoint/internal/pipeline", "entrypoint/internal/prelude", "entrypoint/internal/settings",
		"entrypoint/internal/sleeve", "internal/environ", "internal/outcome"},
	// The dispatcher, and the programs.
	"entrypoint":           {"entrypoint/gateway", "entrypoint/health", "entrypoint/internal/buildinfo", "entrypoint/internal/console", "entrypoint/internal/pipeline", "entrypoint/internal/settings", "entrypoint/internal/sleeve", "entrypoint/protectorate", "entrypoint/start", "internal/environ", "internal/outcome"},
	"cmd/sleeve-check":     {"entrypoint"},
	"cmd/fake-anthropic":   {"check/anthropictest"},
	"scripts/fetch-claude": nil,
	"e2e/tools/pair":       nil,
	"e2e/tools/gwload":     nil,
}

const module = "sleeve-check/"

// moduleImports are the packages of this module each package's
// production files import, for every GOOS the project builds on (linux,
// and darwin for working on it), by directory relative to the root.
func moduleImports(t *testing.T) map[string][]string {
	t.Helper()
	root := filepath.Join("..", "..")
	got := map[string][]string{}
	sources(t, true, func(_ *token.FileSet, p string, f *ast.File) {
		dir, _ := filepath.Rel(root, filepath.Dir(p))
		if _, ok := got[dir]; !ok {
			got[dir] = nil
		}
		for _, im := range f.Imports {
			path, _ := strconv.Unquote(im.Path.Value)
			if dep, ok := strings.CutPrefix(path, module); ok && !slices.Contains(got[dir], dep) {
				got[dir] = append(got[dir], dep)
			}
		}
	})
	for dir := range got {
		slices.Sort(got[dir])
	}
	return got
}

// TestImportsFollowTheTable: no package imports one its row does not
// list, even where no cycle would forbid it; no row lists an import the
// code does not make; every package has a row.
func TestImportsFollowTheTable(t *testing.T) {
	got := moduleImports(t)
	for dir, deps := range got {
		allowed, ok := mayImport[dir]
		if !ok {
			t.Errorf("%s has no row in mayImport: add one (with what it imports) and run UPDATE_DOCS=1 go test ./internal/layout", dir)
			continue
		}
		for _, d := range deps {
			if !slices.Contains(allowed, d) {
				t.Errorf("%s imports %s, which mayImport does not allow", dir, d)
			}
		}
		for _, d := range allowed {
			if !slices.Contains(deps, d) {
				t.Errorf("mayImport lets %s import %s, which it does not: drop it from the table", dir, d)
			}
		}
	}
	for dir := range mayImport {
		if _, ok := got[dir]; !ok {
			t.Errorf("mayImport has a row for %s, which is not a package of the module", dir)
		}
	}
}

// TestArchitectureDrawsTheTable: docs/architecture.md's drawing is made
// from mayImport (UPDATE_DOCS=1 rewrites it).
func TestArchitectureDrawsTheTable(t *testing.T) {
	path := filepath.Join("..", "..", "docs", "architecture.md")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for marker, want := range map[string]string{"import-graph": drawing(), "import-table": table()} {
		open, end := "<!-- "+marker+" -->\n", "<!-- /"+marker+" -->"
		i, j := strings.Index(doc, open), strings.Index(doc, end)
		if i < 0 || j < i {
			t.Fatalf("docs/architecture.md lacks the %s markers", marker)
		}
		if doc[i+len(open):j] == want {
			continue
		}
		if os.Getenv("UPDATE_DOCS") != "1" {
			t.Errorf("docs/architecture.md's %s is not the table's; run UPDATE_DOCS=1 go test ./internal/layout", marker)
			continue
		}
		doc = doc[:i+len(open)] + want + doc[j:]
	}
	if os.Getenv("UPDATE_DOCS") == "1" {
		if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// floors puts each package on the floor above the highest it imports.
func floors() map[string]int {
	floor := map[string]int{}
	var of func(string) int
	of = func(p string) int {
		if f, ok := floor[p]; ok {
			return f
		}
		f := 0
		for _, d := range mayImport[p] {
			f = max(f, of(d)+1)
		}
		floor[p] = f
		return f
	}
	for p := range mayImport {
		of(p)
	}
	return floor
}

// drawing is the graph as Mermaid, the floors from top to bottom, each
// edge once, with the edges of the floor every part stands on
// (internal/outcome, environ, safefile) left out: anything may use them.
func drawing() string {
	floor := floors()
	var pkgs []string
	for p := range mayImport {
		if !base(p) {
			pkgs = append(pkgs, p)
		}
	}
	slices.SortFunc(pkgs, func(a, b string) int {
		if floor[a] != floor[b] {
			return floor[b] - floor[a]
		}
		return strings.Compare(a, b)
	})
	id := func(p string) string { return strings.NewReplacer("/", "_", "-", "_").Replace(p) }
	var b strings.Builder
	b.WriteString("```mermaid\nflowchart TD\n")
	for _, p := range pkgs {
		fmt.Fprintf(&b, "  %s[%s]\n", id(p), p)
	}
	for _, p := range pkgs {
		for _, d := range mayImport[p] {
			if !base(d) {
				fmt.Fprintf(&b, "  %s --> %s\n", id(p), id(d))
			}
		}
	}
	b.WriteString("```\n")
	return b.String()
}

// base: the floor every part stands on.
func base(p string) bool {
	return p == "internal/outcome" || p == "internal/environ" || p == "internal/safefile" || p == "internal/leaktest"
}

// table is mayImport as a Markdown table, by floor from the top.
func table() string {
	floor := floors()
	pkgs := make([]string, 0, len(mayImport))
	for p := range mayImport {
		pkgs = append(pkgs, p)
	}
	slices.SortFunc(pkgs, func(a, b string) int {
		if floor[a] != floor[b] {
			return floor[b] - floor[a]
		}
		return strings.Compare(a, b)
	})
	var b strings.Builder
	b.WriteString("| package | may import (of this module) |\n|---|---|\n")
	for _, p := range pkgs {
		deps := "(nothing)"
		if len(mayImport[p]) > 0 {
			deps = "`" + strings.Join(mayImport[p], "`, `") + "`"
		}
		fmt.Fprintf(&b, "| `%s` | %s |\n", p, deps)
	}
	return b.String()
}

// TestFilesReadTopDown: within a package of entrypoint/, files do not
// lean on each other in circles. A mutual reference is file A using a
// name defined in file B while B, directly or through others, uses one
// of A's; each package keeps at most maxMutual of them.
func TestFilesReadTopDown(t *testing.T) {
	const maxMutual = 3
	for _, dir := range entrypointDirs(t) {
		n, pairs := mutualRefs(t, dir)
		t.Logf("%s: %d mutual references", dir, n)
		if n > maxMutual {
			t.Errorf("%s: %d mutual references between files (at most %d): %s", dir, n, maxMutual, strings.Join(pairs, "; "))
		}
	}
}

// TestPackageSizes: no package of entrypoint/ over 1,800 lines, and the
// dispatcher itself under 800: a mode that grows gets rooms of its own.
func TestPackageSizes(t *testing.T) {
	for _, dir := range entrypointDirs(t) {
		n := 0
		for _, f := range productionFiles(t, dir) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			n += strings.Count(string(b), "\n")
		}
		limit := 1800
		if filepath.Base(dir) == "entrypoint" {
			limit = 800
		}
		if n > limit {
			t.Errorf("%s has %d lines (at most %d)", dir, n, limit)
		}
	}
}

// entrypointDirs are entrypoint/ and every package under it.
func entrypointDirs(t *testing.T) []string {
	var dirs []string
	root := filepath.Join("..", "..", "entrypoint")
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() && d.Name() != "testdata" && len(productionFiles(t, p)) > 0 {
			dirs = append(dirs, p)
		}
		return err
	})
	if len(dirs) < 5 {
		t.Fatalf("found only %d packages under %s", len(dirs), root)
	}
	return dirs
}

// productionFiles are the non-test Go files of dir that build on this GOOS.
func productionFiles(t *testing.T, dir string) []string {
	all, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	var out []string
	for _, f := range all {
		if ok, err := build.Default.MatchFile(dir, filepath.Base(f)); err == nil && ok && !strings.HasSuffix(f, "_test.go") {
			out = append(out, f)
		}
	}
	return out
}

// mutualRefs counts the references from one file of dir to another that
// run in a circle, by the names each file declares at package level
// (methods by name, matched at selectors).
func mutualRefs(t *testing.T, dir string) (int, []string) {
	fset := token.NewFileSet()
	defs, files := map[string]string{}, map[string]*ast.File{}
	for _, path := range productionFiles(t, dir) {
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(path)
		files[name] = f
		for _, d := range f.Decls {
			for _, n := range declared(d) {
				defs[n] = name
			}
		}
	}
	uses := map[string]map[string]bool{}
	for name, f := range files {
		uses[name] = map[string]bool{}
		use := func(key string) {
			if d, ok := defs[key]; ok && d != name {
				uses[name][d] = true
			}
		}
		var visit func(n ast.Node) bool
		visit = func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.SelectorExpr:
				use("." + n.Sel.Name)
				ast.Inspect(n.X, visit)
				return false
			case *ast.Ident:
				use(n.Name)
			}
			return true
		}
		ast.Inspect(f, visit)
	}
	reaches := func(from, to string) bool {
		seen, queue := map[string]bool{from: true}, []string{from}
		for len(queue) > 0 {
			x := queue[0]
			queue = queue[1:]
			if x == to {
				return true
			}
			for y := range uses[x] {
				if !seen[y] {
					seen[y] = true
					queue = append(queue, y)
				}
			}
		}
		return false
	}
	var pairs []string
	for a, to := range uses {
		for b := range to {
			if reaches(b, a) {
				pairs = append(pairs, a+" -> "+b)
			}
		}
	}
	slices.Sort(pairs)
	return len(pairs), pairs
}

// declared are the package-level names a declaration makes; a method is
// ".Name".
func declared(d ast.Decl) []string {
	switch d := d.(type) {
	case *ast.FuncDecl:
		if d.Recv != nil {
			return []string{"." + d.Name.Name}
		}
		return []string{d.Name.Name}
	case *ast.GenDecl:
		var names []string
		for _, s := range d.Specs {
			switch s := s.(type) {
			case *ast.TypeSpec:
				names = append(names, s.Name.Name)
			case *ast.ValueSpec:
				for _, n := range s.Names {
					names = append(names, n.Name)
				}
			}
		}
		return names
	}
	return nil
}
