package gateway

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"sleeve-check/check"
	"sleeve-check/check/anthropictest"
	"sleeve-check/check/probe"
	"sleeve-check/entrypoint/internal/fleet"
	"sleeve-check/entrypoint/internal/settings"
	"sleeve-check/internal/environ"
	"sleeve-check/internal/leaktest"
	"sleeve-check/internal/outcome"
)

// gwSecret is the gateway's secret in these tests: text, so that leaktest
// can look for any piece of it.
const gwSecret = "gateway-test-secret-0123456789-abcdefghijkl"

// fleetTokens are the fleet credentials, by kind: fakes of the real shape.
var fleetTokens = map[check.Kind]string{
	check.KindOAuthToken: anthropictest.FakeToken("oat01", "SUBS"),
	check.KindAPIKey:     anthropictest.FakeToken("api03", "APIK"),
	check.KindAuthToken:  anthropictest.FakeToken("api03", "AUTH"),
}

// testGateway is a gateway built as newGateway builds one, in front of
// upstream, served by an httptest server.
type testGateway struct {
	g      *Gateway
	url    string
	kind   check.Kind
	token  string
	client *http.Client
}

func newTestGateway(t *testing.T, upstream string, kind check.Kind, tune func(*settings.Settings)) *testGateway {
	t.Helper()
	inv, err := settings.Parse([]string{"gateway"}, environ.New(nil))
	if err != nil {
		t.Fatal(err)
	}
	// A probe of an API that is away gives up soon (the default is 20 s).
	inv.Settings.ProbeTimeout = 2 * time.Second
	if tune != nil {
		tune(&inv.Settings)
	}
	token := fleetTokens[kind]
	c := settings.Call{Inv: inv, Env: environ.New(nil), Log: zerolog.Nop(), Began: time.Now()}
	res := &check.Resolution{Selected: &check.Credential{Kind: kind, Source: "the fleet's variable", Value: check.NewSecret(token)}}
	up, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	// No claude in the probe's PATH: a subscription probe, should one
	// start, finds no claude and runs nothing.
	g := newGateway(c, []byte(gwSecret), res, up, environ.New([]string{"PATH=/nonexistent"}))
	g.rp = g.proxy()
	srv := httptest.NewServer(g)
	tr := &http.Transport{}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		srv.Close()
	})
	return &testGateway{g: g, url: srv.URL, kind: kind, token: token, client: &http.Client{Transport: tr}}
}

func key(t *testing.T, name string) string {
	t.Helper()
	k, err := fleet.Key([]byte(gwSecret), name)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// messageBody is a request of Claude Code's, as small as it gets.
const messageBody = `{"model":"claude-sonnet-4-5","max_tokens":1,"messages":[{"role":"user","content":"hi"}]}`

// claudeHeaders are the headers Claude Code 2.1.332 sends with a message.
func claudeHeaders(h http.Header) {
	h.Set("User-Agent", "claude-cli/2.1.332 (external, cli)")
	h.Set("X-App", "cli")
	h.Set("Anthropic-Version", "2023-06-01")
	h.Set("Anthropic-Beta", "claude-code-20250219,oauth-2025-04-20,interleaved-thinking-2025-05-14")
	h.Set("Content-Type", "application/json")
}

// request is Claude Code's request with the sleeve key k, sent as claude
// sends it for the fleet's kind ("" sends none).
func (gw *testGateway) request(t *testing.T, method, path, k string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, gw.url+path, body)
	if err != nil {
		t.Fatal(err)
	}
	claudeHeaders(req.Header)
	switch {
	case k == "":
	case gw.kind == check.KindAPIKey:
		req.Header.Set("X-Api-Key", k)
	default:
		req.Header.Set("Authorization", "Bearer "+k)
	}
	return req
}

// do sends req and reads the whole answer, which must carry no piece of
// the fleet credential or of the gateway's secret, whatever it is.
func (gw *testGateway) do(t *testing.T, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, body, err := gw.send(t, req)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// send is do for a goroutine of the test: it fails no test itself.
func (gw *testGateway) send(t *testing.T, req *http.Request) (*http.Response, []byte, error) {
	t.Helper()
	resp, err := gw.client.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: reading the answer: %w", req.Method, req.URL.Path, err)
	}
	gw.noLeak(t, resp, body)
	return resp, body, nil
}

