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
)

// TestDocListsTheStepsInTheirOrder keeps doc.go's two step lists equal to
// the steps start.go and health.go run, in the order their code runs them.
func TestDocListsTheStepsInTheirOrder(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	lists := docStepLists(string(doc))
	if len(lists) != 2 {
		t.Fatalf("doc.go has %d step lists, want 2 (the start's and health's)", len(lists))
	}
	start := append(codeSteps(t, "start.go"), "exec")
	if !slices.Equal(lists[0], start) {
		t.Errorf("doc.go lists the start as\n\t%q\nstart.go runs\n\t%q", lists[0], start)
	}
	if health := codeSteps(t, "health.go"); !slices.Equal(lists[1], health) {
		t.Errorf("doc.go lists health as\n\t%q\nhealth.go runs\n\t%q", lists[1], health)
	}
}

// TestLoggedStepsFollowTheDoc runs a report and a health check in this
// process (no command, so nothing is exec'd) and checks that the "step
// NAME" lines --verbose logs name doc.go's steps, in its order.
func TestLoggedStepsFollowTheDoc(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	lists := docStepLists(string(doc))
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
				t.Errorf("%v logged %q, which doc.go does not list there (or not in that order): %q", args, logged, lists[i])
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

// codeSteps are the names of the step and pause calls of file, in the
// order they appear.
func codeSteps(t *testing.T, file string) []string {
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || len(call.Args) < 2 {
			return true
		}
		fn := call.Fun
		if ix, ok := fn.(*ast.IndexExpr); ok {
			fn = ix.X
		}
		if id, ok := fn.(*ast.Ident); ok && (id.Name == "step" || id.Name == "pause") {
			if lit, ok := call.Args[1].(*ast.BasicLit); ok {
				s, _ := strconv.Unquote(lit.Value)
				names = append(names, s)
			}
		}
		return true
	})
	return names
}
