package fleet

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sleeve-check/check"
	"sleeve-check/check/anthropictest"
	"sleeve-check/internal/environ"
	"sleeve-check/internal/leaktest"
	"sleeve-check/internal/outcome"
)

// testSecret is a gateway secret of the shape `head -c 32 /dev/urandom |
// base64` gives (44 characters), made of text leaktest can look for.
const testSecret = "dGVzdC1zZWNyZXQtb2YtdGhlLWdhdGV3YXktZm9yLXRl"

func mustKey(t *testing.T, secret, name string) string {
	t.Helper()
	k, err := Key([]byte(secret), name)
	if err != nil {
		t.Fatalf("Key(%q): %v", name, err)
	}
	return k
}

func TestValidName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"a", true},
		{"0", true},
		{"sleeve-1", true},
		{"worker_02", true},
		{"a-b_c-9", true},
		{strings.Repeat("a", 63), true},
		{"", false},
		{strings.Repeat("a", 64), false},
		{"-a", false},
		{"_a", false},
		{"Alice", false},
		{"a.b", false},
		{"a b", false},
		{"a/b", false},
		{"a:b", false},
		{"é", false},
		{"a\n", false},
	} {
		err := ValidName(tc.name)
		if (err == nil) != tc.ok {
			t.Errorf("ValidName(%q) = %v, want ok=%v", tc.name, err, tc.ok)
		}
		if _, kerr := Key([]byte(testSecret), tc.name); (kerr == nil) != tc.ok {
			t.Errorf("Key(secret, %q) error = %v, want ok=%v", tc.name, kerr, tc.ok)
		}
	}
}

func TestKeyShape(t *testing.T) {
	k := mustKey(t, testSecret, "alice")
	mac, ok := strings.CutPrefix(k, KeyPrefix+"alice.")
	if !ok || len(mac) != macLen || strings.Trim(mac, "0123456789abcdef") != "" {
		t.Fatalf("key %q is not %s NAME . 40 hex digits", k, KeyPrefix)
	}
	if again := mustKey(t, testSecret, "alice"); again != k {
		t.Errorf("Key is not deterministic: %q then %q", k, again)
	}
	if other := mustKey(t, testSecret, "bob"); other[len(other)-macLen:] == mac {
		t.Errorf("two names got the same mac")
	}
	if other := mustKey(t, testSecret+"x", "alice"); other == k {
		t.Errorf("two secrets gave alice the same key")
	}
	// A name that is a prefix of another must not share its mac: the label
	// and the name are hashed whole.
	if a, b := mustKey(t, testSecret, "ab"), mustKey(t, testSecret, "a"); a[len(a)-macLen:] == b[len(b)-macLen:] {
		t.Errorf("names a and ab share a mac")
	}
}

func TestVerify(t *testing.T) {
	own := mustKey(t, testSecret, "alice")
	foreign := mustKey(t, "another-gateway-secret-of-32-bytes-or-more", "alice")
	flip := func(k string) string {
		last := k[len(k)-1]
		repl := byte('0')
		if last == '0' {
			repl = '1'
		}
		return k[:len(k)-1] + string(repl)
	}
	mac := own[len(own)-macLen:]
	for _, tc := range []struct {
		desc, key, name string
		err             error
	}{
		{"own key", own, "alice", nil},
		{"key with another name's mac", KeyPrefix + "bob." + mac, "bob", ErrForeign},
		{"foreign secret", foreign, "alice", ErrForeign},
		{"tampered mac", flip(own), "alice", ErrForeign},
		{"upper-case mac", KeyPrefix + "alice." + strings.ToUpper(mac), "alice", ErrForeign},
		{"mac not hex, right length", KeyPrefix + "alice." + strings.Repeat("z", macLen), "alice", ErrForeign},
		{"empty", "", "", ErrNoKey},
		{"short mac", own[:len(own)-1], "", ErrNotAKey},
		{"long mac", own + "0", "", ErrNotAKey},
		{"no prefix", strings.TrimPrefix(own, KeyPrefix), "", ErrNotAKey},
		{"another version", "scgw2." + strings.TrimPrefix(own, KeyPrefix), "", ErrNotAKey},
		{"no name", KeyPrefix + "." + mac, "", ErrNotAKey},
		{"bad name", KeyPrefix + "Alice." + mac, "", ErrNotAKey},
		{"dotted name", KeyPrefix + "a.b." + mac, "", ErrNotAKey},
		{"no dot", KeyPrefix + "alice" + mac, "", ErrNotAKey},
		{"whitespace around", " " + own + "\n", "", ErrNotAKey},
		{"an OAuth token", anthropictest.FakeToken("oat01", "AAAA"), "", ErrNotAKey},
		{"an API key", anthropictest.FakeToken("api03", "AAAA"), "", ErrNotAKey},
		{"Bearer and the key", "Bearer " + own, "", ErrNotAKey},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			name, err := Verify([]byte(testSecret), tc.key)
			if !errors.Is(err, tc.err) || name != tc.name {
				t.Errorf("Verify = %q, %v; want %q, %v", name, err, tc.name, tc.err)
			}
			// NameOf reads the name whether or not the key verifies.
			n, nerr := NameOf(tc.key)
			wantErr := tc.err
			if wantErr == ErrForeign {
				wantErr = nil
			}
			if !errors.Is(nerr, wantErr) || n != tc.name {
				t.Errorf("NameOf = %q, %v; want %q, %v", n, nerr, tc.name, wantErr)
			}
		})
	}
}

