// Package proof proves a sleeve's credential the same way for a start and
// a health check: whether it is probed at all (Skip), by which means
// (probe.Choose: Claude Code itself for a subscription token, one tiny
// HTTP request for a key), and the probe run with the sleeve's own
// environment, working directory and claude (Run). The start's waits and
// health's cache are their own; this is what they share.
package proof

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"sleeve-check/check"
	"sleeve-check/check/probe"
	"sleeve-check/entrypoint/claudecli"
	"sleeve-check/entrypoint/internal/buildinfo"
	"sleeve-check/entrypoint/internal/fleet"
	"sleeve-check/entrypoint/internal/settings"
	"sleeve-check/entrypoint/internal/sleeve"
	"sleeve-check/entrypoint/internal/state"
	"sleeve-check/internal/environ"
	"sleeve-check/internal/outcome"
)

// Prober is what proving a credential needs to know of the sleeve, the
// same for a start and a health check.
type Prober struct {
	S   settings.Settings
	Env environ.Env // the sleeve's, after the user switch
	Cwd string
	// Cmd is the sleeve's command: its claude (when it is claude) is the
	// probe's, and its --model the probe's model.
	Cmd  []string
	Log  zerolog.Logger
	Now  time.Time
	Dirs state.Dirs
	// Gateway, when the sleeve is behind a credential gateway, is asked
	// instead of any probe: it holds the credential.
	Gateway *fleet.Sleeve
}

// The backoff between the probe's attempts, by HTTP or by claude -p,
// within the probe's deadline.
const (
	retryWaitMin = 500 * time.Millisecond
	retryWaitMax = 4 * time.Second
)

// Policy is what differs between the start's probe and a health check's:
// the deadline, and how a rate limit or an outage is judged.
type Policy struct {
	Deadline time.Duration
	probe.Judgement
}

// StartPolicy is the start's: its settings' deadline and judgements.
func (pr Prober) StartPolicy() Policy {
	s := pr.S
	return Policy{Deadline: s.ProbeTimeout, Judgement: probe.Judgement{Strict: s.Strict, WarnUnavailable: s.OnUnavailable == "warn", WarnUsageLimit: s.OnUsageLimit == "warn"}}
}

// Choice is how the selected credential is proved, and why.
func (pr Prober) Choice(res *check.Resolution) probe.Choice {
	if pr.Gateway != nil {
		return probe.GatewayChoice
	}
	return probe.Choose(pr.S.Probe, res.Selected.Kind)
}

// Skip says why the selected credential is not probed, or "".
// reportOnlySeed: a report (which writes nothing) judges a seed it did not copy.
func Skip(s settings.Settings, res *check.Resolution, now time.Time, reportOnlySeed bool) string {
	sel := res.Selected
	switch {
	case s.Probe == "off" && s.Gateway == "":
		// (Behind a gateway the ask is no probe: it costs the API nothing.)
		return "the probe is off (SLEEVE_CHECK_PROBE=off)"
	case sel == nil:
		return "there is no credential"
	case sel.Value.Len() == 0:
		return "Claude Code authenticates through " + string(sel.Kind) + ", which sleeve-check does not probe"
	case sel.Kind == check.KindOAuthFile && sel.Refreshable && !sel.ExpiresAt.After(now):
		return "the access token has expired and Claude Code refreshes it before its first request"
	case reportOnlySeed && probe.Choose(s.Probe, sel.Kind).Means == probe.ByCLI:
		return "a report copies no seed, and Claude Code, the only one that may send its token, reads the copy: a start proves it"
	}
	return ""
}

// Run asks, by the chosen means, whether the credential works.
func (pr Prober) Run(ctx context.Context, res *check.Resolution, pol Policy) probe.Verdict {
	if gw := pr.Gateway; gw != nil {
		return judged(gw.Ask(ctx, pol.Deadline), gw, pol)
	}
	if pr.Choice(res).Means == probe.ByHTTP {
		return probe.HTTP(ctx, *res.Selected, pr.httpConfig(res, pol))
	}
	claude := "claude"
	if c := claudeOf(pr.Cmd); c != "" {
		claude = c
	}
	model, modelSource := pr.Model(res, probe.ByCLI)
	path, err := sleeve.LookPath(claude, pr.Env.Get("PATH"))
	if err != nil {
		v := probe.ClaudeCannotRun(claude, "proving a subscription token needs the claude binary, which sends it as Anthropic's terms require: "+err.Error(), "")
		v.Finding.ID, v.Finding.Hint = "probe_cli_no_claude", "install Claude Code in the image (or put it in PATH), or set SLEEVE_CHECK_PROBE=off"
		return v
	}
	return probe.CLI(ctx, probe.CLIConfig{Path: path, Env: ChildEnv(pr.Env, res), Dir: pr.Cwd, Timeout: pol.Deadline, BaseURL: res.BaseURL, BaseURLSource: BaseURLWords(res), Model: model, ModelSource: modelSource,
		RequireTLS: pr.S.RequireTLS, Strict: pol.Strict, WarnUnavailable: pol.WarnUnavailable, WarnUsageLimit: pol.WarnUsageLimit,
		RetryWaitMin: retryWaitMin, RetryWaitMax: retryWaitMax, Log: pr.Log})
}