func (gw *testGateway) noLeak(t *testing.T, resp *http.Response, body []byte) {
	t.Helper()
	var all strings.Builder
	resp.Header.Write(&all)
	all.Write(body)
	for _, s := range []string{gw.token, gwSecret} {
		if w := leaktest.LeakedWindow(s, all.String()); w != "" {
			t.Errorf("the answer to %s %s (HTTP %d) carries %q of a secret:\n%s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, w, all.String())
		}
	}
}

// post sends Claude Code's message with k.
func (gw *testGateway) post(t *testing.T, k string) (*http.Response, []byte) {
	t.Helper()
	return gw.do(t, gw.request(t, http.MethodPost, "/v1/messages?beta=true", k, strings.NewReader(messageBody)))
}

// apiErr is the API's error shape.
type apiErr struct {
	Type  string `json:"type"`
	Error struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
}

// refusedWith checks an answer the gateway gave itself.
func refusedWith(t *testing.T, resp *http.Response, body []byte, status int, typ string, msg ...string) apiErr {
	t.Helper()
	var e apiErr
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("HTTP %d, not the API's error shape: %v: %s", resp.StatusCode, err, body)
	}
	if resp.StatusCode != status || e.Type != "error" || e.Error.Type != typ {
		t.Errorf("HTTP %d %s %s, want HTTP %d error %s: %s", resp.StatusCode, e.Type, e.Error.Type, status, typ, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	if resp.Header.Get("X-Sleeve-Check-Gateway") != "refused" {
		t.Errorf("no x-sleeve-check-gateway: refused header on the gateway's own answer")
	}
	for _, m := range msg {
		if !strings.Contains(e.Error.Message, m) {
			t.Errorf("message %q lacks %q", e.Error.Message, m)
		}
	}
	return e
}

// recorded is what an upstream of the test's own saw.
type recorded struct {
	Method, Path, RawQuery string
	Header                 http.Header
	Body                   []byte
}

// upstream is an API of the test's own: it records each request and
// answers with handler (200 {} when nil).
type upstream struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []recorded
}

func newUpstream(t *testing.T, handler http.HandlerFunc) *upstream {
	t.Helper()
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := recorded{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Header: r.Header.Clone()}
		if handler == nil {
			rec.Body, _ = io.ReadAll(r.Body)
		}
		u.mu.Lock()
		u.reqs = append(u.reqs, rec)
		u.mu.Unlock()
		if handler != nil {
			handler(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"type":"message"}`)
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) requests() []recorded {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]recorded(nil), u.reqs...)
}

// messages counts the fake API's message requests.
func messages(api *anthropictest.Server) int {
	n := 0
	for _, r := range api.Requests() {
		if strings.HasPrefix(r.Path, "/v1/messages") {
			n++
		}
	}
	return n
}

func TestRoutes(t *testing.T) {
	api := anthropictest.NewServer()
	defer api.Close()
	gw := newTestGateway(t, api.URL, check.KindAPIKey, nil)
	api.Set(gw.token, anthropictest.Behavior{Kind: anthropictest.Valid})
	alice := key(t, "alice")
	long := "/" + strings.Repeat("x", 300)
	for _, tc := range []struct{ method, path string }{
		{"GET", "/v1/messages"},
		{"PUT", "/v1/messages"},
		{"HEAD", "/v1/messages"},
		{"POST", "/v1/messages/"},
		{"POST", "/v1/messages/batches"},
		{"POST", "/v1/messages/count_tokens/x"},
		{"POST", "/v1/models"},
		{"GET", "/v1/models"},
		{"POST", "/v1/complete"},
		{"POST", "/v1/files"},
		{"POST", "/v1/messages/../models"},
		{"POST", "/V1/MESSAGES"},
		{"POST", "/"},
		{"GET", "/"},
		{"POST", "/api/hello"},
		{"POST", "/status"},
		{"POST", fleet.AskPath},
		{"GET", "/sleeve-check/v1/fleet/"},
		{"GET", "/_fake/requests"},
		{"POST", long},
	} {
		t.Run(tc.method+" "+tc.path[:min(len(tc.path), 40)], func(t *testing.T) {
			req := gw.request(t, tc.method, "", alice, strings.NewReader(messageBody))
			req.URL.Opaque = tc.path // sent as written, not cleaned
			resp, body := gw.do(t, req)
			if tc.method == "HEAD" {
				if resp.StatusCode != 404 {
					t.Errorf("HTTP %d, want 404", resp.StatusCode)
				}
				return
			}
			e := refusedWith(t, resp, body, 404, "not_found_error", "serves Claude Code's routes only", tc.method+" ")
			if tc.path == long && (!strings.Contains(e.Error.Message, "...") || len(e.Error.Message) > 400) {
				t.Errorf("a long path is not clipped: %d bytes", len(e.Error.Message))
			}
		})
	}
	if n := len(api.Requests()); n != 0 {
		t.Errorf("%d requests reached the API; the gateway answers every other route itself", n)
	}
	// Claude Code's own routes go up.
	for _, p := range []string{"/v1/messages", "/v1/messages?beta=true", "/v1/messages/count_tokens?beta=true"} {
		if resp, body := gw.do(t, gw.request(t, "POST", p, alice, strings.NewReader(messageBody))); resp.StatusCode != 200 {
			t.Errorf("POST %s: HTTP %d: %s", p, resp.StatusCode, body)
		}
	}
	for _, m := range []string{"HEAD", "GET"} {
		if resp, _ := gw.do(t, gw.request(t, m, "/api/hello", "", nil)); resp.StatusCode != 200 {
			t.Errorf("%s /api/hello: HTTP %d", m, resp.StatusCode)
		}
	}
	if n := messages(api); n != 3 {
		t.Errorf("%d message requests reached the API, want 3", n)
	}
}

func TestHeaderSwap(t *testing.T) {
	for _, tc := range []struct {
		kind         check.Kind
		auth, apiKey func(token string) string
	}{
		{check.KindOAuthToken, func(tok string) string { return "Bearer " + tok }, func(string) string { return "" }},
		{check.KindAuthToken, func(tok string) string { return "Bearer " + tok }, func(string) string { return "" }},
		{check.KindAPIKey, func(string) string { return "" }, func(tok string) string { return tok }},
	} {
		t.Run(string(tc.kind), func(t *testing.T) {
			up := newUpstream(t, nil)
			gw := newTestGateway(t, up.URL, tc.kind, nil)
			alice := key(t, "alice")
			req := gw.request(t, "POST", "/v1/messages?beta=true", alice, strings.NewReader(messageBody))
			// claude sends the key one way; a client that sends it both
			// ways has both dropped.
			req.Header.Set("Authorization", "Bearer "+alice)
			req.Header.Set("X-Api-Key", alice)
			req.Header.Set("X-Stainless-Lang", "js")
			req.Header.Add("Anthropic-Beta", "fine-grained-tool-streaming-2025-05-14")
			sent := req.Header.Clone()
			if resp, body := gw.do(t, req); resp.StatusCode != 200 {
				t.Fatalf("HTTP %d: %s", resp.StatusCode, body)
			}
			reqs := up.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests upstream", len(reqs))
			}
			got := reqs[0]
			if got.Method != "POST" || got.Path != "/v1/messages" || got.RawQuery != "beta=true" || string(got.Body) != messageBody {
				t.Errorf("upstream got %s %s?%s with body %q", got.Method, got.Path, got.RawQuery, got.Body)
			}
			if a := got.Header.Get("Authorization"); a != tc.auth(gw.token) {
				t.Errorf("Authorization upstream: %q, want the fleet credential's %q", fleet.Fingerprint(a), fleet.Fingerprint(tc.auth(gw.token)))
			}
			if k := got.Header.Get("X-Api-Key"); k != tc.apiKey(gw.token) {
				t.Errorf("x-api-key upstream: %s, want %s", fleet.Fingerprint(k), fleet.Fingerprint(tc.apiKey(gw.token)))
			}
			if n := len(got.Header.Values("Authorization")) + len(got.Header.Values("X-Api-Key")); n != 1 {
				t.Errorf("%d credential headers upstream, want 1", n)
			}
			for _, h := range []string{"User-Agent", "X-App", "Anthropic-Version", "Anthropic-Beta", "X-Stainless-Lang", "Content-Type"} {
				if g, w := strings.Join(got.Header.Values(h), "|"), strings.Join(sent.Values(h), "|"); g != w {
					t.Errorf("%s upstream: %q, sent %q", h, g, w)
				}
			}
			var all strings.Builder
			got.Header.Write(&all)
			if w := leaktest.LeakedWindow(alice, all.String()); w != "" {
				t.Errorf("the sleeve's key went upstream (%q):\n%s", w, all.String())
			}
		})
	}
}

// TestHelloCarriesNoCredential: Claude Code's connectivity check goes up
// without any credential, the sleeve's or the fleet's.
func TestHelloCarriesNoCredential(t *testing.T) {
	up := newUpstream(t, nil)
	gw := newTestGateway(t, up.URL, check.KindOAuthToken, nil)
	for _, m := range []string{"HEAD", "GET"} {
		req := gw.request(t, m, "/api/hello", key(t, "alice"), nil)
		req.Header.Set("X-Api-Key", key(t, "alice"))
		if resp, body := gw.do(t, req); resp.StatusCode != 200 {
			t.Errorf("%s /api/hello: HTTP %d: %s", m, resp.StatusCode, body)
		}
	}
	// Answered by the gateway itself: nothing goes up, so nobody can
	// send requests to the API from the gateway's address without a key.
	if n := len(up.requests()); n != 0 {
		t.Errorf("%d requests upstream, want none", n)
	}
}

func TestSubscriptionOnlyForClaudeCode(t *testing.T) {
	for _, kind := range []check.Kind{check.KindOAuthToken, check.KindAPIKey} {
		t.Run(string(kind), func(t *testing.T) {
			up := newUpstream(t, nil)
			gw := newTestGateway(t, up.URL, kind, nil)
			for _, ua := range []string{"curl/8.5.0", "", "python-httpx/0.27", "Claude-CLI/2.1.332", "xclaude-cli/1"} {
				req := gw.request(t, "POST", "/v1/messages", key(t, "alice"), strings.NewReader(messageBody))
				req.Header.Set("User-Agent", ua)
				if ua == "" {
					req.Header["User-Agent"] = []string{""} // Go sends none
				}
				resp, body := gw.do(t, req)
				if kind.Subscription() {
					refusedWith(t, resp, body, 403, "permission_error", "subscription token", "claude-cli/", strconv.Quote(ua))
				} else if resp.StatusCode != 200 {
					t.Errorf("user agent %q, API key fleet: HTTP %d: %s", ua, resp.StatusCode, body)
				}
			}
			want := 5
			if kind.Subscription() {
				want = 0
			}
			if n := len(up.requests()); n != want {
				t.Errorf("%d requests upstream, want %d", n, want)
			}
			// Claude Code itself goes through.
			if resp, body := gw.post(t, key(t, "alice")); resp.StatusCode != 200 {
				t.Errorf("claude's request: HTTP %d: %s", resp.StatusCode, body)
			}
		})
	}
}

func TestKeyRefused(t *testing.T) {
	api := anthropictest.NewServer()
	defer api.Close()
	dir := t.TempDir()
	revoked := filepath.Join(dir, "revoked")
	if err := os.WriteFile(revoked, []byte("# revoked sleeves\nbob   # left the project\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	foreign, _ := fleet.Key([]byte("another-gateway's-secret-of-32-bytes"), "mallory")
	token := anthropictest.FakeToken("oat01", "CLNT")
	for _, kind := range []check.Kind{check.KindOAuthToken, check.KindAPIKey} {
		t.Run(string(kind), func(t *testing.T) {
			gw := newTestGateway(t, api.URL, kind, func(s *settings.Settings) { s.GatewayRevoked = revoked })
			api.Set(gw.token, anthropictest.Behavior{Kind: anthropictest.Valid})
			for _, tc := range []struct {
				desc, key string
				msg       []string
			}{
				{"no key", "", []string{"no sleeve key was sent", "sleeve-check gateway key NAME"}},
				{"a Claude token", token, []string{"(a value of length 108 ending ...CLNT) is not a sleeve key of this gateway"}},
				{"the fleet's own credential", gw.token, []string{"is not a sleeve key of this gateway"}},
				{"a mangled key", key(t, "alice")[:20], []string{"is not a sleeve key"}},
				{"a foreign key", foreign, []string{`the key of sleeve "mallory" (mallory ...` + foreign[len(foreign)-4:] + `) was not made by this gateway's secret`}},
				{"a revoked sleeve", key(t, "bob"), []string{`sleeve "bob" is revoked on this gateway (` + revoked + `)`}},
			} {
				t.Run(tc.desc, func(t *testing.T) {
					resp, body := gw.post(t, tc.key)
					refusedWith(t, resp, body, 401, "authentication_error", tc.msg...)
					if tc.key != "" && tc.key != gw.token {
						if w := leaktest.LeakedWindow(tc.key, string(body)); w != "" {
							t.Errorf("the answer quotes %q of what was sent", w)
						}
					}
					// The ask is refused alike.
					resp, body = gw.do(t, gw.request(t, "GET", fleet.AskPath, tc.key, nil))
					refusedWith(t, resp, body, 401, "authentication_error", tc.msg...)
				})
			}
			if n := messages(api); n != 0 {
				t.Errorf("%d refused requests reached the API", n)
			}
			// A key that verifies goes up.
			if resp, body := gw.post(t, key(t, "alice")); resp.StatusCode != 200 {
				t.Errorf("alice: HTTP %d: %s", resp.StatusCode, body)
			}
			snap := gw.status(t)
			if s := snap.Sleeves["bob"]; s == nil || s.Refused != 2 || s.Requests != 0 {
				t.Errorf("bob (revoked) in /status: %+v, want 2 refused", s)
			}
			// A name the gateway did not make a key for is the sender's
			// word only: it must not become a sleeve of the ledger.
			if s, ok := snap.Sleeves["mallory"]; ok {
				t.Errorf("a foreign key's name is in /status: %+v", s)
			}
			api.Reset()
		})
	}
}

