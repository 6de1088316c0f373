package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
	"time"

	"sleeve-check/check/probe"
	"sleeve-check/entrypoint/internal/fleet"
)

// maxBody is the API's own limit on a request (413 request_too_large).
const maxBody = 32 << 20

// bodyTimeout bounds how long a client may take to send its body, so
// that a slow one cannot hold a connection; it ends with the body, so no
// timeout ever cuts a long answer.
const bodyTimeout = 5 * time.Minute

// apiRoutes are Claude Code's routes that carry a credential (found with
// 2.1.332 through a logging proxy: interactive and -p, an OAuth token and
// an API key; count_tokens is claude's /context).
var apiRoutes = map[string]bool{"/v1/messages": true, "/v1/messages/count_tokens": true}

// cleanPath is a path fit to quote in an answer or a log line.
func cleanPath(p string) string {
	return strconv.Quote(clip(p, 100))
}

// apiError answers in the API's error shape.
func apiError(w http.ResponseWriter, status int, typ, msg string, retryAfter time.Duration) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("x-sleeve-check-gateway", "refused")
	// The request's body is not read: close after the answer, or net/http
	// would first read, with no deadline, what a slow client trickles in.
	h.Set("Connection", "close")
	if retryAfter > 0 {
		h.Set("Retry-After", fmt.Sprint(int((retryAfter+time.Second-1)/time.Second)))
	}
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"type": "error", "error": map[string]string{"type": typ, "message": msg}})
}

// sleeveOf is the sleeve whose key the request carries, or why it is
// refused (401): no key, not a key, a key of another secret, revoked.
// The gateway's own probe passes as "(probe)".
func (g *Gateway) sleeveOf(r *http.Request) (name, refusal string) {
	key := fleet.ClientKey(r.Header)
	if key != "" && key == g.probeKey {
		return probeName, ""
	}
	name, err := fleet.Verify(g.secret, key)
	switch {
	case errors.Is(err, fleet.ErrNoKey):
		return "", "no sleeve key was sent: give the sleeve its key from `sleeve-check gateway key NAME` (SLEEVE_CHECK_GATEWAY_KEY_FILE)"
	case errors.Is(err, fleet.ErrNotAKey):
		return "", fmt.Sprintf("what was sent (%s) is not a sleeve key of this gateway: a sleeve holds its own key, never a Claude credential", fleet.Fingerprint(key))
	case err != nil:
		// The name is the sender's word only: it is not a sleeve of the
		// ledger (whose map anyone could fill with names).
		return "", fmt.Sprintf("the key of sleeve %q (%s) was not made by this gateway's secret", name, fleet.Fingerprint(key))
	case g.revoked.has(name, time.Now()):
		return name, fmt.Sprintf("sleeve %q is revoked on this gateway (%s)", name, g.s.GatewayRevoked)
	}
	return name, ""
}

// probeName is how the gateway's own probe shows in /status.
const probeName = "(probe)"