func (pr Prober) httpConfig(res *check.Resolution, pol Policy) probe.HTTPConfig {
	s := pr.S
	headers, _, _ := res.Lookup("ANTHROPIC_CUSTOM_HEADERS")
	model, modelSource := pr.Model(res, probe.ByHTTP)
	return probe.HTTPConfig{
		BaseURL: res.BaseURL, BaseURLSource: BaseURLWords(res), Model: model, ModelSource: modelSource, Deadline: pol.Deadline, AttemptTimeout: min(s.AttemptTime, pol.Deadline),
		CustomHeaders: headers, ExtraCAFile: pr.Env.Get("NODE_EXTRA_CA_CERTS"), SystemCAFile: pr.Env.Get("SSL_CERT_FILE"), UserAgent: "sleeve-check/" + buildinfo.Version,
		RequireTLS: s.RequireTLS, Strict: pol.Strict, WarnUnavailable: pol.WarnUnavailable, WarnUsageLimit: pol.WarnUsageLimit, RetryWaitMin: retryWaitMin, RetryWaitMax: retryWaitMax,
		Proxy: pr.Env.Proxy(), Log: pr.Log,
	}
}

// Model is the model the probe names, and where it was set when it is the
// one claude itself will use: the command's --model, ANTHROPIC_MODEL, the
// settings' "model" (Claude Code's order); else SLEEVE_CHECK_PROBE_MODEL,
// with no source. A proof of another model than claude's would pass a
// start whose every prompt fails. An alias (opus, sonnet[1m], ...) is
// claude's to resolve: claude -p is given it, the HTTP probe (which
// cannot resolve it) names the probe model instead.
func (pr Prober) Model(res *check.Resolution, means probe.Means) (model, source string) {
	if claudecli.IsClaude(pr.Cmd) {
		model, source = claudecli.Parse(pr.Cmd[1:]).Model, "the command's --model"
	}
	if model == "" {
		model, source = res.Model()
	}
	if means == probe.ByHTTP {
		// claude sends a model id without its context-window suffix
		// ("claude-sonnet-4-6[1m]" goes to the API as claude-sonnet-4-6).
		if i := strings.IndexByte(model, '['); i > 0 && strings.HasSuffix(model, "]") {
			model = model[:i]
		}
		if !strings.HasPrefix(model, "claude-") {
			model = ""
		}
	}
	if model == "" {
		return pr.S.ProbeModel, ""
	}
	return model, source
}

// judged is the gateway's verdict as this sleeve's settings judge it
// (SLEEVE_CHECK_ON_UNAVAILABLE=warn, SLEEVE_CHECK_ON_USAGE_LIMIT=warn),
// and a kind other than the one claude was prepared for (the gateway was
// unreachable then) said plainly.
func judged(v probe.Verdict, gw *fleet.Sleeve, pol Policy) probe.Verdict {
	v = pol.Relax(v)
	if gw.Prepared() != "" && gw.Kind() != "" && fleet.KeyVarOf(gw.Kind()) != fleet.KeyVarOf(gw.Prepared()) {
		v.Class, v.Finding = probe.NotRun, outcome.Finding{Severity: outcome.Error, Code: outcome.Config, ID: "gateway_kind_changed",
			Message: fmt.Sprintf("the gateway's fleet credential is an %s, but claude was prepared for an %s while the gateway could not be reached", gw.Kind(), gw.Prepared()),
			Hint:    "restart the sleeve"}
	}
	return v
}

// BaseURLWords names ANTHROPIC_BASE_URL and where it came from, redacted.
func BaseURLWords(res *check.Resolution) string {
	if res.BaseURL == "" {
		return ""
	}
	return "the base URL " + strconv.Quote(probe.RedactURL(res.BaseURL)) + " (" + res.BaseURLSource + ")"
}

// ChildEnv is the environment passed on: the sleeve's, plus the plain
// variables read from *_FILE secrets.
func ChildEnv(env environ.Env, res *check.Resolution) []string {
	if res == nil || len(res.ChildEnv) == 0 {
		return env.Slice()
	}
	return env.With(res.ChildEnv).Slice()
}

// claudeOf is the command's claude, when the command is claude: the probe
// runs the same binary.
func claudeOf(cmd []string) string {
	if len(cmd) > 0 && filepath.Base(cmd[0]) == "claude" {
		return cmd[0]
	}
	return ""
}
