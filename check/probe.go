package check

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"github.com/rs/zerolog"
)

// DefaultBaseURL is where Claude Code sends requests without ANTHROPIC_BASE_URL.
const DefaultBaseURL = "https://api.anthropic.com"

// maxResponseBytes caps what is read of any answer.
const maxResponseBytes = 64 << 10

// ProbeConfig is how to ask the API, once, whether a credential works.
type ProbeConfig struct {
	BaseURL string // "" means DefaultBaseURL
	// BaseURLSource names where BaseURL came from, for messages.
	BaseURLSource  string
	Model          string
	Deadline       time.Duration // for the whole probe, retries included
	AttemptTimeout time.Duration // for one request
	CustomHeaders  string        // ANTHROPIC_CUSTOM_HEADERS: "Name: value" lines
	ExtraCAFile    string        // NODE_EXTRA_CA_CERTS
	UserAgent      string
	// Strict: a rate limit that outlasts the deadline stops the start.
	Strict bool
	// WarnUnavailable: an unreachable or failing API is a warning, not an error.
	WarnUnavailable bool
	// RetryWaitMin and RetryWaitMax bound the exponential backoff.
	RetryWaitMin, RetryWaitMax time.Duration
	// Proxy picks a proxy for a request; nil means none.
	Proxy func(*http.Request) (*url.URL, error)
	Log   zerolog.Logger
}

// Verdict is what the probe concluded.
type Verdict struct {
	Status     Status  `json:"status"`
	Finding    Finding `json:"finding"`
	HTTPStatus int     `json:"http_status,omitempty"`
	RequestID  string  `json:"request_id,omitempty"`
	ErrorType  string  `json:"error_type,omitempty"`
	Attempts   int     `json:"attempts"`
	ElapsedMS  int64   `json:"elapsed_ms"`
	// Class names the outcome: valid, rejected, billing, rate_limited,
	// unavailable, insecure, redirect, not_anthropic, interrupted, skipped.
	Class string `json:"class"`
}

type lastAnswer struct {
	status  int
	header  http.Header
	body    []byte
	err     error
	tooLong time.Duration // a Retry-After longer than the time left
	// tail, when set, replaces the " (HTTP ...)" detail (the CLI probe's own words).
	tail string
	// once: a single attempt was made on purpose (the CLI probe).
	once bool
	// apiErr, when set, is the API's error as another program reported it
	// (the CLI probe), in place of a body to parse.
	apiErr *APIError
}

// Probe sends one tiny inference request with cred and classifies the
// answer. It retries what can pass (429 with Retry-After, 5xx, 529,
// transport errors) within cfg.Deadline, never what cannot (401, 403,
// other 4xx, certificate errors), and never follows a redirect.
func Probe(ctx context.Context, cred Credential, cfg ProbeConfig) Verdict {
	start := time.Now()
	v := probe(ctx, cred, cfg)
	v.ElapsedMS = time.Since(start).Milliseconds()
	v.scrubURL(cfg.BaseURL)
	if cred.SettingsFile != "" && v.Finding.Severity == Error && v.Finding.Code == Rejected {
		v.Finding.Message += "; it came from " + cred.Source + ", which overrides the process environment"
	}
	return v
}

