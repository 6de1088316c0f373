package check

import (
	"strings"
	"testing"
	"time"

	"sleeve-check/internal/outcome"
)

func FuzzParseCredentials(f *testing.F) {
	f.Add([]byte(credJSON(testOAuth, "sk-ant-ort01-x", ms(testNow), inference)))
	f.Add([]byte(credJSON("", "", 0, inference)))
	f.Add([]byte(`{"claudeAiOauth":{"accessToken":"a","expiresAt":"1"}}`))
	f.Add([]byte(`{"claudeAiOauth":null}`))
	f.Add([]byte(`{"claudeAiOauth":{"expiresAt":1e999,"accessToken":"` + testOAuth + `"}}`))
	f.Add([]byte(strings.Repeat("[", 10000)))
	f.Fuzz(func(t *testing.T, data []byte) {
		of, fs := ParseCredentials("/p", data)
		if e := fs.FirstError(); e == nil {
			if of.AccessToken.Len() == 0 {
				t.Fatal("accepted an empty access token")
			}
			if of.ExpiresAt.Before(time.UnixMilli(msFloor)) || of.ExpiresAt.After(time.UnixMilli(msCeiling)) {
				t.Fatalf("accepted an implausible expiry %v", of.ExpiresAt)
			}
			if of.HasScopes && !contains(of.Scopes, "user:inference") {
				t.Fatal("accepted scopes without user:inference")
			}
		} else if e.Message == "" || e.Hint == "" || e.Code == outcome.OK {
			t.Fatalf("error without message, hint or code: %+v", *e)
		}
		if tok := of.AccessToken.Reveal(); len(tok) >= 16 {
			assertNoSecret(t, tok, fs)
		}
	})
}

func FuzzCheckToken(f *testing.F) {
	for _, s := range []string{testOAuth, testAPIKey, `"x"`, "Bearer x", "sk-ant-api03-", "\x00", "é"} {
		f.Add(uint8(0), s)
	}
	kinds := []Kind{KindOAuthToken, KindAPIKey, KindAuthToken}
	f.Fuzz(func(t *testing.T, k uint8, v string) {
		fs := CheckToken(kinds[int(k)%len(kinds)], "VAR", NewSecret(v))
		if fs.HasError() {
			return
		}
		// Whatever passes can be sent in an HTTP header as it is.
		for i := 0; i < len(v); i++ {
			if v[i] <= ' ' || v[i] >= 0x7f {
				t.Fatalf("accepted byte 0x%02x", v[i])
			}
		}
		if len(v) < minTokenLen || len(v) > maxTokenLen {
			t.Fatalf("accepted length %d", len(v))
		}
		// Values built from the published prefixes overlap the messages
		// that name those prefixes on purpose (the fuzzer finds such
		// values); realistic secrets are covered by the table tests.
		if len(v) >= 16 && !strings.Contains(v, "ant-") {
			assertNoSecret(t, v, fs)
		}
	})
}
