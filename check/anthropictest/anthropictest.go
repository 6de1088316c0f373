// Package anthropictest is a fake Anthropic Messages API for tests, in the
// style of net/http/httptest. It answers POST /v1/messages the way the
// real API does for tokens that are valid, expired, revoked, rate-limited
// and so on (status, JSON error body, request-id and retry-after headers),
// and records every request so tests can count attempts and read headers.
//
// For subscription usage limits it speaks the dialect Claude Code reads
// (the anthropic-ratelimit-unified-* headers): a healthy window, one in
// its warning zone, and one used up until a reset that may be hours or
// seconds away (usage.go).
//
// Tokens are registered with a Behavior; an unknown token gets the 401 the
// real API gives. An OAuth token (sk-ant-oat...) sent without the
// oauth-2025-04-20 beta header gets the real "OAuth authentication is
// currently not supported." 401; one sent by anything but Claude Code gets,
// after the token's own checks, the 400 "only authorized for use with
// Claude Code" (fromClaudeCode), so no test passes on a probe the real
// API would refuse.
//
// Control endpoints, for scripts and the cmd/fake-anthropic server:
// POST /_fake/tokens {"token":"...","behavior":"revoked",...} sets a
// token's behavior; GET /_fake/requests lists the recorded requests with
// credentials shown only by their last 4 characters.
package anthropictest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Kind is how the fake answers a token.
type Kind string

const (
	Valid          Kind = "valid"            // 200 with a one-token message
	Expired        Kind = "expired"          // 401 "OAuth token has expired..."
	Invalid        Kind = "invalid"          // 401 invalid key / bearer token
	Revoked        Kind = "revoked"          // 403 "OAuth token has been revoked..."
	NoScope        Kind = "no_scope"         // 403 scope requirement
	ClaudeCodeOnly Kind = "claude_code_only" // 400 only authorized for Claude Code, to any credential not sent by Claude Code; Claude Code gets 200
	LowCredit      Kind = "low_credit"       // 400 credit balance too low
	Billing        Kind = "billing"          // 402
	ModelNotFound  Kind = "model_not_found"  // 404 not_found_error for the model
	RateLimited    Kind = "rate_limited"     // 429 with retry-after
	SpendCap       Kind = "spend_cap"        // 429 without retry-after
	Overloaded     Kind = "overloaded"       // 529
	ServerError    Kind = "server_error"     // 500
	Drop           Kind = "drop"             // the connection is closed without an answer
	Redirect       Kind = "redirect"         // 307 to Location
	HTMLError      Kind = "html_error"       // 502 with a proxy's HTML page
	// ConsumerTerms: 400 until the account accepts updated terms in
	// claude.ai (reported with 2.1.117 to 2.1.165, to Claude Code's own
	// requests: anthropics/claude-code#51966, #65609).
	ConsumerTerms Kind = "consumer_terms"
	// OAuthOrgDisallowed: 401 for an organisation that does not allow OAuth
	// (reported with 1.0.86 and 2.1.126: anthropics/claude-code#6312, #55193).
	OAuthOrgDisallowed Kind = "oauth_org_disallowed"
)

// Behavior is how the fake answers one token.
type Behavior struct {
	Kind Kind `json:"behavior"`
	// Times applies Kind to the first Times requests only, then Valid; 0 means always.
	Times int `json:"times,omitempty"`
	// RetryAfter is the retry-after header for RateLimited, Overloaded and ServerError.
	RetryAfter time.Duration `json:"retry_after,omitempty"`
	// Delay holds the answer back this long (a slow API).
	Delay time.Duration `json:"delay,omitempty"`
	// Location is where Redirect points.
	Location string `json:"location,omitempty"`
	// Reply is the text of a valid answer; "" gives "pong".
	Reply string `json:"reply,omitempty"`
	// ResetIn is when a UsageLimit window resets, from when the token is
	// set; 0 means 2 hours.
	ResetIn time.Duration `json:"reset_in,omitempty"`
}

