package check

import (
	"strings"
	"testing"

	"sleeve-check/check/anthropictest"
	"sleeve-check/internal/leaktest"
	"sleeve-check/internal/outcome"
)

// Made-up tokens of the real shapes; none is a real credential.
var (
	testOAuth  = anthropictest.FakeToken("oat01", "iO5aBb")
	testAPIKey = anthropictest.FakeToken("api03", "qW6eRt-AA")
)

func TestCheckToken(t *testing.T) {
	tests := []struct {
		name     string
		kind     Kind
		value    string
		wantID   string // "" means no error
		wantCode outcome.Code
		wantMsg  string
		warnID   string
	}{
		{"valid oauth", KindOAuthToken, testOAuth, "", outcome.OK, "", ""},
		{"valid api key", KindAPIKey, testAPIKey, "", outcome.OK, "", ""},
		{"blank", KindOAuthToken, "   ", "token_blank", outcome.Malformed, "is blank", ""},
		{"double quotes", KindOAuthToken, `"` + testOAuth + `"`, "token_quoted", outcome.Malformed, "wrapped in quotes", ""},
		{"single quotes", KindAPIKey, `'` + testAPIKey + `'`, "token_quoted", outcome.Malformed, "wrapped in quotes", ""},
		{"bearer prefix", KindOAuthToken, "Bearer " + testOAuth, "token_bearer_prefix", outcome.Malformed, `starts with "Bearer "`, ""},
		{"bearer lower", KindAuthToken, "bearer abcdefghijklmnopqrstuvwxyz", "token_bearer_prefix", outcome.Malformed, "Bearer", ""},
		{"trailing newline", KindOAuthToken, testOAuth + "\n", "token_bad_char", outcome.Malformed, "ends with a newline", ""},
		{"trailing CR", KindOAuthToken, testOAuth + "\r", "token_bad_char", outcome.Malformed, "ends with a newline", ""},
		{"leading space", KindOAuthToken, " " + testOAuth, "token_bad_char", outcome.Malformed, "leading or trailing whitespace", ""},
		{"inner newline", KindOAuthToken, testOAuth[:50] + "\n" + testOAuth[50:], "token_bad_char", outcome.Malformed, "newline at position 50", ""},
		{"inner space", KindAPIKey, testAPIKey[:40] + " " + testAPIKey[40:], "token_bad_char", outcome.Malformed, "whitespace at position 40", ""},
		{"control char", KindOAuthToken, testOAuth[:30] + "\x1b" + testOAuth[30:], "token_bad_char", outcome.Malformed, "control character 0x1b", ""},
		{"nul byte", KindOAuthToken, testOAuth[:30] + "\x00" + testOAuth[30:], "token_bad_char", outcome.Malformed, "control character 0x00", ""},
		{"non-ascii", KindOAuthToken, testOAuth[:30] + "é" + testOAuth[30:], "token_bad_char", outcome.Malformed, "non-ASCII", ""},
		{"invalid utf8", KindOAuthToken, testOAuth[:30] + "\xff" + testOAuth[30:], "token_bad_char", outcome.Malformed, "invalid UTF-8", ""},
		{"env file line", KindOAuthToken, "export CLAUDE_CODE_OAUTH_TOKEN=" + testOAuth, "token_assignment", outcome.Malformed, "holds a shell assignment (export CLAUDE_CODE_OAUTH_TOKEN=...)", ""},
		{"assignment without export", KindAPIKey, "ANTHROPIC_API_KEY=" + testAPIKey, "token_assignment", outcome.Malformed, "shell assignment (ANTHROPIC_API_KEY=...)", ""},
		{"base64 padding is no assignment", KindAuthToken, "abcdefghijklmnopqrstuvwxyzABCD==", "", outcome.OK, "", ""},
		{"api key in oauth var", KindOAuthToken, testAPIKey, "token_wrong_variable", outcome.Malformed, "holds an API key", ""},
		{"refresh token in oauth var", KindOAuthToken, "sk-ant-ort01-" + testOAuth[13:], "token_refresh_token", outcome.Malformed, "refresh token", ""},
		{"oauth in api key var", KindAPIKey, testOAuth, "token_wrong_variable", outcome.Malformed, "holds an OAuth token", ""},
		{"admin key in api var", KindAPIKey, "sk-ant-admin01-" + testAPIKey[13:], "token_admin_key", outcome.Malformed, "Admin API key", ""},
		{"too short", KindOAuthToken, "sk-ant-oat01-abc", "token_length", outcome.Malformed, "16 characters long, too short", ""},
		{"too long", KindAuthToken, strings.Repeat("a", maxTokenLen+1), "token_length", outcome.Malformed, "too long", ""},
		{"cut oauth", KindOAuthToken, testOAuth[:50], "token_length", outcome.Malformed, "50 characters long; a sk-ant-oat... token is about 108", ""},
		{"pasted twice", KindOAuthToken, testOAuth + testOAuth, "token_length", outcome.Malformed, "216 characters long", ""},
		{"unknown oauth format warns", KindOAuthToken, "tok-" + strings.Repeat("x", 60), "", outcome.OK, "", "token_unknown_format"},
		{"gateway api key warns", KindAPIKey, "gw-" + strings.Repeat("y", 40), "", outcome.OK, "", "token_unknown_format"},
		{"gateway auth token any format", KindAuthToken, "gateway-" + strings.Repeat("z", 40), "", outcome.OK, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := CheckToken(tt.kind, "VAR", NewSecret(tt.value))
			e := fs.FirstError()
			switch {
			case tt.wantID == "" && e != nil:
				t.Fatalf("unexpected error %+v", *e)
			case tt.wantID != "" && e == nil:
				t.Fatalf("want error %s, got %+v", tt.wantID, fs)
			case e != nil:
				if e.ID != tt.wantID || e.Code != tt.wantCode || !strings.Contains(e.Message, tt.wantMsg) || !strings.HasPrefix(e.Message, "VAR ") || e.Hint == "" {
					t.Errorf("got %+v, want id %s code %d message containing %q, naming VAR, with a hint", *e, tt.wantID, tt.wantCode, tt.wantMsg)
				}
			}
			if tt.warnID != "" && (len(fs) != 1 || fs[0].ID != tt.warnID || fs[0].Severity != outcome.Warning) {
				t.Errorf("want one warning %s, got %+v", tt.warnID, fs)
			}
			// The variable's name is no secret; the token after it is.
			secret := tt.value
			if _, after, ok := strings.Cut(secret, "="); ok && tt.wantID == "token_assignment" {
				secret = after
			}
			assertNoSecret(t, secret, fs)
		})
	}
}

