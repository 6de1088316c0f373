package entrypoint

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/rs/zerolog"

	"sleeve-check/check"
	"sleeve-check/check/probe"
	"sleeve-check/internal/environ"
	"sleeve-check/internal/outcome"
)

// prober is what proving a credential needs to know of the sleeve, the
// same for a start and a health check.
type prober struct {
	s   Settings
	env environ.Env // the sleeve's, after the user switch
	cwd string
	// claude is the command's own claude, when the command is claude.
	claude string
	log    zerolog.Logger
	now    time.Time
	dirs   stateDirs
	// reusable: a start with a command may reuse a recent pass.
	reusable bool
}

// probed is what the probe step returns: the verdict (nil when there was
// no probe), by which means, when it was reached, and the reset a
// --on-usage-limit=wait start waits for.
type probed struct {
	Verdict *probe.Verdict
	Means   *ProbeChoice
	At      time.Time
	Wait    *Waiting
	// reused is the age of the pass a restart reused.
	reused time.Duration
}

// probePlan is what the start's probe will do: nothing (skip says why),
// reuse a recent pass, or probe by means.
type probePlan struct {
	skip   string
	means  ProbeChoice
	reused *ProbeCache
}

// planProbe decides, before any wait, what proving the credential takes.
func planProbe(pr prober, res *check.Resolution, reportOnlySeed bool) probePlan {
	if skip := probeSkip(pr.s, res, pr.now, reportOnlySeed); skip != "" {
		return probePlan{skip: skip}
	}
	plan := probePlan{means: pr.choice(res)}
	if c, ok := pr.freshVerdict(res, plan.means.Means); ok {
		plan.reused = &c
	}
	return plan
}

// spreadProbe is the step that waits a random part of
// SLEEVE_CHECK_PROBE_SPLAY before the probe, so that sleeves started
// together do not all ask at once.
func spreadProbe(ctx context.Context, splay time.Duration, log zerolog.Logger) {
	d := time.Duration(rand.Int64N(int64(splay)))
	ev := log.Debug()
	if d >= 2*time.Second {
		ev = log.Info()
	}
	ev.Dur("splay_ms", d).Str("why", fmt.Sprintf("SLEEVE_CHECK_PROBE_SPLAY=%s spreads the probes of sleeves started together", splay)).Msg("waiting before the probe")
	sleep(ctx, d)
}

// probeNow is the start's probe step: the probe by the planned means, and
// a reset within the deadline waited for. Its findings are what it says
// before the verdict (the pipeline notes the verdict itself, with how it
// was reached).
func probeNow(ctx context.Context, pr prober, res *check.Resolution, means ProbeChoice) (probed, outcome.Findings) {
	var fs outcome.Findings
	if w := plainHTTP(res, pr.s.RequireTLS); w != nil {
		fs = append(fs, *w)
	}
	if means.Means == ByHTTP && isSubscription(res.Selected.Kind) {
		fs = append(fs, subscriptionOverHTTP)
	}
	pol := pr.startPolicy()
	began := time.Now()
	v := pr.run(ctx, res, pol)
	if reset := v.Usage.ResetsAtIfRejected(); reset != nil && pr.s.OnUsageLimit != "wait" {
		// What the HTTP probe does with the API's retry-after, and claude
		// -p (told not to retry) does not: a reset within the deadline is
		// waited for.
		if d := time.Until(*reset) + time.Second; d > 0 && time.Since(began)+d < pol.deadline && sleep(ctx, d) {
			v = pr.run(ctx, res, pol)
		}
	}
	return pr.settle(v, res, &means), fs
}

// settle is a probe's outcome: the verdict and when it was reached, with
// the reset a --on-usage-limit=wait start waits for.
func (pr prober) settle(v probe.Verdict, res *check.Resolution, means *ProbeChoice) probed {
	out := probed{Means: means, At: time.Now()}
	if v.Class == probe.UsageLimit && pr.s.OnUsageLimit == "wait" {
		out.Wait = pr.resetToWaitFor(&v)
	}
	if sel := res.Selected; sel.SettingsFile != "" && v.Finding.Severity == outcome.Error && v.Finding.Code == outcome.Rejected {
		v.Finding.Message += "; it came from " + sel.Source + ", which overrides the process environment"
	}
	out.Verdict = &v
	return out
}

