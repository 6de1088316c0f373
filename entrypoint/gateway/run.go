package gateway

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"sleeve-check/check"
	"sleeve-check/check/probe"
	"sleeve-check/entrypoint/internal/fleet"
	"sleeve-check/entrypoint/internal/pipeline"
	"sleeve-check/entrypoint/internal/prelude"
	"sleeve-check/entrypoint/internal/settings"
	"sleeve-check/internal/outcome"
)

// The gateway's steps before it serves.
var (
	secretStep = pipeline.Step{Name: "read the gateway's secret", Waits: "SLEEVE_CHECK_GATEWAY_SECRET to be read", Code: outcome.Config}
	sendStep   = pipeline.Step{Name: "check the fleet credential", Waits: "the fleet credential to be checked", Code: outcome.Config}
	listenStep = pipeline.Step{Name: "listen", Waits: "the listening socket", Code: outcome.Config}
)

// Run is the gateway mode: `gateway key NAME` prints a key, `gateway
// health` is its container's health check; `gateway`
// checks the fleet credential as a start would, then serves until SIGTERM.
func Run(ctx context.Context, c settings.Call) int {
	switch args := c.Inv.Args; {
	case len(args) == 2 && args[0] == "key":
		return printKey(c, args[1])
	case len(args) == 1 && args[0] == "health":
		return health(ctx, c)
	case len(args) > 0:
		c.Log.Error().Str("hint", "sleeve-check gateway [flags], sleeve-check gateway key NAME, or sleeve-check gateway health").Msgf("unexpected argument %q after gateway", args[0])
		return int(outcome.Usage)
	}
	if c.Settings().Gateway != "" {
		// A sleeve's setting, maybe from an env file shared with the
		// sleeves: the gateway holds the credential, it is not behind one.
		c.Log.Warn().Msg("SLEEVE_CHECK_GATEWAY is set, and the gateway ignores it: it is the sleeves' setting")
		c.Inv.Settings.Gateway = ""
	}
	p := pipeline.New(ctx, c.Log, c.Settings().StartTimeout)
	g, ok := prepare(p, c)
	if !ok {
		return int(p.Code())
	}
	return g.serve(ctx)
}

// printKey prints NAME's key: the one line a sleeve's key file holds.
func printKey(c settings.Call, name string) int {
	if err := fleet.ValidName(name); err != nil {
		c.Log.Error().Str("hint", "name the sleeve as its container or service is named").Msg(err.Error())
		return int(outcome.Usage)
	}
	secret, fs := fleet.Secret(c.Env)
	if fs.HasError() {
		logFindings(c.Log, fs)
		return int(fs.FirstError().Code)
	}
	key, _ := fleet.Key(secret, name)
	fmt.Fprintln(c.Stdout, key)
	return 0
}

func logFindings(log zerolog.Logger, fs outcome.Findings) {
	for _, f := range fs {
		ev := log.Warn()
		if f.Severity == outcome.Error {
			ev = log.Error()
		}
		if f.Hint != "" {
			ev = ev.Str("hint", f.Hint)
		}
		ev.Msg(f.Message)
	}
}

// prepare runs the steps before serving: the secret, the fleet
// credential (read, user switch, resolve: a start's own steps, with its
// findings and exit codes), what it can be sent with, and the listener.
func prepare(p *pipeline.Pipeline, c settings.Call) (*Gateway, bool) {
	s := c.Settings()
	secret, ok := pipeline.Run(p, secretStep, func(context.Context) ([]byte, outcome.Findings) { return fleet.Secret(c.Env) })
	if !ok {
		return nil, false
	}
	in, ok := prelude.Enter(p, c)
	if !ok {
		return nil, false
	}
	// No working directory: the gateway has no project, and a project's
	// settings (.claude/settings*.json where it was started, perhaps a
	// workspace an agent writes) must not choose where the credential goes.
	res, ok := prelude.Resolve(p, prelude.Input(s, in.Env, "", c.Began, in.Root.Secrets), nil)
	if !ok {
		return nil, false
	}
	up, ok := pipeline.Run(p, sendStep, func(context.Context) (*url.URL, outcome.Findings) { return sendable(res, s.RequireTLS) })
	if !ok {
		return nil, false
	}
	g := newGateway(c, secret, res, up, in.Env)
	_, ok = pipeline.Run(p, listenStep, func(context.Context) (struct{}, outcome.Findings) { return struct{}{}, g.listen() })
	return g, ok
}