// TestKeysAndTokensApart: a key is never taken for an Anthropic
// credential, nor a credential for a key, by any of the project's readers.
func TestKeysAndTokensApart(t *testing.T) {
	key := mustKey(t, testSecret, "alice")
	if strings.HasPrefix(key, "sk-ant") {
		t.Fatalf("key %q looks like an Anthropic credential", key)
	}
	for _, kind := range []check.Kind{check.KindOAuthToken, check.KindAPIKey, check.KindAuthToken} {
		if fs := check.CheckToken(kind, "VAR", check.NewSecret(key)); len(fs) != 0 {
			t.Errorf("CheckToken(%s, key) = %+v; a gateway key is a well-formed credential for claude", kind, fs)
		}
	}
	for _, tok := range []string{anthropictest.FakeToken("oat01", "WXYZ"), anthropictest.FakeToken("api03", "WXYZ"), anthropictest.FakeToken("ort01", "WXYZ")} {
		if _, err := NameOf(tok); !errors.Is(err, ErrNotAKey) {
			t.Errorf("NameOf(%s...) = %v, want ErrNotAKey", tok[:10], err)
		}
		fp := Fingerprint(tok)
		if want := "a value of length 108 ending ...WXYZ"; fp != want {
			t.Errorf("Fingerprint(token) = %q, want %q", fp, want)
		}
		if w := leaktest.LeakedWindow(tok, fp); w != "" {
			t.Errorf("Fingerprint(token) = %q shows %q of it", fp, w)
		}
	}
}

func TestFingerprint(t *testing.T) {
	key := mustKey(t, testSecret, "alice")
	for _, tc := range []struct{ in, want string }{
		{key, "alice ..." + key[len(key)-4:]},
		{"", "a value of length 0"},
		{"short", "a value of length 5"},
		{"elevenchars", "a value of length 11"},
		{"twelve-chars", "a value of length 12 ending ...hars"},
	} {
		if got := Fingerprint(tc.in); got != tc.want {
			t.Errorf("Fingerprint(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if w := leaktest.LeakedWindow(key, Fingerprint(key)); w != "" {
		t.Errorf("Fingerprint(key) shows %q of it", w)
	}
}

// finding is what a test expects of the first error finding.
type finding struct {
	code outcome.Code
	id   string
	msg  string // a part of the message
}

func checkFindings(t *testing.T, fs outcome.Findings, want *finding, secrets ...string) {
	t.Helper()
	for _, f := range fs {
		for _, s := range secrets {
			if w := leaktest.LeakedWindow(s, f.Message+"\n"+f.Hint); w != "" {
				t.Errorf("finding %s shows %q of a secret: %s (hint: %s)", f.ID, w, f.Message, f.Hint)
			}
		}
	}
	first := fs.FirstError()
	switch {
	case want == nil && first != nil:
		t.Errorf("unexpected error finding %s (code %d): %s", first.ID, first.Code, first.Message)
	case want == nil:
	case first == nil:
		t.Errorf("no error finding; want %s (code %d), got %+v", want.id, want.code, fs)
	case first.Code != want.code || first.ID != want.id || !strings.Contains(first.Message, want.msg):
		t.Errorf("got %s (code %d): %q\nwant %s (code %d) containing %q", first.ID, first.Code, first.Message, want.id, want.code, want.msg)
	}
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSecret(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "secret", testSecret+"\n")
	short := writeFile(t, dir, "short", "too-short-a-secret\n")
	empty := writeFile(t, dir, "empty", "")
	big := writeFile(t, dir, "big", strings.Repeat("s", maxSecretFile+1))
	for _, tc := range []struct {
		desc string
		env  map[string]string
		want *finding
		got  string // the secret, when there is no error
	}{
		{"variable", map[string]string{SecretVar: testSecret}, nil, testSecret},
		{"variable with spaces around", map[string]string{SecretVar: "  " + testSecret + "\n"}, nil, testSecret},
		{"file with its newline", map[string]string{SecretVar + "_FILE": good}, nil, testSecret},
		{"exactly the minimum", map[string]string{SecretVar: testSecret[:MinSecret]}, nil, testSecret[:MinSecret]},
		{"both set", map[string]string{SecretVar: testSecret, SecretVar + "_FILE": good},
			&finding{outcome.Config, "secret_file_conflict", "SLEEVE_CHECK_GATEWAY_SECRET and SLEEVE_CHECK_GATEWAY_SECRET_FILE are both set"}, ""},
		{"neither", nil, &finding{outcome.Config, "gateway_secret_missing", "SLEEVE_CHECK_GATEWAY_SECRET and SLEEVE_CHECK_GATEWAY_SECRET_FILE are unset"}, ""},
		{"variable empty", map[string]string{SecretVar: ""}, &finding{outcome.Config, "gateway_secret_missing", "SLEEVE_CHECK_GATEWAY_SECRET and SLEEVE_CHECK_GATEWAY_SECRET_FILE are unset"}, ""},
		{"variable blank", map[string]string{SecretVar: "  \n"}, &finding{outcome.Config, "gateway_secret_missing", "SLEEVE_CHECK_GATEWAY_SECRET holds only whitespace"}, ""},
		{"file empty", map[string]string{SecretVar + "_FILE": empty}, &finding{outcome.Config, "gateway_secret_missing", "SLEEVE_CHECK_GATEWAY_SECRET_FILE (" + empty + ") is empty"}, ""},
		{"variable short", map[string]string{SecretVar: testSecret[:MinSecret-1]}, &finding{outcome.Config, "gateway_secret_short", "SLEEVE_CHECK_GATEWAY_SECRET holds 31 bytes; a gateway secret needs at least 32"}, ""},
		{"file short", map[string]string{SecretVar + "_FILE": short}, &finding{outcome.Config, "gateway_secret_short", "SLEEVE_CHECK_GATEWAY_SECRET_FILE (" + short + ") holds 18 bytes"}, ""},
		{"file missing", map[string]string{SecretVar + "_FILE": filepath.Join(dir, "nope")}, &finding{outcome.Config, "secret_file_unreadable", "SLEEVE_CHECK_GATEWAY_SECRET_FILE (" + filepath.Join(dir, "nope") + ") cannot be read"}, ""},
		{"file is a directory", map[string]string{SecretVar + "_FILE": dir}, &finding{outcome.Config, "secret_file_unreadable", "cannot be read"}, ""},
		{"file too big", map[string]string{SecretVar + "_FILE": big}, &finding{outcome.Config, "secret_file_unreadable", "cannot be read"}, ""},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			secret, fs := Secret(environ.FromMap(tc.env))
			checkFindings(t, fs, tc.want, testSecret, "too-short-a-secret")
			if tc.want == nil && string(secret) != tc.got {
				t.Errorf("secret = %q, want %q", secret, tc.got)
			}
		})
	}
}

