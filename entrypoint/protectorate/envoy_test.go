package protectorate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sleeve-check/entrypoint/internal/settings"
	"sleeve-check/internal/outcome"
)

// Envoy's volume, file by file: what a start gets, or which file is wrong
// and which Envoy command writes it right.
func TestEnvoyCredentials(t *testing.T) {
	tok := "sk-ant-oat01-" + strings.Repeat("FAKE", 22)
	for _, c := range []struct {
		name  string
		files map[string]string
		env   []string // variables set
		code  outcome.Code
		msg   []string
	}{
		{"pasted token", map[string]string{envoyToken: `{"accessToken": "` + tok + `"}`}, []string{"CLAUDE_CODE_OAUTH_TOKEN"}, 0, nil},
		{"pasted token wins over a synced login", map[string]string{envoyToken: `{"accessToken": "` + tok + `"}`, envoyLogin: `{"claudeAiOauth": {}}`}, []string{"CLAUDE_CODE_OAUTH_TOKEN"}, 0, nil},
		{"synced login and settings", map[string]string{envoyLogin: `{"claudeAiOauth": {}}`, envoySettings: `{"userID": "u"}`}, []string{settings.EnvPrefix + "SEED_CREDENTIALS", settings.EnvPrefix + "MERGE_CONFIG"}, 0, nil},
		{"an API key pasted", map[string]string{envoyToken: `{"accessToken": "sk-ant-api03-x"}`}, nil, outcome.Malformed, []string{envoyToken, "is not a token from claude setup-token", "envoy auth login claude"}},
		{"the token file is not JSON", map[string]string{envoyToken: `sk-ant-oat01-x`}, nil, outcome.Malformed, []string{envoyToken, "not JSON"}},
		{"a login without claudeAiOauth", map[string]string{envoyLogin: `{"x": 1}`}, nil, outcome.Malformed, []string{envoyLogin, "claudeAiOauth", "envoy auth sync"}},
		{"settings not an object", map[string]string{envoyToken: `{"accessToken": "` + tok + `"}`, envoySettings: `[]`}, nil, outcome.Config, []string{envoySettings, "envoy auth sync"}},
		{"an empty volume", nil, nil, outcome.NoCredential, []string{envoyToken, envoyLogin, "envoy auth login", "envoy auth sync"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			os.MkdirAll(filepath.Join(dir, "claude"), 0o700)
			for name, body := range c.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			env, fs := envoyCredentials(dir)
			f := fs.FirstError()
			if c.code == 0 {
				if f != nil || len(env) != len(c.env) {
					t.Fatalf("%v %v", env, fs)
				}
				for _, k := range c.env {
					if env[k] == "" {
						t.Fatalf("no %s in %v", k, env)
					}
				}
				return
			}
			if f == nil || f.Code != c.code || env != nil {
				t.Fatalf("%v %v", env, fs)
			}
			for _, m := range c.msg {
				if !strings.Contains(f.Message+" "+f.Hint, m) {
					t.Errorf("no %q in %q / %q", m, f.Message, f.Hint)
				}
			}
			if strings.Contains(f.Message+f.Hint, tok) {
				t.Fatal("the token is in the message")
			}
		})
	}
}