// forward carries one of Claude Code's requests to the API with the
// fleet credential in place of the sleeve's key.
func (g *Gateway) forward(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	name, why := g.sleeveOf(r)
	if why != "" {
		g.led.refused(name, now)
		g.log.Info().Str("sleeve", name).Str("path", r.URL.Path).Msg("refused: " + why)
		apiError(w, http.StatusUnauthorized, "authentication_error", why, 0)
		return
	}
	if g.cred.Kind.Subscription() && !fromClaudeCode(r) {
		g.led.refused(name, now)
		apiError(w, http.StatusForbidden, "permission_error", fmt.Sprintf("the fleet credential is a Claude subscription token, which Anthropic's terms reserve for Claude Code: the gateway passes on Claude Code's own requests only (user agent claude-cli/...), and this one's is %q", clip(r.UserAgent(), 60)), 0)
		return
	}
	if r.ContentLength > maxBody {
		g.led.refused(name, now)
		apiError(w, http.StatusRequestEntityTooLarge, "request_too_large", fmt.Sprintf("the request's body is %d bytes; the API takes at most %d", r.ContentLength, maxBody), 0)
		return
	}
	if no := g.led.admit(name, g.s.GatewayConcurrent, now); no != nil {
		g.log.Info().Str("sleeve", name).Msg("refused: " + no.msg)
		apiError(w, no.status, no.typ, no.msg, no.retryAfter)
		return
	}
	rec := &recorder{ResponseWriter: w}
	defer func() { g.led.done(name, rec.status, time.Now()) }()
	rc := http.NewResponseController(w)
	rc.SetReadDeadline(time.Now().Add(bodyTimeout))
	r.Body = &bodyEnd{ReadCloser: http.MaxBytesReader(w, r.Body, maxBody), end: func() { rc.SetReadDeadline(time.Time{}) }}
	r = r.WithContext(context.WithValue(r.Context(), sleeveKey{}, name))
	g.rp.ServeHTTP(rec, r)
	g.log.Debug().Str("sleeve", name).Str("path", r.URL.Path).Int("status", rec.status).Dur("took", time.Since(now)).Msg("request")
}

type sleeveKey struct{}

// fromClaudeCode: Claude Code's requests carry its user agent.
func fromClaudeCode(r *http.Request) bool {
	return strings.HasPrefix(r.UserAgent(), "claude-cli/")
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// proxy is the reverse proxy to the API: the fleet credential in, the
// client's out; streams flushed as they come; every answer read for what
// it says of the credential and its usage.
func (g *Gateway) proxy() *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(g.up)
			pr.Out.Host = g.up.Host
			// The route as checked, not as the client escaped it.
			pr.Out.URL.Path, pr.Out.URL.RawPath = strings.TrimSuffix(g.up.Path, "/")+pr.In.URL.Path, ""
			fleet.SetCredential(pr.Out.Header, g.cred.Kind, g.cred.Value.Reveal())
		},
		Transport: g.tr,
		// The default: an event stream (text/event-stream, or no length)
		// is flushed as each event comes; a whole answer goes in one write.
		FlushInterval: 0,
		ErrorLog:      log.New(io.Discard, "", 0),
		ModifyResponse: func(resp *http.Response) error {
			name, _ := resp.Request.Context().Value(sleeveKey{}).(string)
			if resp.StatusCode < 300 {
				g.led.observe(name, probe.ResponseAnswer(resp.StatusCode, resp.Header, nil, time.Now()))
				return nil
			}
			// An error's body is small JSON: read it as it passes.
			resp.Body = &tee{ReadCloser: resp.Body, end: func(b []byte) {
				g.led.observe(name, probe.ResponseAnswer(resp.StatusCode, resp.Header, b, time.Now()))
			}}
			return nil
		},
		ErrorHandler: g.proxyError,
	}
}

// proxyError answers a request that got no answer from the API.
func (g *Gateway) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		apiError(w, http.StatusRequestEntityTooLarge, "request_too_large", fmt.Sprintf("the request's body is over %d bytes, the API's limit", maxBody), 0)
	case r.Context().Err() != nil:
		// The client went away; its upstream request was cancelled with it.
		w.WriteHeader(499)
	default:
		msg := "the credential gateway could not reach the API: " + scrub(err.Error(), g.cred.Value.Reveal())
		g.led.failed(msg, time.Now())
		g.log.Warn().Msg(msg)
		apiError(w, http.StatusBadGateway, "api_error", msg, 0)
	}
}

// scrub removes the secret from s, whatever carried it there.
func scrub(s, secret string) string {
	if secret != "" {
		s = strings.ReplaceAll(s, secret, "[fleet credential]")
	}
	return s
}

// hello answers Claude Code's connectivity check itself: it carries no
// credential, and passing it on would let anyone who reaches the gateway
// send requests to the API from its address. Claude Code's first real
// request says whether the API answers.
func (g *Gateway) hello(w http.ResponseWriter) {
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
}