// Request is one recorded request.
type Request struct {
	Time   time.Time   `json:"time"`
	Method string      `json:"method"`
	Path   string      `json:"path"`
	Header http.Header `json:"-"`
	Body   []byte      `json:"-"`
	// Credential is the last 4 characters of the credential sent, and how.
	Credential string `json:"credential"`
	Beta       string `json:"anthropic_beta"`
	UserAgent  string `json:"user_agent"`
	Status     int    `json:"status"`
}

// API is the fake. Use NewServer for a started httptest server, or its
// ServeHTTP as the handler of your own.
type API struct {
	mu       sync.Mutex
	tokens   map[string]*tokenState
	requests []Request
	// admit, when > 0, admits that many /v1/messages requests per second
	// in all, answering the rest 429 with retry-after (a fleet start).
	admit     int
	window    time.Time
	admitted  int
	overload  time.Time // until then, every request gets 529
	requestID int
	// unavailable are the models the API answers 404 for, to every token.
	unavailable map[string]bool
}

type tokenState struct {
	b    Behavior
	seen int
	// resetAt is when a UsageLimit window resets.
	resetAt time.Time
}

// New returns an empty fake.
func New() *API { return &API{tokens: map[string]*tokenState{}} }

// Server is a started fake.
type Server struct {
	*API
	*httptest.Server
}

// NewServer starts a fake on a loopback port; Close it when done.
func NewServer() *Server {
	a := New()
	return &Server{API: a, Server: httptest.NewServer(a)}
}

// NewServerOn starts a fake listening on addr (host:port); Close it when
// done. Tests of a gateway on the sleeves' own network use this machine's
// non-loopback address (LocalAddress): the traffic stays on this machine.
func NewServerOn(addr string) (*Server, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	a := New()
	srv := &httptest.Server{Listener: l, Config: &http.Server{Handler: a}}
	srv.Start()
	return &Server{API: a, Server: srv}, nil
}

// LocalAddress is an IPv4 address of one of this machine's own interfaces
// that is not loopback: what a container network's gateway looks like.
func LocalAddress() (string, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return "", err
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			return n.IP.String(), nil
		}
	}
	return "", errors.New("this machine has no non-loopback IPv4 address")
}

// Set registers how the fake answers token.
// SetModelUnavailable has the API answer every request that names model
// with the real 404 not_found_error "model: MODEL" (a mistyped or
// withdrawn model), after the token's own checks.
func (a *API) SetModelUnavailable(model string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.unavailable == nil {
		a.unavailable = map[string]bool{}
	}
	a.unavailable[model] = true
}

func (a *API) modelUnavailable(m string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.unavailable[m]
}

func (a *API) Set(token string, b Behavior) {
	a.mu.Lock()
	defer a.mu.Unlock()
	reset := b.ResetIn
	if reset <= 0 {
		reset = 2 * time.Hour
	}
	a.tokens[token] = &tokenState{b: b, resetAt: time.Now().Add(reset)}
}

// Admit makes the fake admit at most n message requests per second across
// all tokens; 0 turns the limit off.
func (a *API) Admit(n int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.admit, a.admitted, a.window = n, 0, time.Time{}
}

// OverloadFor answers 529 to every message request for d.
func (a *API) OverloadFor(d time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.overload = time.Now().Add(d)
}

// Requests returns the requests recorded so far.
func (a *API) Requests() []Request {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]Request(nil), a.requests...)
}

// Reset forgets the recorded requests.
func (a *API) Reset() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.requests = nil
}

// ServeHTTP answers like the Messages API.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/_fake/tokens" && r.Method == http.MethodPost:
		a.control(w, r)
		return
	case r.URL.Path == "/_fake/requests":
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(a.Requests())
		return
	case r.URL.Path == "/api/hello":
		w.WriteHeader(http.StatusOK)
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	rec := Request{Time: time.Now(), Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body,
		Beta: r.Header.Get("anthropic-beta"), UserAgent: r.Header.Get("User-Agent")}
	token, how := credential(r)
	if token != "" {
		rec.Credential = how + " ..." + last4(token)
	}
	// Recorded on arrival, so a test sees a request the fake is holding back.
	a.mu.Lock()
	i := len(a.requests)
	a.requests = append(a.requests, rec)
	a.mu.Unlock()
	status := a.answer(w, r, body, token, how)
	a.mu.Lock()
	if i < len(a.requests) {
		a.requests[i].Status = status
	}
	a.mu.Unlock()
}

