package check

import (
	"sleeve-check/internal/environ"
	"sleeve-check/internal/outcome"

	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var testNow = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

func ms(t time.Time) int64 { return t.UnixMilli() }

func credJSON(access, refresh string, expires any, scopes string) string {
	exp := fmt.Sprint(expires)
	if s, ok := expires.(string); ok {
		exp = s
	}
	sc := ""
	if scopes != "" {
		sc = fmt.Sprintf(`,"scopes":%s`, scopes)
	}
	return fmt.Sprintf(`{"claudeAiOauth":{"accessToken":%q,"refreshToken":%q,"expiresAt":%s%s,"subscriptionType":"max"}}`, access, refresh, exp, sc)
}

const inference = `["user:inference","user:profile"]`

func TestCredentialsFile(t *testing.T) {
	future := ms(testNow.Add(8 * time.Hour))
	past := ms(testNow.Add(-2 * time.Hour))
	soon := ms(testNow.Add(20 * time.Minute))
	tests := []struct {
		name     string
		content  *string // nil: no file
		dir      bool
		canWrite bool
		wantCode outcome.Code // OK: no error
		wantID   string
		wantMsg  string
		status   Status
	}{
		{name: "missing", wantCode: outcome.NoCredential, wantID: "no_credential", wantMsg: "does not exist", status: StatusMissing},
		{name: "directory", dir: true, wantCode: outcome.NoCredential, wantID: "credentials_file_is_directory", wantMsg: "is a directory, not a file: docker -v", status: StatusMissing},
		{name: "empty file", content: ptr(""), wantCode: outcome.Malformed, wantID: "credentials_empty", wantMsg: "is empty", status: StatusInvalid},
		{name: "not json", content: ptr(`{"claudeAiOauth": {`), wantCode: outcome.Malformed, wantID: "credentials_not_json", wantMsg: "is not valid JSON", status: StatusInvalid},
		{name: "json array", content: ptr(`[1,2]`), wantCode: outcome.Malformed, wantID: "credentials_not_json", wantMsg: "expected an object", status: StatusInvalid},
		{name: "trailing garbage", content: ptr(credJSON(testOAuth, "r", future, inference) + "}"), wantCode: outcome.Malformed, wantID: "credentials_not_json", status: StatusInvalid},
		{name: "no claudeAiOauth", content: ptr(`{"other":{}}`), wantCode: outcome.Malformed, wantID: "credentials_no_oauth", wantMsg: `no "claudeAiOauth"`, status: StatusInvalid},
		{name: "claudeAiOauth not object", content: ptr(`{"claudeAiOauth":"x"}`), wantCode: outcome.Malformed, wantID: "credentials_no_oauth", status: StatusInvalid},
		{name: "access token not string", content: ptr(`{"claudeAiOauth":{"accessToken":5,"expiresAt":1}}`), wantCode: outcome.Malformed, wantID: "credentials_access_token", wantMsg: "not a string", status: StatusInvalid},
		{name: "empty access token", content: ptr(credJSON("", "sk-ant-ort01-x", future, inference)), wantCode: outcome.Malformed, wantID: "credentials_access_token", wantMsg: "accessToken is empty", status: StatusInvalid},
		{name: "blanked stub", content: ptr(credJSON("", "", 0, inference)), wantCode: outcome.Rejected, wantID: "credentials_blanked", wantMsg: "blanked stub", status: StatusExpired},
		{name: "expiresAt missing", content: ptr(`{"claudeAiOauth":{"accessToken":"` + testOAuth + `","scopes":["user:inference"]}}`), wantCode: outcome.Malformed, wantID: "credentials_expires_missing", status: StatusInvalid},
		// Claude Code 2.1.332 accepts a string of digits (observed), so it is no stop.
		{name: "expiresAt string of digits", content: ptr(credJSON(testOAuth, "sk-ant-ort01-abc", fmt.Sprintf(`"%d"`, future), inference)), canWrite: true, status: StatusValid},
		{name: "expiresAt other string", content: ptr(credJSON(testOAuth, "r", `"tomorrow"`, inference)), wantCode: outcome.Malformed, wantID: "credentials_expires_type", wantMsg: "not a number", status: StatusInvalid},
		{name: "expiresAt seconds", content: ptr(credJSON(testOAuth, "r", testNow.Add(time.Hour).Unix(), inference)), wantCode: outcome.Malformed, wantID: "credentials_expires_seconds", wantMsg: "looks like seconds", status: StatusInvalid},
		{name: "expiresAt negative", content: ptr(credJSON(testOAuth, "r", -5, inference)), wantCode: outcome.Malformed, wantID: "credentials_expires_range", status: StatusInvalid},
		{name: "expiresAt huge", content: ptr(credJSON(testOAuth, "r", "1e400", inference)), wantCode: outcome.Malformed, wantID: "credentials_expires_range", status: StatusInvalid},
		{name: "scopes without inference", content: ptr(credJSON(testOAuth, "r", future, `["user:profile"]`)), wantCode: outcome.Malformed, wantID: "credentials_scope_inference", wantMsg: "lack user:inference", status: StatusInvalid},
		{name: "scopes wrong type", content: ptr(credJSON(testOAuth, "r", future, `"user:inference"`)), wantCode: outcome.Malformed, wantID: "credentials_scopes", status: StatusInvalid},
		{name: "access token with newline", content: ptr(credJSON(testOAuth+"\n", "r", future, inference)), wantCode: outcome.Malformed, wantID: "token_bad_char", status: StatusInvalid},
		{name: "valid", content: ptr(credJSON(testOAuth, "sk-ant-ort01-abc", future, inference)), canWrite: true, status: StatusValid},
		// Claude Code 2.1.332 says "Not logged in" for a file without scopes (observed).
		{name: "no scopes key", content: ptr(credJSON(testOAuth, "sk-ant-ort01-abc", future, "")), canWrite: true, wantCode: outcome.Malformed, wantID: "credentials_no_scopes", wantMsg: "treats it as not logged in", status: StatusInvalid},
		{name: "valid read-only warns", content: ptr(credJSON(testOAuth, "sk-ant-ort01-abc", future, inference)), wantID: "credentials_read_only", wantMsg: "cannot store a refreshed token", status: StatusValid},
		{name: "expired refreshable warns", content: ptr(credJSON(testOAuth, "sk-ant-ort01-abc", past, inference)), canWrite: true, wantID: "credential_expired_refreshable", wantMsg: "will refresh it", status: StatusExpired},
		{name: "expired not writable", content: ptr(credJSON(testOAuth, "sk-ant-ort01-abc", past, inference)), wantCode: outcome.Rejected, wantID: "credential_expired", wantMsg: "cannot store a refreshed token", status: StatusExpired},
		{name: "expired no refresh token", content: ptr(credJSON(testOAuth, "", past, inference)), canWrite: true, wantCode: outcome.Rejected, wantID: "credential_expired", wantMsg: "has no refresh token", status: StatusExpired},
		{name: "near expiry not refreshable", content: ptr(credJSON(testOAuth, "", soon, inference)), canWrite: true, wantID: "credential_expiring_soon", wantMsg: "expires in 20m0s", status: StatusExpiringSoon},
		{name: "near expiry refreshable", content: ptr(credJSON(testOAuth, "sk-ant-ort01-abc", soon, inference)), canWrite: true, wantID: "credential_expiring_soon", wantMsg: "will refresh it", status: StatusExpiringSoon},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := t.TempDir()
			cred := filepath.Join(home, ".claude", ".credentials.json")
			must(t, os.MkdirAll(filepath.Dir(cred), 0o700))
			if tt.dir {
				must(t, os.Mkdir(cred, 0o700))
			}
			if tt.content != nil {
				must(t, os.WriteFile(cred, []byte(*tt.content), 0o600))
			}
			r := Resolve(Input{Env: environ.FromMap(map[string]string{"HOME": home}), Now: testNow, ExpiryWarning: time.Hour,
				CanWrite: func(string) bool { return tt.canWrite }})
			e := r.Findings.FirstError()
			switch {
			case tt.wantCode == outcome.OK && e != nil:
				t.Fatalf("unexpected error %+v", *e)
			case tt.wantCode != outcome.OK && e == nil:
				t.Fatalf("want %s, got %+v", tt.wantID, r.Findings)
			case e != nil && (e.Code != tt.wantCode || e.ID != tt.wantID || !strings.Contains(e.Message, tt.wantMsg) || e.Hint == ""):
				t.Fatalf("got %+v; want code %d id %s msg ~%q and a hint", *e, tt.wantCode, tt.wantID, tt.wantMsg)
			case e == nil && tt.wantID != "":
				if !hasFinding(r.Findings, outcome.Warning, tt.wantID, tt.wantMsg) {
					t.Fatalf("want warning %s ~%q, got %+v", tt.wantID, tt.wantMsg, r.Findings)
				}
			}
			if r.Status != tt.status {
				t.Errorf("status %s, want %s", r.Status, tt.status)
			}
			assertNoSecret(t, testOAuth, r.Findings)
		})
	}
}

