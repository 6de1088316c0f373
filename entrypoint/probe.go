package entrypoint

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sleeve-check/internal/outcome"
	"strconv"
	"time"

	"github.com/rs/zerolog"

	"sleeve-check/check"
	"sleeve-check/check/probe"
)

// probe asks the API whether the selected credential works. It reports
// whether the start must stop, and with which code.
func (r *runner) probe(res *check.Resolution) (outcome.Code, bool) {
	s := r.inv.Settings
	if skip := r.probeSkip(res); skip != "" {
		r.log.Debug().Msg("not probed: " + skip)
		return outcome.OK, false
	}
	means := r.probeChoice(res)
	if c, ok := r.freshVerdict(res, means); ok {
		r.probedAt = c.CheckedAt
		r.log.Debug().Msgf("probe: reusing the pass of %s ago for the same credential (within SLEEVE_CHECK_HEALTH_TTL)", outcome.Human(r.start.Sub(c.CheckedAt)))
		r.verdict(c.Verdict)
		return outcome.OK, false
	}
	if s.ProbeSplay > 0 {
		d := time.Duration(rand.Int64N(int64(s.ProbeSplay)))
		r.log.Debug().Dur("splay_ms", d).Msg("waiting before the probe")
		if !r.sleep(d) {
			return r.interrupted()
		}
	}
	if means == ByHTTP && isSubscription(res.Selected.Kind) {
		r.finding(subscriptionOverHTTP)
	}
	var v probe.Verdict
	pol := probePolicy{deadline: s.ProbeTimeout, strict: s.Strict, warnUnavailable: s.OnUnavailable == "warn", warnUsageLimit: s.OnUsageLimit == "warn"}
	began := time.Now()
	r.step("probe", func() error { v = r.runProbe(res, pol); return nil })
	if reset := v.Usage.ResetsAtIfRejected(); reset != nil && s.OnUsageLimit != "wait" {
		// What the HTTP probe does with the API's retry-after, and claude
		// -p (told not to retry) does not: a reset within the deadline is
		// waited for.
		if d := time.Until(*reset) + time.Second; d > 0 && time.Since(began)+d < pol.deadline {
			v = r.probeAfter(d, res, pol)
		}
	}
	if v.Class == probe.UsageLimit && s.OnUsageLimit == "wait" {
		v = r.waitForReset(res, pol, v)
	}
	if v.Class == probe.Interrupted {
		return r.interrupted()
	}
	r.probedAt = time.Now()
	if sel := res.Selected; sel.SettingsFile != "" && v.Finding.Severity == outcome.Error && v.Finding.Code == outcome.Rejected {
		v.Finding.Message += "; it came from " + sel.Source + ", which overrides the process environment"
	}
	r.verdict(v)
	if v.Finding.Severity == outcome.Error {
		return v.Finding.Code, true
	}
	return outcome.OK, false
}

// verdict records the probe's verdict, and warns about usage windows
// that are nearly used up.
func (r *runner) verdict(v probe.Verdict) {
	r.rep.Probe = &v
	r.applyVerdict(v)
	how := func(e *zerolog.Event) *zerolog.Event {
		if m := r.rep.ProbeMeans; m != nil {
			e = e.Str("probe", string(m.Means)).Str("why", m.Why)
		}
		return e.Str("class", string(v.Class)).Int("attempts", v.Attempts).Int("http_status", v.HTTPStatus).Str("request_id", v.RequestID)
	}
	if v.Finding.Severity == outcome.Info {
		// A pass is one --verbose line: the sentence and how it was reached.
		r.finding(v.Finding, how)
	} else {
		// A warning or an error keeps its sentence plain; how is for --verbose.
		how(r.log.Debug()).Msg("probe: " + string(v.Class))
		r.finding(v.Finding)
	}
	if v.UsageUnknown != "" {
		r.finding(outcome.Finding{Severity: outcome.Info, ID: "usage_unknown", Message: "usage unknown: " + v.UsageUnknown})
	}
	if u := v.Usage; u != nil {
		r.log.Debug().Str("status", u.Status).Str("claim", u.Claim).Msgf("usage: %s", u.Short())
	}
	if !v.Usage.Rejected() {
		for _, w := range v.Usage.High(r.inv.Settings.UsageWarning.Fraction, time.Now()) {
			r.finding(outcome.Finding{Severity: outcome.Warning, ID: "usage_high", Message: w,
				Hint: "when it is used up, every sleeve on this subscription stops until the reset: spread the work across subscriptions, or enable usage credits"})
		}
	}
}

