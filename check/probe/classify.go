package probe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"sleeve-check/check"
	"sleeve-check/internal/outcome"
)

// classify is the one classifier: what an answer means for the start.
func classify(a Answer, q question) Verdict {
	var v Verdict
	e, rid := a.API, a.RequestID
	if a.Status == 0 {
		v = transportVerdict(a.Err, q)
	} else {
		if rid == "" {
			rid = e.RequestID
		}
		if a.Status < 300 {
			e = APIError{} // a success body is not news
		}
		tail := a.Detail
		if tail == "" {
			tail = apiTail(a.Status, e, rid)
		}
		v = classifyStatus(a, e, q, tail)
		v.HTTPStatus, v.RequestID, v.ErrorType = a.Status, rid, e.Type
	}
	v.Attempts, v.Usage = a.Attempts, a.Usage
	if a.GaveUp && (v.Class == Unavailable || v.Class == RateLimited) {
		v.Finding.Message += gaveUpWords(a.Attempts, q.Deadline)
	}
	return v
}

func classifyStatus(a Answer, e APIError, q question, tail string) Verdict {
	switch s := a.Status; {
	case s >= 200 && s < 300:
		return verdict(Valid, check.StatusValid, outcome.Info, outcome.OK, "probe_valid", "the API accepted the credential for inference"+tail, "")
	case s >= 300 && s < 400:
		return verdict(Redirect, check.StatusUnknown, outcome.Error, outcome.Config, "probe_redirect",
			fmt.Sprintf("%s answered with a redirect (%d) to %s; sleeve-check does not follow a redirect with a credential", q.Source, s, strconv.Quote(clean(RedactURL(a.Location), 200))),
			"set ANTHROPIC_BASE_URL to the final address of the API (check https and the path)")
	case s == 400:
		return badRequest(e, q, tail)
	case s == 401:
		return unauthorized(e, tail)
	case s == 403 && orgDisallowsOAuth(strings.ToLower(e.Message)):
		return oauthNotAllowed(tail)
	case s == 403:
		msg := "the API refused the credential: it is revoked or lacks the scope user:inference" + tail
		if strings.Contains(strings.ToLower(e.Message), "revoked") {
			msg = "the credential has been revoked" + tail
		}
		return verdict(Rejected, check.StatusInvalid, outcome.Error, outcome.Rejected, "probe_forbidden", msg,
			"create a new token with `claude setup-token` (or log in again), and replace the old one everywhere")
	case s == 402:
		return verdict(Billing, check.StatusValid, outcome.Error, outcome.Billing, "probe_billing", "the credential works but the account cannot pay"+tail,
			"fix billing for the organisation in the Claude Console")
	case s == 404:
		return notFound(e, q, tail)
	case s == 429:
		return tooManyRequests(a, q, tail)
	case s >= 500 && s < 600:
		what := "failed"
		if s == 529 || e.Type == "overloaded_error" {
			what = "is overloaded"
		}
		if a.TooLong > 0 {
			tail += fmt.Sprintf("; it asked to wait %s, longer than the deadline", a.TooLong.Round(time.Second))
		}
		return unavailable(q, "probe_server_error", fmt.Sprintf("the API %s", what)+tail, "retry later; see status.anthropic.com")
	}
	return unexpected(q, tail)
}

func unexpected(q question, tail string) Verdict {
	return unavailable(q, "probe_unexpected", "the API gave an unexpected answer"+tail, "check ANTHROPIC_BASE_URL and any proxy in between")
}

func badRequest(e APIError, q question, tail string) Verdict {
	switch {
	case strings.Contains(strings.ToLower(e.Message), "consumer terms"):
		// Claude Code's every request gets this until the account accepts
		// the terms: a pass would fail claude's first prompt, and a new
		// token would not help.
		return verdict(AccountAction, check.StatusValid, outcome.Error, outcome.AccountAction, "probe_consumer_terms",
			"the credential works, but its account must accept Anthropic's updated Consumer Terms and Privacy Policy in claude.ai before Claude Code can use it"+tail,
			"sign in to claude.ai with the account this token belongs to (claude /status shows its email), accept the updated terms, then restart the sleeve; a new token does not help")
	case strings.Contains(e.Message, "only authorized for use with Claude Code"):
		// The real API says this after its expiry and revocation checks,
		// to any request that is not Claude Code's: the token
		// authenticated, and nothing more is known.
		return verdict(Authenticated, check.StatusUnknown, outcome.Warning, outcome.OK, "probe_claude_code_only",
			"the token authenticated, but the API serves subscription tokens to Claude Code only, so inference and usage were not checked"+tail,
			"let Claude Code prove it: SLEEVE_CHECK_PROBE=auto (the default) or cli")
	case isBillingMessage(e.Message):
		return verdict(Billing, check.StatusValid, outcome.Error, outcome.Billing, "probe_billing", "the credential works but the account cannot pay"+tail,
			"add credits or raise the spend limit in the Claude Console")
	case e.Anthropic:
		return verdict(Valid, check.StatusValid, outcome.Warning, outcome.OK, "probe_bad_request",
			"the API accepted the credential but refused the probe request itself"+tail, "set SLEEVE_CHECK_PROBE_MODEL to a model this account can use")
	}
	return unexpected(q, tail)
}

