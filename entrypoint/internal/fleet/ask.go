package fleet

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"sleeve-check/check"
	"sleeve-check/check/probe"
	"sleeve-check/internal/environ"
	"sleeve-check/internal/outcome"
)

// AskPath is the gateway's route where a sleeve asks for the fleet
// credential's verdict with its key. It costs the API nothing: the
// gateway answers from what it knows (its one probe, and the answers it
// carried since).
const AskPath = "/sleeve-check/v1/fleet"

// WaitHeader is how long, in milliseconds, a sleeve's ask waits for the
// gateway's probe: the gateway answers by then with what it knows, so
// that a probe under way is said as such, not taken for an outage.
const WaitHeader = "X-Sleeve-Check-Wait-Ms"

// GatewayVar names the gateway's URL in a sleeve.
const GatewayVar = "SLEEVE_CHECK_GATEWAY"

// Answer is the gateway's answer to a sleeve's ask.
type Answer struct {
	// Sleeve is the name the key carries.
	Sleeve string `json:"sleeve"`
	// Kind is the fleet credential's kind: claude is given the key in the
	// variable of that kind, so that it sends what the API expects.
	Kind check.Kind `json:"kind"`
	// Credential is the fleet credential's fingerprint.
	Credential string `json:"credential"`
	// Verdict is what the gateway knows of the credential; From says how
	// it learnt it (probe, traffic, or local: not proved yet), At when.
	Verdict probe.Verdict `json:"verdict"`
	// Code is the verdict's exit code (a finding's is not in its JSON).
	Code outcome.Code `json:"exit_code"`
	From string       `json:"from"`
	At   time.Time    `json:"at"`
}

// Sleeve is a sleeve's side of a gateway: where it is and the sleeve's
// key. Its first answer is kept, so that the start's probe step reuses
// the ask the start made before it prepared claude's environment.
type Sleeve struct {
	URL       string
	Key       string
	KeySource string
	Proxy     func(*http.Request) (*url.URL, error)
	// Once: one try, no retries while the gateway cannot be reached.
	Once     bool
	kind     check.Kind
	prepared check.Kind
	first    *probe.Verdict
}

// Prepared is the kind claude's environment was prepared for (ClaudeEnv).
func (s *Sleeve) Prepared() check.Kind { return s.prepared }

// Name is the sleeve name the key carries.
func (s *Sleeve) Name() string {
	n, _ := NameOf(s.Key)
	return n
}

// Kind is the fleet credential's kind as the gateway said it, or ""
// when it has not answered.
func (s *Sleeve) Kind() check.Kind { return s.kind }

// The backoff between asks while the gateway cannot be reached (it may
// be starting beside the sleeves), within the ask's deadline.
const (
	askWaitMin = 250 * time.Millisecond
	askWaitMax = 2 * time.Second
)

// Ask asks the gateway for the fleet credential's verdict, trying again
// within deadline while the gateway cannot be reached. The verdict names
// the gateway; its exit codes are a local credential's (6 rejected or
// a refused key, 11 usage limit, 8 the gateway or the API unreachable).
func (s *Sleeve) Ask(ctx context.Context, deadline time.Duration) probe.Verdict {
	if v := s.first; v != nil {
		s.first = nil
		return *v
	}
	began := time.Now()
	ctx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	wait := askWaitMin
	for attempt := 1; ; attempt++ {
		v, reached := s.askOnce(ctx)
		v.Attempts, v.ElapsedMS = attempt, time.Since(began).Milliseconds()
		if reached || ctx.Err() != nil || s.Once {
			return v
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return v
		case <-t.C:
		}
		wait = min(2*wait, askWaitMax)
	}
}

// First asks once (with retries) and keeps the verdict for the next Ask.
func (s *Sleeve) First(ctx context.Context, deadline time.Duration) probe.Verdict {
	v := s.Ask(ctx, deadline)
	s.first = &v
	return v
}

