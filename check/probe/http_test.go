package probe

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"sleeve-check/check"
	"sleeve-check/check/anthropictest"
	"sleeve-check/internal/leaktest"
	"sleeve-check/internal/outcome"
)

func probeCfg(base string) HTTPConfig {
	return HTTPConfig{
		BaseURL: base, BaseURLSource: "ANTHROPIC_BASE_URL", Model: "claude-haiku-4-5",
		Deadline: 3 * time.Second, AttemptTimeout: time.Second, UserAgent: "sleeve-check/test",
		RetryWaitMin: 20 * time.Millisecond, RetryWaitMax: 100 * time.Millisecond, Log: zerolog.Nop(),
	}
}

func oauthCred(tok string) check.Credential {
	return check.Credential{Kind: check.KindOAuthToken, Source: "CLAUDE_CODE_OAUTH_TOKEN", Value: check.NewSecret(tok)}
}

// apiKeyCred is the kind the HTTP probe proves by default: a key any tool may use.
func apiKeyCred(key string) check.Credential {
	return check.Credential{Kind: check.KindAPIKey, Source: "ANTHROPIC_API_KEY", Value: check.NewSecret(key)}
}

func TestProbeVerdicts(t *testing.T) {
	srv := anthropictest.NewServer()
	defer srv.Close()
	tests := []struct {
		name     string
		b        anthropictest.Behavior
		kind     check.Kind
		tune     func(*HTTPConfig)
		code     outcome.Code
		sev      outcome.Severity
		class    Class
		status   check.Status
		msg      string
		attempts [2]int // min, max
	}{
		{"valid", anthropictest.Behavior{Kind: anthropictest.Valid}, check.KindAPIKey, nil, outcome.OK, outcome.Info, "valid", check.StatusValid, "accepted the credential", [2]int{1, 1}},
		{"expired", anthropictest.Behavior{Kind: anthropictest.Expired}, check.KindOAuthToken, nil, outcome.Rejected, outcome.Error, "rejected", check.StatusExpired, "has expired (HTTP 401 authentication_error: OAuth token has expired", [2]int{1, 1}},
		{"invalid", anthropictest.Behavior{Kind: anthropictest.Invalid}, check.KindAPIKey, nil, outcome.Rejected, outcome.Error, "rejected", check.StatusInvalid, "rejected the credential as invalid (HTTP 401 authentication_error: invalid x-api-key", [2]int{1, 1}},
		{"revoked", anthropictest.Behavior{Kind: anthropictest.Revoked}, check.KindOAuthToken, nil, outcome.Rejected, outcome.Error, "rejected", check.StatusInvalid, "has been revoked (HTTP 403 permission_error", [2]int{1, 1}},
		{"no scope", anthropictest.Behavior{Kind: anthropictest.NoScope}, check.KindOAuthToken, nil, outcome.Rejected, outcome.Error, "rejected", check.StatusInvalid, "revoked or lacks the scope user:inference (HTTP 403", [2]int{1, 1}},
		{"oauth as auth token", anthropictest.Behavior{Kind: anthropictest.Valid}, check.KindAuthToken, nil, outcome.Rejected, outcome.Error, "rejected", check.StatusInvalid, "without the OAuth beta header", [2]int{1, 1}},
		{"claude code only", anthropictest.Behavior{Kind: anthropictest.ClaudeCodeOnly}, check.KindOAuthToken, nil, outcome.OK, outcome.Warning, "authenticated", check.StatusUnknown, "the token authenticated, but the API serves subscription tokens to Claude Code only, so inference and usage were not checked", [2]int{1, 1}},
		// The strict fake, like the real API: a subscription token from
		// anything but Claude Code authenticates and is refused service.
		{"subscription token from sleeve-check", anthropictest.Behavior{Kind: anthropictest.Valid}, check.KindOAuthToken, nil, outcome.OK, outcome.Warning, "authenticated", check.StatusUnknown, "inference and usage were not checked (HTTP 400 invalid_request_error: This credential is only authorized for use with Claude Code", [2]int{1, 1}},
		{"low credit", anthropictest.Behavior{Kind: anthropictest.LowCredit}, check.KindAPIKey, nil, outcome.Billing, outcome.Error, "billing", check.StatusValid, "cannot pay (HTTP 400", [2]int{1, 1}},
		{"402", anthropictest.Behavior{Kind: anthropictest.Billing}, check.KindAPIKey, nil, outcome.Billing, outcome.Error, "billing", check.StatusValid, "HTTP 402 billing_error", [2]int{1, 1}},
		{"model not found", anthropictest.Behavior{Kind: anthropictest.ModelNotFound}, check.KindAPIKey, nil, outcome.OK, outcome.Warning, "valid", check.StatusValid, `probe model "claude-haiku-4-5" is not available`, [2]int{1, 1}},
		{"spend cap", anthropictest.Behavior{Kind: anthropictest.SpendCap}, check.KindAPIKey, nil, outcome.Billing, outcome.Error, "billing", check.StatusValid, "429 and no Retry-After", [2]int{1, 1}},
		{"rate limited then ok", anthropictest.Behavior{Kind: anthropictest.RateLimited, Times: 1, RetryAfter: time.Second}, check.KindAPIKey, nil, outcome.OK, outcome.Info, "valid", check.StatusValid, "accepted", [2]int{2, 2}},
		{"rate limited past deadline warns", anthropictest.Behavior{Kind: anthropictest.RateLimited, RetryAfter: time.Second}, check.KindAPIKey, func(c *HTTPConfig) { c.Deadline = 2500 * time.Millisecond }, outcome.OK, outcome.Warning, "rate_limited", check.StatusValid, "starting anyway", [2]int{2, 3}},
		{"rate limited strict", anthropictest.Behavior{Kind: anthropictest.RateLimited, RetryAfter: time.Second}, check.KindAPIKey, func(c *HTTPConfig) { c.Deadline = 1500 * time.Millisecond; c.Strict = true }, outcome.RateLimited, outcome.Error, "rate_limited", check.StatusValid, "rate-limiting this credential", [2]int{1, 2}},
		{"retry-after beyond budget stops at once", anthropictest.Behavior{Kind: anthropictest.RateLimited, RetryAfter: time.Minute}, check.KindAPIKey, func(c *HTTPConfig) { c.Strict = true }, outcome.RateLimited, outcome.Error, "rate_limited", check.StatusValid, "asked to wait 1m0s, longer than the 3s", [2]int{1, 1}},
		{"overloaded then ok", anthropictest.Behavior{Kind: anthropictest.Overloaded, Times: 2}, check.KindAPIKey, nil, outcome.OK, outcome.Info, "valid", check.StatusValid, "accepted", [2]int{3, 3}},
		{"overloaded", anthropictest.Behavior{Kind: anthropictest.Overloaded}, check.KindAPIKey, func(c *HTTPConfig) { c.Deadline = time.Second }, outcome.Unavailable, outcome.Error, "unavailable", check.StatusUnknown, "the API is overloaded (HTTP 529 overloaded_error", [2]int{3, 60}},
		{"overloaded warn", anthropictest.Behavior{Kind: anthropictest.Overloaded}, check.KindAPIKey, func(c *HTTPConfig) { c.Deadline = 500 * time.Millisecond; c.WarnUnavailable = true }, outcome.OK, outcome.Warning, "unavailable", check.StatusUnknown, "starting anyway", [2]int{2, 60}},
		{"server error", anthropictest.Behavior{Kind: anthropictest.ServerError}, check.KindAPIKey, func(c *HTTPConfig) { c.Deadline = time.Second }, outcome.Unavailable, outcome.Error, "unavailable", check.StatusUnknown, "the API failed (HTTP 500 api_error", [2]int{3, 60}},
		{"html from a proxy", anthropictest.Behavior{Kind: anthropictest.HTMLError}, check.KindAPIKey, func(c *HTTPConfig) { c.Deadline = 500 * time.Millisecond }, outcome.Unavailable, outcome.Error, "unavailable", check.StatusUnknown, `HTTP 502: HTML page titled "502 Bad Gateway"`, [2]int{2, 60}},
		{"slow", anthropictest.Behavior{Kind: anthropictest.Valid, Delay: 5 * time.Second}, check.KindAPIKey, func(c *HTTPConfig) { c.Deadline = 1200 * time.Millisecond; c.AttemptTimeout = 500 * time.Millisecond }, outcome.Unavailable, outcome.Error, "unavailable", check.StatusUnknown, "did not answer in time", [2]int{2, 3}},
		{"dropped", anthropictest.Behavior{Kind: anthropictest.Drop}, check.KindAPIKey, func(c *HTTPConfig) { c.Deadline = 500 * time.Millisecond }, outcome.Unavailable, outcome.Error, "unavailable", check.StatusUnknown, "dropped", [2]int{2, 60}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := testOAuth[:len(testOAuth)-3] + string(rune('A'+i)) + "zz"
			if tt.kind == check.KindAPIKey {
				tok = testAPIKey[:len(testAPIKey)-3] + string(rune('A'+i)) + "zz"
			}
			srv.Set(tok, tt.b)
			cfg := probeCfg(srv.URL)
			if tt.tune != nil {
				tt.tune(&cfg)
			}
			cred := check.Credential{Kind: tt.kind, Source: "VAR", Value: check.NewSecret(tok)}
			start := time.Now()
			v := HTTP(context.Background(), cred, cfg)
			elapsed := time.Since(start)
			f := v.Finding
			if f.Code != tt.code || f.Severity != tt.sev || v.Class != tt.class || v.Status != tt.status || !strings.Contains(f.Message, tt.msg) {
				t.Fatalf("got code %d %s class %s status %s %q; want code %d %s class %s status %s ~%q", f.Code, f.Severity, v.Class, v.Status, f.Message, tt.code, tt.sev, tt.class, tt.status, tt.msg)
			}
			if v.Attempts < tt.attempts[0] || v.Attempts > tt.attempts[1] {
				t.Errorf("%d attempts in %s, want %d..%d", v.Attempts, elapsed, tt.attempts[0], tt.attempts[1])
			}
			// A bound, not a benchmark: the probe never outlives its deadline by much.
			if elapsed > cfg.Deadline+3*time.Second {
				t.Errorf("took %s with a deadline of %s", elapsed, cfg.Deadline)
			}
			if v.ErrorType != "" && !strings.Contains(f.Message, "request-id req_fake") {
				t.Errorf("no request-id in %q", f.Message)
			}
			if (f.Severity != outcome.Info) && f.Hint == "" {
				t.Errorf("no hint")
			}
			if w := leaktest.LeakedWindow(tok, f.Message+f.Hint); w != "" {
				t.Fatalf("leak %q", w)
			}
		})
	}
}

