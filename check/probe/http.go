package probe

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"sleeve-check/check"
	"sleeve-check/internal/outcome"
	"sleeve-check/internal/safefile"
)

// DefaultBaseURL is where Claude Code sends requests without ANTHROPIC_BASE_URL.
const DefaultBaseURL = "https://api.anthropic.com"

// maxResponseBytes caps what is read of any answer.
const maxResponseBytes = 64 << 10

// HTTPConfig is how to ask the API, once, whether a credential works.
type HTTPConfig struct {
	// Strict, WarnUnavailable and WarnUsageLimit say how the answer is judged (Judgement).
	Strict, WarnUnavailable, WarnUsageLimit bool
	// RequireTLS refuses a plain-http base URL off loopback.
	RequireTLS bool
	BaseURL    string // "" means DefaultBaseURL
	// BaseURLSource names where BaseURL came from, for messages.
	BaseURLSource string
	Model         string
	// ModelSource says where Model was set when it is claude's own.
	ModelSource    string
	Deadline       time.Duration // for the whole probe, retries included
	AttemptTimeout time.Duration // for one request
	CustomHeaders  string        // ANTHROPIC_CUSTOM_HEADERS: "Name: value" lines
	ExtraCAFile    string        // NODE_EXTRA_CA_CERTS
	// SystemCAFile is SSL_CERT_FILE: an ExtraCAFile that is this bundle
	// (or Debian's, when it is unset) is not loaded twice.
	SystemCAFile string
	UserAgent    string
	// RetryWaitMin and RetryWaitMax bound the exponential backoff.
	RetryWaitMin, RetryWaitMax time.Duration
	// Proxy picks a proxy for a request; nil means none.
	Proxy func(*http.Request) (*url.URL, error)
	Log   zerolog.Logger
}

// HTTP sends one tiny inference request with cred and classifies the
// answer, retrying within cfg.Deadline what retryPolicy says can pass,
// and never following a redirect.
func HTTP(ctx context.Context, cred check.Credential, cfg HTTPConfig) Verdict {
	start := time.Now()
	q := question{Judgement: Judgement{cfg.Strict, cfg.WarnUnavailable, cfg.WarnUsageLimit}, BaseURL: cfg.BaseURL, Source: cfg.BaseURLSource, Model: cfg.Model, ModelSource: cfg.ModelSource, Deadline: cfg.Deadline}
	if q.BaseURL == "" {
		q.Source = "the default base URL"
	}
	v := askHTTP(ctx, cred, cfg, q)
	v.ElapsedMS = time.Since(start).Milliseconds()
	v.scrubURL(cfg.BaseURL)
	return v
}

func askHTTP(ctx context.Context, cred check.Credential, cfg HTTPConfig, q question) Verdict {
	req, https, v := newRequest(cred, cfg, q)
	if req == nil {
		return v
	}
	s := &session{cfg: cfg, began: time.Now()}
	parent := ctx
	ctx, cancel := context.WithTimeout(parent, cfg.Deadline)
	defer cancel()
	resp, doErr := s.do(ctx, s.client(https), req)
	if resp != nil {
		resp.Body.Close()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.last
	a.Attempts = s.attempts
	if parent.Err() != nil {
		v := interrupted()
		v.Attempts = a.Attempts
		return v
	}
	if doErr != nil && a.Status == 0 && a.Err == nil {
		a.Err = doErr
	}
	a.GaveUp = !time.Now().Before(deadlineOf(ctx))
	return classify(a, q)
}

// checkBaseURL parses the base URL, or says why no credential may be sent
// to it (whichever probe would send it).
func checkBaseURL(base string, requireTLS bool, q question) (*url.URL, *Verdict) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		v := verdict(Insecure, check.StatusUnknown, outcome.Error, outcome.Config, "base_url_invalid",
			fmt.Sprintf("%s (%s) is not an http(s) URL", q.Source, strconv.Quote(RedactURL(base))), "set ANTHROPIC_BASE_URL to a URL such as https://api.anthropic.com")
		return nil, &v
	}
	if requireTLS && u.Scheme == "http" && !IsLoopback(u.Hostname()) {
		v := verdict(Insecure, check.StatusUnknown, outcome.Error, outcome.Config, "base_url_plain_http",
			fmt.Sprintf("%s is plain http to %s, which is not a loopback address, and SLEEVE_CHECK_REQUIRE_TLS is set; sleeve-check will not send a credential over it", q.Source, strconv.Quote(u.Host)),
			"use https, or a proxy on 127.0.0.1; or unset SLEEVE_CHECK_REQUIRE_TLS to start with a warning")
		return nil, &v
	}
	return u, nil
}

