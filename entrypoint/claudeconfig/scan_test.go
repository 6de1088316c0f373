package claudeconfig

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTopLevel(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		name, doc, want string // want: the raw value of "k", or "-" for absent, or "err"
	}{
		{"true", `{"k":true}`, "true"},
		{"spaces", " {\n \"a\" : [1, {\"k\":false}] ,\t\"k\" : true }\n", "true"},
		{"nested k ignored", `{"a":{"k":true}}`, "-"},
		{"string with braces and escapes", `{"a":"}{\"k\":true\\","k":"x\"y"}`, `"x\"y"`},
		{"number last", `{"a":1,"k":12.5e3}`, "12.5e3"},
		{"object value", `{"k":{"x":[1,2,{"y":"}"}]}}`, `{"x":[1,2,{"y":"}"}]}`},
		{"escaped key", `{"\u006b":true}`, "true"},
		{"empty object", `{}`, "-"},
		{"truncated", `{"a":[1,2`, "err"},
		{"not an object", `[1]`, "err"},
		{"garbage after value", `{"k":true x}`, "err"},
		{"empty", ``, "err"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, "f.json")
			os.WriteFile(p, []byte(tt.doc), 0o600)
			got, err := TopLevel(p, "k")
			switch {
			case tt.want == "err":
				if err == nil {
					t.Fatalf("no error for %q: %s", tt.doc, got)
				}
			case err != nil:
				t.Fatalf("%q: %v", tt.doc, err)
			case tt.want == "-":
				if _, ok := got["k"]; ok {
					t.Fatalf("found %s", got["k"])
				}
			case string(got["k"]) != tt.want:
				t.Fatalf("got %q, want %q", got["k"], tt.want)
			}
			// Wherever encoding/json finds the key, topLevel agrees.
			var m map[string]json.RawMessage
			if json.Unmarshal([]byte(tt.doc), &m) == nil && m["k"] != nil && string(m["k"]) != string(got["k"]) {
				t.Fatalf("encoding/json says %s, topLevel %s", m["k"], got["k"])
			}
		})
	}
	if m, err := TopLevel(filepath.Join(dir, "missing"), "k"); err != nil || len(m) != 0 {
		t.Fatalf("missing file: %v %v", m, err)
	}
}

// A .claude.json of tens of MB (reported in the field): health reads one
// flag from it with a fixed buffer, however big the history before it.
func bigConfig(b testing.TB, mb int) string {
	p := filepath.Join(b.TempDir(), ".claude.json")
	var buf bytes.Buffer
	buf.WriteString(`{"numStartups":3,"projects":{`)
	entry := `"history":[` + strings.Repeat(`{"display":"a prompt with \"quotes\" and {braces}","pastedContents":{}},`, 40) + `{}]`
	for i := 0; buf.Len() < mb<<20; i++ {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.WriteString(`"/work/p` + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + `":{` + entry + `}`)
	}
	buf.WriteString(`},"hasCompletedOnboarding":true}`)
	os.WriteFile(p, buf.Bytes(), 0o600)
	return p
}

func TestTopLevelBigFile(t *testing.T) {
	p := bigConfig(t, 8)
	m, err := TopLevel(p, "hasCompletedOnboarding")
	if err != nil || string(m["hasCompletedOnboarding"]) != "true" {
		t.Fatalf("%v %s", err, m)
	}
}

func BenchmarkTopLevel50MB(b *testing.B) {
	p := bigConfig(b, 50)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := TopLevel(p, "hasCompletedOnboarding"); err != nil {
			b.Fatal(err)
		}
	}
}