// waitForAPI is the step of a --on-unavailable=wait start whose probe
// found the API unreachable: it probes again, with a backoff from 5 s to
// 1 min, until the API answers or SLEEVE_CHECK_UNAVAILABLE_WAIT_MAX has
// passed. Each attempt is a line at the default level.
func waitForAPI(ctx context.Context, pr prober, res *check.Resolution, first probed) (probed, outcome.Findings) {
	pol := pr.startPolicy()
	began, wait, out := time.Now(), 5*time.Second, first
	for attempt := 2; out.Verdict.Class == probe.Unavailable; attempt++ {
		left := pr.s.UnavailableWaitMax - time.Since(began)
		if left <= 0 {
			out.Verdict.Finding.Message += fmt.Sprintf("; still so after SLEEVE_CHECK_UNAVAILABLE_WAIT_MAX (%s) of SLEEVE_CHECK_ON_UNAVAILABLE=wait", pr.s.UnavailableWaitMax)
			break
		}
		d := min(wait, left)
		pr.log.Info().Msgf("the API is unreachable (%s); probing again in %s, %s left of SLEEVE_CHECK_UNAVAILABLE_WAIT_MAX", out.Verdict.Finding.Message, d, left.Round(time.Second))
		if !sleep(ctx, d) {
			break
		}
		out = pr.settle(pr.run(ctx, res, pol), res, first.Means)
		wait = min(2*wait, time.Minute)
	}
	return out, nil
}

// resetToWaitFor is the reset a --on-usage-limit=wait start waits for
// (plus a random part of SLEEVE_CHECK_PROBE_SPLAY, so that sleeves waiting
// together do not all ask in the same second), or nil, with the verdict's
// message saying why not: the reset is unknown, or further away than
// SLEEVE_CHECK_USAGE_WAIT_MAX.
func (pr prober) resetToWaitFor(v *probe.Verdict) *Waiting {
	reset := v.Usage.ResetsAt
	if reset == nil {
		v.Finding.Message += "; SLEEVE_CHECK_ON_USAGE_LIMIT=wait cannot wait for a reset it does not know"
		return nil
	}
	// A second past it: the reset is given in whole seconds.
	d := time.Until(*reset) + time.Second
	if pr.s.ProbeSplay > 0 {
		d += time.Duration(rand.Int64N(int64(pr.s.ProbeSplay)))
	}
	if d > pr.s.UsageWaitMax {
		v.Finding.Message += fmt.Sprintf("; that is further away than SLEEVE_CHECK_USAGE_WAIT_MAX (%s), so the start does not wait", pr.s.UsageWaitMax)
		return nil
	}
	return &Waiting{Until: *reset, Window: v.Usage.Words(), wait: d}
}

// usageWaitNotice is the warning a start gives as it begins to wait.
func usageWaitNotice(v probe.Verdict, w Waiting) outcome.Finding {
	return outcome.Finding{Severity: outcome.Warning, ID: "usage_wait",
		Message: fmt.Sprintf("waiting for the subscription's %s limit to reset%s, then probing again (SLEEVE_CHECK_ON_USAGE_LIMIT=wait)", v.Usage.Words(), probe.ResetWords(&w.Until, time.Now()))}
}

// verdictFindings are what a verdict says: its own finding (with how it
// was reached, for its log line), the usage it could not see, and the
// windows nearly used up.
func verdictFindings(v probe.Verdict, means *ProbeChoice, usageWarning float64) (own outcome.Finding, how func(*zerolog.Event) *zerolog.Event, more outcome.Findings) {
	how = func(e *zerolog.Event) *zerolog.Event {
		if means != nil {
			e = e.Str("probe", string(means.Means)).Str("why", means.Why)
		}
		return e.Str("class", string(v.Class)).Int("attempts", v.Attempts).Int("http_status", v.HTTPStatus).Str("request_id", v.RequestID)
	}
	if v.UsageUnknown != "" {
		more.Note("usage_unknown", "usage unknown: "+v.UsageUnknown)
	}
	if !v.Usage.Rejected() {
		for _, w := range v.Usage.High(usageWarning, time.Now()) {
			more.Warn("usage_high", w, "when it is used up, every sleeve on this subscription stops until the reset: spread the work across subscriptions, or enable usage credits")
		}
	}
	return v.Finding, how, more
}

// noteVerdict records a verdict in the pipeline: a pass is one --verbose
// line with how it was reached; a warning or an error keeps its sentence
// plain, and how is a --verbose line of its own.
func noteVerdict(p *pipeline, v probe.Verdict, means *ProbeChoice, usageWarning float64) bool {
	own, how, more := verdictFindings(v, means, usageWarning)
	if own.Severity == outcome.Info {
		p.note(own, how)
	} else {
		how(p.log.Debug()).Msg("probe: " + string(v.Class))
		p.note(own)
	}
	if u := v.Usage; u != nil {
		p.log.Debug().Str("status", u.Status).Str("claim", u.Claim).Msgf("usage: %s", u.Short())
	}
	return p.add(more...)
}