func unauthorized(e APIError, tail string) Verdict {
	m := strings.ToLower(e.Message)
	switch {
	case orgDisallowsOAuth(m):
		return oauthNotAllowed(tail)
	case strings.Contains(m, "expired"):
		return verdict(Rejected, check.StatusExpired, outcome.Error, outcome.Rejected, "probe_expired", "the API says the credential has expired"+tail,
			"create a new token with `claude setup-token` or log in again")
	case strings.Contains(m, "oauth authentication is currently not supported"):
		return verdict(Rejected, check.StatusInvalid, outcome.Error, outcome.Rejected, "probe_oauth_unsupported", "the API refused an OAuth token sent without the OAuth beta header"+tail,
			"an OAuth token (sk-ant-oat...) belongs in CLAUDE_CODE_OAUTH_TOKEN, not ANTHROPIC_AUTH_TOKEN or ANTHROPIC_API_KEY")
	}
	return verdict(Rejected, check.StatusInvalid, outcome.Error, outcome.Rejected, "probe_unauthorized", "the API rejected the credential as invalid"+tail,
		"copy the credential again, or create a new one")
}

// notFound tells the API's "model: claude-x" 404 (the credential works;
// the model is not available to it) from a 404 for the path. The real API
// answers an unknown path with not_found_error "Not Found": the
// credential was never looked at, and Claude Code, which posts to the
// same path, fails every message.
func notFound(e APIError, q question, tail string) Verdict {
	if e.Anthropic && e.Type == "not_found_error" && namesModel(e.Message, q.Model) && q.ModelSource != "" {
		// claude's own model: every prompt it sends would get this 404.
		return verdict(ModelUnavailable, check.StatusValid, outcome.Error, outcome.Config, "probe_claude_model_unavailable",
			fmt.Sprintf("claude will use the model %s (%s), which the API does not serve to this credential, so its every prompt would fail", strconv.Quote(q.Model), q.ModelSource)+tail,
			"fix the model's name where it is set (claude's /model lists the ones this account has), or unset it to use Claude Code's default")
	}
	if e.Anthropic && e.Type == "not_found_error" && namesModel(e.Message, q.Model) {
		return verdict(Valid, check.StatusValid, outcome.Warning, outcome.OK, "probe_model_unavailable",
			fmt.Sprintf("the credential works, but the probe model %s is not available to it", strconv.Quote(q.Model))+tail,
			"set SLEEVE_CHECK_PROBE_MODEL to a model this account can use")
	}
	path := "/v1/messages"
	if u, err := url.Parse(q.BaseURL); err == nil && q.BaseURL != "" {
		path = strings.TrimRight(u.Path, "/") + path
	}
	msg := fmt.Sprintf("%s does not serve the Messages API: POST %s gave 404, so the credential was never checked and Claude Code, which posts there too, would fail every message", q.Source, path)
	hint := "set ANTHROPIC_BASE_URL to the API's root (https://api.anthropic.com, or your gateway's root): Claude Code appends /v1/messages itself"
	if base := strings.TrimRight(q.BaseURL, "/"); strings.HasSuffix(base, "/v1") {
		msg = fmt.Sprintf("%s ends in /v1, so requests go to %s and get 404; Claude Code appends /v1/messages itself, so it would fail every message", q.Source, path)
		hint = fmt.Sprintf("set ANTHROPIC_BASE_URL=%s (without the /v1)", RedactURL(strings.TrimSuffix(base, "/v1")))
	}
	return verdict(NotAnthropic, check.StatusUnknown, outcome.Error, outcome.Config, "probe_not_found", msg+tail, hint)
}

func namesModel(msg, model string) bool {
	m := strings.ToLower(msg)
	return (model != "" && strings.Contains(msg, model)) || strings.HasPrefix(m, "model:") || strings.Contains(m, "model")
}

// tooManyRequests: a 429 that waiting heals is a rate limit; one without
// Retry-After is a spend cap.
func tooManyRequests(a Answer, q question, tail string) Verdict {
	switch {
	case a.Usage.Rejected():
		return usageLimit(a, q, tail)
	case a.TooLong > 0:
		return rateLimited(q, fmt.Sprintf("the API is rate-limiting this credential and asked to wait %s, longer than the %s the probe may take", a.TooLong.Round(time.Second), q.Deadline)+tail)
	case a.WaitHelps && a.Once:
		return rateLimited(q, "the API is rate-limiting this credential"+tail)
	case a.WaitHelps:
		return rateLimited(q, "the API kept rate-limiting this credential until the probe's deadline"+tail)
	}
	return verdict(Billing, check.StatusValid, outcome.Error, outcome.Billing, "probe_spend_cap",
		"the API refused with 429 and no Retry-After: the organisation's spend limit is reached"+tail,
		"raise the spend limit in the Claude Console, or wait for the next billing period")
}