// TestRevokeAndRestore: revoking is a line in the file, and removing the
// line lets the sleeve back in, with no restart (the file is looked at
// once a second at most).
func TestRevokeAndRestore(t *testing.T) {
	up := newUpstream(t, nil)
	revoked := filepath.Join(t.TempDir(), "revoked")
	if err := os.WriteFile(revoked, []byte("bob\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	gw := newTestGateway(t, up.URL, check.KindAPIKey, func(s *settings.Settings) { s.GatewayRevoked = revoked })
	resp, body := gw.post(t, key(t, "bob"))
	refusedWith(t, resp, body, 401, "authentication_error", `sleeve "bob" is revoked`)
	if resp, body := gw.post(t, key(t, "alice")); resp.StatusCode != 200 {
		t.Fatalf("alice: HTTP %d: %s", resp.StatusCode, body)
	}
	if err := os.WriteFile(revoked, []byte("# nobody is revoked today\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	if resp, body := gw.post(t, key(t, "bob")); resp.StatusCode != 200 {
		t.Errorf("bob after leaving the file: HTTP %d: %s", resp.StatusCode, body)
	}
}

// TestRevokedList: the file's reading rules, with the clock in the
// test's hands.
func TestRevokedList(t *testing.T) {
	if (&revokedList{}).has("bob", time.Now()) {
		t.Errorf("no file: bob revoked")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "revoked")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	r := newRevokedList(path, zerolog.Nop())
	t0 := time.Now()
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	steps := []struct {
		do   func()
		at   time.Duration
		name string
		want bool
	}{
		{nil, 0, "bob", false}, // the file does not exist yet
		{func() { write("bob # gone\n  carol  \n#dave\n") }, 500 * time.Millisecond, "bob", false}, // not looked at again within a second
		{nil, time.Second, "bob", true},
		{nil, time.Second, "carol", true},
		{nil, time.Second, "dave", false},
		{nil, time.Second, "#dave", false},
		{func() { write("carol\n") }, 1500 * time.Millisecond, "bob", true},
		{nil, 2 * time.Second, "bob", false},
		{nil, 2 * time.Second, "carol", true},
		// Removed (as an editor moves a file aside to write it again): the
		// names it held stay revoked; an empty file lets them back.
		{func() { os.Remove(path) }, 3 * time.Second, "carol", true},
		{func() { write("carol\n") }, 4 * time.Second, "carol", true},
		// A file that cannot be read keeps the names it held: a revoked
		// sleeve does not come back while the file is being replaced.
		{func() { os.Remove(path); os.Mkdir(path, 0o700) }, 5 * time.Second, "carol", true},
		{func() { os.Remove(path); write("") }, 6 * time.Second, "carol", false},
	}
	for i, s := range steps {
		if s.do != nil {
			s.do()
		}
		if got := r.has(s.name, at(s.at)); got != s.want {
			t.Errorf("step %d: has(%q) at +%s = %v, want %v", i, s.name, s.at, got, s.want)
		}
	}
}

func TestBodyTooLarge(t *testing.T) {
	t.Run("by Content-Length", func(t *testing.T) {
		up := newUpstream(t, nil)
		gw := newTestGateway(t, up.URL, check.KindAPIKey, nil)
		// Declared, never sent: the gateway answers from the header alone.
		conn, err := net.Dial("tcp", strings.TrimPrefix(gw.url, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "POST /v1/messages HTTP/1.1\r\nHost: gateway\r\nX-Api-Key: %s\r\nUser-Agent: claude-cli/2.1.332\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", key(t, "alice"), maxBody+1)
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		gw.noLeak(t, resp, body)
		refusedWith(t, resp, body, 413, "request_too_large", fmt.Sprintf("the request's body is %d bytes; the API takes at most %d", maxBody+1, maxBody))
		if n := len(up.requests()); n != 0 {
			t.Errorf("%d requests upstream", n)
		}
	})
	t.Run("chunked", func(t *testing.T) {
		// The upstream reads all it is sent, as the API would.
		var got atomic.Int64
		up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
			n, _ := io.Copy(io.Discard, r.Body)
			got.Store(n)
			io.WriteString(w, `{}`)
		})
		gw := newTestGateway(t, up.URL, check.KindAPIKey, nil)
		req := gw.request(t, "POST", "/v1/messages", key(t, "alice"), io.LimitReader(zeros{}, maxBody+1))
		req.ContentLength = -1
		resp, body := gw.do(t, req)
		refusedWith(t, resp, body, 413, "request_too_large", fmt.Sprintf("over %d bytes", maxBody))
		if got.Load() > maxBody {
			t.Errorf("the upstream read %d bytes", got.Load())
		}
	})
	t.Run("chunked at the limit", func(t *testing.T) {
		up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
			n, _ := io.Copy(io.Discard, r.Body)
			fmt.Fprintf(w, `{"read":%d}`, n)
		})
		gw := newTestGateway(t, up.URL, check.KindAPIKey, nil)
		req := gw.request(t, "POST", "/v1/messages", key(t, "alice"), io.LimitReader(zeros{}, maxBody))
		req.ContentLength = -1
		resp, body := gw.do(t, req)
		if want := fmt.Sprintf(`{"read":%d}`, maxBody); resp.StatusCode != 200 || string(body) != want {
			t.Errorf("HTTP %d %s, want 200 %s", resp.StatusCode, body, want)
		}
	})
}

