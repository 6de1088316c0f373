package claudeconfig

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzEditJSON: whatever the file holds, the result is a JSON object with
// the flag set; every key of a valid object survives; the bytes of an
// invalid one survive in the copy.
func FuzzEditJSON(f *testing.F) {
	f.Add([]byte(claudeWritten))
	f.Add([]byte(`{"a":{"b":[1,2,{"c":null}]},"hasCompletedOnboarding":"yes"}`))
	f.Add([]byte(`{"projects":[]}`))
	f.Add([]byte("{\"\xff\":1}"))
	f.Add([]byte(`{"n":1e999999}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		p := filepath.Join(dir, ".claude.json")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		var orig map[string]any
		valid := decodeObject(data, &orig) == ""
		res, err := EditJSON(p, EditOptions{Now: now}, func(obj map[string]any) []string {
			return append(onboard(obj), setTrue(obj, "projects", "/w", "hasTrustDialogAccepted")...)
		})
		if err != nil {
			t.Fatalf("error on a regular file: %v", err)
		}
		out, _ := os.ReadFile(p)
		got := decode(t, out)
		if got["hasCompletedOnboarding"] != true {
			t.Fatalf("flag not set: %s", out)
		}
		if valid {
			for k, v := range orig {
				if k == "hasCompletedOnboarding" || k == "projects" {
					continue
				}
				if !reflect.DeepEqual(got[k], v) {
					t.Fatalf("key %q changed: %v -> %v", k, v, got[k])
				}
			}
		} else if len(data) > 0 && res.Backup != "" {
			if b, _ := os.ReadFile(res.Backup); string(b) != string(data) {
				t.Fatal("backup differs from the original")
			}
		}
	})
}
