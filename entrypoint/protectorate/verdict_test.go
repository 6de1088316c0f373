package protectorate

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"sleeve-check/internal/environ"
)

// The keeper takes the start's verdict from its JSON report, never from
// its console text: with SLEEVE_CHECK_LOG_FORMAT=json (stderr in JSON
// lines) the verdict still has its message, hint, exit code and lines,
// and no secret.
func TestKeeperReadsTheReport(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	self := filepath.Join(t.TempDir(), "sleeve-check")
	// For the machine's own architecture: under make test-arm64 this test
	// runs in qemu, which does not follow an exec into another arm64
	// binary, while the host's runs natively.
	host, err := exec.Command("go", "env", "GOHOSTARCH").Output()
	if err != nil {
		t.Fatal(err)
	}
	build := exec.Command("go", "build", "-o", self, "sleeve-check/cmd/sleeve-check")
	build.Env = append(os.Environ(), "GOARCH="+strings.TrimSpace(string(host)), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	quoted := `"sk-ant-oat01-` + strings.Repeat("Q", 95) + `AAAA"`
	key := "sk-ant-api03-" + strings.Repeat("K", 95) + "AAAA"
	for _, c := range []struct {
		name, format string
		env          map[string]string
		ok           bool
		code         int
		msg, hint    string
	}{
		{"a quoted token, JSON lines", "json", map[string]string{"CLAUDE_CODE_OAUTH_TOKEN": quoted}, false, 5, "wrapped in quotes", "quotes"},
		{"a quoted token, console lines", "console", map[string]string{"CLAUDE_CODE_OAUTH_TOKEN": quoted}, false, 5, "wrapped in quotes", "quotes"},
		{"no credential, JSON lines", "json", nil, false, 4, "", ""},
		{"a key, not probed, JSON lines", "json", map[string]string{"ANTHROPIC_API_KEY": key, "SLEEVE_CHECK_PROBE": "off"}, true, 0, "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			home := t.TempDir()
			base := map[string]string{"HOME": home, "PATH": "/usr/bin:/bin", "TMPDIR": t.TempDir(), "SLEEVE_CHECK_STATE_DIR": filepath.Join(home, "state"),
				"SLEEVE_CHECK_MANAGED_SETTINGS": filepath.Join(home, "managed.json"), "SLEEVE_CHECK_LOG_FORMAT": c.format}
			for k, v := range c.env {
				base[k] = v
			}
			var stderr bytes.Buffer
			v := runStart(self, environ.FromMap(base), &stderr)
			if v.OK != c.ok || v.Code != c.code {
				t.Fatalf("verdict %+v; stderr:\n%s", v, stderr.String())
			}
			if !c.ok && (v.Message == "" || !strings.Contains(v.Message, c.msg) || !strings.Contains(v.Hint, c.hint)) {
				t.Fatalf("verdict %+v", v)
			}
			if !c.ok && (len(v.Lines) < 2 || !strings.HasPrefix(v.Lines[0], "sleeve-check: error: "+v.Message) || !strings.HasPrefix(v.Lines[len(v.Lines)-1], "sleeve-check: hint: ")) {
				t.Fatalf("lines %q", v.Lines)
			}
			if c.format == "json" && !c.ok {
				first, _, _ := strings.Cut(stderr.String(), "\n")
				if !json.Valid([]byte(first)) {
					t.Fatalf("stderr is not JSON lines: %q", stderr.String())
				}
			}
			b, _ := json.Marshal(v)
			for _, secret := range []string{quoted[1 : len(quoted)-1], key, strings.Repeat("Q", 24), strings.Repeat("K", 24)} {
				if bytes.Contains(b, []byte(secret)) || strings.Contains(stderr.String(), secret) {
					t.Fatalf("a secret is in the verdict or the log: %s", b)
				}
			}
		})
	}
}
