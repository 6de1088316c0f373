// Package probe asks the Anthropic API whether a credential works, and
// says what the answer means for the start.
//
// There are two ways to ask. HTTP sends one tiny Messages request (one
// token of the cheapest model) with the headers Claude Code would send,
// through the same proxy and CA settings, and retries what can heal
// within one deadline (see retryPolicy). CLI runs the unmodified Claude
// Code binary once (claude -p) and reads its JSON result: the sanctioned
// way to exercise a subscription token. Each fills the same neutral
// Answer (status, the API's error type and message, retry-after, request
// id, attempts), and one classifier turns an Answer into a Verdict: a
// Class (a closed set of outcomes), the credential's Status, and one
// Finding with the exit code, the sentence and the hint.
//
// What the probe never does: follow a redirect with a credential, send a
// credential over plain http off loopback, print a secret (answers are
// cleaned of anything shaped like a token, and of the secret parts of the
// base URL: user, password, query, fragment).
package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"

	"sleeve-check/check"
	"sleeve-check/internal/outcome"
)

// Class is what kind of answer the probe got: a closed set.
type Class string

const (
	// Valid: the API accepted the credential for inference.
	Valid Class = "valid"
	// Authenticated: the API accepted the credential but refused to serve
	// the probe (a subscription token in a request not made by Claude
	// Code): inference and usage are unknown.
	Authenticated Class = "authenticated"
	// Rejected: the credential is invalid, expired or revoked (401, 403).
	Rejected Class = "rejected"
	// Billing: the credential works but the account cannot pay.
	Billing Class = "billing"
	// RateLimited: the API asked to wait (429 with Retry-After).
	RateLimited Class = "rate_limited"
	// Unavailable: no usable answer (network, TLS, proxy, 5xx, timeout).
	Unavailable Class = "unavailable"
	// Insecure: the base URL or headers are unusable or unsafe; nothing was sent.
	Insecure Class = "insecure"
	// Redirect: the base URL answered with a redirect, not followed.
	Redirect Class = "redirect"
	// NotAnthropic: the base URL does not serve the Messages API.
	NotAnthropic Class = "not_anthropic"
	// NotRun: the probe itself could not run.
	NotRun Class = "not_run"
	// ClaudeBroken: the claude binary cannot run (missing, not
	// executable, no native binary, or it exits before it starts): the
	// API was not asked.
	ClaudeBroken Class = "claude_broken"
	// AccountAction: the credential authenticated, but its account must
	// act first (accept updated terms; an organisation that does not
	// allow OAuth): every request of Claude Code's fails until it does.
	AccountAction Class = "account_action"
	// Interrupted: a signal ended the probe.
	Interrupted Class = "interrupted"
	// UsageLimit: the subscription's usage window is used up until its reset.
	UsageLimit Class = "usage_limit"
	// ModelUnavailable: the credential works, but the model claude itself
	// will use is not served to it.
	ModelUnavailable Class = "model_unavailable"
)

// Verdict is what the probe concluded.
type Verdict struct {
	Status     check.Status    `json:"status"`
	Finding    outcome.Finding `json:"finding"`
	HTTPStatus int             `json:"http_status,omitempty"`
	RequestID  string          `json:"request_id,omitempty"`
	ErrorType  string          `json:"error_type,omitempty"`
	Attempts   int             `json:"attempts"`
	ElapsedMS  int64           `json:"elapsed_ms"`
	Class      Class           `json:"class"`
	// Usage is what the answer said of the subscription's usage limits.
	Usage *Usage `json:"usage,omitempty"`
	// UsageUnknown says why a valid answer came without usage: a Claude
	// Code release too old to report it to the CLI probe.
	UsageUnknown string `json:"usage_unknown,omitempty"`
}

func verdict(class Class, st check.Status, sev outcome.Severity, code outcome.Code, id, msg, hint string) Verdict {
	return Verdict{Class: class, Status: st, Finding: outcome.Finding{Severity: sev, Code: code, ID: id, Message: msg, Hint: hint}}
}