func probe(ctx context.Context, cred Credential, cfg ProbeConfig) Verdict {
	base := cfg.BaseURL
	src := cfg.BaseURLSource
	if base == "" {
		base, src = DefaultBaseURL, "the default base URL"
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return verdict("insecure", StatusUnknown, Error, Config, "base_url_invalid",
			fmt.Sprintf("%s (%s) is not an http(s) URL", src, strconv.Quote(RedactURL(base))), "set ANTHROPIC_BASE_URL to a URL such as https://api.anthropic.com")
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		return verdict("insecure", StatusUnknown, Error, Config, "base_url_plain_http",
			fmt.Sprintf("%s is plain http to %s, which is not a loopback address; sleeve-check will not send a credential over it", src, strconv.Quote(u.Host)),
			"use https, or a proxy on 127.0.0.1")
	}
	endpoint := strings.TrimRight(base, "/") + "/v1/messages"
	body := fmt.Sprintf(`{"model":%s,"max_tokens":1,"messages":[{"role":"user","content":"ping"}]}`, strconv.Quote(cfg.Model))

	parent := ctx
	ctx, cancel := context.WithTimeout(parent, cfg.Deadline)
	defer cancel()
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodPost, endpoint, []byte(body))
	if err != nil {
		return verdict("insecure", StatusUnknown, Error, Config, "base_url_invalid", fmt.Sprintf("%s: cannot build a request: %v", src, urlError(err)), "fix ANTHROPIC_BASE_URL")
	}
	if msg := setHeaders(req.Header, cred, cfg); msg != "" {
		return verdict("insecure", StatusUnknown, Error, Config, "custom_headers_invalid", msg, "write ANTHROPIC_CUSTOM_HEADERS as Name: value lines")
	}

	transport, caErr := newTransport(cfg, u.Scheme == "https")
	if caErr != "" {
		cfg.Log.Warn().Str("hint", "fix NODE_EXTRA_CA_CERTS or unset it").Msg(caErr)
	}
	attemptTimeout := cfg.AttemptTimeout
	var (
		mu       sync.Mutex
		last     lastAnswer
		attempts int
		nextWait time.Duration
	)
	client := retryablehttp.NewClient()
	client.HTTPClient = &http.Client{
		Transport: transport,
		Timeout:   attemptTimeout,
		// A redirect with a credential attached is never followed: the
		// answer is returned and judged.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	client.Logger = leveled{cfg.Log, urlSecrets(cfg.BaseURL)}
	client.RetryMax = 1000 // the deadline, not this count, ends the retries
	client.RequestLogHook = func(_ retryablehttp.Logger, _ *http.Request, n int) {
		mu.Lock()
		attempts = n + 1
		mu.Unlock()
	}
	client.CheckRetry = func(ctx context.Context, resp *http.Response, err error) (bool, error) {
		mu.Lock()
		defer mu.Unlock()
		// An attempt cut short by the probe's own deadline says less than
		// the answer before it: keep that one.
		if resp == nil && ctx.Err() != nil && (last.status != 0 || last.err != nil) {
			return false, ctx.Err()
		}
		last = lastAnswer{err: err}
		if resp != nil {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
			resp.Body.Close()
			resp.Body = io.NopCloser(bytes.NewReader(b))
			last = lastAnswer{status: resp.StatusCode, header: resp.Header, body: b}
		}
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		retry := false
		switch {
		case err != nil:
			// A certificate or protocol mismatch does not heal by waiting.
			retry = !isCertError(err) && !isNotTLS(err)
		case resp.StatusCode == http.StatusTooManyRequests:
			// A 429 without Retry-After is a spend cap: waiting does not help.
			retry = resp.Header.Get("Retry-After") != ""
		case resp.StatusCode >= 500 && resp.StatusCode < 600:
			retry = true
		}
		if !retry {
			return false, nil
		}
		left := time.Until(deadlineOf(ctx))
		if left <= 0 {
			// The context's own timer may not have fired yet on a busy
			// machine; without this, retries would spin with no wait.
			return false, nil
		}
		wait := backoff(cfg.RetryWaitMin, cfg.RetryWaitMax, attempts)
		if ra, ok := retryAfter(resp); ok {
			if ra > left {
				last.tooLong = ra
				return false, nil
			}
			wait = ra
		}
		if wait >= left {
			wait = left
		}
		nextWait = wait
		return true, nil
	}
	client.Backoff = func(_, _ time.Duration, _ int, _ *http.Response) time.Duration {
		mu.Lock()
		defer mu.Unlock()
		return nextWait
	}
	client.ErrorHandler = retryablehttp.PassthroughErrorHandler

	resp, doErr := client.Do(req)
	if resp != nil {
		resp.Body.Close()
	}
	mu.Lock()
	defer mu.Unlock()
	v := classify(last, cfg, src)
	v.Attempts = attempts
	if parent.Err() != nil {
		v = verdict("interrupted", StatusUnknown, Error, Interrupted, "probe_interrupted", "the probe was interrupted", "")
		v.Attempts = attempts
		return v
	}
	if doErr != nil && last.status == 0 && last.err == nil {
		last.err = doErr
		v = classify(last, cfg, src)
		v.Attempts = attempts
	}
	if !time.Now().Before(deadlineOf(ctx)) && (v.Class == "unavailable" || v.Class == "rate_limited") {
		v.Finding.Message += fmt.Sprintf(" (gave up after %d attempts in %s)", attempts, cfg.Deadline)
	}
	return v
}