// freshVerdict is the last start's or health check's pass for the same
// credential and probe, while younger than SLEEVE_CHECK_HEALTH_TTL: a
// restarted sleeve (or a fleet restarted together) needs no new claude -p
// to know what it knew a minute ago. Only a start reuses it, and only a pass.
func (pr prober) freshVerdict(res *check.Resolution, means Means) (ProbeCache, bool) {
	if !pr.reusable || pr.s.HealthTTL <= 0 {
		return ProbeCache{}, false
	}
	c, ok := cachedVerdict(pr.dirs, res.Selected, means)
	age := pr.now.Sub(c.CheckedAt)
	return c, ok && c.Verdict.Class == probe.Valid && c.Verdict.Finding.Severity == outcome.Info && age >= 0 && age < pr.s.HealthTTL
}

// sleep waits d, or until ctx ends: it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// probeSkip says why the selected credential is not probed, or "".
// reportOnlySeed: a report (which writes nothing) judges a seed it did not copy.
func probeSkip(s Settings, res *check.Resolution, now time.Time, reportOnlySeed bool) string {
	sel := res.Selected
	switch {
	case s.Probe == "off":
		return "the probe is off (SLEEVE_CHECK_PROBE=off)"
	case sel == nil:
		return "there is no credential"
	case sel.Value.Len() == 0:
		return "Claude Code authenticates through " + string(sel.Kind) + ", which sleeve-check does not probe"
	case sel.Kind == check.KindOAuthFile && sel.Refreshable && !sel.ExpiresAt.After(now):
		return "the access token has expired and Claude Code refreshes it before its first request"
	case reportOnlySeed && probeChoice(s.Probe, sel.Kind).Means == ByCLI:
		return "a report copies no seed, and Claude Code, the only one that may send its token, reads the copy: a start proves it"
	}
	return ""
}

// probePolicy is what differs between the start's probe and a health
// check's: the deadline, and how a rate limit or an outage is judged.
type probePolicy struct {
	deadline        time.Duration
	strict          bool
	warnUnavailable bool
	warnUsageLimit  bool
}

func (pr prober) startPolicy() probePolicy {
	s := pr.s
	return probePolicy{deadline: s.ProbeTimeout, strict: s.Strict, warnUnavailable: s.OnUnavailable == "warn", warnUsageLimit: s.OnUsageLimit == "warn"}
}

// Means is how a credential is proved.
type Means string

const (
	ByHTTP Means = "http" // one tiny Messages request from sleeve-check
	ByCLI  Means = "cli"  // one claude -p, by Claude Code itself
)

// ProbeChoice is which probe ran, and why: in the report and --verbose.
type ProbeChoice struct {
	Means Means  `json:"means"`
	Why   string `json:"why"`
}

// probeChoice picks how to prove a credential of kind, and says why.
// Anthropic's terms reserve a subscription (OAuth) token for Claude Code:
// under auto, Claude Code proves it; a key any tool may use is proved by
// the HTTP probe, which costs a few ms instead of a Claude Code start.
func probeChoice(setting string, kind check.Kind) ProbeChoice {
	switch {
	case setting == "http":
		return ProbeChoice{ByHTTP, "SLEEVE_CHECK_PROBE=http"}
	case setting == "cli":
		return ProbeChoice{ByCLI, "SLEEVE_CHECK_PROBE=cli"}
	case isSubscription(kind):
		return ProbeChoice{ByCLI, "a subscription token is used by Claude Code only (Anthropic's terms), so Claude Code proves it"}
	}
	return ProbeChoice{ByHTTP, "an " + string(kind) + " may be used by any tool, so one tiny request proves it"}
}

func (pr prober) choice(res *check.Resolution) ProbeChoice {
	return probeChoice(pr.s.Probe, res.Selected.Kind)
}

// subscriptionOverHTTP is the warning for an operator who asked the HTTP
// probe to send a subscription token.
var subscriptionOverHTTP = outcome.Finding{Severity: outcome.Warning, ID: "probe_http_subscription",
	Message: "SLEEVE_CHECK_PROBE=http sends the subscription token from sleeve-check, not Claude Code: Anthropic's terms reserve subscription (OAuth) tokens for Claude Code, and the API refuses such requests after checking the token",
	Hint:    "use SLEEVE_CHECK_PROBE=auto (the default): Claude Code itself proves the token"}