func TestPrecedenceAndShadowing(t *testing.T) {
	home := t.TempDir()
	writeCreds(t, home, credJSON(testOAuth, "r", ms(testNow.Add(time.Hour*5)), inference))
	gateway := "gw-token-" + strings.Repeat("g", 40)
	tests := []struct {
		name       string
		env        map[string]string
		kind       Kind
		source     string
		shadowMsgs []string
		status     Status
	}{
		{"file only", map[string]string{}, KindOAuthFile, filepath.Join(home, ".claude", ".credentials.json"), nil, StatusValid},
		{"oauth env over file", map[string]string{"CLAUDE_CODE_OAUTH_TOKEN": testOAuth}, KindOAuthToken, "CLAUDE_CODE_OAUTH_TOKEN",
			[]string{"its expiry and refresh do not matter"}, StatusValid},
		{"api key over oauth", map[string]string{"CLAUDE_CODE_OAUTH_TOKEN": testOAuth, "ANTHROPIC_API_KEY": testAPIKey}, KindAPIKey, "ANTHROPIC_API_KEY",
			[]string{"CLAUDE_CODE_OAUTH_TOKEN is ignored: ANTHROPIC_API_KEY takes precedence, so usage is billed to the API organisation", "credentials file"}, StatusValid},
		{"auth token over all", map[string]string{"ANTHROPIC_AUTH_TOKEN": gateway, "ANTHROPIC_API_KEY": testAPIKey, "CLAUDE_CODE_OAUTH_TOKEN": testOAuth}, KindAuthToken, "ANTHROPIC_AUTH_TOKEN",
			[]string{"the API key is never sent", "gateway's token, not to the Claude subscription"}, StatusValid},
		{"cloud over all", map[string]string{"CLAUDE_CODE_USE_BEDROCK": "1", "ANTHROPIC_API_KEY": testAPIKey}, KindCloud, "CLAUDE_CODE_USE_BEDROCK",
			[]string{"Claude Code calls Amazon Bedrock"}, StatusUnknown},
		{"cloud switch false is off", map[string]string{"CLAUDE_CODE_USE_VERTEX": "0", "ANTHROPIC_API_KEY": testAPIKey}, KindAPIKey, "ANTHROPIC_API_KEY",
			[]string{"billed to the API organisation"}, StatusValid},
		{"empty api key is unset", map[string]string{"ANTHROPIC_API_KEY": "", "CLAUDE_CODE_OAUTH_TOKEN": testOAuth}, KindOAuthToken, "CLAUDE_CODE_OAUTH_TOKEN",
			[]string{"its expiry"}, StatusValid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"HOME": home}
			for k, v := range tt.env {
				env[k] = v
			}
			r := Resolve(Input{Env: environ.FromMap(env), Now: testNow, ExpiryWarning: time.Hour, CanWrite: func(string) bool { return true }})
			if e := r.Findings.FirstError(); e != nil {
				t.Fatalf("error %+v", *e)
			}
			if r.Selected.Kind != tt.kind || r.Selected.Source != tt.source {
				t.Fatalf("selected %s from %s, want %s from %s", r.Selected.Kind, r.Selected.Source, tt.kind, tt.source)
			}
			for _, m := range tt.shadowMsgs {
				if !hasFinding(r.Findings, outcome.Warning, "credential_shadowed", m) {
					t.Errorf("no shadow warning ~%q in %+v", m, r.Findings)
				}
			}
			if got := countID(r.Findings, "credential_shadowed"); got != len(r.Shadowed) {
				t.Errorf("%d shadow warnings for %d shadowed", got, len(r.Shadowed))
			}
			if r.Status != tt.status {
				t.Errorf("status %s want %s", r.Status, tt.status)
			}
			assertNoSecret(t, testOAuth, r.Findings)
			assertNoSecret(t, testAPIKey, r.Findings)
		})
	}
}