func TestProbeHeaders(t *testing.T) {
	srv := anthropictest.NewServer()
	defer srv.Close()
	srv.Set(testOAuth, anthropictest.Behavior{Kind: anthropictest.Valid})
	srv.Set(testAPIKey, anthropictest.Behavior{Kind: anthropictest.Valid})
	gw := "gateway-token-" + strings.Repeat("g", 30)
	srv.Set(gw, anthropictest.Behavior{Kind: anthropictest.Valid})
	cfg := probeCfg(srv.URL + "/")
	cfg.CustomHeaders = "X-Team: sleeves\nx-trace:  abc \n"
	for _, c := range []struct {
		cred            check.Credential
		auth, key, beta string
	}{
		{oauthCred(testOAuth), "Bearer " + testOAuth, "", "oauth-2025-04-20"},
		{check.Credential{Kind: check.KindOAuthFile, Value: check.NewSecret(testOAuth)}, "Bearer " + testOAuth, "", "oauth-2025-04-20"},
		{check.Credential{Kind: check.KindAPIKey, Value: check.NewSecret(testAPIKey)}, "", testAPIKey, ""},
		{check.Credential{Kind: check.KindAuthToken, Value: check.NewSecret(gw)}, "Bearer " + gw, "", ""},
	} {
		srv.Reset()
		want := Valid
		if c.cred.Kind == check.KindOAuthToken || c.cred.Kind == check.KindOAuthFile {
			want = Authenticated // the strict fake: sleeve-check is not Claude Code
		}
		if v := HTTP(context.Background(), c.cred, cfg); v.Class != want {
			t.Fatalf("%s: %+v", c.cred.Kind, v)
		}
		r := srv.Requests()
		if len(r) != 1 {
			t.Fatalf("%d requests", len(r))
		}
		h := r[0].Header
		if r[0].Path != "/v1/messages" || h.Get("Authorization") != c.auth || h.Get("x-api-key") != c.key || h.Get("anthropic-beta") != c.beta ||
			h.Get("anthropic-version") != "2023-06-01" || h.Get("User-Agent") != "sleeve-check/test" || h.Get("X-Team") != "sleeves" || h.Get("X-Trace") != "abc" {
			t.Errorf("%s: path %s headers %v", c.cred.Kind, r[0].Path, h)
		}
		if !strings.Contains(string(r[0].Body), `"max_tokens":1`) {
			t.Errorf("body %s", r[0].Body)
		}
	}
}