// zeros is an endless body that costs no memory.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// within fails the test if ch does not deliver in a long while: a guard
// against a hang, not a measure of speed.
func within[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("%s never happened", what)
	}
	var zero T
	return zero
}

// TestStreamsEventByEvent: the first event of a stream reaches the client
// while the upstream still holds the rest back.
func TestStreamsEventByEvent(t *testing.T) {
	release := make(chan struct{})
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "event: message_start\ndata: {\"type\":\"message_start\"}\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		io.WriteString(w, "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")
	})
	gw := newTestGateway(t, up.URL, check.KindOAuthToken, nil)
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()
	resp, err := gw.client.Do(gw.request(t, "POST", "/v1/messages?beta=true", key(t, "alice"), strings.NewReader(messageBody)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || ct != "text/event-stream" {
		t.Fatalf("HTTP %d, Content-Type %q", resp.StatusCode, ct)
	}
	rd := bufio.NewReader(resp.Body)
	first := make(chan string, 1)
	go func() {
		var ev strings.Builder
		for {
			line, err := rd.ReadString('\n')
			ev.WriteString(line)
			if err != nil || line == "\n" {
				first <- ev.String()
				return
			}
		}
	}()
	if ev := within(t, first, "the first event through the gateway (it buffers the stream)"); !strings.Contains(ev, "message_start") {
		t.Fatalf("first event: %q", ev)
	}
	close(release)
	rest, err := io.ReadAll(rd)
	if err != nil || !strings.Contains(string(rest), "message_stop") {
		t.Errorf("the rest of the stream: %q, %v", rest, err)
	}
}

// TestClientGoneCancelsUpstream: a client that goes away cancels its
// request to the API, and the sleeve's request is counted out.
func TestClientGoneCancelsUpstream(t *testing.T) {
	entered, cancelled := make(chan struct{}), make(chan struct{})
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		// Go's server notices a closed connection only once the body is read.
		io.Copy(io.Discard, r.Body)
		close(entered)
		select {
		case <-r.Context().Done():
			close(cancelled)
		case <-time.After(10 * time.Second):
		}
	})
	gw := newTestGateway(t, up.URL, check.KindOAuthToken, nil)
	ctx, cancel := context.WithCancel(context.Background())
	req := gw.request(t, "POST", "/v1/messages", key(t, "alice"), strings.NewReader(messageBody)).WithContext(ctx)
	done := make(chan error, 1)
	go func() {
		resp, err := gw.client.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	within(t, entered, "the request reaching the upstream")
	cancel()
	within(t, cancelled, "the upstream seeing its request cancelled")
	within(t, done, "the client's request ending")
	gw.eventually(t, "alice's request counted out", func(s snapshot) bool {
		a := s.Sleeves["alice"]
		return a != nil && a.InFlight == 0 && a.Requests == 1
	})
}