// maxAnswer bounds the gateway's answer.
const maxAnswer = 1 << 20

func (s *Sleeve) askOnce(ctx context.Context) (v probe.Verdict, reached bool) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(s.URL, "/")+AskPath, nil)
	if err != nil {
		return s.unreachable(err), false
	}
	req.Header.Set("Authorization", "Bearer "+s.Key)
	if dl, ok := ctx.Deadline(); ok {
		// A second for the answer to come back.
		req.Header.Set(WaitHeader, strconv.FormatInt(max(time.Until(dl)-time.Second, 0).Milliseconds(), 10))
	}
	req.Header.Set("User-Agent", "sleeve-check")
	tr := &http.Transport{Proxy: s.Proxy, DisableKeepAlives: true, ResponseHeaderTimeout: 0}
	resp, err := (&http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	var cert *tls.CertificateVerificationError
	switch {
	case errors.As(err, &cert):
		// Reached, and not trusted: waiting does not heal that.
		v := s.unreachable(err)
		v.Finding.ID, v.Finding.Message = "gateway_untrusted", fmt.Sprintf("the credential gateway %s is not trusted: %s", s.where(), cert.Err)
		v.Finding.Hint = "give the sleeve the CA of the gateway's certificate: SSL_CERT_FILE for sleeve-check and NODE_EXTRA_CA_CERTS for claude"
		return v, true
	case err != nil:
		return s.unreachable(err), false
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	switch {
	case resp.StatusCode == http.StatusOK:
		// Any JSON decodes into an Answer; one that names no sleeve and
		// no verdict is another server's, and must not pass as a verdict
		// with no error in it.
		var a Answer
		if err := json.Unmarshal(body, &a); err != nil || a.Sleeve == "" || a.Verdict.Class == "" {
			return s.notAGateway(resp.StatusCode), true
		}
		s.kind = a.Kind
		v = a.Verdict
		v.Finding.Code = a.Code
		v.Finding.Message = fmt.Sprintf("the fleet credential at the gateway %s (%s): %s", s.where(), a.Credential, v.Finding.Message)
		return v, true
	case resp.StatusCode == http.StatusUnauthorized:
		msg := probe.ParseAPIError(body).Message
		if msg == "" {
			msg = "no reason given"
		}
		var fs outcome.Findings
		fs.Errf(outcome.Rejected, "gateway_key_refused", fmt.Sprintf("the gateway %s refused this sleeve's key (%s from %s): %s", s.where(), Fingerprint(s.Key), s.KeySource, msg),
			fmt.Sprintf("print the sleeve's key on the gateway with `sleeve-check gateway key %s` and give it to the sleeve; a revoked name stays refused until it leaves the gateway's revoked list", s.Name()))
		return probe.Verdict{Class: probe.Rejected, Status: check.StatusInvalid, Finding: fs[0], HTTPStatus: resp.StatusCode}, true
	}
	return s.notAGateway(resp.StatusCode), true
}

// where is the gateway's URL as said to people (no user, password or query).
func (s *Sleeve) where() string { return strconv.Quote(probe.RedactURL(s.URL)) }

func (s *Sleeve) unreachable(err error) probe.Verdict {
	cause := "no answer"
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if err != nil {
		cause = err.Error()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		cause = "no answer in time"
	}
	return probe.Verdict{Class: probe.Unavailable, Status: check.StatusUnknown, Finding: outcome.Finding{Severity: outcome.Error, Code: outcome.Unavailable, ID: "gateway_unreachable",
		Message: fmt.Sprintf("the credential gateway %s is unreachable (%s)", s.where(), cause),
		Hint:    "start the gateway, or fix SLEEVE_CHECK_GATEWAY and the sleeve's network; claude's requests go through it"}}
}

func (s *Sleeve) notAGateway(status int) probe.Verdict {
	return probe.Verdict{Class: probe.NotAnthropic, Status: check.StatusUnknown, HTTPStatus: status, Finding: outcome.Finding{Severity: outcome.Error, Code: outcome.Config, ID: "gateway_not_a_gateway",
		Message: fmt.Sprintf("%s answered HTTP %d to %s: it is not a sleeve-check gateway", s.where(), status, AskPath),
		Hint:    "set SLEEVE_CHECK_GATEWAY to the URL `sleeve-check gateway` listens on"}}
}

// CredentialVars are the variables that carry a credential to Claude
// Code, and their *_FILE twins.
var CredentialVars = []string{"ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN"}

// RealCredentials names the credential variables set in a sleeve that
// sits behind a gateway: any of them is readable by every process of the
// container (/proc/1/environ of its init), which is what a gateway is
// there to prevent.
func RealCredentials(env environ.Env) []string {
	var out []string
	for _, v := range CredentialVars {
		for _, n := range []string{v, v + "_FILE"} {
			if env.Get(n) != "" {
				out = append(out, n)
			}
		}
	}
	return out
}

// ClaudeEnv is the environment claude gets behind the gateway: the
// gateway as ANTHROPIC_BASE_URL and the sleeve's key in the variable of
// the fleet credential's kind (CLAUDE_CODE_OAUTH_TOKEN for a
// subscription, so that claude sends its OAuth requests; ANTHROPIC_API_KEY
// for a key), and no other credential. A kind the gateway has not said
// (it could not be reached) is taken for a subscription, the fleet's
// usual credential.
func (s *Sleeve) ClaudeEnv(env environ.Env) environ.Env {
	s.prepared = s.kind
	if s.prepared == "" {
		s.prepared = check.KindOAuthToken
	}
	return ClaudeEnv(env, s.URL, s.Key, s.prepared)
}

// WithoutCredentials is a copy of env without a credential: every
// variable Claude Code reads one from, and its _FILE.
func WithoutCredentials(env environ.Env) environ.Env {
	out := env.Clone()
	for _, v := range CredentialVars {
		out.Unset(v)
		out.Unset(v + "_FILE")
	}
	return out
}

// ClaudeEnv is ClaudeEnv of a sleeve with key for the gateway at url, for
// a fleet credential of kind.
func ClaudeEnv(env environ.Env, gateway, key string, kind check.Kind) environ.Env {
	out := WithoutCredentials(env)
	out.Unset(KeyVar)
	out.Set("ANTHROPIC_BASE_URL", gateway)
	out.Set(KeyVarOf(kind), key)
	return out
}

// KeyVarOf is the variable claude reads a credential of kind from.
func KeyVarOf(kind check.Kind) string {
	switch kind {
	case check.KindAPIKey:
		return "ANTHROPIC_API_KEY"
	case check.KindAuthToken:
		return "ANTHROPIC_AUTH_TOKEN"
	}
	return "CLAUDE_CODE_OAUTH_TOKEN"
}

// SetCredential sets the credential a request of the gateway's carries
// upstream: a subscription token as Claude Code sends it (Bearer), an
// API key as x-api-key, an ANTHROPIC_AUTH_TOKEN as Bearer. Whatever the
// client sent is dropped first.
func SetCredential(h http.Header, kind check.Kind, secret string) {
	h.Del("Authorization")
	h.Del("X-Api-Key")
	switch kind {
	case check.KindAPIKey:
		h.Set("X-Api-Key", secret)
	default:
		h.Set("Authorization", "Bearer "+secret)
	}
}

// ClientKey is the key a request carries, however claude sent it
// (Authorization: Bearer for a token, x-api-key for a key).
func ClientKey(h http.Header) string {
	if k := h.Get("X-Api-Key"); k != "" {
		return strings.TrimSpace(k)
	}
	a := h.Get("Authorization")
	if len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
		return strings.TrimSpace(a[7:])
	}
	return ""
}
