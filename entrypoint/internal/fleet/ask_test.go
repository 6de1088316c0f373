package fleet

import (
	"context"
	"encoding/json"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"sleeve-check/check"
	"sleeve-check/check/probe"
	"sleeve-check/internal/environ"
	"sleeve-check/internal/leaktest"
	"sleeve-check/internal/outcome"
)

func TestRealCredentials(t *testing.T) {
	env := environ.FromMap(map[string]string{
		"CLAUDE_CODE_OAUTH_TOKEN_FILE": "/run/secrets/t", "ANTHROPIC_API_KEY": "k", "ANTHROPIC_AUTH_TOKEN": "",
		"SLEEVE_CHECK_GATEWAY_KEY": "scgw1.a.x", "PATH": "/bin",
	})
	if got, want := RealCredentials(env), []string{"ANTHROPIC_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN_FILE"}; !slices.Equal(got, want) {
		t.Errorf("RealCredentials = %q, want %q (an empty variable carries nothing)", got, want)
	}
	if got := RealCredentials(environ.FromMap(map[string]string{"PATH": "/bin", KeyVar: "x"})); got != nil {
		t.Errorf("RealCredentials of a sleeve with only its key = %q, want none", got)
	}
}

func TestClaudeEnv(t *testing.T) {
	key := mustKey(t, testSecret, "alice")
	base := environ.FromMap(map[string]string{
		"PATH": "/usr/bin", "HOME": "/home/agent", "ANTHROPIC_BASE_URL": "https://api.anthropic.com",
		"ANTHROPIC_API_KEY": "real-key", "ANTHROPIC_API_KEY_FILE": "/k", "CLAUDE_CODE_OAUTH_TOKEN": "real-token",
		"CLAUDE_CODE_OAUTH_TOKEN_FILE": "/t", "ANTHROPIC_AUTH_TOKEN": "real-auth", "ANTHROPIC_AUTH_TOKEN_FILE": "/a",
		KeyVar: key,
	})
	for _, tc := range []struct {
		kind check.Kind
		into string
	}{
		{check.KindOAuthToken, "CLAUDE_CODE_OAUTH_TOKEN"},
		{check.KindOAuthFile, "CLAUDE_CODE_OAUTH_TOKEN"},
		{check.KindAPIKey, "ANTHROPIC_API_KEY"},
		{check.KindAuthToken, "ANTHROPIC_AUTH_TOKEN"},
	} {
		t.Run(string(tc.kind), func(t *testing.T) {
			out := ClaudeEnv(base, "http://gateway:8090", key, tc.kind)
			if got := out.Get("ANTHROPIC_BASE_URL"); got != "http://gateway:8090" {
				t.Errorf("ANTHROPIC_BASE_URL = %q", got)
			}
			if got := out.Get(tc.into); got != key {
				t.Errorf("%s = %q, want the key", tc.into, got)
			}
			for _, v := range CredentialVars {
				for _, n := range []string{v, v + "_FILE"} {
					if _, set := out.Lookup(n); set && n != tc.into {
						t.Errorf("%s is still set", n)
					}
				}
			}
			if _, set := out.Lookup(KeyVar); set {
				t.Errorf("%s is still set: claude reads the key from %s", KeyVar, tc.into)
			}
			if out.Get("PATH") != "/usr/bin" || out.Get("HOME") != "/home/agent" {
				t.Errorf("other variables changed: PATH=%q HOME=%q", out.Get("PATH"), out.Get("HOME"))
			}
			slice := strings.Join(out.Slice(), "\n")
			for _, real := range []string{"real-key", "real-token", "real-auth", "/k\n", "/t\n", "/a\n"} {
				if strings.Contains(slice+"\n", "="+real) {
					t.Errorf("claude's environment still holds %q", real)
				}
			}
			if base.Get("ANTHROPIC_API_KEY") != "real-key" || base.Get("ANTHROPIC_BASE_URL") != "https://api.anthropic.com" {
				t.Errorf("ClaudeEnv changed the environment it was given")
			}
		})
	}
}