// usageLimit: the subscription's binding window is used up. Restarting or
// retrying before its reset cannot help.
func usageLimit(a Answer, q question, tail string) Verdict {
	when := ResetWords(a.Usage.ResetsAt, a.At)
	if when == "" {
		when = "; the answer does not say when it resets in a form sleeve-check reads"
	}
	msg := fmt.Sprintf("the subscription's %s limit is reached%s", a.Usage.Words(), when)
	if a.Usage.Words() == "usage" {
		msg = "the subscription's usage limit is reached" + when
	}
	hint := "wait for the reset (SLEEVE_CHECK_ON_USAGE_LIMIT=wait waits for it), spread the sleeves across subscriptions, or enable usage credits for the subscription"
	return q.Relax(verdict(UsageLimit, check.StatusValid, outcome.Error, outcome.UsageLimit, "probe_usage_limit", msg+tail, hint))
}

func rateLimited(q question, msg string) Verdict {
	if q.Strict {
		return verdict(RateLimited, check.StatusValid, outcome.Error, outcome.RateLimited, "probe_rate_limited", msg,
			"the credential itself is valid; splay the starts (SLEEVE_CHECK_PROBE_SPLAY), raise SLEEVE_CHECK_PROBE_TIMEOUT, or drop --strict")
	}
	return verdict(RateLimited, check.StatusValid, outcome.Warning, outcome.OK, "probe_rate_limited", msg+"; starting anyway, the credential itself is valid",
		"use --strict to stop instead")
}

func unavailable(q question, id, msg, hint string) Verdict {
	return q.Relax(verdict(Unavailable, check.StatusUnknown, outcome.Error, outcome.Unavailable, id, msg, hint))
}

// transportVerdict words a request that got no answer.
func transportVerdict(err error, q question) Verdict {
	var dnsErr *net.DNSError
	var opErr *net.OpError
	var recErr tls.RecordHeaderError
	cause := "an unknown error"
	if err != nil {
		cause = clean(urlError(err).Error(), 200)
	}
	switch {
	case err == nil:
		return unavailable(q, "probe_no_answer", "the probe got no answer", "check the network")
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return unavailable(q, "probe_timeout", fmt.Sprintf("the API at %s did not answer in time", q.Source), "check the network and any proxy; raise SLEEVE_CHECK_PROBE_TIMEOUT on a slow link")
	case strings.Contains(err.Error(), "proxyconnect"):
		return unavailable(q, "probe_proxy", "the proxy could not be reached or refused the connection: "+cause, "check HTTPS_PROXY and NO_PROXY")
	case errors.As(err, &dnsErr):
		return unavailable(q, "probe_dns", fmt.Sprintf("the name %s cannot be resolved", strconv.Quote(dnsErr.Name)), "check the container's network and DNS, and ANTHROPIC_BASE_URL")
	case isCertError(err):
		return unavailable(q, "probe_tls_certificate", "the server's TLS certificate is not trusted: "+cause,
			"behind a TLS-inspecting proxy, give its CA in SSL_CERT_FILE or NODE_EXTRA_CA_CERTS")
	case errors.As(err, &recErr) || isNotTLS(err):
		return unavailable(q, "probe_tls", "the server does not speak TLS at "+q.Source, "use http:// only for a loopback proxy, https:// otherwise")
	case errors.Is(err, syscall.ECONNREFUSED):
		return unavailable(q, "probe_refused", fmt.Sprintf("the connection to %s was refused", q.Source), "check that the API or gateway is listening at ANTHROPIC_BASE_URL")
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET):
		return unavailable(q, "probe_dropped", "the connection was dropped before an answer came", "check any proxy or firewall in between")
	case errors.As(err, &opErr):
		return unavailable(q, "probe_network", "the network failed: "+cause, "check the container's network")
	}
	return unavailable(q, "probe_transport", "the request failed: "+cause, "check the network and ANTHROPIC_BASE_URL")
}

// gaveUpWords ends the sentence of a probe whose retries the deadline
// ended, by HTTP or by claude -p.
func gaveUpWords(attempts int, took time.Duration) string {
	return fmt.Sprintf(" (gave up after %d attempts in %s)", attempts, took)
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

// orgDisallowsOAuth: the organisation of the token does not allow OAuth
// (reported as 401 authentication_error "OAuth authentication is
// currently not allowed for this organization."; matched on 403 too).
// claude 2.1.332 words it "Your organization has disabled Claude
// subscription access for Claude Code" (observed against the fake).
func orgDisallowsOAuth(lowerMsg string) bool {
	return strings.Contains(lowerMsg, "not allowed for this organization") || strings.Contains(lowerMsg, "disabled claude subscription access")
}

// oauthNotAllowed: the token authenticates a person whose organisation
// forbids subscription (OAuth) use; a new token of the same account is
// refused the same way.
func oauthNotAllowed(tail string) Verdict {
	return verdict(AccountAction, check.StatusUnknown, outcome.Error, outcome.AccountAction, "probe_oauth_not_allowed",
		"the API does not allow subscription (OAuth) tokens for the organisation of this credential"+tail,
		"the organisation's admin must allow Claude Code with a Claude subscription, or use an API key from the Claude Console (ANTHROPIC_API_KEY) instead; a new token of the same account does not help")
}