func TestSettingsEnvBlocks(t *testing.T) {
	home, cwd, etc := t.TempDir(), t.TempDir(), t.TempDir()
	other := "sk-ant-oat01-" + strings.Repeat("S", 95)
	managedTok := "sk-ant-oat01-" + strings.Repeat("M", 95)
	must(t, os.MkdirAll(filepath.Join(home, ".claude"), 0o700))
	must(t, os.WriteFile(filepath.Join(home, ".claude", "settings.json"), []byte(`{"env":{"CLAUDE_CODE_OAUTH_TOKEN":"`+other+`","N":5}}`), 0o600))
	r := Resolve(Input{Env: environ.FromMap(map[string]string{"HOME": home, "CLAUDE_CODE_OAUTH_TOKEN": testOAuth}), Cwd: cwd, Now: testNow})
	if r.Selected.Value.Reveal() != other || !strings.Contains(r.Selected.Source, "env block of "+filepath.Join(home, ".claude", "settings.json")) {
		t.Fatalf("user settings env block must override the process env: got %s", r.Selected.Source)
	}
	if !hasFinding(r.Findings, outcome.Warning, "settings_env_value", "env.N is not a string") {
		t.Errorf("non-string env value not reported: %+v", r.Findings)
	}
	managed := filepath.Join(etc, "managed-settings.json")
	must(t, os.WriteFile(managed, []byte(`{"env":{"CLAUDE_CODE_OAUTH_TOKEN":"`+managedTok+`"}}`), 0o600))
	must(t, os.MkdirAll(filepath.Join(cwd, ".claude"), 0o700))
	must(t, os.WriteFile(filepath.Join(cwd, ".claude", "settings.local.json"), []byte(`{"apiKeyHelper":"/bin/get-key --x"}`), 0o600))
	r = Resolve(Input{Env: environ.FromMap(map[string]string{"HOME": home}), Cwd: cwd, Now: testNow, ManagedSettings: managed})
	if r.Selected.Kind != KindAPIKeyHelper || !strings.Contains(r.Selected.Detail, "/bin/get-key") {
		t.Fatalf("apiKeyHelper must win over the OAuth token: %+v", r.Selected)
	}
	if r.Status != StatusUnknown || !hasFinding(r.Findings, outcome.Warning, "credential_shadowed", "billed to the API organisation") {
		t.Errorf("status %s findings %+v", r.Status, r.Findings)
	}
	if len(r.Shadowed) != 1 || r.Shadowed[0].Value.Reveal() != managedTok {
		t.Errorf("managed settings must beat user settings: %+v", r.Shadowed)
	}
	must(t, os.WriteFile(managed, []byte(`{"env":`), 0o600))
	r = Resolve(Input{Env: environ.FromMap(map[string]string{"HOME": home}), Now: testNow, ManagedSettings: managed})
	if !hasFinding(r.Findings, outcome.Warning, "settings_invalid", "is not valid JSON") {
		t.Errorf("broken settings file not reported: %+v", r.Findings)
	}
}