func TestProbeNeverFollowsRedirect(t *testing.T) {
	var elsewhere int
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere++ }))
	defer other.Close()
	srv := anthropictest.NewServer()
	defer srv.Close()
	srv.Set(testOAuth, anthropictest.Behavior{Kind: anthropictest.Redirect, Location: other.URL + "/steal"})
	v := HTTP(context.Background(), oauthCred(testOAuth), probeCfg(srv.URL))
	if v.Finding.Code != outcome.Config || v.Class != "redirect" || !strings.Contains(v.Finding.Message, other.URL+"/steal") || v.Attempts != 1 {
		t.Fatalf("%+v", v)
	}
	if elsewhere != 0 {
		t.Fatalf("the redirect target got %d requests", elsewhere)
	}
}

func TestProbeRefusesPlainHTTPOffLoopbackWhenTLSIsRequired(t *testing.T) {
	// With RequireTLS nothing is sent: no attempt is made.
	for _, base := range []string{"http://10.255.255.1:9", "http://192.0.2.1", "ftp://127.0.0.1", "not a url"} {
		cfg := probeCfg(base)
		cfg.RequireTLS = true
		v := HTTP(context.Background(), oauthCred(testOAuth), cfg)
		if v.Finding.Code != outcome.Config || v.Attempts != 0 {
			t.Errorf("%s: %+v", base, v)
		}
	}
	cfg := probeCfg("http://10.255.255.1:9")
	cfg.RequireTLS = true
	v := HTTP(context.Background(), oauthCred(testOAuth), cfg)
	if !strings.Contains(v.Finding.Message, "plain http to \"10.255.255.1:9\", which is not a loopback address, and SLEEVE_CHECK_REQUIRE_TLS is set") {
		t.Errorf("%q", v.Finding.Message)
	}
}