func (a *API) answer(w http.ResponseWriter, r *http.Request, body []byte, token, how string) int {
	if r.Method != http.MethodPost || (r.URL.Path != "/v1/messages" && r.URL.Path != "/v1/messages/count_tokens") {
		return a.apiError(w, 404, "not_found_error", "Not Found", 0)
	}
	b, resetAt, refusal := a.behavior(token)
	if refusal != nil {
		return refusal(w)
	}
	if b.Delay > 0 {
		select {
		case <-time.After(b.Delay):
		case <-r.Context().Done():
			return 0
		}
	}
	if status, refused := a.refuseRequest(w, r, token, how, &b); refused {
		return status
	}
	if m := model(body); r.URL.Path == "/v1/messages" && !beforeTheAPI(b.Kind) && a.modelUnavailable(m) {
		return a.apiError(w, 404, "not_found_error", "model: "+m, 0)
	}
	if e, ok := errorAnswers[b.Kind]; ok {
		msg := e.msg
		if b.Kind == ModelNotFound {
			msg += model(body)
		}
		ra := b.RetryAfter
		if b.Kind == RateLimited && ra == 0 {
			ra = time.Second
		}
		if !e.retryAfter {
			ra = 0
		}
		return a.apiError(w, e.status, e.typ, msg, ra)
	}
	if status, ok := a.usageAnswer(w, r, body, b, resetAt); ok {
		return status
	}
	switch b.Kind {
	case Valid:
		return a.ok(w, r, body, b.Reply)
	case Redirect, HTMLError, Drop:
		return broken(w, b)
	}
	msg := "invalid x-api-key"
	if how == "bearer" {
		msg = "Invalid bearer token"
	}
	return a.apiError(w, 401, "authentication_error", msg, 0)
}

// refuseRequest gives the answers that depend on the request, not the
// token's behaviour: no credential, an OAuth token without its beta
// header, no API version, a subscription token not sent by Claude Code.
func (a *API) refuseRequest(w http.ResponseWriter, r *http.Request, token, how string, b *Behavior) (int, bool) {
	if token == "" {
		return a.apiError(w, 401, "authentication_error", "x-api-key header is required", 0), true
	}
	oauth := strings.HasPrefix(token, "sk-ant-oat")
	if oauth && how == "bearer" && !strings.Contains(r.Header.Get("anthropic-beta"), "oauth-2025-04-20") {
		return a.apiError(w, 401, "authentication_error", "OAuth authentication is currently not supported.", 0), true
	}
	if r.Header.Get("anthropic-version") == "" {
		return a.apiError(w, 400, "invalid_request_error", "anthropic-version: header is required", 0), true
	}
	if b.Kind == ClaudeCodeOnly && fromClaudeCode(r) {
		b.Kind = Valid
	}
	if oauth && !fromClaudeCode(r) && !beforeTheAPI(b.Kind) {
		e := errorAnswers[ClaudeCodeOnly]
		return a.apiError(w, e.status, e.typ, e.msg, 0), true
	}
	return 0, false
}

// fromClaudeCode tells Claude Code's own requests by the headers every
// release sends (observed from 2.0.76 to 2.1.332: User-Agent
// "claude-cli/<version> (...)" and "x-app: cli"). The real API serves a
// subscription token to Claude Code only; other tools' users report this
// 400 since January 2026.
func fromClaudeCode(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get("User-Agent"), "claude-cli/") && r.Header.Get("x-app") == "cli"
}

// beforeTheAPI are the answers that come before the subscription check:
// the token's own refusals (the real API checks expiry and revocation
// first), and a broken path that never reaches the API.
func beforeTheAPI(k Kind) bool {
	switch k {
	case Expired, Invalid, Revoked, NoScope, Redirect, HTMLError, Drop, OAuthOrgDisallowed:
		return true
	}
	return false
}