// TestClientGoneMidStream: a client that leaves in the middle of a
// stream cancels the stream upstream too, and is counted out.
func TestClientGoneMidStream(t *testing.T) {
	cancelled := make(chan struct{})
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "event: message_start\ndata: {}\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
			close(cancelled)
		case <-time.After(10 * time.Second):
		}
	})
	gw := newTestGateway(t, up.URL, check.KindOAuthToken, nil)
	resp, err := gw.client.Do(gw.request(t, "POST", "/v1/messages", key(t, "alice"), strings.NewReader(messageBody)))
	if err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || line != "event: message_start\n" {
		t.Fatalf("first line %q, %v", line, err)
	}
	resp.Body.Close() // mid-stream: the connection goes
	within(t, cancelled, "the upstream seeing the stream cancelled")
	gw.eventually(t, "alice's stream counted out", func(s snapshot) bool {
		a := s.Sleeves["alice"]
		return a != nil && a.InFlight == 0 && a.Requests == 1
	})
}

// eventually polls the ledger until ok, for what ends after the answer.
func (gw *testGateway) eventually(t *testing.T, what string, ok func(snapshot) bool) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if ok(gw.g.led.snapshot()) {
			return
		}
	}
	t.Fatalf("%s: never so; the ledger: %+v", what, gw.g.led.snapshot())
}

func TestConcurrencyCap(t *testing.T) {
	var entered atomic.Int32
	arrived := make(chan struct{}, 16)
	release := make(chan struct{})
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		entered.Add(1)
		arrived <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
		io.WriteString(w, `{}`)
	})
	gw := newTestGateway(t, up.URL, check.KindOAuthToken, func(s *settings.Settings) { s.GatewayConcurrent = 2 })
	var wg sync.WaitGroup
	defer wg.Wait()
	var once sync.Once
	open := func() { once.Do(func() { close(release) }) }
	defer open()
	send := func(name string) {
		req := gw.request(t, "POST", "/v1/messages", key(t, name), strings.NewReader(messageBody))
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, body, err := gw.send(t, req)
			switch {
			case err != nil:
				t.Error(err)
			case resp.StatusCode != 200:
				t.Errorf("%s: HTTP %d: %s", name, resp.StatusCode, body)
			}
		}()
		within(t, arrived, name+"'s request reaching the upstream")
	}
	send("alice")
	send("alice")
	resp, body := gw.post(t, key(t, "alice"))
	refusedWith(t, resp, body, 429, "rate_limit_error", `sleeve "alice" has 2 requests in flight`, "SLEEVE_CHECK_GATEWAY_MAX_CONCURRENT=2")
	if ra := resp.Header.Get("Retry-After"); ra != "1" {
		t.Errorf("Retry-After %q, want 1", ra)
	}
	// The cap is one sleeve's: another is let through.
	send("bob")
	open()
	wg.Wait()
	if n := entered.Load(); n != 3 {
		t.Errorf("%d requests upstream, want 3", n)
	}
	gw.eventually(t, "alice's requests counted out", func(s snapshot) bool { return s.Sleeves["alice"].InFlight == 0 })
	if resp, body := gw.post(t, key(t, "alice")); resp.StatusCode != 200 {
		t.Errorf("alice, with nothing in flight: HTTP %d: %s", resp.StatusCode, body)
	}
	// A request is counted out just after its answer's last byte.
	gw.eventually(t, "alice's requests counted out", func(s snapshot) bool { return s.Sleeves["alice"].InFlight == 0 })
	s := gw.status(t).Sleeves["alice"]
	if s == nil || s.Requests != 3 || s.Refused != 1 || s.InFlight != 0 {
		t.Errorf("alice in /status: %+v, want 3 requests, 1 refused, none in flight", s)
	}
}