// TestProbeSendsPlainHTTPOffLoopback: without RequireTLS the probe goes
// where Claude Code goes, a gateway on plain http on the sleeves' network
// (here the fake on this machine's own non-loopback address).
func TestProbeSendsPlainHTTPOffLoopback(t *testing.T) {
	ip, err := anthropictest.LocalAddress()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := anthropictest.NewServerOn(net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	srv.Set(testAPIKey, anthropictest.Behavior{Kind: anthropictest.Valid})
	v := HTTP(context.Background(), check.Credential{Kind: check.KindAPIKey, Source: "ANTHROPIC_API_KEY", Value: check.NewSecret(testAPIKey)}, probeCfg(srv.URL))
	if v.Class != Valid || v.Attempts != 1 || !strings.HasPrefix(srv.URL, "http://"+ip) {
		t.Fatalf("%s: %+v", srv.URL, v)
	}
}

func TestProbeTransportFailures(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	refused := "http://" + l.Addr().String()
	l.Close()
	plain := anthropictest.NewServer()
	defer plain.Close()
	tlsSrv := httptest.NewTLSServer(anthropictest.New())
	defer tlsSrv.Close()
	for _, c := range []struct {
		base, id, hint string
		maxAttempts    int
	}{
		{refused, "probe_refused", "listening", 100},
		{"https://nonexistent.invalid", "probe_dns", "DNS", 100},
		{tlsSrv.URL, "probe_tls_certificate", "NODE_EXTRA_CA_CERTS", 1},
		{strings.Replace(plain.URL, "http://", "https://", 1), "probe_tls", "https://", 1},
	} {
		cfg := probeCfg(c.base)
		// Long enough for a TLS handshake on a loaded machine (the race
		// detector, a fleet of claude -p beside it), in one attempt: with
		// the 1 s attempt timeout, a handshake slowed past it under the
		// whole suite's load was retried, and the certificate error came
		// on attempt 2. For those one-attempt cases 2 s was still too
		// short once beside the e2e runs (load 7 on 2 cores); a longer
		// deadline only costs time when they break. The retried ones
		// keep 2 s.
		cfg.Deadline = 2 * time.Second
		if c.maxAttempts == 1 {
			cfg.Deadline = 15 * time.Second
		}
		cfg.AttemptTimeout = cfg.Deadline
		v := HTTP(context.Background(), oauthCred(testOAuth), cfg)
		if v.Finding.Code != outcome.Unavailable || v.Finding.ID != c.id || !strings.Contains(v.Finding.Hint, c.hint) || v.Attempts > c.maxAttempts {
			t.Errorf("%s: %+v", c.base, v)
		}
	}
}

func TestProbeExtraCA(t *testing.T) {
	api := anthropictest.New()
	api.Set(testAPIKey, anthropictest.Behavior{Kind: anthropictest.Valid})
	srv := httptest.NewTLSServer(api)
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600)
	cfg := probeCfg(srv.URL)
	cfg.ExtraCAFile = ca
	if v := HTTP(context.Background(), apiKeyCred(testAPIKey), cfg); v.Class != "valid" {
		t.Fatalf("%+v", v)
	}
}