// waitForReset waits for a used-up usage window to reset (plus a random
// part of SLEEVE_CHECK_PROBE_SPLAY, so that sleeves waiting together do not
// all ask in the same second), then probes once more. A reset that is unknown, or further away than
// SLEEVE_CHECK_USAGE_WAIT_MAX, is not waited for.
func (r *runner) waitForReset(res *check.Resolution, pol probePolicy, v probe.Verdict) probe.Verdict {
	s := r.inv.Settings
	reset := v.Usage.ResetsAt
	if reset == nil {
		v.Finding.Message += "; SLEEVE_CHECK_ON_USAGE_LIMIT=wait cannot wait for a reset it does not know"
		return v
	}
	// A second past it: the reset is given in whole seconds.
	d := time.Until(*reset) + time.Second
	if s.ProbeSplay > 0 {
		d += time.Duration(rand.Int64N(int64(s.ProbeSplay)))
	}
	if d > s.UsageWaitMax {
		v.Finding.Message += fmt.Sprintf("; that is further away than SLEEVE_CHECK_USAGE_WAIT_MAX (%s), so the start does not wait", s.UsageWaitMax)
		return v
	}
	r.finding(outcome.Finding{Severity: outcome.Warning, ID: "usage_wait",
		Message: fmt.Sprintf("waiting for the subscription's %s limit to reset%s, then probing again (SLEEVE_CHECK_ON_USAGE_LIMIT=wait)", v.Usage.Words(), probe.ResetWords(reset, time.Now()))})
	r.saveWaiting(Waiting{Until: *reset, Window: v.Usage.Words()}, v)
	pol.warnUsageLimit = false
	return r.probeAfter(d, res, pol)
}

// probeAfter waits d (a signal ends the wait), then probes once more.
func (r *runner) probeAfter(d time.Duration, res *check.Resolution, pol probePolicy) probe.Verdict {
	if !r.sleep(d) {
		return probe.Verdict{Class: probe.Interrupted}
	}
	var again probe.Verdict
	r.step("probe after the reset", func() error { again = r.runProbe(res, pol); return nil })
	return again
}

// freshVerdict is the last start's or health check's pass for the same
// credential and probe, while younger than SLEEVE_CHECK_HEALTH_TTL: a
// restarted sleeve (or a fleet restarted together) needs no new claude -p
// to know what it knew a minute ago. Only a start reuses it, and only a pass.
func (r *runner) freshVerdict(res *check.Resolution, means Means) (ProbeCache, bool) {
	if len(r.inv.Command) == 0 || r.inv.Settings.HealthTTL <= 0 {
		return ProbeCache{}, false
	}
	c, ok := r.cachedVerdict(res.Selected, means)
	age := r.start.Sub(c.CheckedAt)
	return c, ok && c.Verdict.Class == probe.Valid && c.Verdict.Finding.Severity == outcome.Info && age >= 0 && age < r.inv.Settings.HealthTTL
}

// sleep waits d, or until a signal: it reports whether d passed.
func (r *runner) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.ctx.Done():
		return false
	}
}