// plainHTTP warns that the base URL is plain http off loopback: Claude
// Code sends the credential there unencrypted (observed with 2.1.332: it
// sent the OAuth token to http://<gateway>:<port> as Bearer), so the
// probe does too, and says so. With SLEEVE_CHECK_REQUIRE_TLS the probe
// refuses instead (exit 3).
func plainHTTP(res *check.Resolution, requireTLS bool) *outcome.Finding {
	u, err := url.Parse(res.BaseURL)
	if requireTLS || err != nil || u.Scheme != "http" || probe.IsLoopback(u.Hostname()) {
		return nil
	}
	return &outcome.Finding{Severity: outcome.Warning, ID: "base_url_plain_http",
		Message: fmt.Sprintf("%s is plain http to %s, not a loopback address: the credential crosses the network unencrypted, as Claude Code will send it", baseURLWords(res), strconv.Quote(u.Host)),
		Hint:    "use https, or a gateway on 127.0.0.1; set SLEEVE_CHECK_REQUIRE_TLS=true to refuse such a start"}
}

// run asks, by the chosen means, whether the credential works.
func (pr prober) run(ctx context.Context, res *check.Resolution, pol probePolicy) probe.Verdict {
	if pr.choice(res).Means == ByHTTP {
		return probe.HTTP(ctx, *res.Selected, pr.httpConfig(res, pol))
	}
	claude := "claude"
	if pr.claude != "" {
		claude = pr.claude
	}
	path, err := LookPath(claude, pr.env.Get("PATH"))
	if err != nil {
		return probe.Verdict{Class: probe.NotRun, Status: check.StatusUnknown, Finding: outcome.Finding{Severity: outcome.Error, Code: outcome.Config, ID: "probe_cli_no_claude",
			Message: "proving a subscription token needs the claude binary, which sends it as Anthropic's terms require: " + err.Error(),
			Hint:    "install Claude Code in the image (or put it in PATH), or set SLEEVE_CHECK_PROBE=off"}}
	}
	return probe.CLI(ctx, probe.CLIConfig{Path: path, Env: childEnv(pr.env, res), Dir: pr.cwd, Timeout: pol.deadline, BaseURL: res.BaseURL, BaseURLSource: baseURLWords(res), Model: pr.s.ProbeModel,
		RequireTLS: pr.s.RequireTLS, Strict: pol.strict, WarnUnavailable: pol.warnUnavailable, WarnUsageLimit: pol.warnUsageLimit})
}

func (pr prober) httpConfig(res *check.Resolution, pol probePolicy) probe.HTTPConfig {
	s := pr.s
	headers, _, _ := res.Lookup("ANTHROPIC_CUSTOM_HEADERS")
	return probe.HTTPConfig{
		BaseURL: res.BaseURL, BaseURLSource: baseURLWords(res), Model: s.ProbeModel, Deadline: pol.deadline, AttemptTimeout: min(s.AttemptTime, pol.deadline),
		CustomHeaders: headers, ExtraCAFile: pr.env.Get("NODE_EXTRA_CA_CERTS"), SystemCAFile: pr.env.Get("SSL_CERT_FILE"), UserAgent: "sleeve-check/" + Version,
		RequireTLS: s.RequireTLS, Strict: pol.strict, WarnUnavailable: pol.warnUnavailable, WarnUsageLimit: pol.warnUsageLimit, RetryWaitMin: 500 * time.Millisecond, RetryWaitMax: 4 * time.Second,
		Proxy: pr.env.Proxy(), Log: pr.log,
	}
}

// baseURLWords names ANTHROPIC_BASE_URL and where it came from, redacted.
func baseURLWords(res *check.Resolution) string {
	if res.BaseURL == "" {
		return ""
	}
	return "the base URL " + strconv.Quote(probe.RedactURL(res.BaseURL)) + " (" + res.BaseURLSource + ")"
}

// applyVerdict is the status after the API's word: it sets the status,
// except that a valid answer does not hide a coming expiry, and no answer
// changes nothing.
func applyVerdict(status check.Status, v probe.Verdict) check.Status {
	if v.Class == probe.Authenticated {
		// The token passed the API's own checks, but no inference was
		// served: whether it works for Claude Code is not known.
		return check.StatusUnknown
	}
	if v.Status != check.StatusUnknown && !(v.Status == check.StatusValid && status == check.StatusExpiringSoon) {
		return v.Status
	}
	return status
}

func isSubscription(k check.Kind) bool {
	return k == check.KindOAuthToken || k == check.KindOAuthFile
}

// childEnv is the environment passed on: the sleeve's, plus the plain
// variables read from *_FILE secrets.
func childEnv(env environ.Env, res *check.Resolution) []string {
	if res == nil || len(res.ChildEnv) == 0 {
		return env.Slice()
	}
	child := env.Clone()
	for _, k := range slices.Sorted(maps.Keys(res.ChildEnv)) {
		child.Set(k, res.ChildEnv[k])
	}
	return child.Slice()
}

// claudeOf is the command's claude, when the command is claude: the probe
// runs the same binary.
func claudeOf(cmd []string) string {
	if len(cmd) > 0 && filepath.Base(cmd[0]) == "claude" {
		return cmd[0]
	}
	return ""
}