// sendable says whether the resolved credential is one the gateway can
// send, and where: the base URL claude would use.
func sendable(res *check.Resolution, requireTLS bool) (*url.URL, outcome.Findings) {
	var fs outcome.Findings
	sel := res.Selected
	switch sel.Kind {
	case check.KindOAuthToken, check.KindOAuthFile, check.KindAPIKey, check.KindAuthToken:
	default:
		fs.Errf(outcome.Config, "gateway_credential_kind", fmt.Sprintf("the gateway cannot hold %s (%s): it needs a credential it can send itself", sel.Kind, sel.Source),
			"give the gateway CLAUDE_CODE_OAUTH_TOKEN (or _FILE), ANTHROPIC_API_KEY, or a credentials file")
		return nil, fs
	}
	if sel.Kind == check.KindAuthToken && strings.HasPrefix(sel.Value.Reveal(), "sk-ant-oat") {
		// Sent as any Bearer token would be, it would escape the rule that
		// a subscription token goes up in Claude Code's requests only.
		fs.Errf(outcome.Malformed, "gateway_oauth_in_auth_token", fmt.Sprintf("%s holds a subscription (OAuth) token", sel.Source),
			"give it to the gateway as CLAUDE_CODE_OAUTH_TOKEN (or _FILE)")
		return nil, fs
	}
	if sel.Value.Len() == 0 {
		fs.Errf(outcome.NoCredential, "gateway_credential_empty", fmt.Sprintf("%s holds no token the gateway can send", sel.Source), "")
		return nil, fs
	}
	if sel.Kind == check.KindOAuthFile && sel.Refreshable {
		fs.Warn("gateway_credentials_refresh", fmt.Sprintf("%s holds a login that expires within hours; the gateway sends its access token and never refreshes it", sel.Source),
			"give the gateway a one-year token from `claude setup-token` (CLAUDE_CODE_OAUTH_TOKEN_FILE) instead")
	}
	base := res.BaseURL
	if base == "" {
		base = probe.DefaultBaseURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		fs.Errf(outcome.Config, "base_url_invalid", fmt.Sprintf("ANTHROPIC_BASE_URL (%s) is not an http or https URL", res.BaseURLSource), "set it to the API's URL, or unset it")
		return nil, fs
	}
	if u.Scheme == "http" && !probe.IsLoopback(u.Hostname()) {
		msg := fmt.Sprintf("the fleet credential would cross the network unencrypted to %s (plain http, not a loopback address)", strconv.Quote(u.Host))
		if requireTLS {
			fs.Errf(outcome.Config, "base_url_plain_http", msg, "use https")
			return nil, fs
		}
		fs.Warn("base_url_plain_http", msg, "use https; SLEEVE_CHECK_REQUIRE_TLS=true refuses it")
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u, fs
}

// health is `gateway health`, the gateway container's HEALTHCHECK: one
// line, exit 0 when the gateway on SLEEVE_CHECK_GATEWAY_LISTEN answers
// and its credential's verdict is not an error, 1 otherwise. (The
// image's own `sleeve-check health` is a sleeve's.)
func health(ctx context.Context, c settings.Call) int {
	s := c.Settings()
	host, port, err := net.SplitHostPort(s.GatewayListen)
	if err != nil {
		fmt.Fprintf(c.Stdout, "unhealthy: SLEEVE_CHECK_GATEWAY_LISTEN (%q) is not HOST:PORT\n", s.GatewayListen)
		return 1
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	scheme := "http"
	tr := &http.Transport{}
	if s.GatewayTLSCert != "" {
		// Its own certificate, on its own address: up is what is asked.
		scheme, tr.TLSClientConfig = "https", &tls.Config{InsecureSkipVerify: true}
	}
	where := scheme + "://" + net.JoinHostPort(host, port)
	ctx, cancel := context.WithTimeout(ctx, s.HealthTimeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, where+"/status", nil)
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		fmt.Fprintf(c.Stdout, "unhealthy: the gateway at %s does not answer (%s)\n", where, errText(err))
		return 1
	}
	defer resp.Body.Close()
	var st snapshot
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&st); err != nil || resp.StatusCode != http.StatusOK {
		fmt.Fprintf(c.Stdout, "unhealthy: %s/status is not a gateway's answer (HTTP %d)\n", where, resp.StatusCode)
		return 1
	}
	cr := st.Credential
	if cr.Severity == outcome.Error {
		fmt.Fprintf(c.Stdout, "unhealthy: the fleet credential: %s\n", cr.Message)
		return 1
	}
	line := fmt.Sprintf("healthy: gateway at %s, %s %s", where, cr.Kind, cr.Verdict)
	if cr.At != nil {
		line += fmt.Sprintf(" (%s, %s ago)", cr.From, outcome.Human(time.Since(*cr.At)))
	}
	fmt.Fprintf(c.Stdout, "%s, %d sleeves seen\n", line, len(st.Sleeves))
	return 0
}