func classify(a lastAnswer, cfg ProbeConfig, src string) Verdict {
	if a.status == 0 {
		return transportVerdict(a.err, cfg, src)
	}
	e := ParseAPIError(a.body)
	if a.apiErr != nil {
		e = *a.apiErr
	}
	rid := a.header.Get("request-id")
	if rid == "" {
		rid = e.RequestID
	}
	if a.status < 300 {
		e = APIError{} // a success body is not news
	}
	tail := apiTail(a.status, e, rid)
	if a.tail != "" {
		tail = a.tail
	}
	var v Verdict
	switch s := a.status; {
	case s >= 200 && s < 300:
		v = verdict("valid", StatusValid, Info, OK, "probe_valid", "the API accepted the credential for inference"+tail, "")
	case s >= 300 && s < 400:
		loc := a.header.Get("Location")
		v = verdict("redirect", StatusUnknown, Error, Config, "probe_redirect",
			fmt.Sprintf("%s answered with a redirect (%d) to %s; sleeve-check does not follow a redirect with a credential", src, s, strconv.Quote(clean(RedactURL(loc), 200))),
			"set ANTHROPIC_BASE_URL to the final address of the API (check https and the path)")
	case s == 400 && strings.Contains(e.Message, "only authorized for use with Claude Code"):
		v = verdict("valid", StatusValid, Info, OK, "probe_claude_code_only",
			"the API accepted the credential; it is only authorized for Claude Code, which is what will use it"+tail, "")
	case s == 400 && isBillingMessage(e.Message):
		v = verdict("billing", StatusValid, Error, Billing, "probe_billing", "the credential works but the account cannot pay"+tail,
			"add credits or raise the spend limit in the Claude Console")
	case s == 400 && e.Anthropic:
		v = verdict("valid", StatusValid, Warning, OK, "probe_bad_request",
			"the API accepted the credential but refused the probe request itself"+tail, "set SLEEVE_CHECK_PROBE_MODEL to a model this account can use")
	case s == 401:
		v = rejectedVerdict(e, tail)
	case s == 403:
		msg := "the API refused the credential: it is revoked or lacks the scope user:inference" + tail
		if strings.Contains(strings.ToLower(e.Message), "revoked") {
			msg = "the credential has been revoked" + tail
		}
		v = verdict("rejected", StatusInvalid, Error, Rejected, "probe_forbidden", msg,
			"create a new token with `claude setup-token` (or log in again), and replace the old one everywhere")
	case s == 402:
		v = verdict("billing", StatusValid, Error, Billing, "probe_billing", "the credential works but the account cannot pay"+tail,
			"fix billing for the organisation in the Claude Console")
	case s == 404 && e.Anthropic && e.Type == "not_found_error" && namesModel(e.Message, cfg.Model):
		v = verdict("valid", StatusValid, Warning, OK, "probe_model_unavailable",
			fmt.Sprintf("the credential works, but the probe model %s is not available to it", strconv.Quote(cfg.Model))+tail,
			"set SLEEVE_CHECK_PROBE_MODEL to a model this account can use")
	case s == 404:
		// The real API answers an unknown path with not_found_error "Not
		// Found": the credential was never looked at, and Claude Code,
		// which posts to the same path, fails every message.
		v = notFoundVerdict(cfg, src, tail)
	case s == 429 && a.tooLong > 0:
		v = rateLimited(cfg, fmt.Sprintf("the API is rate-limiting this credential and asked to wait %s, longer than the %s the probe may take", a.tooLong.Round(time.Second), cfg.Deadline)+tail)
	case s == 429 && a.header.Get("Retry-After") != "" && a.once:
		v = rateLimited(cfg, "the API is rate-limiting this credential"+tail)
	case s == 429 && a.header.Get("Retry-After") != "":
		v = rateLimited(cfg, "the API kept rate-limiting this credential until the probe's deadline"+tail)
	case s == 429:
		v = verdict("billing", StatusValid, Error, Billing, "probe_spend_cap",
			"the API refused with 429 and no Retry-After: the organisation's spend limit is reached"+tail,
			"raise the spend limit in the Claude Console, or wait for the next billing period")
	case s >= 500 && s < 600:
		what := "failed"
		if s == 529 || e.Type == "overloaded_error" {
			what = "is overloaded"
		}
		if a.tooLong > 0 {
			tail += fmt.Sprintf("; it asked to wait %s, longer than the deadline", a.tooLong.Round(time.Second))
		}
		v = unavailable(cfg, "probe_server_error", fmt.Sprintf("the API %s", what)+tail, "retry later; see status.anthropic.com")
	default:
		v = unavailable(cfg, "probe_unexpected", "the API gave an unexpected answer"+tail, "check ANTHROPIC_BASE_URL and any proxy in between")
	}
	v.HTTPStatus, v.RequestID, v.ErrorType = a.status, rid, e.Type
	return v
}