func TestSecretFiles(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "token")
	must(t, os.WriteFile(secret, []byte(testOAuth+"\n"), 0o600))
	r := Resolve(Input{Env: environ.FromMap(map[string]string{"HOME": dir, "CLAUDE_CODE_OAUTH_TOKEN_FILE": secret}), Now: testNow})
	if e := r.Findings.FirstError(); e != nil || r.Selected.Kind != KindOAuthToken || r.Selected.Value.Reveal() != testOAuth {
		t.Fatalf("secret file not read: %+v %+v", r.Selected, r.Findings)
	}
	if r.ChildEnv["CLAUDE_CODE_OAUTH_TOKEN"] != testOAuth || !strings.HasPrefix(r.Selected.Source, "CLAUDE_CODE_OAUTH_TOKEN_FILE (") {
		t.Fatalf("child env %v source %s", len(r.ChildEnv), r.Selected.Source)
	}
	empty := filepath.Join(dir, "empty")
	must(t, os.WriteFile(empty, []byte("\n"), 0o600))
	must(t, os.Mkdir(filepath.Join(dir, "adir"), 0o700))
	for _, tt := range []struct {
		name string
		env  map[string]string
		code outcome.Code
		id   string
		msg  string
	}{
		{"both set", map[string]string{"ANTHROPIC_API_KEY": testAPIKey, "ANTHROPIC_API_KEY_FILE": secret}, outcome.Config, "secret_file_conflict", "ANTHROPIC_API_KEY and ANTHROPIC_API_KEY_FILE are both set"},
		{"missing file", map[string]string{"CLAUDE_CODE_OAUTH_TOKEN_FILE": filepath.Join(dir, "nope")}, outcome.NoCredential, "secret_file_missing", "CLAUDE_CODE_OAUTH_TOKEN_FILE names"},
		{"directory", map[string]string{"CLAUDE_CODE_OAUTH_TOKEN_FILE": filepath.Join(dir, "adir")}, outcome.NoCredential, "secret_file_is_directory", "is a directory"},
		{"empty file", map[string]string{"CLAUDE_CODE_OAUTH_TOKEN_FILE": empty}, outcome.Malformed, "secret_file_empty", "which is empty"},
		{"wrong kind in file", map[string]string{"ANTHROPIC_API_KEY_FILE": secret}, outcome.Malformed, "token_wrong_variable", "ANTHROPIC_API_KEY_FILE ("},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"HOME": dir}
			for k, v := range tt.env {
				env[k] = v
			}
			r := Resolve(Input{Env: environ.FromMap(env), Now: testNow})
			e := r.Findings.FirstError()
			if e == nil || e.Code != tt.code || e.ID != tt.id || !strings.Contains(e.Message, tt.msg) {
				t.Fatalf("got %+v, want %d %s ~%q", r.Findings, tt.code, tt.id, tt.msg)
			}
			assertNoSecret(t, testOAuth, r.Findings)
		})
	}
}

