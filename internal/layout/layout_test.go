// Package layout holds no code: its tests keep the promises of the
// layout that a reader relies on (docs/development.md).
package layout

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sources calls fn with every production Go file (not tests) of the
// module, parsed with comments; the programs (cmd/, and the build tools
// in scripts/) too when withCmd.
func sources(t *testing.T, withCmd bool, fn func(fset *token.FileSet, path string, f *ast.File)) {
	t.Helper()
	root := filepath.Join("..", "..")
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || (!withCmd && (d.Name() == "cmd" || d.Name() == "scripts"))) {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.ParseComments)
		if err != nil {
			return err
		}
		fn(fset, p, f)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestOnlyTheEdgeReadsTheProcessEnvironment: outside cmd/, nothing reads
// the process environment behind the environ.Env value's back.
func TestOnlyTheEdgeReadsTheProcessEnvironment(t *testing.T) {
	banned := map[string]bool{"os.Getenv": true, "os.LookupEnv": true, "os.Environ": true, "os.TempDir": true, "http.ProxyFromEnvironment": true, "os.ExpandEnv": true}
	sources(t, false, func(fset *token.FileSet, _ string, f *ast.File) {
		ast.Inspect(f, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok {
				if id, ok := sel.X.(*ast.Ident); ok && banned[id.Name+"."+sel.Sel.Name] {
					t.Errorf("%s: %s.%s reads the process environment; take it from environ.Env", fset.Position(sel.Pos()), id.Name, sel.Sel.Name)
				}
			}
			return true
		})
	})
}

// TestShortFunctions: no function is over 60 lines; split by meaning.
func TestShortFunctions(t *testing.T) {
	sources(t, true, func(fset *token.FileSet, _ string, f *ast.File) {
		for _, d := range f.Decls {
			if fn, ok := d.(*ast.FuncDecl); ok && fn.Body != nil {
				if n := fset.Position(fn.End()).Line - fset.Position(fn.Pos()).Line + 1; n > 60 {
					t.Errorf("%s: %s is %d lines long", fset.Position(fn.Pos()), fn.Name.Name, n)
				}
			}
		}
	})
}

// TestEveryPackageHasItsManual: each package has a package comment, in
// exactly one of its files.
func TestEveryPackageHasItsManual(t *testing.T) {
	docs := map[string]int{}
	sources(t, true, func(_ *token.FileSet, p string, f *ast.File) {
		dir := filepath.Dir(p)
		if _, ok := docs[dir]; !ok {
			docs[dir] = 0
		}
		if f.Doc != nil && strings.HasPrefix(f.Doc.Text(), "Package "+f.Name.Name+" ") || f.Doc != nil && f.Name.Name == "main" {
			docs[dir]++
		}
	})
	for dir, n := range docs {
		if n != 1 {
			t.Errorf("%s: %d package comments, want 1", dir, n)
		}
	}
}

// TestImagePinsTheTestedRelease: the image installs the Claude Code release
// the e2e tests prove (scripts/pin-claude.sh changes both).
func TestImagePinsTheTestedRelease(t *testing.T) {
	pinned, err := os.ReadFile(filepath.Join("..", "..", "e2e", "fixtures", "claude-version"))
	if err != nil {
		t.Fatal(err)
	}
	df, err := os.ReadFile(filepath.Join("..", "..", "Dockerfile.sleeve"))
	if err != nil {
		t.Fatal(err)
	}
	want := "ARG CLAUDE_VERSION=" + strings.TrimSpace(string(pinned)) + "\n"
	if !strings.Contains(string(df), want) {
		t.Fatalf("Dockerfile.sleeve lacks %q: run scripts/pin-claude.sh %s", want, strings.TrimSpace(string(pinned)))
	}
	for _, arch := range []string{"AMD64", "ARM64"} {
		if !strings.Contains(string(df), "ARG CLAUDE_INTEGRITY_"+arch+"=sha512-") {
			t.Errorf("Dockerfile.sleeve pins no integrity for %s", arch)
		}
	}
}

// TestArchitectureNamesEveryPackage: docs/architecture.md lists every
// package of the module (and the scripts' programs), so a newcomer's map
// cannot miss one.
func TestArchitectureNamesEveryPackage(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "architecture.md"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	sources(t, true, func(_ *token.FileSet, p string, _ *ast.File) {
		dir, _ := filepath.Rel(filepath.Join("..", ".."), filepath.Dir(p))
		if seen[dir] {
			return
		}
		seen[dir] = true
		if !strings.Contains(string(doc), dir+"/ ") && !strings.Contains(string(doc), dir+" ") && !strings.Contains(string(doc), "  "+filepath.Base(dir)+"/ ") {
			t.Errorf("docs/architecture.md does not name the package %s/", dir)
		}
	})
	if len(seen) < 10 {
		t.Fatalf("found only %d packages", len(seen))
	}
}