// behavior is how to answer token now: its Behavior, or a refusal the
// whole API gives first (an overload, the admission rate).
func (a *API) behavior(token string) (Behavior, time.Time, func(http.ResponseWriter) int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := time.Now()
	if now.Before(a.overload) {
		return Behavior{}, time.Time{}, func(w http.ResponseWriter) int { return a.apiError(w, 529, "overloaded_error", "Overloaded", 0) }
	}
	if a.admit > 0 {
		if now.Sub(a.window) >= time.Second {
			a.window, a.admitted = now, 0
		}
		if a.admitted >= a.admit {
			wait := time.Second - now.Sub(a.window)
			return Behavior{}, time.Time{}, func(w http.ResponseWriter) int {
				return a.apiError(w, 429, "rate_limit_error", "Number of requests has exceeded your per-minute rate limit", wait)
			}
		}
		a.admitted++
	}
	st := a.tokens[token]
	b := Behavior{Kind: Invalid}
	var resetAt time.Time
	if st != nil {
		st.seen++
		b, resetAt = st.b, st.resetAt
		if b.Times > 0 && st.seen > b.Times {
			b = Behavior{Kind: Valid, Reply: b.Reply}
		}
	}
	return b, resetAt, nil
}

// broken answers the way a broken path to the API does: a redirect, a
// proxy's HTML page, a dropped connection.
func broken(w http.ResponseWriter, b Behavior) int {
	switch b.Kind {
	case Redirect:
		w.Header().Set("Location", b.Location)
		w.WriteHeader(http.StatusTemporaryRedirect)
		return http.StatusTemporaryRedirect
	case HTMLError:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(502)
		io.WriteString(w, "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>")
		return 502
	}
	if hj, ok := w.(http.Hijacker); ok {
		if c, _, err := hj.Hijack(); err == nil {
			if tc, ok := c.(*net.TCPConn); ok {
				tc.SetLinger(0)
			}
			c.Close()
			return 0
		}
	}
	panic(http.ErrAbortHandler)
}

func (a *API) ok(w http.ResponseWriter, r *http.Request, body []byte, reply string) int {
	if reply == "" {
		reply = "pong"
	}
	a.setID(w)
	w.Header().Set("Content-Type", "application/json")
	if strings.HasSuffix(r.URL.Path, "/count_tokens") {
		io.WriteString(w, `{"input_tokens":8}`)
		return 200
	}
	var req struct {
		Stream bool `json:"stream"`
	}
	json.Unmarshal(body, &req)
	id := "msg_fake" + randHex(8)
	if req.Stream {
		w.Header().Set("Content-Type", "text/event-stream")
		events := []string{
			`event: message_start` + "\n" + `data: {"type":"message_start","message":{"id":"` + id + `","type":"message","role":"assistant","model":"` + model(body) + `","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":8,"output_tokens":1}}}`,
			`event: content_block_start` + "\n" + `data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`,
			`event: content_block_delta` + "\n" + `data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":` + strconv.Quote(reply) + `}}`,
			`event: content_block_stop` + "\n" + `data: {"type":"content_block_stop","index":0}`,
			`event: message_delta` + "\n" + `data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":1}}`,
			`event: message_stop` + "\n" + `data: {"type":"message_stop"}`,
		}
		for _, e := range events {
			io.WriteString(w, e+"\n\n")
		}
		return 200
	}
	fmt.Fprintf(w, `{"id":%q,"type":"message","role":"assistant","model":%q,"content":[{"type":"text","text":%s}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":8,"output_tokens":1}}`,
		id, model(body), strconv.Quote(reply))
	return 200
}