func TestNoCredential(t *testing.T) {
	dir := t.TempDir()
	r := Resolve(Input{Env: environ.FromMap(map[string]string{"HOME": dir, "CLAUDE_CODE_OAUTH_TOKEN": ""}), Now: testNow})
	if e := r.Findings.FirstError(); e == nil || e.Code != outcome.NoCredential || !strings.Contains(e.Message, "CLAUDE_CODE_OAUTH_TOKEN is set but empty") || r.Status != StatusMissing {
		t.Fatalf("%+v", r.Findings)
	}
	r = Resolve(Input{Env: environ.FromMap(map[string]string{}), Now: testNow})
	if e := r.Findings.FirstError(); e == nil || e.Code != outcome.Config || e.ID != "home_unset" {
		t.Fatalf("%+v", r.Findings)
	}
	r = Resolve(Input{Env: environ.FromMap(map[string]string{"CLAUDE_CONFIG_DIR": "cfg"}), Cwd: dir, Now: testNow})
	if r.GlobalConfig != filepath.Join(dir, "cfg", ".claude.json") || r.CredentialsFile != filepath.Join(dir, "cfg", ".credentials.json") {
		t.Fatalf("paths %s %s", r.GlobalConfig, r.CredentialsFile)
	}
}

func TestFIFOCredentialsDoesNotHang(t *testing.T) {
	home := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(home, ".claude"), 0o700))
	if err := mkfifo(filepath.Join(home, ".claude", ".credentials.json")); err != nil {
		t.Fatal(err)
	}
	r := Resolve(Input{Env: environ.FromMap(map[string]string{"HOME": home}), Now: testNow})
	if e := r.Findings.FirstError(); e == nil || e.ID != "credentials_file_not_regular" {
		t.Fatalf("%+v", r.Findings)
	}
}

