package main

import (
	"sleeve-check/check/anthropictest"
	"sleeve-check/internal/leaktest"

	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// rawAnswer is what the hostile API answers for one token.
type rawAnswer struct {
	status  int
	headers map[string]string
	body    []byte
	stall   bool // send headers, then never finish the body
}

// hostileAPI answers each token with a fixed raw response, whatever it is.
type hostileAPI struct {
	mu      sync.Mutex
	answers map[string]rawAnswer
	hosts   map[string]int
	// plain answers the cases whose answers are not the point, as the
	// fake API does (claude, which proves fakeOAuth, needs a real message).
	plain *anthropictest.API
}

func (h *hostileAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if k := r.Header.Get("x-api-key"); k != "" {
		tok = k
	}
	h.mu.Lock()
	a, ok := h.answers[tok]
	h.hosts[r.Host]++
	h.mu.Unlock()
	if tok == fakeOAuth {
		h.plain.ServeHTTP(w, r)
		return
	}
	if !ok {
		w.WriteHeader(500)
		return
	}
	for k, v := range a.headers {
		w.Header().Set(k, v)
	}
	w.WriteHeader(a.status)
	w.Write(a.body)
	if a.stall {
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}
}

// A table of bad inputs - environment values, files, API answers - run
// through the real binary. Each has its exit code and message; none may
// panic, hang (30 s), or print a secret.
func TestHostileInputs(t *testing.T) {
	bin := buildBinary(t)
	plain := anthropictest.New()
	plain.Set(fakeOAuth, anthropictest.Behavior{Kind: anthropictest.Valid})
	plain.Set(fakeAPIKey, anthropictest.Behavior{Kind: anthropictest.Valid})
	api := &hostileAPI{answers: map[string]rawAnswer{fakeAPIKey: {status: 200, body: []byte(`{}`)}}, hosts: map[string]int{}, plain: plain}
	srv := httptest.NewServer(api)
	defer srv.Close()

	nested := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	cred := func(access string, expires string) string {
		return fmt.Sprintf(`{"claudeAiOauth":{"accessToken":%q,"refreshToken":"","expiresAt":%s,"scopes":["user:inference"]}}`, access, expires)
	}
	anError := func(status int, typ, msg string) rawAnswer {
		return rawAnswer{status: status, headers: map[string]string{"Content-Type": "application/json", "request-id": "req_hostile"},
			body: []byte(fmt.Sprintf(`{"type":"error","error":{"type":%q,"message":%q},"request_id":"req_hostile"}`, typ, msg))}
	}
	huge := bytes.Repeat([]byte("x"), 10<<20)
	type tc struct {
		name   string
		env    map[string]string // added to a base env with HOME, PATH, the fake API
		files  map[string]string // relative to HOME
		answer *rawAnswer        // the API's answer to this case's own token
		code   int
		msg    string // regexp the output must match
	}
	cases := []tc{
		// Environment values.
		{name: "token 100 KB", env: map[string]string{"CLAUDE_CODE_OAUTH_TOKEN": strings.Repeat("a", 100<<10)}, code: 5, msg: `is 102400 characters long, too long`},
		{name: "token invalid UTF-8", env: map[string]string{"CLAUDE_CODE_OAUTH_TOKEN": fakeOAuth[:40] + "\xff\xfe" + fakeOAuth[40:]}, code: 5, msg: `contains invalid UTF-8 at position 40`},
		{name: "token ANSI escape", env: map[string]string{"CLAUDE_CODE_OAUTH_TOKEN": fakeOAuth[:40] + "\x1b[31m" + fakeOAuth[40:]}, code: 5, msg: `control character 0x1b`},
		{name: "token only Bearer", env: map[string]string{"CLAUDE_CODE_OAUTH_TOKEN": "Bearer "}, code: 5, msg: `starts with "Bearer "`},
		{name: "token two quotes", env: map[string]string{"CLAUDE_CODE_OAUTH_TOKEN": "''"}, code: 5, msg: `wrapped in quotes`},
		{name: "token tab inside", env: map[string]string{"CLAUDE_CODE_OAUTH_TOKEN": fakeOAuth[:30] + "\t" + fakeOAuth[30:]}, code: 5, msg: `whitespace at position 30`},
		{name: "token only a newline", env: map[string]string{"CLAUDE_CODE_OAUTH_TOKEN": "\n"}, code: 5, msg: `is blank`},
		{name: "api key holds oauth", env: map[string]string{"ANTHROPIC_API_KEY": fakeOAuth}, code: 5, msg: `holds an OAuth token`},
		{name: "negative probe timeout", env: map[string]string{"CLAUDE_CODE_OAUTH_TOKEN": fakeOAuth, "SLEEVE_CHECK_PROBE_TIMEOUT": "-5s"}, code: 3, msg: `SLEEVE_CHECK_PROBE_TIMEOUT must be positive`},
		{name: "duration overflow", env: map[string]string{"CLAUDE_CODE_OAUTH_TOKEN": fakeOAuth, "SLEEVE_CHECK_PROBE_TIMEOUT": "99999999999h"}, code: 3, msg: `invalid value "99999999999h" for SLEEVE_CHECK_PROBE_TIMEOUT`},
		{name: "duration 1e400", env: map[string]string{"CLAUDE_CODE_OAUTH_TOKEN": fakeOAuth, "SLEEVE_CHECK_EXPIRY_WARNING": "1e400h"}, code: 3, msg: `SLEEVE_CHECK_EXPIRY_WARNING`},
		{name: "impossible date", env: map[string]string{"CLAUDE_CODE_OAUTH_TOKEN": fakeOAuth, "SLEEVE_CHECK_OAUTH_TOKEN_ISSUED": "2026-02-30"}, code: 3, msg: `"2026-02-30" is not a date`},
		{name: "trust dir invalid UTF-8", env: map[string]string{"CLAUDE_CODE_OAUTH_TOKEN": fakeOAuth, "SLEEVE_CHECK_TRUST_DIRS": "w\xff"}, code: 3, msg: `must list absolute directories`},
		{name: "bool not a bool", env: map[string]string{"CLAUDE_CODE_OAUTH_TOKEN": fakeOAuth, "SLEEVE_CHECK_STRICT": "yes please"}, code: 3, msg: `SLEEVE_CHECK_STRICT`},
		{name: "base URL malformed", env: map[string]string{"CLAUDE_CODE_OAUTH_TOKEN": fakeOAuth, "ANTHROPIC_BASE_URL": "http://[::1"}, code: 3, msg: `is not an http\(s\) URL`},
		{name: "base URL javascript", env: map[string]string{"CLAUDE_CODE_OAUTH_TOKEN": fakeOAuth, "ANTHROPIC_BASE_URL": "javascript:alert(1)"}, code: 3, msg: `is not an http\(s\) URL`},
		{name: "custom headers garbage", env: map[string]string{"ANTHROPIC_API_KEY": fakeAPIKey, "ANTHROPIC_CUSTOM_HEADERS": "no colon here"}, code: 3, msg: `ANTHROPIC_CUSTOM_HEADERS has a line`},
		{name: "config dir is a file", env: map[string]string{"CLAUDE_CODE_OAUTH_TOKEN": fakeOAuth, "CLAUDE_CONFIG_DIR": "HOME/afile"}, files: map[string]string{"afile": "x"}, code: 7, msg: `cannot create the directory of ".*/afile/.claude.json": not a directory`},
		// Credentials files.
		{name: "credentials 2 MB", files: map[string]string{".claude/.credentials.json": strings.Repeat(" ", 2<<20)}, code: 5, msg: `is larger than 1048576 bytes`},
		{name: "credentials NUL bytes", files: map[string]string{".claude/.credentials.json": "\x00\x00{\x00}"}, code: 5, msg: `is not valid JSON`},
		{name: "credentials nested 100000", files: map[string]string{".claude/.credentials.json": nested(100000)}, code: 5, msg: `is not valid JSON`},
		{name: "credentials expiresAt 1e400", files: map[string]string{".claude/.credentials.json": cred(fakeOAuth, "1e400")}, code: 5, msg: `expiresAt \+Inf is not a plausible time`},
		{name: "credentials expiresAt -1", files: map[string]string{".claude/.credentials.json": cred(fakeOAuth, "-1")}, code: 5, msg: `expiresAt -1 is not a plausible time`},
		{name: "credentials expiresAt 2^53+1", files: map[string]string{".claude/.credentials.json": cred(fakeOAuth, "9007199254740993")}, code: 5, msg: `is not a plausible time`},
		{name: "credentials UTF-16 BOM", files: map[string]string{".claude/.credentials.json": "\xff\xfe{\x00}\x00"}, code: 5, msg: `is not valid JSON`},
		{name: "credentials token with newline", files: map[string]string{".claude/.credentials.json": cred(fakeOAuth+"\n", "4102444800000")}, code: 5, msg: `accessToken ends with a newline`},
		{name: "credentials oauth is a list", files: map[string]string{".claude/.credentials.json": `{"claudeAiOauth":[]}`}, code: 5, msg: `"claudeAiOauth" is not an object`},
		{name: "credentials symlink loop", files: map[string]string{".claude/.credentials.json": "->.credentials.json"}, code: 4, msg: `cannot be opened: too many levels of symbolic links`},
		// Claude Code's config.
		{name: "config nested 100000", env: map[string]string{"CLAUDE_CODE_OAUTH_TOKEN": fakeOAuth}, files: map[string]string{".claude.json": nested(100000)}, code: 0, msg: `was corrupt; a copy is kept`},
		{name: "config invalid UTF-8", env: map[string]string{"CLAUDE_CODE_OAUTH_TOKEN": fakeOAuth}, files: map[string]string{".claude.json": "{\"a\":\"\xff\"}"}, code: 0, msg: `was corrupt`},
		{name: "config NUL bytes", env: map[string]string{"CLAUDE_CODE_OAUTH_TOKEN": fakeOAuth}, files: map[string]string{".claude.json": "\x00\x00\x00"}, code: 0, msg: `was corrupt`},
		{name: "config null", env: map[string]string{"CLAUDE_CODE_OAUTH_TOKEN": fakeOAuth}, files: map[string]string{".claude.json": "null"}, code: 0, msg: `was corrupt`},
		{name: "config number out of range kept", env: map[string]string{"CLAUDE_CODE_OAUTH_TOKEN": fakeOAuth}, files: map[string]string{".claude.json": `{"n": 1e999999}`}, code: 0, msg: `^sleeve-check: info: ok`},
		{name: "config 70 MB", env: map[string]string{"CLAUDE_CODE_OAUTH_TOKEN": fakeOAuth, "SLEEVE_CHECK_PROBE_TIMEOUT": "30s"}, files: map[string]string{".claude.json": "{\"a\":\"" + strings.Repeat("x", 70<<20) + "\"}"}, code: 0, msg: `info: ok: oauth_token`}, // Claude Code handles it, so must the start (issue 9)
		{name: "settings env nested", env: map[string]string{"CLAUDE_CODE_OAUTH_TOKEN": fakeOAuth}, files: map[string]string{".claude/settings.json": `{"env":` + nested(50000) + `}`}, code: 0, msg: `settings file ".*" is not valid JSON`},
		{name: "managed settings a directory", env: map[string]string{"CLAUDE_CODE_OAUTH_TOKEN": fakeOAuth, "SLEEVE_CHECK_MANAGED_SETTINGS": "HOME/managed"}, files: map[string]string{"managed/x": ""}, code: 0, msg: `settings file ".*/managed" cannot be read: is a directory`},
		// API answers.
		{name: "200 with 10 MB body", answer: &rawAnswer{status: 200, body: huge}, code: 0, msg: `ok:`},
		{name: "401 HTML page", answer: &rawAnswer{status: 401, headers: map[string]string{"Content-Type": "text/html"}, body: []byte("<html><head><title>Sign in to the proxy</title></head></html>")}, code: 6, msg: `rejected the credential as invalid \(HTTP 401: HTML page titled "Sign in to the proxy"\)`},
		{name: "502 HTML page", answer: &rawAnswer{status: 502, body: []byte("<!DOCTYPE html><html><body>bad gateway</body></html>")}, code: 8, msg: `the API failed \(HTTP 502: an HTML page\)`},
		{name: "401 invalid UTF-8", answer: &rawAnswer{status: 401, body: []byte("\xff\xfe\xfd garbage")}, code: 6, msg: `HTTP 401: "\? garbage"`},
		{name: "401 nested JSON", answer: &rawAnswer{status: 401, body: []byte(nested(100000))}, code: 6, msg: `HTTP 401: "\[\[\[`},
		{name: "401 NUL bytes", answer: &rawAnswer{status: 401, body: []byte("\x00\x00\x00")}, code: 6, msg: `rejected the credential as invalid`},
		{name: "429 retry-after not a number", answer: &rawAnswer{status: 429, headers: map[string]string{"Retry-After": "soon"}, body: []byte(`{}`)}, code: 0, msg: `kept rate-limiting this credential until the probe's deadline`},
		{name: "429 retry-after 1e308", answer: &rawAnswer{status: 429, headers: map[string]string{"Retry-After": "1e308"}, body: []byte(`{}`)}, code: 0, msg: `rate-limiting`},
		{name: "200 echoing the token", answer: &rawAnswer{status: 200, body: []byte("you sent TOKEN")}, code: 0, msg: `ok:`},
		{name: "401 message echoing the token", answer: func() *rawAnswer { a := anError(401, "authentication_error", "bad token TOKEN"); return &a }(), code: 6, msg: `bad token \[redacted\]`},
		{name: "redirect to a URL with the token", answer: &rawAnswer{status: 302, headers: map[string]string{"Location": "https://elsewhere.invalid/?t=TOKEN"}}, code: 3, msg: `redirect \(302\) to "https://elsewhere.invalid/\?t=REDACTED"`},
		{name: "status 999", answer: &rawAnswer{status: 999, body: []byte("?")}, code: 8, msg: `unexpected answer \(HTTP 999`},
		{name: "body never ends", answer: &rawAnswer{status: 200, body: []byte("{"), stall: true}, code: 0, msg: `ok:`},
	}
	if len(cases) < 40 {
		t.Fatalf("only %d cases", len(cases))
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			home := t.TempDir()
			// An API key: these answers are for sleeve-check's own HTTP
			// probe (a subscription token is proved by claude instead).
			tok := fmt.Sprintf("sk-ant-api03-hostile%03d", i) + strings.Repeat("H", 80) + fmt.Sprintf("-h%03d", i)
			env := map[string]string{"HOME": home, "PATH": pathWithClaude(t), "ANTHROPIC_BASE_URL": srv.URL,
				"SLEEVE_CHECK_STATE_DIR": filepath.Join(home, "state"), "SLEEVE_CHECK_PROBE_TIMEOUT": "2s", "SLEEVE_CHECK_PROBE_ATTEMPT_TIMEOUT": "1s"}
			if c.answer != nil {
				a := *c.answer
				a.body = bytes.ReplaceAll(a.body, []byte("TOKEN"), []byte(tok))
				a.headers = map[string]string{}
				for k, v := range c.answer.headers {
					a.headers[k] = strings.ReplaceAll(v, "TOKEN", tok)
				}
				api.mu.Lock()
				api.answers[tok] = a
				api.mu.Unlock()
				env["ANTHROPIC_API_KEY"] = tok
			}
			for k, v := range c.env {
				env[k] = strings.ReplaceAll(v, "HOME", home)
			}
			if _, ok := c.env["SLEEVE_CHECK_PROBE_TIMEOUT"]; !ok && c.env["CLAUDE_CODE_OAUTH_TOKEN"] == fakeOAuth {
				// Proved by claude -p, which took over 2 s once beside the
				// e2e runs; the deadline only costs time when it breaks.
				env["SLEEVE_CHECK_PROBE_TIMEOUT"] = "15s"
			}
			for name, content := range c.files {
				p := filepath.Join(home, name)
				os.MkdirAll(filepath.Dir(p), 0o755)
				if strings.HasPrefix(content, "->") {
					os.Symlink(content[2:], p)
					continue
				}
				os.WriteFile(p, []byte(content), 0o600)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "--", "true")
			for k, v := range env {
				cmd.Env = append(cmd.Env, k+"="+v)
			}
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			cmd.Run()
			if ctx.Err() != nil {
				t.Fatalf("hung:\n%s", out.String())
			}
			got := out.String()
			if code := cmd.ProcessState.ExitCode(); code != c.code {
				t.Fatalf("exit %d, want %d:\n%s", code, c.code, trunc(got))
			}
			if !regexp.MustCompile(`(?m)` + c.msg).MatchString(got) {
				t.Fatalf("no /%s/ in:\n%s", c.msg, trunc(got))
			}
			if strings.Contains(got, "panic") || strings.Contains(got, "goroutine ") {
				t.Fatalf("panic:\n%s", trunc(got))
			}
			for _, secret := range []string{tok, fakeOAuth} {
				if w := leaktest.LeakedWindow(secret, got); w != "" {
					t.Fatalf("secret leaked (%q):\n%s", w, trunc(got))
				}
				for _, f := range []string{"state/state.json", "state/probe.json", ".claude.json"} {
					b, _ := os.ReadFile(filepath.Join(home, f))
					if w := leaktest.LeakedWindow(secret, string(b)); w != "" {
						t.Fatalf("secret leaked into %s (%q)", f, w)
					}
				}
			}
		})
	}
	for host := range api.hosts {
		if !strings.HasPrefix(srv.URL, "http://"+host) {
			t.Errorf("a request went to %s", host)
		}
	}
}

func trunc(s string) string {
	if len(s) > 2000 {
		return s[:2000] + "..."
	}
	return s
}