// TestShareCap: each sleeve's share of the 5-hour window is the rise in
// its utilization across the sleeve's own answers; past the cap its
// requests get a 429 until the window resets, and a new window starts
// every share anew.
func TestShareCap(t *testing.T) {
	// The test says what the API answers: the 5-hour window's
	// utilization and reset, in headers of its request.
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		const p = "anthropic-ratelimit-unified-"
		h := w.Header()
		h.Set(p+"status", "allowed")
		h.Set(p+"representative-claim", "five_hour")
		h.Set(p+"5h-utilization", r.Header.Get("X-Test-Util"))
		h.Set(p+"5h-reset", r.Header.Get("X-Test-Reset"))
		h.Set(p+"5h-status", "allowed")
		h.Set(p+"reset", r.Header.Get("X-Test-Reset"))
		io.WriteString(w, `{}`)
	})
	gw := newTestGateway(t, up.URL, check.KindOAuthToken, func(s *settings.Settings) { s.GatewayShare = settings.Percent{Fraction: 0.10} })
	reset := time.Now().Add(2 * time.Hour).Unix()
	send := func(name, util string, reset int64) (*http.Response, []byte) {
		req := gw.request(t, "POST", "/v1/messages", key(t, name), strings.NewReader(messageBody))
		req.Header.Set("X-Test-Util", util)
		req.Header.Set("X-Test-Reset", strconv.FormatInt(reset, 10))
		return gw.do(t, req)
	}
	for i, s := range []struct {
		name, util string
	}{
		{"alice", "0.20"}, // the first answer of a window is where shares start
		{"alice", "0.25"}, // alice 5%
		{"bob", "0.27"},   // bob 2%
		{"alice", "0.34"}, // alice 12%: past her 10%, admitted before the answer said so
	} {
		if resp, body := send(s.name, s.util, reset); resp.StatusCode != 200 {
			t.Fatalf("step %d (%s): HTTP %d: %s", i, s.name, resp.StatusCode, body)
		}
	}
	snap := gw.status(t)
	if a, b := snap.Sleeves["alice"].Share, snap.Sleeves["bob"].Share; a < 0.119 || a > 0.121 || b < 0.019 || b > 0.021 {
		t.Errorf("shares in /status: alice %.3f bob %.3f, want 0.12 and 0.02", a, b)
	}
	resp, body := send("alice", "0.40", reset)
	refusedWith(t, resp, body, 429, "rate_limit_error", `sleeve "alice" has used 12% of the subscription's 5-hour window`, "SLEEVE_CHECK_GATEWAY_SLEEVE_SHARE=10%", "it resets at")
	ra, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
	if left := int(reset - time.Now().Unix()); ra < left-5 || ra > left+2 {
		t.Errorf("Retry-After %q, want about %d s: the window's reset", resp.Header.Get("Retry-After"), left)
	}
	if n := len(up.requests()); n != 4 {
		t.Errorf("%d requests upstream, want 4: the capped one is answered by the gateway", n)
	}
	// Bob is under his share.
	if resp, body := send("bob", "0.35", reset); resp.StatusCode != 200 {
		t.Errorf("bob: HTTP %d: %s", resp.StatusCode, body)
	}
	// A new window (another reset) starts every share anew.
	if resp, body := send("bob", "0.01", reset+5*3600); resp.StatusCode != 200 {
		t.Errorf("bob in a new window: HTTP %d: %s", resp.StatusCode, body)
	}
	if resp, body := send("alice", "0.02", reset+5*3600); resp.StatusCode != 200 {
		t.Errorf("alice in a new window: HTTP %d: %s", resp.StatusCode, body)
	}
}