func TestProbeInterrupted(t *testing.T) {
	srv := anthropictest.NewServer()
	defer srv.Close()
	srv.Set(testOAuth, anthropictest.Behavior{Kind: anthropictest.Valid, Delay: 10 * time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	cfg := probeCfg(srv.URL)
	cfg.Deadline, cfg.AttemptTimeout = 20*time.Second, 20*time.Second
	start := time.Now()
	v := HTTP(ctx, oauthCred(testOAuth), cfg)
	if v.Class != "interrupted" || time.Since(start) > 2*time.Second {
		t.Fatalf("%+v after %s", v, time.Since(start))
	}
}

func TestParseAPIError(t *testing.T) {
	for _, c := range []struct {
		body, typ, msg string
		anthropic      bool
	}{
		{`{"type":"error","error":{"type":"authentication_error","message":"bad"},"request_id":"req_1"}`, "authentication_error", "bad", true},
		{`<html><head><title>Access denied</title></head></html>`, "", `HTML page titled "Access denied"`, false},
		{"", "", "an empty body", false},
		{"\xff\xfe\x00garbage", "", `"? garbage"`, false},
		{`{"type":"error","error":{"type":"x","message":"echo sk-ant-oat01-AAAABBBBCCCCDDDD back"}}`, "x", "echo [redacted] back", true},
		{strings.Repeat("[", 100000), "", `"[[[[`, false},
	} {
		e := ParseAPIError([]byte(c.body))
		if e.Type != c.typ || !strings.Contains(e.Message, c.msg) || e.Anthropic != c.anthropic || len(e.Message) > maxShownMessage+3 {
			t.Errorf("%.40q: %+v", c.body, e)
		}
	}
}

func TestProbeProxy(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://" + l.Addr().String()
	l.Close()
	cfg := probeCfg("https://api.anthropic.invalid")
	cfg.Deadline = 400 * time.Millisecond
	cfg.Proxy = func(*http.Request) (*url.URL, error) { return url.Parse(dead) }
	v := HTTP(context.Background(), apiKeyCred(testAPIKey), cfg)
	if v.Finding.ID != "probe_proxy" || v.Finding.Code != outcome.Unavailable || !strings.Contains(v.Finding.Hint, "HTTPS_PROXY") {
		t.Fatalf("%+v", v)
	}

	// A working CONNECT proxy carries the probe to a TLS server it trusts
	// through NODE_EXTRA_CA_CERTS.
	api := anthropictest.New()
	api.Set(testAPIKey, anthropictest.Behavior{Kind: anthropictest.Valid})
	srv := httptest.NewTLSServer(api)
	defer srv.Close()
	var tunnels atomic.Int32
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
			return
		}
		tunnels.Add(1)
		up, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		w.WriteHeader(http.StatusOK)
		down, buf, _ := w.(http.Hijacker).Hijack()
		// From buf, not down: the server may have read the first byte of
		// the client's TLS hello already (the 200 goes out before the
		// hijack stops its background read). Reading down lost it now and
		// then: a failed handshake, a retry, a second tunnel.
		go func() { io.Copy(up, buf); up.Close() }()
		io.Copy(down, up)
		down.Close()
	}))
	defer proxy.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600)
	cfg = probeCfg(srv.URL)
	cfg.ExtraCAFile = ca
	cfg.Proxy = func(*http.Request) (*url.URL, error) { return url.Parse(proxy.URL) }
	if v := HTTP(context.Background(), apiKeyCred(testAPIKey), cfg); v.Class != "valid" || tunnels.Load() != 1 {
		t.Fatalf("through the proxy: %+v, %d tunnels", v, tunnels.Load())
	}
}