func TestSleeveClaudeEnv(t *testing.T) {
	key := mustKey(t, testSecret, "alice")
	s := &Sleeve{URL: "http://gw:8090", Key: key}
	if s.Name() != "alice" || s.Kind() != "" || s.Prepared() != "" {
		t.Fatalf("fresh sleeve: name %q kind %q prepared %q", s.Name(), s.Kind(), s.Prepared())
	}
	// The gateway has not said its kind: a subscription, the usual one.
	env := s.ClaudeEnv(environ.New(nil))
	if env.Get("CLAUDE_CODE_OAUTH_TOKEN") != key || s.Prepared() != check.KindOAuthToken {
		t.Errorf("unknown kind: prepared %q, CLAUDE_CODE_OAUTH_TOKEN set: %v", s.Prepared(), env.Get("CLAUDE_CODE_OAUTH_TOKEN") != "")
	}
	s.kind = check.KindAPIKey
	env = s.ClaudeEnv(environ.New(nil))
	if env.Get("ANTHROPIC_API_KEY") != key || s.Prepared() != check.KindAPIKey {
		t.Errorf("api key fleet: prepared %q, ANTHROPIC_API_KEY set: %v", s.Prepared(), env.Get("ANTHROPIC_API_KEY") != "")
	}
}

func TestClientKey(t *testing.T) {
	for _, tc := range []struct {
		desc string
		h    map[string]string
		want string
	}{
		{"bearer", map[string]string{"Authorization": "Bearer scgw1.a.x"}, "scgw1.a.x"},
		{"bearer, any case", map[string]string{"Authorization": "bEaReR   scgw1.a.x "}, "scgw1.a.x"},
		{"x-api-key", map[string]string{"X-Api-Key": " scgw1.a.x"}, "scgw1.a.x"},
		{"x-api-key wins", map[string]string{"X-Api-Key": "scgw1.k.x", "Authorization": "Bearer scgw1.b.x"}, "scgw1.k.x"},
		{"basic is no key", map[string]string{"Authorization": "Basic YTpi"}, ""},
		{"bearer alone", map[string]string{"Authorization": "Bearer "}, ""},
		{"bearer without space", map[string]string{"Authorization": "Bearerscgw1.a.x"}, ""},
		{"nothing", nil, ""},
	} {
		h := http.Header{}
		for k, v := range tc.h {
			h.Set(k, v)
		}
		if got := ClientKey(h); got != tc.want {
			t.Errorf("%s: ClientKey = %q, want %q", tc.desc, got, tc.want)
		}
	}
}

func TestSetCredential(t *testing.T) {
	const fleet = "the-fleet-credential"
	for _, tc := range []struct {
		kind         check.Kind
		auth, apiKey string
	}{
		{check.KindOAuthToken, "Bearer " + fleet, ""},
		{check.KindOAuthFile, "Bearer " + fleet, ""},
		{check.KindAuthToken, "Bearer " + fleet, ""},
		{check.KindAPIKey, "", fleet},
	} {
		h := http.Header{}
		h.Set("Authorization", "Bearer scgw1.alice.sleeve-key")
		h.Add("Authorization", "Bearer second")
		h.Set("X-Api-Key", "scgw1.alice.sleeve-key")
		h.Set("Anthropic-Beta", "oauth-2025-04-20")
		SetCredential(h, tc.kind, fleet)
		if got := h.Values("Authorization"); strings.Join(got, ",") != tc.auth {
			t.Errorf("%s: Authorization = %q, want %q", tc.kind, got, tc.auth)
		}
		if got := h.Values("X-Api-Key"); strings.Join(got, ",") != tc.apiKey {
			t.Errorf("%s: X-Api-Key = %q, want %q", tc.kind, got, tc.apiKey)
		}
		if h.Get("Anthropic-Beta") != "oauth-2025-04-20" {
			t.Errorf("%s: another header changed", tc.kind)
		}
	}
}