func TestLoadKey(t *testing.T) {
	dir := t.TempDir()
	key := mustKey(t, testSecret, "alice")
	token := anthropictest.FakeToken("oat01", "KEY9")
	good := writeFile(t, dir, "key", key+"\n")
	tokenFile := writeFile(t, dir, "token", token+"\n")
	empty := writeFile(t, dir, "empty", "\n")
	for _, tc := range []struct {
		desc   string
		env    map[string]string
		want   *finding
		source string
	}{
		{"variable", map[string]string{KeyVar: key}, nil, KeyVar},
		{"file", map[string]string{KeyVar + "_FILE": good}, nil, KeyVar + "_FILE (" + good + ")"},
		{"a key of another gateway still has the shape", map[string]string{KeyVar: mustKey(t, "some-other-secret-of-32-bytes-at-least", "bob")}, nil, KeyVar},
		{"both set", map[string]string{KeyVar: key, KeyVar + "_FILE": good},
			&finding{outcome.Config, "secret_file_conflict", "SLEEVE_CHECK_GATEWAY_KEY and SLEEVE_CHECK_GATEWAY_KEY_FILE are both set"}, ""},
		{"neither", nil, &finding{outcome.NoCredential, "gateway_key_missing", "SLEEVE_CHECK_GATEWAY_KEY and SLEEVE_CHECK_GATEWAY_KEY_FILE are unset"}, ""},
		{"file empty", map[string]string{KeyVar + "_FILE": empty}, &finding{outcome.NoCredential, "gateway_key_missing", "SLEEVE_CHECK_GATEWAY_KEY_FILE (" + empty + ") is empty"}, ""},
		{"a Claude token instead", map[string]string{KeyVar: token},
			&finding{outcome.Malformed, "gateway_key_shape", "SLEEVE_CHECK_GATEWAY_KEY is not a gateway key (a value of length 108 ending ...KEY9): a key begins \"scgw1.\""}, ""},
		{"a Claude token in the file", map[string]string{KeyVar + "_FILE": tokenFile}, &finding{outcome.Malformed, "gateway_key_shape", "(a value of length 108 ending ...KEY9)"}, ""},
		{"file missing", map[string]string{KeyVar + "_FILE": filepath.Join(dir, "nope")}, &finding{outcome.Config, "secret_file_unreadable", "SLEEVE_CHECK_GATEWAY_KEY_FILE (" + filepath.Join(dir, "nope") + ") cannot be read"}, ""},
		{"file is a directory", map[string]string{KeyVar + "_FILE": dir}, &finding{outcome.Config, "secret_file_unreadable", "cannot be read"}, ""},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			got, source, fs := LoadKey(environ.FromMap(tc.env))
			checkFindings(t, fs, tc.want, key, token)
			if tc.want != nil {
				return
			}
			if _, err := NameOf(got); err != nil || source != tc.source {
				t.Errorf("LoadKey = %s from %q (%v); want a key from %q", Fingerprint(got), source, err, tc.source)
			}
		})
	}
}