// status reads GET /status.
func (gw *testGateway) status(t *testing.T) snapshot {
	t.Helper()
	resp, body := gw.do(t, gw.request(t, "GET", "/status", "", nil))
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("/status: HTTP %d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	var s snapshot
	if err := json.Unmarshal(body, &s); err != nil {
		t.Fatalf("/status is not JSON: %v: %s", err, body)
	}
	return s
}

func TestStatus(t *testing.T) {
	api := anthropictest.NewServer()
	defer api.Close()
	api.SetModelUnavailable("claude-withdrawn")
	gw := newTestGateway(t, api.URL, check.KindOAuthToken, nil)
	api.Set(gw.token, anthropictest.Behavior{Kind: anthropictest.UsageOK})
	keys := []string{key(t, "alice"), key(t, "bob")}
	if resp, body := gw.post(t, keys[0]); resp.StatusCode != 200 {
		t.Fatalf("alice: HTTP %d: %s", resp.StatusCode, body)
	}
	resp, _ := gw.do(t, gw.request(t, "POST", "/v1/messages", keys[0], strings.NewReader(`{"model":"claude-withdrawn","max_tokens":1}`)))
	if resp.StatusCode != 404 {
		t.Fatalf("a withdrawn model: HTTP %d", resp.StatusCode)
	}
	req := gw.request(t, "POST", "/v1/messages", keys[1], strings.NewReader(messageBody))
	req.Header.Set("User-Agent", "curl/8")
	gw.do(t, req) // 403: the gateway's own refusal
	// A request is counted out just after its answer's last byte.
	gw.eventually(t, "alice's requests counted out", func(s snapshot) bool { return s.Sleeves["alice"].InFlight == 0 })
	resp, body := gw.do(t, gw.request(t, "GET", "/status", "", nil))
	var all strings.Builder
	resp.Header.Write(&all)
	all.Write(body)
	for _, k := range keys {
		if w := leaktest.LeakedWindow(k, all.String()); w != "" {
			t.Errorf("/status shows %q of a sleeve key", w)
		}
	}
	s := gw.status(t)
	if !strings.HasPrefix(s.Name, "sleeve-check ") || s.Upstream != api.URL || s.StartedAt.IsZero() {
		t.Errorf("/status heading: %q %q %s", s.Name, s.Upstream, s.StartedAt)
	}
	if c := s.Credential; c.Kind != check.KindOAuthToken || !strings.Contains(c.Fingerprint, "ending ...SUBS") || c.Verdict != "valid" || c.From != "traffic" {
		t.Errorf("credential in /status: %+v", c)
	}
	if s.Usage == nil || s.Usage.Windows["five_hour"].Utilization == nil || *s.Usage.Windows["five_hour"].Utilization != 0.12 {
		t.Errorf("usage in /status: %+v", s.Usage)
	}
	a, b := s.Sleeves["alice"], s.Sleeves["bob"]
	if a == nil || a.Requests != 2 || a.Errors != 1 || a.Refused != 0 || a.LastStatus != 404 || a.InFlight != 0 {
		t.Errorf("alice: %+v, want 2 requests, 1 error, last status 404", a)
	}
	if b == nil || b.Requests != 0 || b.Refused != 1 {
		t.Errorf("bob: %+v, want 1 refused", b)
	}
	if s.Probes != 0 {
		t.Errorf("%d probes; nobody asked", s.Probes)
	}
}

// ask asks the gateway as sleeve name does.
func (gw *testGateway) ask(t *testing.T, name string) fleet.Answer {
	t.Helper()
	a, err := gw.tryAsk(t, gw.request(t, "GET", fleet.AskPath, key(t, name), nil))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// tryAsk is ask for a goroutine of the test.
func (gw *testGateway) tryAsk(t *testing.T, req *http.Request) (fleet.Answer, error) {
	t.Helper()
	var a fleet.Answer
	resp, body, err := gw.send(t, req)
	switch {
	case err != nil:
		return a, err
	case resp.StatusCode != 200:
		return a, fmt.Errorf("ask: HTTP %d: %s", resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, &a); err != nil {
		return a, fmt.Errorf("ask: %v: %s", err, body)
	}
	return a, nil
}

// TestVerdictFromTraffic: an answer no request can fake (a 200, the API's
// usage headers saying the window is used up) is what the gateway tells
// the next sleeve, with no probe; an error answer sends the gateway's own
// probe, whose answer alone becomes the fleet's error (one sleeve chooses
// its requests, and must not stop the fleet).
func TestVerdictFromTraffic(t *testing.T) {
	for _, tc := range []struct {
		desc   string
		kind   check.Kind
		b      anthropictest.Behavior
		status int
		class  probe.Class
		code   outcome.Code
	}{
		{"valid", check.KindOAuthToken, anthropictest.Behavior{Kind: anthropictest.UsageOK}, 200, probe.Valid, outcome.OK},
		{"usage limit", check.KindOAuthToken, anthropictest.Behavior{Kind: anthropictest.UsageLimit}, 429, probe.UsageLimit, outcome.UsageLimit},
		{"invalid key", check.KindAPIKey, anthropictest.Behavior{Kind: anthropictest.Invalid}, 401, probe.Rejected, outcome.Rejected},
		{"revoked", check.KindAPIKey, anthropictest.Behavior{Kind: anthropictest.Revoked}, 403, probe.Rejected, outcome.Rejected},
		{"billing", check.KindAPIKey, anthropictest.Behavior{Kind: anthropictest.Billing}, 402, probe.Billing, outcome.Billing},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			api := anthropictest.NewServer()
			defer api.Close()
			gw := newTestGateway(t, api.URL, tc.kind, nil)
			api.Set(gw.token, tc.b)
			resp, body := gw.post(t, key(t, "alice"))
			if resp.StatusCode != tc.status {
				t.Fatalf("HTTP %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			a := gw.ask(t, "bob")
			from, want := "traffic", 1
			if tc.code != outcome.OK && tc.class != probe.UsageLimit {
				from, want = "probe", 2 // the error sent the probe, which confirmed it
			}
			if a.Sleeve != "bob" || a.Kind != tc.kind || a.From != from || a.Verdict.Class != tc.class || a.Code != tc.code {
				t.Errorf("answer: sleeve %q kind %q from %q class %s code %d; want bob %s %s %s %d (%s)", a.Sleeve, a.Kind, a.From, a.Verdict.Class, a.Code, tc.kind, from, tc.class, tc.code, a.Verdict.Finding.Message)
			}
			if n := messages(api); n != want {
				t.Errorf("%d message requests upstream, want %d", n, want)
			}
			if c := gw.status(t).Credential; c.Verdict != string(tc.class) || c.Code != int(tc.code) {
				t.Errorf("/status: verdict %s code %d", c.Verdict, c.Code)
			}
		})
	}
}

// TestRequestFaultsAreNotTheCredentials: an answer about one request (a
// withdrawn model, a request the API cannot parse) says nothing new of
// the credential: the verdict the gateway gives stays the last one.
func TestRequestFaultsAreNotTheCredentials(t *testing.T) {
	api := anthropictest.NewServer()
	defer api.Close()
	api.SetModelUnavailable("claude-withdrawn")
	gw := newTestGateway(t, api.URL, check.KindOAuthToken, nil)
	api.Set(gw.token, anthropictest.Behavior{Kind: anthropictest.UsageOK})
	if resp, body := gw.post(t, key(t, "alice")); resp.StatusCode != 200 {
		t.Fatalf("HTTP %d: %s", resp.StatusCode, body)
	}
	before := gw.ask(t, "alice")
	if before.Verdict.Class != probe.Valid || before.Verdict.Finding.Severity != outcome.Info {
		t.Fatalf("after a 200: %s %s", before.Verdict.Class, before.Verdict.Finding.Message)
	}
	// A request of claude's for a model the account lacks.
	if resp, _ := gw.do(t, gw.request(t, "POST", "/v1/messages", key(t, "alice"), strings.NewReader(`{"model":"claude-withdrawn","max_tokens":1}`))); resp.StatusCode != 404 {
		t.Fatalf("withdrawn model: HTTP %d", resp.StatusCode)
	}
	// A request whose OAuth beta header is missing (not claude's): the
	// API's 401 is about the request, not the token.
	req := gw.request(t, "POST", "/v1/messages", key(t, "alice"), strings.NewReader(messageBody))
	req.Header.Set("Anthropic-Beta", "claude-code-20250219")
	if resp, _ := gw.do(t, req); resp.StatusCode != 401 {
		t.Fatalf("no oauth beta: HTTP %d", resp.StatusCode)
	}
	// A 403 and a "billing" 400 that one sleeve drew with its requests
	// (the API echoes what a request held): the probe is sent, and says
	// the credential is fine.
	api.Set(gw.token, anthropictest.Behavior{Kind: anthropictest.Revoked, Times: 1})
	if resp, _ := gw.post(t, key(t, "alice")); resp.StatusCode != 403 {
		t.Fatalf("a 403: HTTP %d", resp.StatusCode)
	}
	after := gw.ask(t, "bob")
	if after.Verdict.Class != probe.Valid || after.Code != outcome.OK || after.Verdict.Finding.Severity != outcome.Info || after.Verdict.Finding.Message != before.Verdict.Finding.Message {
		t.Errorf("after one sleeve's bad requests the fleet's verdict is %s (code %d, %s): %s", after.Verdict.Class, after.Code, after.Verdict.Finding.Severity, after.Verdict.Finding.Message)
	}
}

// TestProbeOnceForManyAsks: twelve sleeves asking a fresh gateway at once
// cost one probe, which goes through the gateway itself with the fleet
// credential (an API key: one tiny HTTP request).
func TestProbeOnceForManyAsks(t *testing.T) {
	api := anthropictest.NewServer()
	defer api.Close()
	gw := newTestGateway(t, api.URL, check.KindAPIKey, nil)
	api.Set(gw.token, anthropictest.Behavior{Kind: anthropictest.Valid, Delay: 100 * time.Millisecond})
	var wg sync.WaitGroup
	answers := make([]fleet.Answer, 12)
	for i := range answers {
		req := gw.request(t, "GET", fleet.AskPath, key(t, fmt.Sprintf("sleeve-%d", i)), nil)
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := gw.tryAsk(t, req)
			if err != nil {
				t.Error(err)
			}
			answers[i] = a
		}()
	}
	wg.Wait()
	for i, a := range answers {
		if a.Sleeve != fmt.Sprintf("sleeve-%d", i) || a.Verdict.Class != probe.Valid || a.Code != outcome.OK || a.From != "probe" || a.Kind != check.KindAPIKey {
			t.Errorf("answer %d: %+v", i, a)
		}
	}
	reqs := api.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests upstream, want the one probe", len(reqs))
	}
	if r := reqs[0]; r.Path != "/v1/messages" || r.Header.Get("X-Api-Key") != gw.token || r.Header.Get("Authorization") != "" {
		t.Errorf("the probe went up as %s %s with %s", r.Method, r.Path, r.Credential)
	}
	// Asks after it reuse its verdict.
	gw.ask(t, "late")
	if n := len(api.Requests()); n != 1 {
		t.Errorf("%d requests upstream after a late ask", n)
	}
	s := gw.status(t)
	if s.Probes != 1 || s.Sleeves[probeName] == nil || s.Sleeves[probeName].Requests != 1 {
		t.Errorf("/status: %d probes, probe's requests %+v", s.Probes, s.Sleeves[probeName])
	}
	// The probe's key is the gateway's own: it does not ask.
	resp, body := gw.do(t, gw.request(t, "GET", fleet.AskPath, gw.g.probeKey, nil))
	refusedWith(t, resp, body, 401, "authentication_error", "does not ask")
}

// TestUnreachableAPI: the 502 says why in the API's shape, and carries
// no credential; /status keeps the failure.
func TestUnreachableAPI(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	for _, kind := range []check.Kind{check.KindOAuthToken, check.KindAPIKey} {
		t.Run(string(kind), func(t *testing.T) {
			gw := newTestGateway(t, closed, kind, nil)
			resp, body := gw.post(t, key(t, "alice"))
			refusedWith(t, resp, body, 502, "api_error", "the credential gateway could not reach the API", "connection refused")
			// The next ask probes (an outage is suspect) and says so.
			if a := gw.ask(t, "bob"); kind == check.KindAPIKey && (a.Verdict.Class != probe.Unavailable || a.Code != outcome.Unavailable) {
				t.Errorf("ask after the API went away: %s %d %s", a.Verdict.Class, a.Code, a.Verdict.Finding.Message)
			}
			gw.eventually(t, "alice's request counted out", func(s snapshot) bool { return s.Sleeves["alice"].InFlight == 0 })
			s := gw.status(t)
			if s.LastError == nil || !strings.Contains(s.LastError.Message, "connection refused") {
				t.Errorf("last upstream error in /status: %+v", s.LastError)
			}
			if a := s.Sleeves["alice"]; a == nil || a.Errors != 1 || a.InFlight != 0 {
				t.Errorf("alice: %+v", a)
			}
		})
	}
}

func TestScrub(t *testing.T) {
	tok := fleetTokens[check.KindOAuthToken]
	if got := scrub("dial "+tok+": refused "+tok, tok); strings.Contains(got, tok) || !strings.Contains(got, "[fleet credential]") {
		t.Errorf("scrub = %q", got)
	}
	if got := scrub("nothing here", ""); got != "nothing here" {
		t.Errorf("scrub with no secret = %q", got)
	}
}

// TestAskWaitsAsTold: an ask waits for the probe under way as long as
// its wait header allows, and no longer: with none left it hears "not
// proved yet", a warning, at once; with no usable header it waits.
func TestAskWaitsAsTold(t *testing.T) {
	api := anthropictest.NewServer()
	defer api.Close()
	gw := newTestGateway(t, api.URL, check.KindAPIKey, nil)
	api.Set(gw.token, anthropictest.Behavior{Kind: anthropictest.Valid, Delay: 500 * time.Millisecond})
	for _, wait := range []string{"0", "-5"} {
		req := gw.request(t, "GET", fleet.AskPath, key(t, "alice"), nil)
		req.Header.Set(fleet.WaitHeader, wait)
		a, err := gw.tryAsk(t, req)
		if err != nil {
			t.Fatal(err)
		}
		v := a.Verdict
		if v.Class != probe.NotRun || v.Finding.ID != "gateway_not_proved" || v.Finding.Severity != outcome.Warning || a.Code != outcome.OK || a.From != "" {
			t.Errorf("wait %s: %s %s (%s, code %d) from %q", wait, v.Class, v.Finding.ID, v.Finding.Severity, a.Code, a.From)
		}
	}
	req := gw.request(t, "GET", fleet.AskPath, key(t, "alice"), nil)
	req.Header.Set(fleet.WaitHeader, "a while")
	a, err := gw.tryAsk(t, req)
	if err != nil {
		t.Fatal(err)
	}
	if a.Verdict.Class != probe.Valid || a.From != "probe" {
		t.Errorf("an ask that may wait: %s from %q", a.Verdict.Class, a.From)
	}
	if n, p := len(api.Requests()), gw.status(t).Probes; n != 1 || p != 1 {
		t.Errorf("%d requests upstream and %d probes, want 1 and 1", n, p)
	}
}