// namesModel tells the API's "model: claude-x" 404 (the credential
// works; the model is not available to it) from a 404 for the path.
func namesModel(msg, model string) bool {
	m := strings.ToLower(msg)
	return (model != "" && strings.Contains(msg, model)) || strings.HasPrefix(m, "model:") || strings.Contains(m, "model")
}

func notFoundVerdict(cfg ProbeConfig, src, tail string) Verdict {
	path := "/v1/messages"
	if u, err := url.Parse(cfg.BaseURL); err == nil && cfg.BaseURL != "" {
		path = strings.TrimRight(u.Path, "/") + path
	}
	msg := fmt.Sprintf("%s does not serve the Messages API: POST %s gave 404, so the credential was never checked and Claude Code, which posts there too, would fail every message", src, path)
	hint := "set ANTHROPIC_BASE_URL to the API's root (https://api.anthropic.com, or your gateway's root): Claude Code appends /v1/messages itself"
	if base := strings.TrimRight(cfg.BaseURL, "/"); strings.HasSuffix(base, "/v1") {
		msg = fmt.Sprintf("%s ends in /v1, so requests go to %s and get 404; Claude Code appends /v1/messages itself, so it would fail every message", src, path)
		hint = fmt.Sprintf("set ANTHROPIC_BASE_URL=%s (without the /v1)", RedactURL(strings.TrimSuffix(base, "/v1")))
	}
	return verdict("not_anthropic", StatusUnknown, Error, Config, "probe_not_found", msg+tail, hint)
}

func rejectedVerdict(e APIError, tail string) Verdict {
	m := strings.ToLower(e.Message)
	switch {
	case strings.Contains(m, "expired"):
		return verdict("rejected", StatusExpired, Error, Rejected, "probe_expired", "the API says the credential has expired"+tail,
			"create a new token with `claude setup-token` or log in again")
	case strings.Contains(m, "oauth authentication is currently not supported"):
		return verdict("rejected", StatusInvalid, Error, Rejected, "probe_oauth_unsupported", "the API refused an OAuth token sent without the OAuth beta header"+tail,
			"an OAuth token (sk-ant-oat...) belongs in CLAUDE_CODE_OAUTH_TOKEN, not ANTHROPIC_AUTH_TOKEN or ANTHROPIC_API_KEY")
	}
	return verdict("rejected", StatusInvalid, Error, Rejected, "probe_unauthorized", "the API rejected the credential as invalid"+tail,
		"copy the credential again, or create a new one")
}

func rateLimited(cfg ProbeConfig, msg string) Verdict {
	if cfg.Strict {
		return verdict("rate_limited", StatusValid, Error, RateLimited, "probe_rate_limited", msg,
			"the credential itself is valid; splay the starts (SLEEVE_CHECK_PROBE_SPLAY), raise SLEEVE_CHECK_PROBE_TIMEOUT, or drop --strict")
	}
	return verdict("rate_limited", StatusValid, Warning, OK, "probe_rate_limited", msg+"; starting anyway, the credential itself is valid",
		"use --strict to stop instead")
}

func unavailable(cfg ProbeConfig, id, msg, hint string) Verdict {
	if cfg.WarnUnavailable {
		return verdict("unavailable", StatusUnknown, Warning, OK, id, msg+"; starting anyway (SLEEVE_CHECK_ON_UNAVAILABLE=warn)", hint)
	}
	return verdict("unavailable", StatusUnknown, Error, Unavailable, id, msg, hint)
}