// assertNoSecret fails if any 12-byte window of the secret's body (after
// its well-known prefix) appears in any finding.
func assertNoSecret(t *testing.T, secret string, fs outcome.Findings) {
	t.Helper()
	var all strings.Builder
	for _, f := range fs {
		all.WriteString(f.Message + "\n" + f.Hint + "\n")
	}
	if w := leaktest.LeakedWindow(secret, all.String()); w != "" {
		t.Fatalf("secret leaked (%q) in %q", w, all.String())
	}
}

func TestSecretNeverPrints(t *testing.T) {
	s := NewSecret(testOAuth)
	for _, out := range []string{
		s.String(), s.GoString(),
		sprintf("%v %s %q %x %X %+v %#v %d", s, s, s, s, s, s, s, s),
		sprintf("%+v", struct{ S Secret }{s}),
		sprintf("%v", []Secret{s}),
	} {
		if leaktest.LeakedWindow(testOAuth, out) != "" {
			t.Fatalf("leak in %q", out)
		}
		if !strings.Contains(out, "len=108") {
			t.Fatalf("fingerprint missing in %q", out)
		}
	}
	b, _ := jsonMarshal(struct{ S Secret }{s})
	if leaktest.LeakedWindow(testOAuth, string(b)) != "" || !strings.Contains(string(b), "...bBb") && !strings.Contains(string(b), "aBb") {
		t.Fatalf("json %s", b)
	}
	if got := NewSecret("short-secret").Last4(); got != "cret" {
		t.Errorf("Last4 = %q", got)
	}
	if got := NewSecret("tiny").Last4(); got != "" {
		t.Errorf("Last4 of a tiny secret must be empty, got %q", got)
	}
}