// errorAnswers are the kinds answered with a fixed API error: the status,
// type and message the real API sends, and whether retry-after applies.
var errorAnswers = map[Kind]struct {
	status     int
	typ, msg   string
	retryAfter bool
}{
	Expired:            {401, "authentication_error", "OAuth token has expired. Please obtain a new token or refresh your existing token.", false},
	Revoked:            {403, "permission_error", "OAuth token has been revoked. Please obtain a new token.", false},
	NoScope:            {403, "permission_error", "OAuth token does not meet scope requirement user:inference", false},
	ClaudeCodeOnly:     {400, "invalid_request_error", "This credential is only authorized for use with Claude Code and cannot be used for other API requests.", false},
	LowCredit:          {400, "invalid_request_error", "Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.", false},
	Billing:            {402, "billing_error", "Your organization has an outstanding balance.", false},
	ModelNotFound:      {404, "not_found_error", "model: ", false},
	RateLimited:        {429, "rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit.", true},
	SpendCap:           {429, "rate_limit_error", "You have reached your specified API usage limits. You will regain access on the first of next month.", false},
	Overloaded:         {529, "overloaded_error", "Overloaded", true},
	ConsumerTerms:      {400, "invalid_request_error", "We've updated our Consumer Terms and Privacy Policy. You'll need to accept them in claude.ai with the email in /status to continue.", false},
	OAuthOrgDisallowed: {401, "authentication_error", "OAuth authentication is currently not allowed for this organization.", false},
	ServerError:        {500, "api_error", "Internal server error", true},
}

// apiError writes the real error shape with a request-id.
func (a *API) apiError(w http.ResponseWriter, status int, typ, msg string, retryAfter time.Duration) int {
	id := a.setID(w)
	if retryAfter > 0 {
		secs := int((retryAfter + time.Second - 1) / time.Second)
		w.Header().Set("retry-after", strconv.Itoa(secs))
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("x-should-retry", strconv.FormatBool(status == 429 || status >= 500))
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]any{"type": "error", "error": map[string]string{"type": typ, "message": msg}, "request_id": id})
	w.Write(b)
	return status
}

func (a *API) setID(w http.ResponseWriter) string {
	a.mu.Lock()
	a.requestID++
	n := a.requestID
	a.mu.Unlock()
	id := fmt.Sprintf("req_fake%06d%s", n, randHex(4))
	w.Header().Set("request-id", id)
	return id
}

func (a *API) control(w http.ResponseWriter, r *http.Request) {
	var c struct {
		Token string `json:"token"`
		Behavior
		RetryAfterSeconds float64 `json:"retry_after_seconds"`
		DelaySeconds      float64 `json:"delay_seconds"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&c); err != nil || c.Token == "" || c.Kind == "" {
		http.Error(w, `want {"token":"...","behavior":"valid|expired|revoked|..."}`, http.StatusBadRequest)
		return
	}
	c.Behavior.RetryAfter = time.Duration(c.RetryAfterSeconds * float64(time.Second))
	c.Behavior.Delay = time.Duration(c.DelaySeconds * float64(time.Second))
	a.Set(c.Token, c.Behavior)
	w.WriteHeader(http.StatusNoContent)
}

func credential(r *http.Request) (token, how string) {
	if k := r.Header.Get("x-api-key"); k != "" {
		return k, "x-api-key"
	}
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
		return strings.TrimPrefix(h, "Bearer "), "bearer"
	}
	return "", ""
}

func model(body []byte) string {
	var m struct {
		Model string `json:"model"`
	}
	json.Unmarshal(body, &m)
	if m.Model == "" {
		return "unknown"
	}
	return m.Model
}

func last4(s string) string {
	if len(s) < 4 {
		return ""
	}
	return s[len(s)-4:]
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// FakeToken makes a credential of the real shape that is plainly not one:
// "sk-ant-<kind>-", a filler of FAKE, and tail, 108 characters in all like
// a setup-token or API key, so length and last-4 rules see the real shape.
// Tests and scripts build their tokens with it, so no token-shaped literal
// is ever committed.
func FakeToken(kind, tail string) string {
	head := "sk-ant-" + kind + "-"
	n := 108 - len(head) - len(tail)
	if n < 0 {
		n = 0
	}
	return head + strings.Repeat("FAKE", n/4+1)[:n] + tail
}