func transportVerdict(err error, cfg ProbeConfig, src string) Verdict {
	var dnsErr *net.DNSError
	var opErr *net.OpError
	var certInvalid x509.CertificateInvalidError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var recErr tls.RecordHeaderError
	cause := "an unknown error"
	if err != nil {
		cause = clean(urlError(err).Error(), 200)
	}
	switch {
	case err == nil:
		return unavailable(cfg, "probe_no_answer", "the probe got no answer", "check the network")
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return unavailable(cfg, "probe_timeout", fmt.Sprintf("the API at %s did not answer in time", src), "check the network and any proxy; raise SLEEVE_CHECK_PROBE_TIMEOUT on a slow link")
	case strings.Contains(err.Error(), "proxyconnect"):
		return unavailable(cfg, "probe_proxy", "the proxy could not be reached or refused the connection: "+cause, "check HTTPS_PROXY and NO_PROXY")
	case errors.As(err, &dnsErr):
		return unavailable(cfg, "probe_dns", fmt.Sprintf("the name %s cannot be resolved", strconv.Quote(dnsErr.Name)), "check the container's network and DNS, and ANTHROPIC_BASE_URL")
	case errors.As(err, &unknownAuth) || errors.As(err, &certInvalid) || errors.As(err, &hostErr) || isCertError(err):
		return unavailable(cfg, "probe_tls_certificate", "the server's TLS certificate is not trusted: "+cause,
			"behind a TLS-inspecting proxy, give its CA in SSL_CERT_FILE or NODE_EXTRA_CA_CERTS")
	case errors.As(err, &recErr) || isNotTLS(err):
		return unavailable(cfg, "probe_tls", "the server does not speak TLS at "+src, "use http:// only for a loopback proxy, https:// otherwise")
	case errors.Is(err, syscall.ECONNREFUSED):
		return unavailable(cfg, "probe_refused", fmt.Sprintf("the connection to %s was refused", src), "check that the API or gateway is listening at ANTHROPIC_BASE_URL")
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET):
		return unavailable(cfg, "probe_dropped", "the connection was dropped before an answer came", "check any proxy or firewall in between")
	case errors.As(err, &opErr):
		return unavailable(cfg, "probe_network", "the network failed: "+cause, "check the container's network")
	}
	return unavailable(cfg, "probe_transport", "the request failed: "+cause, "check the network and ANTHROPIC_BASE_URL")
}

func verdict(class string, st Status, sev Severity, code Code, id, msg, hint string) Verdict {
	return Verdict{Class: class, Status: st, Finding: Finding{Severity: sev, Code: code, ID: id, Message: msg, Hint: hint}}
}

func apiTail(status int, e APIError, rid string) string {
	s := fmt.Sprintf(" (HTTP %d", status)
	if e.Type != "" {
		s += " " + e.Type
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if rid != "" {
		s += "; request-id " + clean(rid, 128)
	}
	return s + ")"
}

func isBillingMessage(m string) bool {
	m = strings.ToLower(m)
	return strings.Contains(m, "credit balance") || strings.Contains(m, "spend limit") || strings.Contains(m, "billing") || strings.Contains(m, "usage limits")
}

// setHeaders sets the headers Claude Code would send for cred.
func setHeaders(h http.Header, cred Credential, cfg ProbeConfig) string {
	for _, line := range strings.Split(cfg.CustomHeaders, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		name, val, ok := strings.Cut(line, ":")
		name = strings.TrimSpace(name)
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			return "ANTHROPIC_CUSTOM_HEADERS has a line that is not \"Name: value\""
		}
		h.Add(textproto.CanonicalMIMEHeaderKey(name), strings.TrimSpace(val))
	}
	h.Set("Content-Type", "application/json")
	h.Set("anthropic-version", "2023-06-01")
	h.Set("User-Agent", cfg.UserAgent)
	tok := cred.Value.Reveal()
	switch cred.Kind {
	case KindOAuthToken, KindOAuthFile:
		h.Set("Authorization", "Bearer "+tok)
		h.Set("anthropic-beta", "oauth-2025-04-20")
	case KindAPIKey:
		h.Set("x-api-key", tok)
	case KindAuthToken:
		h.Set("Authorization", "Bearer "+tok)
	}
	return ""
}