// fakeGateway answers asks as handler says, counting them.
func fakeGateway(t *testing.T, handler http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		handler(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func answerWith(t *testing.T, key string, a Answer) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != AskPath || r.Header.Get("Authorization") != "Bearer "+key {
			t.Errorf("ask came as %s %s with Authorization %q", r.Method, r.URL.Path, Fingerprint(ClientKey(r.Header)))
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(a)
	}
}

func TestAskAnswer(t *testing.T) {
	key := mustKey(t, testSecret, "alice")
	for _, tc := range []struct {
		desc  string
		kind  check.Kind
		v     probe.Verdict
		code  outcome.Code
		class probe.Class
	}{
		{"valid", check.KindAPIKey, probe.Verdict{Class: probe.Valid, Status: check.StatusValid, Finding: outcome.Finding{Severity: outcome.Info, ID: "probe_valid", Message: "the API accepted the credential for inference"}},
			outcome.OK, probe.Valid},
		{"usage limit", check.KindOAuthToken, probe.Verdict{Class: probe.UsageLimit, Status: check.StatusValid, HTTPStatus: 429, Finding: outcome.Finding{Severity: outcome.Error, ID: "probe_usage_limit", Message: "the subscription's 5-hour limit is reached"}},
			outcome.UsageLimit, probe.UsageLimit},
		{"rejected", check.KindOAuthToken, probe.Verdict{Class: probe.Rejected, Status: check.StatusExpired, HTTPStatus: 401, Finding: outcome.Finding{Severity: outcome.Error, ID: "probe_expired", Message: "the API says the credential has expired"}},
			outcome.Rejected, probe.Rejected},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			srv, asks := fakeGateway(t, answerWith(t, key, Answer{Sleeve: "alice", Kind: tc.kind, Credential: "oauth_token from CLAUDE_CODE_OAUTH_TOKEN, length 108, ending ...AAAA", Verdict: tc.v, Code: tc.code, From: "probe", At: time.Now()}))
			s := &Sleeve{URL: srv.URL + "/", Key: key, KeySource: KeyVar}
			v := s.Ask(context.Background(), 5*time.Second)
			if v.Class != tc.class || v.Finding.Code != tc.code || v.Finding.ID != tc.v.Finding.ID || v.HTTPStatus != tc.v.HTTPStatus {
				t.Errorf("verdict %s code %d id %s http %d; want %s code %d id %s", v.Class, v.Finding.Code, v.Finding.ID, v.HTTPStatus, tc.class, tc.code, tc.v.Finding.ID)
			}
			wantMsg := "the fleet credential at the gateway " + strconv.Quote(srv.URL+"/") + " (oauth_token from CLAUDE_CODE_OAUTH_TOKEN, length 108, ending ...AAAA): " + tc.v.Finding.Message
			if v.Finding.Message != wantMsg {
				t.Errorf("message %q\nwant    %q", v.Finding.Message, wantMsg)
			}
			if s.Kind() != tc.kind || v.Attempts != 1 || asks.Load() != 1 {
				t.Errorf("kind %q, attempts %d, asks %d; want %q, 1, 1", s.Kind(), v.Attempts, asks.Load(), tc.kind)
			}
		})
	}
}