// newRequest builds the request Claude Code would send, or the verdict
// that none may be sent. https tells whether the CA settings matter.
func newRequest(cred check.Credential, cfg HTTPConfig, q question) (req *http.Request, https bool, v Verdict) {
	base := cfg.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	u, bad := checkBaseURL(base, cfg.RequireTLS, q)
	if bad != nil {
		return nil, false, *bad
	}
	endpoint := strings.TrimRight(base, "/") + "/v1/messages"
	body := fmt.Sprintf(`{"model":%s,"max_tokens":1,"messages":[{"role":"user","content":"ping"}]}`, strconv.Quote(cfg.Model))
	req, err := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(body))
	if err != nil {
		return nil, false, verdict(Insecure, check.StatusUnknown, outcome.Error, outcome.Config, "base_url_invalid", fmt.Sprintf("%s: cannot build a request: %v", q.Source, urlError(err)), "fix ANTHROPIC_BASE_URL")
	}
	if msg := setHeaders(req.Header, cred, cfg); msg != "" {
		return nil, false, verdict(Insecure, check.StatusUnknown, outcome.Error, outcome.Config, "custom_headers_invalid", msg, "write ANTHROPIC_CUSTOM_HEADERS as Name: value lines")
	}
	return req, u.Scheme == "https", Verdict{}
}

// session is one probe's conversation: the last answer, the attempts,
// and the wait the retry policy chose.
type session struct {
	cfg      HTTPConfig
	mu       sync.Mutex
	last     Answer
	attempts int
	next     time.Duration
	began    time.Time
}

// progressAfter is when a probe that is still retrying says so at the
// default level: `docker logs -f` and `docker run -it` are never silent
// for longer.
const progressAfter = 2 * time.Second

func (s *session) client(https bool) *http.Client {
	transport, caErr := NewTransport(s.cfg, https)
	if caErr != "" {
		s.cfg.Log.Warn().Str("hint", "fix NODE_EXTRA_CA_CERTS or unset it").Msg(caErr)
	}
	return &http.Client{
		Transport: transport,
		Timeout:   s.cfg.AttemptTimeout,
		// A redirect with a credential attached is never followed: the
		// answer is returned and judged.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// do sends req, again and again for as long as checkRetry says, after the
// wait it chose; ctx (the probe's deadline, or a signal) ends the waits,
// not a count of attempts. It returns the last response, and the error
// that ended the attempts, if any. (A loop of our own rather than a retry
// library's: that one compiled regular expressions as every run of
// sleeve-check started, a start and a health check that send no request
// included.)
func (s *session) do(ctx context.Context, c *http.Client, req *http.Request) (*http.Response, error) {
	log := leveled{s.cfg.Log, urlSecrets(s.cfg.BaseURL)}
	for n := 1; ; n++ {
		r := req.Clone(ctx)
		r.Body, _ = req.GetBody() // a strings.Reader's: never fails
		s.mu.Lock()
		s.attempts = n
		s.mu.Unlock()
		resp, err := c.Do(r)
		retry, checkErr := s.checkRetry(ctx, resp, err)
		if err != nil {
			log.debug("request failed", "error", err, "method", r.Method, "url", r.URL.String())
		}
		if !retry {
			if checkErr != nil {
				err = checkErr
			}
			if err != nil {
				c.CloseIdleConnections()
			}
			return resp, err
		}
		if resp != nil {
			resp.Body.Close() // read whole by checkRetry: the connection is reused
		}
		s.mu.Lock()
		wait := s.next
		s.mu.Unlock()
		desc := r.Method + " " + RedactURL(r.URL.String())
		if resp != nil {
			desc += fmt.Sprintf(" (status: %d)", resp.StatusCode)
		}
		log.debug("retrying request", "request", desc, "timeout", wait)
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			c.CloseIdleConnections()
			return nil, ctx.Err()
		case <-timer.C:
		}
	}
}

// checkRetry keeps the answer and asks retryPolicy what to do next.
func (s *session) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// An attempt cut short by the probe's own deadline says less than
	// the answer before it: keep that one.
	if resp == nil && ctx.Err() != nil && (s.last.Status != 0 || s.last.Err != nil) {
		return false, ctx.Err()
	}
	s.last = answerOf(resp, err)
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	left := time.Until(deadlineOf(ctx))
	d := retryPolicy(s.last, left, backoff(s.cfg.RetryWaitMin, s.cfg.RetryWaitMax, s.attempts))
	s.last.TooLong, s.next = d.TooLong, d.Wait
	if d.Retry {
		ev := s.cfg.Log.Debug()
		if time.Since(s.began)+d.Wait >= progressAfter {
			ev = s.cfg.Log.Info()
		}
		ev.Msgf("probe attempt %d: %s; trying again in %s, %s left of SLEEVE_CHECK_PROBE_TIMEOUT", s.attempts, s.last.words(), d.Wait.Round(100*time.Millisecond), left.Round(time.Second))
	}
	return d.Retry, nil
}