// newTransport builds the probe's transport. The extra CA file is read
// only for https, and not when it is the system bundle Go already loads
// (a common setting, and parsing a bundle twice costs ~10 ms).
func newTransport(cfg ProbeConfig, https bool) (*http.Transport, string) {
	t := &http.Transport{
		Proxy:               cfg.Proxy,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
		TLSHandshakeTimeout: 10 * time.Second,
		ForceAttemptHTTP2:   true,
		MaxIdleConns:        2,
	}
	if cfg.ExtraCAFile == "" || !https || isSystemBundle(cfg.ExtraCAFile) {
		return t, ""
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	pem, err := os.ReadFile(cfg.ExtraCAFile)
	if err != nil {
		return t, fmt.Sprintf("NODE_EXTRA_CA_CERTS names %s, which cannot be read: %s", strconv.Quote(cfg.ExtraCAFile), ErrText(err))
	}
	if !pool.AppendCertsFromPEM(pem) {
		return t, fmt.Sprintf("NODE_EXTRA_CA_CERTS names %s, which holds no PEM certificate", strconv.Quote(cfg.ExtraCAFile))
	}
	t.TLSClientConfig = &tls.Config{RootCAs: pool}
	return t, ""
}

// isSystemBundle reports whether path is the file Go's system pool reads:
// SSL_CERT_FILE, or the Debian bundle when that is unset.
func isSystemBundle(path string) bool {
	sys := os.Getenv("SSL_CERT_FILE")
	if sys == "" {
		sys = "/etc/ssl/certs/ca-certificates.crt"
	}
	a, err1 := os.Stat(path)
	b, err2 := os.Stat(sys)
	return err1 == nil && err2 == nil && os.SameFile(a, b)
}

func isCertError(err error) bool {
	var ua x509.UnknownAuthorityError
	var ci x509.CertificateInvalidError
	var he x509.HostnameError
	var cv *tls.CertificateVerificationError
	return errors.As(err, &ua) || errors.As(err, &ci) || errors.As(err, &he) || errors.As(err, &cv)
}

func isNotTLS(err error) bool {
	return err != nil && strings.Contains(err.Error(), "server gave HTTP response to HTTPS client")
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func deadlineOf(ctx context.Context) time.Time {
	if d, ok := ctx.Deadline(); ok {
		return d
	}
	return time.Now().Add(time.Hour)
}

// backoff is exponential with jitter: attempt n waits a random time in
// [d/2, d] with d = min * 2^n, capped at max.
func backoff(min, max time.Duration, n int) time.Duration {
	d := min
	for i := 1; i < n && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	if d <= 0 {
		return 0
	}
	return d/2 + rand.N(d/2+1)
}

// retryAfter reads Retry-After (seconds or an HTTP date) on the answers
// where the API uses it: 429, 503 and 529.
func retryAfter(resp *http.Response) (time.Duration, bool) {
	if resp == nil || (resp.StatusCode != 429 && resp.StatusCode != 503 && resp.StatusCode != 529) {
		return 0, false
	}
	v := strings.TrimSpace(resp.Header.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 && s < 1e6 {
		return time.Duration(s * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		d := time.Until(t)
		if d < 0 {
			d = 0
		}
		return d, true
	}
	return 0, false
}

// leveled adapts zerolog to retryablehttp's LeveledLogger, at debug level:
// its lines are the probe's own steps, shown with --verbose.
type leveled struct {
	l      zerolog.Logger
	secret []string
}

func (z leveled) Error(msg string, kv ...any) { z.log(msg, kv) }
func (z leveled) Info(msg string, kv ...any)  { z.log(msg, kv) }
func (z leveled) Debug(msg string, kv ...any) { z.log(msg, kv) }
func (z leveled) Warn(msg string, kv ...any)  { z.log(msg, kv) }

// log writes one line of retryablehttp's, cleaned: its "url" field is
// redacted, and no part of the base URL that can hold a secret remains.
func (z leveled) log(msg string, kv []any) {
	m := map[string]any{}
	for i := 0; i+1 < len(kv); i += 2 {
		k, _ := kv[i].(string)
		var s string
		switch x := kv[i+1].(type) {
		case error:
			s = urlError(x).Error()
		default:
			s = fmt.Sprint(x)
		}
		if k == "url" {
			s = RedactURL(s)
		}
		m[k] = scrub(clean(s, 200), z.secret)
	}
	z.l.Debug().Fields(m).Msg("probe: " + scrub(msg, z.secret))
}
