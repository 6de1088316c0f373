package entrypoint

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
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