// A base URL ending in /v1 makes the probe (and Claude check.Code: observed with
// 2.1.332, every message fails) POST /v1/v1/messages, which the API answers
// 404 not_found_error "Not Found". That is not "the model is unavailable":
// the credential was never checked, even a revoked one would pass.
func TestProbeBaseURLNotFound(t *testing.T) {
	srv := anthropictest.NewServer()
	defer srv.Close()
	srv.Set(testOAuth, anthropictest.Behavior{Kind: anthropictest.Revoked})
	for _, base := range []string{srv.URL + "/v1", srv.URL + "/v1/"} {
		v := HTTP(context.Background(), oauthCred(testOAuth), probeCfg(base))
		if v.Finding.Code != outcome.Config || v.Class != "not_anthropic" || !strings.Contains(v.Finding.Message, "ends in /v1, so requests go to /v1/v1/messages and get 404") ||
			v.Finding.Hint != "set ANTHROPIC_BASE_URL="+srv.URL+" (without the /v1)" {
			t.Fatalf("%s: %+v", base, v)
		}
	}
	v := HTTP(context.Background(), oauthCred(testOAuth), probeCfg(srv.URL+"/gateway"))
	if v.Finding.Code != outcome.Config || !strings.Contains(v.Finding.Message, "POST /gateway/v1/messages gave 404") {
		t.Fatalf("%+v", v)
	}
}

// Secrets in the base URL (a gateway's user:password, a ?key= query) never
// appear in a verdict, whichever way the failure quotes the URL.
func TestProbeRedactsBaseURL(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := l.Addr().String()
	l.Close()
	srv := anthropictest.NewServer()
	defer srv.Close()
	srv.Set(testOAuth, anthropictest.Behavior{Kind: anthropictest.Redirect, Location: "https://elsewhere.invalid/v1/messages?sig=hunter2xyz"})
	for _, base := range []string{
		"http://gwuser:hunter2pass@" + dead + "/?key=hunter2key",
		"https://gwuser:hunter2pass@" + dead + "/v1?key=hunter2key",
		"http://gwuser:hunter2pass@" + strings.TrimPrefix(srv.URL, "http://") + "?key=hunter2key",
		"ftp://gwuser:hunter2pass@x/?key=hunter2key",
	} {
		cfg := probeCfg(base)
		cfg.Deadline = 300 * time.Millisecond
		var logs strings.Builder
		cfg.Log = zerolog.New(&logs).Level(zerolog.DebugLevel)
		cfg.BaseURLSource = "the base URL " + strconv.Quote(RedactURL(base)) + " (ANTHROPIC_BASE_URL)"
		v := HTTP(context.Background(), oauthCred(testOAuth), cfg)
		b, _ := json.Marshal(v)
		for _, s := range []string{"hunter2", "gwuser"} {
			if strings.Contains(string(b), s) || strings.Contains(logs.String(), s) {
				t.Fatalf("%s leaked: %s\nlogs: %s", s, b, logs.String())
			}
		}
		if v.Finding.Severity != outcome.Error || !strings.Contains(v.Finding.Message, "REDACTED") {
			t.Fatalf("%s: %+v", base, v)
		}
	}
	if got := RedactURL("https://u:p@gw.example/api?key=abc&x=1"); got != "https://REDACTED:REDACTED@gw.example/api?key=REDACTED&x=REDACTED" {
		t.Fatal(got)
	}
	if got := RedactURL("https://api.anthropic.com"); got != "https://api.anthropic.com" {
		t.Fatal(got)
	}
}

var (
	testOAuth  = anthropictest.FakeToken("oat01", "iO5aBb")
	testAPIKey = anthropictest.FakeToken("api03", "qW6eRt-AA")
)