// probeSkip says why the selected credential is not probed, or "".
func (r *runner) probeSkip(res *check.Resolution) string {
	sel := res.Selected
	switch {
	case r.inv.Settings.Probe == "off":
		return "the probe is off (SLEEVE_CHECK_PROBE=off)"
	case sel == nil:
		return "there is no credential"
	case sel.Value.Len() == 0:
		return "Claude Code authenticates through " + string(sel.Kind) + ", which sleeve-check does not probe"
	case sel.Kind == check.KindOAuthFile && sel.Refreshable && !sel.ExpiresAt.After(r.start):
		return "the access token has expired and Claude Code refreshes it before its first request"
	case r.seeded != nil && len(r.inv.Command) == 0 && r.probeChoice(res) == ByCLI:
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

// Means is how a credential is proved.
type Means string

const (
	ByHTTP Means = "http" // one tiny Messages request from sleeve-check
	ByCLI  Means = "cli"  // one claude -p, by Claude Code itself
)

// probeMeans picks how to prove the selected credential, and says why.
// Anthropic's terms reserve a subscription (OAuth) token for Claude Code:
// under auto, Claude Code proves it; a key any tool may use is proved by
// the HTTP probe, which costs a few ms instead of a Claude Code start.
func probeMeans(setting string, kind check.Kind) (Means, string) {
	switch {
	case setting == "http":
		return ByHTTP, "SLEEVE_CHECK_PROBE=http"
	case setting == "cli":
		return ByCLI, "SLEEVE_CHECK_PROBE=cli"
	case isSubscription(kind):
		return ByCLI, "a subscription token is used by Claude Code only (Anthropic's terms), so Claude Code proves it"
	}
	return ByHTTP, "an " + string(kind) + " may be used by any tool, so one tiny request proves it"
}

// subscriptionOverHTTP is the warning for an operator who asked the HTTP
// probe to send a subscription token.
var subscriptionOverHTTP = outcome.Finding{Severity: outcome.Warning, ID: "probe_http_subscription",
	Message: "SLEEVE_CHECK_PROBE=http sends the subscription token from sleeve-check, not Claude Code: Anthropic's terms reserve subscription (OAuth) tokens for Claude Code, and the API refuses such requests after checking the token",
	Hint:    "use SLEEVE_CHECK_PROBE=auto (the default): Claude Code itself proves the token"}

// probeChoice records in the report which probe proves the selected
// credential, and returns it.
func (r *runner) probeChoice(res *check.Resolution) Means {
	means, why := probeMeans(r.inv.Settings.Probe, res.Selected.Kind)
	r.rep.ProbeMeans = &ProbeChoice{Means: means, Why: why}
	return means
}

// runProbe asks, by the chosen means, whether the credential works.
func (r *runner) runProbe(res *check.Resolution, pol probePolicy) probe.Verdict {
	if r.probeChoice(res) == ByHTTP {
		return probe.HTTP(r.ctx, *res.Selected, r.probeConfig(res, pol))
	}
	claude := "claude"
	if c := r.inv.Command; len(c) > 0 && filepath.Base(c[0]) == "claude" {
		claude = c[0]
	}
	path, err := LookPath(claude, r.env.Get("PATH"))
	if err != nil {
		return probe.Verdict{Class: probe.NotRun, Status: check.StatusUnknown, Finding: outcome.Finding{Severity: outcome.Error, Code: outcome.Config, ID: "probe_cli_no_claude",
			Message: "proving a subscription token needs the claude binary, which sends it as Anthropic's terms require: " + err.Error(),
			Hint:    "install Claude Code in the image (or put it in PATH), or set SLEEVE_CHECK_PROBE=off"}}
	}
	return probe.CLI(r.ctx, probe.CLIConfig{Path: path, Env: r.childEnv(), Dir: r.cwd, Timeout: pol.deadline, BaseURL: res.BaseURL, BaseURLSource: baseURLWords(res), Model: r.inv.Settings.ProbeModel,
		Strict: pol.strict, WarnUnavailable: pol.warnUnavailable, WarnUsageLimit: pol.warnUsageLimit})
}

func (r *runner) probeConfig(res *check.Resolution, pol probePolicy) probe.HTTPConfig {
	s := r.inv.Settings
	base, baseSrc := res.BaseURL, res.BaseURLSource
	headers, _, _ := res.Lookup("ANTHROPIC_CUSTOM_HEADERS")
	cfg := probe.HTTPConfig{
		BaseURL: base, BaseURLSource: baseSrc, Model: s.ProbeModel, Deadline: pol.deadline, AttemptTimeout: min(s.AttemptTime, pol.deadline),
		CustomHeaders: headers, ExtraCAFile: r.env.Get("NODE_EXTRA_CA_CERTS"), SystemCAFile: r.env.Get("SSL_CERT_FILE"), UserAgent: "sleeve-check/" + Version,
		Strict: pol.strict, WarnUnavailable: pol.warnUnavailable, WarnUsageLimit: pol.warnUsageLimit, RetryWaitMin: 500 * time.Millisecond, RetryWaitMax: 4 * time.Second,
		Proxy: r.env.Proxy(), Log: r.log,
	}
	if cfg.BaseURL != "" {
		cfg.BaseURLSource = baseURLWords(res)
	}
	return cfg
}

// baseURLWords names ANTHROPIC_BASE_URL and where it came from, redacted.
func baseURLWords(res *check.Resolution) string {
	if res.BaseURL == "" {
		return ""
	}
	return "the base URL " + strconv.Quote(probe.RedactURL(res.BaseURL)) + " (" + res.BaseURLSource + ")"
}

// applyVerdict lets the API's word set the status, except that a valid
// answer does not hide a coming expiry, and no answer changes nothing.
func (r *runner) applyVerdict(v probe.Verdict) {
	if v.Status != check.StatusUnknown && !(v.Status == check.StatusValid && r.rep.Status == check.StatusExpiringSoon) {
		r.rep.Status = v.Status
	}
	if v.Class == probe.Authenticated {
		// The token passed the API's own checks, but no inference was
		// served: whether it works for Claude Code is not known.
		r.rep.Status = check.StatusUnknown
	}
	r.rep.Usage = v.Usage
}

func isSubscription(k check.Kind) bool {
	return k == check.KindOAuthToken || k == check.KindOAuthFile
}

// ProbeChoice is which probe ran, and why: in the report and --verbose.
type ProbeChoice struct {
	Means Means  `json:"means"`
	Why   string `json:"why"`
}
