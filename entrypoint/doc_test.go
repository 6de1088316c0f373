package entrypoint

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"sleeve-check/entrypoint/internal/settings"
)

// TestDocListsEveryStep keeps the step lists of start's and health's
// package comments equal to the steps their code declares (with the
// prelude's); TestLoggedStepsFollowTheDoc checks the order they run in.
func TestDocListsEveryStep(t *testing.T) {
	lists := docLists(t)
	prelude := declaredSteps(t, "internal/prelude")
	for i, mode := range []string{"start", "health"} {
		want := append(declaredSteps(t, mode), prelude...)
		if mode == "start" {
			want = append(want, "exec")
		}
		slices.Sort(want)
		got := slices.Sorted(slices.Values(lists[i]))
		if !slices.Equal(got, want) {
			t.Errorf("%s/doc.go lists the steps\n\t%q\nits code declares\n\t%q", mode, got, want)
		}
	}
}

// docLists are the step lists of start/doc.go and health/doc.go.
func docLists(t *testing.T) [][]string {
	var lists [][]string
	for _, mode := range []string{"start", "health"} {
		doc, err := os.ReadFile(filepath.Join(mode, "doc.go"))
		if err != nil {
			t.Fatal(err)
		}
		l := docStepLists(string(doc))
		if len(l) != 1 {
			t.Fatalf("%s/doc.go has %d step lists, want 1", mode, len(l))
		}
		lists = append(lists, l[0])
	}
	return lists
}

// TestLoggedStepsFollowTheDoc runs a report and a health check in this
// process (no command, so nothing is exec'd) and checks that the "step
// NAME" lines --verbose logs name doc.go's steps, in its order.
func TestLoggedStepsFollowTheDoc(t *testing.T) {
	lists := docLists(t)
	home := t.TempDir()
	env := []string{"HOME=" + home, "PATH=/usr/bin:/bin", "TMPDIR=" + t.TempDir(), "SLEEVE_CHECK_STATE_DIR=" + filepath.Join(home, "state"),
		"SLEEVE_CHECK_MANAGED_SETTINGS=" + filepath.Join(home, "managed.json"), "ANTHROPIC_API_KEY=sk-ant-api03-" + strings.Repeat("FAKE", 23)}
	for i, args := range [][]string{{"--verbose", "--probe=off"}, {"health", "--verbose", "--probe=off"}} {
		var stdout, stderr bytes.Buffer
		Main(args, env, nil, &stdout, &stderr)
		var logged []string
		for _, m := range regexp.MustCompile(`debug: step (.+?) took_ms=`).FindAllStringSubmatch(stderr.String(), -1) {
			logged = append(logged, m[1])
		}
		if len(logged) < 3 {
			t.Fatalf("%v logged the steps %q:\n%s", args, logged, stderr.String())
		}
		at := 0
		for _, name := range logged {
			for at < len(lists[i]) && lists[i][at] != name {
				at++
			}
			if at == len(lists[i]) {
				t.Errorf("%v logged %q, which the package comment does not list there (or not in that order): %q", args, logged, lists[i])
				break
			}
		}
	}
}

// docStepLists reads the indented "a -> [b] -> c" blocks of the package
// comment, brackets dropped.
func docStepLists(doc string) [][]string {
	var lists [][]string
	var cur []string
	for _, line := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(line, "//\t") {
			if cur != nil {
				lists, cur = append(lists, cur), nil
			}
			continue
		}
		for _, s := range strings.Split(strings.TrimPrefix(line, "//\t"), "->") {
			if s = strings.Trim(strings.TrimSpace(s), "[]"); s != "" {
				cur = append(cur, s)
			}
		}
	}
	return lists
}

// declaredSteps are the names of the pipeline.Step values declared in
// the production files of the package in dir.
func declaredSteps(t *testing.T, dir string) []string {
	files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	var names []string
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.CompositeLit)
			if !ok {
				return true
			}
			if sel, ok := lit.Type.(*ast.SelectorExpr); !ok || sel.Sel.Name != "Step" {
				return true
			}
			for _, e := range lit.Elts {
				if kv, ok := e.(*ast.KeyValueExpr); ok && kv.Key.(*ast.Ident).Name == "Name" {
					s, _ := strconv.Unquote(kv.Value.(*ast.BasicLit).Value)
					names = append(names, s)
				}
			}
			return true
		})
	}
	if len(names) == 0 {
		t.Fatalf("%s declares no steps", dir)
	}
	return names
}

// TestEveryModeIsNamed: --help, this package's comment and
// docs/architecture.md name every subcommand and the package that
// implements it.
func TestEveryModeIsNamed(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	arch, err := os.ReadFile(filepath.Join("..", "docs", "architecture.md"))
	if err != nil {
		t.Fatal(err)
	}
	modes := append([]settings.Subcommand{{Name: "", Package: "entrypoint/start"}}, settings.Subcommands...)
	for _, m := range modes {
		for where, text := range map[string]string{"--help": helpText(), "entrypoint/doc.go": string(doc), "docs/architecture.md": string(arch)} {
			if !strings.Contains(text, "sleeve-check "+m.Name) || !strings.Contains(text, m.Package) {
				t.Errorf("%s does not name the mode %q and its package %s", where, m.Name, m.Package)
			}
		}
	}
}