func TestTokenIssued(t *testing.T) {
	for _, tt := range []struct {
		issued time.Time
		status Status
		id     string
		sev    outcome.Severity
	}{
		{testNow.AddDate(0, -6, 0), StatusValid, "", outcome.Info},
		{testNow.AddDate(-1, 0, 20), StatusExpiringSoon, "credential_expiring_soon", outcome.Warning},
		{testNow.AddDate(-1, 0, -1), StatusExpired, "credential_expired", outcome.Error},
		{testNow.AddDate(0, 0, 3), StatusValid, "token_issued_future", outcome.Warning},
	} {
		r := Resolve(Input{Env: environ.FromMap(map[string]string{"HOME": t.TempDir(), "CLAUDE_CODE_OAUTH_TOKEN": testOAuth}), Now: testNow, TokenIssued: tt.issued})
		if r.Status != tt.status {
			t.Errorf("issued %s: status %s want %s", tt.issued.Format(time.DateOnly), r.Status, tt.status)
		}
		if tt.id != "" && !hasFinding(r.Findings, tt.sev, tt.id, "") {
			t.Errorf("issued %s: want %s %s in %+v", tt.issued.Format(time.DateOnly), tt.sev, tt.id, r.Findings)
		}
		if e := r.Findings.FirstError(); e != nil && e.Code != outcome.Rejected {
			t.Errorf("expired setup-token must be Rejected, got %d", e.Code)
		}
	}
}

func ptr(s string) *string { return &s }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func writeCreds(t *testing.T, home, content string) {
	t.Helper()
	must(t, os.MkdirAll(filepath.Join(home, ".claude"), 0o700))
	must(t, os.WriteFile(filepath.Join(home, ".claude", ".credentials.json"), []byte(content), 0o600))
}

func hasFinding(fs outcome.Findings, sev outcome.Severity, id, msg string) bool {
	for _, f := range fs {
		if f.Severity == sev && f.ID == id && strings.Contains(f.Message, msg) {
			return true
		}
	}
	return false
}

func countID(fs outcome.Findings, id string) int {
	n := 0
	for _, f := range fs {
		if f.ID == id {
			n++
		}
	}
	return n
}