func TestAskKeyRefused(t *testing.T) {
	key := mustKey(t, "a-secret-the-gateway-does-not-have-1234", "alice")
	srv, asks := fakeGateway(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"type":"error","error":{"type":"authentication_error","message":"the key of sleeve \"alice\" (alice ...`+key[len(key)-4:]+`) was not made by this gateway's secret"}}`)
	})
	s := &Sleeve{URL: srv.URL, Key: key, KeySource: KeyVar + "_FILE (/run/secrets/key)"}
	v := s.Ask(context.Background(), 5*time.Second)
	if v.Class != probe.Rejected || v.Finding.Code != outcome.Rejected || v.Finding.ID != "gateway_key_refused" || v.HTTPStatus != 401 || v.Finding.Severity != outcome.Error {
		t.Fatalf("verdict %s code %d id %s http %d", v.Class, v.Finding.Code, v.Finding.ID, v.HTTPStatus)
	}
	for _, part := range []string{strconv.Quote(srv.URL), "refused this sleeve's key (alice ..." + key[len(key)-4:] + " from SLEEVE_CHECK_GATEWAY_KEY_FILE (/run/secrets/key))", "was not made by this gateway's secret"} {
		if !strings.Contains(v.Finding.Message, part) {
			t.Errorf("message %q lacks %q", v.Finding.Message, part)
		}
	}
	if !strings.Contains(v.Finding.Hint, "sleeve-check gateway key alice") {
		t.Errorf("hint %q does not say how to print the key", v.Finding.Hint)
	}
	if w := leaktest.LeakedWindow(key, v.Finding.Message+v.Finding.Hint); w != "" {
		t.Errorf("the verdict shows %q of the key", w)
	}
	if asks.Load() != 1 {
		t.Errorf("%d asks; a refused key is an answer, not a reason to retry", asks.Load())
	}
}

func TestAskNotAGateway(t *testing.T) {
	key := mustKey(t, testSecret, "alice")
	for _, tc := range []struct {
		desc   string
		status int
		ctype  string
		body   string
	}{
		{"an HTML page", 200, "text/html", "<!DOCTYPE html><html><body>welcome</body></html>"},
		{"404", 404, "text/plain", "404 page not found"},
		{"the API's 404", 404, "application/json", `{"type":"error","error":{"type":"not_found_error","message":"Not Found"}}`},
		{"some other JSON", 200, "application/json", `{"status":"ok"}`},
		{"JSON null", 200, "application/json", `null`},
		{"a 502 page", 502, "text/html", "<html>bad gateway</html>"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			srv, asks := fakeGateway(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tc.ctype)
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
			})
			s := &Sleeve{URL: srv.URL, Key: key, KeySource: KeyVar}
			v := s.Ask(context.Background(), 5*time.Second)
			if v.Class != probe.NotAnthropic || v.Finding.Code != outcome.Config || v.Finding.ID != "gateway_not_a_gateway" || v.Finding.Severity != outcome.Error || v.HTTPStatus != tc.status {
				t.Errorf("verdict %s code %d id %s http %d; want not_anthropic, code 3, gateway_not_a_gateway, http %d", v.Class, v.Finding.Code, v.Finding.ID, v.HTTPStatus, tc.status)
			}
			if want := "answered HTTP " + strconv.Itoa(tc.status) + " to " + AskPath; !strings.Contains(v.Finding.Message, want) {
				t.Errorf("message %q lacks %q", v.Finding.Message, want)
			}
			if asks.Load() != 1 || s.Kind() != "" {
				t.Errorf("%d asks, kind %q; want 1 and none", asks.Load(), s.Kind())
			}
		})
	}
}

// closedURL is the URL of a loopback port nobody listens on.
func closedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := "http://" + ln.Addr().String()
	ln.Close()
	return u
}

func TestAskUnreachable(t *testing.T) {
	key := mustKey(t, testSecret, "alice")
	u := closedURL(t)
	s := &Sleeve{URL: "http://user:hunter2-password@" + strings.TrimPrefix(u, "http://") + "/?token=query-secret", Key: key, KeySource: KeyVar}
	v := s.Ask(context.Background(), time.Second)
	if v.Class != probe.Unavailable || v.Finding.Code != outcome.Unavailable || v.Finding.ID != "gateway_unreachable" || v.Finding.Severity != outcome.Error {
		t.Fatalf("verdict %s code %d id %s", v.Class, v.Finding.Code, v.Finding.ID)
	}
	// Within its deadline it tried more than once (the gateway may be
	// starting beside the sleeves), then gave up.
	if v.Attempts < 2 {
		t.Errorf("%d attempts within 1s; want retries (the first wait is %s)", v.Attempts, askWaitMin)
	}
	if !strings.Contains(v.Finding.Message, "connection refused") || !strings.Contains(v.Finding.Message, "is unreachable") {
		t.Errorf("message %q does not say the gateway is unreachable and why", v.Finding.Message)
	}
	for _, secret := range []string{"hunter2-password", "query-secret"} {
		if strings.Contains(v.Finding.Message, secret) {
			t.Errorf("message %q shows the URL's secret %q", v.Finding.Message, secret)
		}
	}
}

func TestAskNoAnswerInTime(t *testing.T) {
	release := make(chan struct{})
	srv, _ := fakeGateway(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	s := &Sleeve{URL: srv.URL, Key: mustKey(t, testSecret, "alice"), KeySource: KeyVar}
	v := s.Ask(context.Background(), 300*time.Millisecond)
	if v.Class != probe.Unavailable || v.Finding.Code != outcome.Unavailable || !strings.Contains(v.Finding.Message, "(no answer in time)") {
		t.Errorf("verdict %s code %d: %s", v.Class, v.Finding.Code, v.Finding.Message)
	}
}

func TestAskCancelled(t *testing.T) {
	s := &Sleeve{URL: closedURL(t), Key: mustKey(t, testSecret, "alice"), KeySource: KeyVar}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// A cancelled start does not wait out the ask's deadline.
	v := s.Ask(ctx, time.Hour)
	if v.Class != probe.Unavailable || v.Attempts != 1 {
		t.Errorf("verdict %s after %d attempts", v.Class, v.Attempts)
	}
}

// TestFirstIsReusedOnce: the start asks once before it prepares claude's
// environment (First) and its probe step reuses that answer; the ask
// after that (a health check's) asks again.
func TestFirstIsReusedOnce(t *testing.T) {
	key := mustKey(t, testSecret, "alice")
	srv, asks := fakeGateway(t, answerWith(t, key, Answer{Sleeve: "alice", Kind: check.KindAPIKey, Credential: "api_key",
		Verdict: probe.Verdict{Class: probe.Valid, Status: check.StatusValid, Finding: outcome.Finding{ID: "probe_valid", Message: "ok"}}, From: "probe"}))
	s := &Sleeve{URL: srv.URL, Key: key, KeySource: KeyVar}
	first := s.First(context.Background(), 5*time.Second)
	if asks.Load() != 1 || first.Class != probe.Valid {
		t.Fatalf("First: %d asks, class %s", asks.Load(), first.Class)
	}
	if again := s.Ask(context.Background(), 5*time.Second); asks.Load() != 1 || again.Finding.Message != first.Finding.Message {
		t.Errorf("the Ask after First asked again (%d asks) or changed the answer: %q", asks.Load(), again.Finding.Message)
	}
	s.Ask(context.Background(), 5*time.Second)
	if asks.Load() != 2 {
		t.Errorf("%d asks; the second Ask after First must ask the gateway", asks.Load())
	}
}

// TestAskSaysItsWait: the ask tells the gateway how long it may wait for
// a probe under way: what is left of its deadline, less a second for the
// answer's way back.
func TestAskSaysItsWait(t *testing.T) {
	key := mustKey(t, testSecret, "alice")
	var waits []string
	var mu sync.Mutex
	srv, _ := fakeGateway(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		waits = append(waits, r.Header.Get(WaitHeader))
		mu.Unlock()
		answerWith(t, key, Answer{Sleeve: "alice", Kind: check.KindAPIKey, Verdict: probe.Verdict{Class: probe.Valid}})(w, r)
	})
	s := &Sleeve{URL: srv.URL, Key: key, KeySource: KeyVar}
	s.Ask(context.Background(), 5*time.Second)
	s.Ask(context.Background(), 800*time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if len(waits) != 2 {
		t.Fatalf("%d asks", len(waits))
	}
	if ms, err := strconv.Atoi(waits[0]); err != nil || ms > 4000 || ms < 3000 {
		t.Errorf("with a 5s deadline the ask says %s=%q, want about 4000", WaitHeader, waits[0])
	}
	if waits[1] != "0" {
		t.Errorf("with 0.8s left the ask says %s=%q, want 0", WaitHeader, waits[1])
	}
}

// TestAskUntrusted: a gateway whose certificate the sleeve does not trust
// is reached, and waiting does not heal it: one attempt, and a hint that
// names the variables that give the sleeve its CA.
func TestAskUntrusted(t *testing.T) {
	var asks atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { asks.Add(1) }))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake
	srv.StartTLS()
	defer srv.Close()
	s := &Sleeve{URL: srv.URL, Key: mustKey(t, testSecret, "alice"), KeySource: KeyVar}
	v := s.Ask(context.Background(), 5*time.Second)
	if v.Class != probe.Unavailable || v.Finding.Code != outcome.Unavailable || v.Finding.ID != "gateway_untrusted" || v.Attempts != 1 {
		t.Errorf("verdict %s code %d id %s after %d attempts; want unavailable, 8, gateway_untrusted, 1", v.Class, v.Finding.Code, v.Finding.ID, v.Attempts)
	}
	if !strings.Contains(v.Finding.Message, "the credential gateway "+strconv.Quote(srv.URL)+" is not trusted: x509: ") {
		t.Errorf("message %q", v.Finding.Message)
	}
	if !strings.Contains(v.Finding.Hint, "SSL_CERT_FILE") || !strings.Contains(v.Finding.Hint, "NODE_EXTRA_CA_CERTS") {
		t.Errorf("hint %q", v.Finding.Hint)
	}
	if asks.Load() != 0 {
		t.Errorf("the key was sent to a gateway the sleeve does not trust")
	}
}