// answerOf reads one HTTP answer into the neutral form.
func answerOf(resp *http.Response, err error) Answer {
	if resp == nil {
		return Answer{Err: err}
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return ResponseAnswer(resp.StatusCode, resp.Header, b, time.Now())
}

// ResponseAnswer is the Answer of one HTTP response with status and
// header, whose body begins with body (only an error's body is read), that
// came at now: the probe's own, or one the credential gateway carried.
func ResponseAnswer(status int, h http.Header, body []byte, now time.Time) Answer {
	a := Answer{Status: status, RequestID: h.Get("request-id"), Location: h.Get("Location"), At: now}
	if status >= 300 {
		a.API = ParseAPIError(body)
	}
	a.WaitHelps = h.Get("Retry-After") != ""
	a.RetryAfter, a.RetryAfterSet = retryAfter(status, h, now)
	a.Usage = ParseUsage(h, now)
	return a
}

// Judge is what one answer says of the credential, by the probe's own
// classifier; source names where it came from in the verdict's words.
func Judge(a Answer, j Judgement, source string) Verdict {
	return classify(a, question{Judgement: j, Source: source})
}

// setHeaders sets the headers Claude Code would send for cred.
func setHeaders(h http.Header, cred check.Credential, cfg HTTPConfig) string {
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
	case check.KindOAuthToken, check.KindOAuthFile:
		h.Set("Authorization", "Bearer "+tok)
		h.Set("anthropic-beta", "oauth-2025-04-20")
	case check.KindAPIKey, check.KindAPIKeyHelper:
		h.Set("x-api-key", tok)
	case check.KindAuthToken:
		h.Set("Authorization", "Bearer "+tok)
	}
	return ""
}

// NewTransport is the probe's transport, for any client that sends a
// credential where the probe would: cfg's proxy, and its extra CA file
// (for https) on top of the system's roots. The string says why the CA
// file could not be used, or is "". The extra CA file is read only for
// https, and not when it is the system bundle Go already loads (a common
// setting, and parsing a bundle twice costs ~10 ms).
func NewTransport(cfg HTTPConfig, https bool) (*http.Transport, string) {
	t := &http.Transport{
		Proxy:               cfg.Proxy,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
		TLSHandshakeTimeout: 10 * time.Second,
		ForceAttemptHTTP2:   true,
		MaxIdleConns:        2,
	}
	if cfg.ExtraCAFile == "" || !https || isSystemBundle(cfg.ExtraCAFile, cfg.SystemCAFile) {
		return t, ""
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	pem, _, err := safefile.Read(cfg.ExtraCAFile, 16<<20, safefile.Options{})
	if err != nil {
		return t, fmt.Sprintf("NODE_EXTRA_CA_CERTS names %s, which cannot be read: %s", strconv.Quote(cfg.ExtraCAFile), safefile.ErrText(err))
	}
	if !pool.AppendCertsFromPEM(pem) {
		return t, fmt.Sprintf("NODE_EXTRA_CA_CERTS names %s, which holds no PEM certificate", strconv.Quote(cfg.ExtraCAFile))
	}
	t.TLSClientConfig = &tls.Config{RootCAs: pool}
	return t, ""
}

// isSystemBundle reports whether path is the file Go's system pool reads:
// SSL_CERT_FILE, or the Debian bundle when that is unset.
func isSystemBundle(path, sslCertFile string) bool {
	if sslCertFile == "" {
		sslCertFile = "/etc/ssl/certs/ca-certificates.crt"
	}
	a, err1 := os.Stat(path)
	b, err2 := os.Stat(sslCertFile)
	return err1 == nil && err2 == nil && os.SameFile(a, b)
}

// IsLoopback reports whether host names this machine: localhost, or a loopback IP.
func IsLoopback(host string) bool {
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

// leveled writes the retry loop's lines at debug level: they are the
// probe's own steps, shown with --verbose.
type leveled struct {
	l      zerolog.Logger
	secret []string
}

// debug writes one line, cleaned: its "url" field is redacted, and no
// part of the base URL that can hold a secret remains.
func (z leveled) debug(msg string, kv ...any) {
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