// Claude Code 2.1.332 trims its credential variables and the base URL
// (observed: a trailing newline, CRLF, surrounding spaces and a leading
// UTF-8 BOM all authenticate), so they are warnings, and the trimmed value
// is what is checked, probed and passed on from a *_FILE.
func TestTrimmedLikeClaudeCode(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		name, value, what string
	}{
		{"trailing newline", testOAuth + "\n", "a newline at the end"},
		{"CRLF", testOAuth + "\r\n", "a CRLF line ending at the end"},
		{"spaces", "  " + testOAuth + " ", "spaces at the start and a space at the end"},
		{"BOM", "\ufeff" + testOAuth, "a UTF-8 byte order mark (BOM) at the start"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := Resolve(Input{Env: environ.FromMap(map[string]string{"HOME": dir, "CLAUDE_CODE_OAUTH_TOKEN": tt.value, "ANTHROPIC_BASE_URL": "https://gw.example/ \n"}), Now: testNow})
			if e := r.Findings.FirstError(); e != nil {
				t.Fatalf("stopped: %+v", *e)
			}
			if r.Selected.Value.Reveal() != testOAuth {
				t.Fatal("the credential was not trimmed")
			}
			if !hasFinding(r.Findings, outcome.Warning, "value_trimmed", "CLAUDE_CODE_OAUTH_TOKEN has "+tt.what+"; Claude Code trims it") {
				t.Fatalf("no warning naming %q: %+v", tt.what, r.Findings)
			}
			if r.BaseURL != "https://gw.example/" || !hasFinding(r.Findings, outcome.Warning, "value_trimmed", "ANTHROPIC_BASE_URL has a space and a newline at the end") && !hasFinding(r.Findings, outcome.Warning, "value_trimmed", "ANTHROPIC_BASE_URL has whitespace (2 characters) at the end") {
				t.Fatalf("base URL %q, findings %+v", r.BaseURL, r.Findings)
			}
			assertNoSecret(t, testOAuth, r.Findings)
		})
	}
	// From a secret file: one trailing newline is the file's and silent;
	// a BOM or CRLF is trimmed with a warning, and the command gets the
	// trimmed value.
	for _, tt := range []struct {
		name, content string
		warn          bool
	}{{"one newline", testOAuth + "\n", false}, {"CRLF", testOAuth + "\r\n", true}, {"BOM", "\ufeff" + testOAuth + "\n", true}} {
		t.Run("file "+tt.name, func(t *testing.T) {
			p := filepath.Join(dir, "secret")
			must(t, os.WriteFile(p, []byte(tt.content), 0o600))
			r := Resolve(Input{Env: environ.FromMap(map[string]string{"HOME": dir, "CLAUDE_CODE_OAUTH_TOKEN_FILE": p}), Now: testNow})
			if e := r.Findings.FirstError(); e != nil || r.ChildEnv["CLAUDE_CODE_OAUTH_TOKEN"] != testOAuth {
				t.Fatalf("findings %+v", r.Findings)
			}
			if got := countID(r.Findings, "value_trimmed"); got != map[bool]int{false: 0, true: 1}[tt.warn] {
				t.Fatalf("%d trim warnings: %+v", got, r.Findings)
			}
		})
	}
	// What trim leaves is still a stop: the CLI fails on it too.
	r := Resolve(Input{Env: environ.FromMap(map[string]string{"HOME": dir, "CLAUDE_CODE_OAUTH_TOKEN": ` "` + testOAuth + `"` + "\n"}), Now: testNow})
	if e := r.Findings.FirstError(); e == nil || e.ID != "token_quoted" {
		t.Fatalf("quotes inside whitespace: %+v", r.Findings)
	}
}

// HOME unset: Claude Code takes the home from the passwd entry, and so
// does sleeve-check (the caller looks it up and passes it in).
func TestHomeFromPasswd(t *testing.T) {
	home := t.TempDir()
	r := Resolve(Input{Env: environ.FromMap(map[string]string{"CLAUDE_CODE_OAUTH_TOKEN": testOAuth}), PasswdHome: home, Now: testNow})
	if e := r.Findings.FirstError(); e != nil || r.GlobalConfig != filepath.Join(home, ".claude.json") || r.HomeSource != "the passwd entry (HOME is unset)" {
		t.Fatalf("%s %s %+v", r.GlobalConfig, r.HomeSource, r.Findings)
	}
	r = Resolve(Input{Env: environ.FromMap(map[string]string{"HOME": "/elsewhere", "CLAUDE_CODE_OAUTH_TOKEN": testOAuth}), PasswdHome: home, Now: testNow})
	if r.GlobalConfig != "/elsewhere/.claude.json" || r.HomeSource != "HOME" {
		t.Fatalf("HOME must win: %s %s", r.GlobalConfig, r.HomeSource)
	}
	r = Resolve(Input{Env: environ.FromMap(map[string]string{"export CLAUDE_CODE_OAUTH_TOKEN": testOAuth, "HOME": home}), Now: testNow})
	if e := r.Findings.FirstError(); e == nil || e.ID != "credential_var_export" || !strings.Contains(e.Message, `"export CLAUDE_CODE_OAUTH_TOKEN"`) {
		t.Fatalf("%+v", r.Findings)
	}
	assertNoSecret(t, testOAuth, r.Findings)
}