func interrupted() Verdict {
	return verdict(Interrupted, check.StatusUnknown, outcome.Error, outcome.Interrupted, "probe_interrupted", "the probe was interrupted", "")
}

// Judgement is how an answer is judged: what differs between the start
// (which may stop) and a health check (which reports facts).
type Judgement struct {
	// Strict: a rate limit that outlasts the deadline stops the start.
	Strict bool
	// WarnUnavailable: an unreachable or failing API is a warning, not an error.
	WarnUnavailable bool
	// WarnUsageLimit: a used-up usage window is a warning, not an error.
	WarnUsageLimit bool
}

// Relax makes an error this judgement only warns of (a used-up usage
// window, an unreachable or failing API) a warning: the start goes on,
// and its message says why.
func (j Judgement) Relax(v Verdict) Verdict {
	why := ""
	switch {
	case v.Finding.Severity != outcome.Error:
	case v.Class == Unavailable && j.WarnUnavailable:
		why = "SLEEVE_CHECK_ON_UNAVAILABLE=warn"
	case v.Class == UsageLimit && j.WarnUsageLimit:
		why = "SLEEVE_CHECK_ON_USAGE_LIMIT=warn"
	}
	if why != "" {
		v.Finding.Severity, v.Finding.Code = outcome.Warning, outcome.OK
		v.Finding.Message += "; starting anyway (" + why + ")"
	}
	return v
}

// question is what was asked, for the words of a verdict, and how the
// answer is judged.
type question struct {
	Judgement
	// BaseURL is ANTHROPIC_BASE_URL as sent ("" for the default); Source
	// names it in messages.
	BaseURL, Source string
	Model           string
	// ModelSource says where Model was set when it is the model claude
	// itself will use ("" when it is the probe's own model).
	ModelSource string
	Deadline    time.Duration
}

// Answer is what a probe got back, however it asked: the HTTP probe fills
// it from the response, the CLI probe from claude -p's JSON result.
type Answer struct {
	// Status is the HTTP status; 0 when no answer came, and Err says why.
	Status int
	Err    error
	// API is the API's error (type and message), when the answer was one.
	API       APIError
	RequestID string
	// Location is a redirect's target.
	Location string
	// WaitHelps: the answer says waiting heals it (a 429 with Retry-After;
	// claude's "not your usage limit"); a 429 without it is a spend cap.
	WaitHelps bool
	// RetryAfter is the wait the API asked for, when RetryAfterSet.
	RetryAfter    time.Duration
	RetryAfterSet bool
	// TooLong is a Retry-After longer than the time the probe had left.
	TooLong time.Duration
	// Attempts is how many requests were made; Once, that one was made on
	// purpose (the CLI probe); GaveUp, that the deadline ended the retries.
	Attempts int
	Once     bool
	GaveUp   bool
	// Detail, when set, replaces the " (HTTP ...)" quote of the answer
	// (the CLI probe's own words).
	Detail string
	// Usage is what the answer said of the subscription's usage limits.
	Usage *Usage
	// At is when the answer came.
	At time.Time
}

// words is an attempt's answer in a few words for a progress line: the
// status and the API's error type, or what kind of failure left no
// answer. No URL or message is quoted (they may carry a secret).
func (a Answer) words() string {
	switch {
	case a.Status != 0 && a.API.Type != "":
		return fmt.Sprintf("HTTP %d (%s)", a.Status, a.API.Type)
	case a.Status != 0:
		return fmt.Sprintf("HTTP %d", a.Status)
	case a.Err == nil:
		return "no answer"
	case errors.Is(a.Err, context.DeadlineExceeded) || os.IsTimeout(a.Err):
		return "no answer in time"
	case errors.Is(a.Err, syscall.ECONNREFUSED):
		return "connection refused"
	}
	var dnsErr *net.DNSError
	if errors.As(a.Err, &dnsErr) {
		return "the host name does not resolve"
	}
	return "no answer (the connection failed)"
}