// Which global config Claude Code reads, as 2.1.332 decides it (observed:
// a non-empty <config dir>/.config.json wins, with "Two Claude Code config
// files exist" when .claude.json holds something too).
func TestLegacyGlobalConfig(t *testing.T) {
	for _, tt := range []struct {
		name           string
		legacy, global *string
		legacyMode     os.FileMode
		want, unused   string
	}{
		{name: "neither", want: ".claude.json"},
		{name: "only .claude.json", global: ptr("{}"), want: ".claude.json"},
		{name: "only legacy", legacy: ptr(`{"numStartups":5}`), want: ".claude/.config.json"},
		{name: "both", legacy: ptr(`{"numStartups":5}`), global: ptr(`{"numStartups":7}`), want: ".claude/.config.json", unused: ".claude.json"},
		{name: "legacy beside an empty .claude.json", legacy: ptr(`{}`), global: ptr(""), want: ".claude/.config.json"},
		{name: "empty writable legacy, no .claude.json", legacy: ptr(""), want: ".claude/.config.json"},
		{name: "empty writable legacy beside .claude.json", legacy: ptr(""), global: ptr("{}"), want: ".claude.json"},
		{name: "empty read-only legacy", legacy: ptr(""), legacyMode: 0o400, want: ".claude.json"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			home := t.TempDir()
			must(t, os.MkdirAll(filepath.Join(home, ".claude"), 0o700))
			if tt.legacy != nil {
				mode := tt.legacyMode
				if mode == 0 {
					mode = 0o600
				}
				must(t, os.WriteFile(filepath.Join(home, ".claude", ".config.json"), []byte(*tt.legacy), mode))
				must(t, os.Chmod(filepath.Join(home, ".claude", ".config.json"), mode))
			}
			if tt.global != nil {
				must(t, os.WriteFile(filepath.Join(home, ".claude.json"), []byte(*tt.global), 0o600))
			}
			r := Resolve(Input{Env: environ.FromMap(map[string]string{"HOME": home, "CLAUDE_CODE_OAUTH_TOKEN": testOAuth}), Now: testNow})
			if r.GlobalConfig != filepath.Join(home, tt.want) {
				t.Fatalf("uses %s, want %s", r.GlobalConfig, tt.want)
			}
			wantUnused := ""
			if tt.unused != "" {
				wantUnused = filepath.Join(home, tt.unused)
			}
			if r.UnusedConfig != wantUnused || (wantUnused != "") != hasFinding(r.Findings, outcome.Warning, "config_duplicate", "two Claude Code config files exist") {
				t.Fatalf("unused %q, findings %+v", r.UnusedConfig, r.Findings)
			}
		})
	}
	// With CLAUDE_CONFIG_DIR, the legacy file is inside it (observed).
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, ".config.json"), []byte("{}"), 0o600))
	r := Resolve(Input{Env: environ.FromMap(map[string]string{"CLAUDE_CONFIG_DIR": dir, "CLAUDE_CODE_OAUTH_TOKEN": testOAuth}), Now: testNow})
	if r.GlobalConfig != filepath.Join(dir, ".config.json") {
		t.Fatalf("uses %s", r.GlobalConfig)
	}
}
