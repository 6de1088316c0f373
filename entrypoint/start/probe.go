package start

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strconv"
	"time"

	"github.com/rs/zerolog"

	"sleeve-check/check"
	"sleeve-check/check/probe"
	"sleeve-check/entrypoint/internal/pipeline"
	"sleeve-check/entrypoint/internal/proof"
	"sleeve-check/entrypoint/internal/state"
	"sleeve-check/internal/outcome"
)

// The probe's steps.
var (
	spreadStep = pipeline.Step{Name: "spread the probe", Waits: "a random part of SLEEVE_CHECK_PROBE_SPLAY, which spreads the probes of sleeves started together", Code: outcome.Unavailable}
	probeStep  = pipeline.Step{Name: "probe", Waits: "the probe's answer (the API, or claude -p)", Code: outcome.Unavailable}
	apiWait    = pipeline.Step{Name: "wait for the API", Waits: "the API to answer again (SLEEVE_CHECK_ON_UNAVAILABLE=wait)", Outside: true}
	usageWait  = pipeline.Step{Name: "wait for the usage reset", Waits: "the subscription's usage window to reset (SLEEVE_CHECK_ON_USAGE_LIMIT=wait)", Outside: true}
	reprobe    = pipeline.Step{Name: "probe after the reset", Waits: "the probe's answer after the reset", Code: outcome.Unavailable}
)

// probed is what the probe steps return: the verdict (nil when there was
// no probe), by which means, when it was reached, and the reset a
// --on-usage-limit=wait start waits for.
type probed struct {
	Verdict *probe.Verdict
	Means   *probe.Choice
	At      time.Time
	Wait    *resetWait
}

// resetWait is a used-up window's reset that the start waits for, and
// how long: to a second past the reset, with a part of the splay.
type resetWait struct {
	state.Waiting
	d time.Duration
}

// proved is the verdict as probe.json records it, or nil.
func (pd probed) proved() *state.Proved {
	if pd.Verdict == nil || pd.Means == nil {
		return nil
	}
	return &state.Proved{Verdict: *pd.Verdict, Means: pd.Means.Means, At: pd.At}
}

// prover is the start's probe: the shared prober, and whether a recent
// pass may be reused (a start with a command).
type prover struct {
	proof.Prober
	reusable bool
	// waiting leaves a state that says the start waits, with the verdict
	// that made it wait, for health checks in the meantime.
	waiting func(probed, state.Waiting)
}

// prove is the start's last checks: the probe (after a random spread), and,
// as the settings ask, the waits for an unreachable API to come back and
// for a used-up window to reset (outside the start deadline), and the
// probe after the reset.
func prove(p *pipeline.Pipeline, pr prover, res *check.Resolution, reportOnlySeed bool) (probed, bool) {
	s, log := pr.S, p.Log()
	if skip := proof.Skip(s, res, pr.Now, reportOnlySeed); skip != "" {
		log.Debug().Msg("not probed: " + skip)
		return probed{}, true
	}
	means := pr.Choice(res)
	if c, ok := pr.fresh(res, means.Means); ok {
		log.Debug().Msgf("probe: reusing the pass of %s ago for the same credential (within SLEEVE_CHECK_HEALTH_TTL)", outcome.Human(pr.Now.Sub(c.CheckedAt)))
		out := probed{Verdict: &c.Verdict, Means: &means, At: c.CheckedAt}
		return out, noteVerdict(p, out, s.UsageWarning.Fraction)
	}
	if s.ProbeSplay > 0 && !means.Means.Costless() {
		if _, ok := pipeline.Run(p, spreadStep, func(ctx context.Context) (struct{}, outcome.Findings) {
			spread(ctx, s.ProbeSplay, log)
			return struct{}{}, nil
		}); !ok {
			return probed{}, false
		}
	}
	out, ok := pipeline.Run(p, probeStep, func(ctx context.Context) (probed, outcome.Findings) { return pr.now(ctx, res, means) })
	if !ok {
		return out, false
	}
	if out.Verdict.Class == probe.Unavailable && s.OnUnavailable == "wait" {
		pr.waiting(out, state.Waiting{Window: "API", API: true})
		if out, ok = pipeline.Run(p, apiWait, func(ctx context.Context) (probed, outcome.Findings) { return pr.waitForAPI(ctx, res, out) }); !ok {
			return out, false
		}
	}
	if w := out.Wait; w != nil {
		return pr.afterReset(p, res, out, *w)
	}
	return out, noteVerdict(p, out, s.UsageWarning.Fraction)
}

// afterReset waits, with --on-usage-limit=wait, for a used-up window to
// reset (outside the start deadline), then probes once more.
func (pr prover) afterReset(p *pipeline.Pipeline, res *check.Resolution, out probed, w resetWait) (probed, bool) {
	p.Add(usageWaitNotice(*out.Verdict, w.Waiting))
	pr.waiting(out, w.Waiting)
	if _, ok := pipeline.Run(p, usageWait, func(ctx context.Context) (bool, outcome.Findings) { return pipeline.Sleep(ctx, w.d), nil }); !ok {
		return out, false
	}
	pol := pr.StartPolicy()
	v, ok := pipeline.Run(p, reprobe, func(ctx context.Context) (probe.Verdict, outcome.Findings) { return pr.Run(ctx, res, pol), nil })
	if !ok {
		return out, false
	}
	out.Verdict, out.At, out.Wait = &v, time.Now(), nil
	return out, noteVerdict(p, out, pr.S.UsageWarning.Fraction)
}

// spread waits a random part of SLEEVE_CHECK_PROBE_SPLAY before the
// probe, so that sleeves started together do not all ask at once.
func spread(ctx context.Context, splay time.Duration, log zerolog.Logger) {
	d := time.Duration(rand.Int64N(int64(splay)))
	ev := log.Debug()
	if d >= 2*time.Second {
		ev = log.Info()
	}
	ev.Dur("splay_ms", d).Str("why", fmt.Sprintf("SLEEVE_CHECK_PROBE_SPLAY=%s spreads the probes of sleeves started together", splay)).Msg("waiting before the probe")
	pipeline.Sleep(ctx, d)
}

// now is the probe step: the probe by the planned means, and a reset
// within the deadline waited for. Its findings are what it says before
// the verdict (the verdict itself is noted with how it was reached).
func (pr prover) now(ctx context.Context, res *check.Resolution, means probe.Choice) (probed, outcome.Findings) {
	var fs outcome.Findings
	if w := plainHTTP(res, pr.S.RequireTLS, pr.Gateway != nil); w != nil {
		fs = append(fs, *w)
	}
	if means.Means == probe.ByHTTP && res.Selected.Kind.Subscription() {
		fs = append(fs, subscriptionOverHTTP)
	}
	pol := pr.StartPolicy()
	began := time.Now()
	v := pr.Run(ctx, res, pol)
	if reset := v.Usage.ResetsAtIfRejected(); reset != nil && pr.S.OnUsageLimit != "wait" {
		// What the HTTP probe does with the API's retry-after, and claude
		// -p (told not to retry) does not: a reset within the deadline is
		// waited for.
		if d := time.Until(*reset) + time.Second; d > 0 && time.Since(began)+d < pol.Deadline && pipeline.Sleep(ctx, d) {
			v = pr.Run(ctx, res, pol)
		}
	}
	return pr.settle(v, res, &means), fs
}

// settle is a probe's outcome: the verdict and when it was reached, with
// the reset a --on-usage-limit=wait start waits for.
func (pr prover) settle(v probe.Verdict, res *check.Resolution, means *probe.Choice) probed {
	out := probed{Means: means, At: time.Now()}
	if v.Class == probe.UsageLimit && pr.S.OnUsageLimit == "wait" {
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
func (pr prover) waitForAPI(ctx context.Context, res *check.Resolution, first probed) (probed, outcome.Findings) {
	pol := pr.StartPolicy()
	began, wait, out := time.Now(), 5*time.Second, first
	for out.Verdict.Class == probe.Unavailable {
		left := pr.S.UnavailableWaitMax - time.Since(began)
		if left <= 0 {
			out.Verdict.Finding.Message += fmt.Sprintf("; still so after SLEEVE_CHECK_UNAVAILABLE_WAIT_MAX (%s) of SLEEVE_CHECK_ON_UNAVAILABLE=wait", pr.S.UnavailableWaitMax)
			break
		}
		d := min(wait, left)
		pr.Log.Info().Msgf("the API is unreachable (%s); probing again in %s, %s left of SLEEVE_CHECK_UNAVAILABLE_WAIT_MAX", out.Verdict.Finding.Message, d, left.Round(time.Second))
		if !pipeline.Sleep(ctx, d) {
			break
		}
		out = pr.settle(pr.Run(ctx, res, pol), res, first.Means)
		wait = min(2*wait, time.Minute)
	}
	return out, nil
}

// resetToWaitFor is the reset a --on-usage-limit=wait start waits for
// (plus a random part of SLEEVE_CHECK_PROBE_SPLAY, so that sleeves waiting
// together do not all ask in the same second), or nil, with the verdict's
// message saying why not: the reset is unknown, or further away than
// SLEEVE_CHECK_USAGE_WAIT_MAX.
func (pr prover) resetToWaitFor(v *probe.Verdict) *resetWait {
	reset := v.Usage.ResetsAt
	if reset == nil {
		v.Finding.Message += "; SLEEVE_CHECK_ON_USAGE_LIMIT=wait cannot wait for a reset it does not know"
		return nil
	}
	// A second past it: the reset is given in whole seconds.
	d := time.Until(*reset) + time.Second
	if pr.S.ProbeSplay > 0 {
		d += time.Duration(rand.Int64N(int64(pr.S.ProbeSplay)))
	}
	if d > pr.S.UsageWaitMax {
		v.Finding.Message += fmt.Sprintf("; that is further away than SLEEVE_CHECK_USAGE_WAIT_MAX (%s), so the start does not wait", pr.S.UsageWaitMax)
		return nil
	}
	return &resetWait{state.Waiting{Until: *reset, Window: v.Usage.Words()}, d}
}

// usageWaitNotice is the warning a start gives as it begins to wait.
func usageWaitNotice(v probe.Verdict, w state.Waiting) outcome.Finding {
	return outcome.Finding{Severity: outcome.Warning, ID: "usage_wait",
		Message: fmt.Sprintf("waiting for the subscription's %s limit to reset%s, then probing again (SLEEVE_CHECK_ON_USAGE_LIMIT=wait)", v.Usage.Words(), probe.ResetWords(&w.Until, time.Now()))}
}

// noteVerdict records a verdict in the pipeline: a pass is one --verbose
// line with how it was reached; a warning or an error keeps its sentence
// plain, and how is a --verbose line of its own. Then the usage it could
// not see, and the windows nearly used up.
func noteVerdict(p *pipeline.Pipeline, pd probed, usageWarning float64) bool {
	v, log := *pd.Verdict, p.Log()
	how := func(e *zerolog.Event) *zerolog.Event {
		if pd.Means != nil {
			e = e.Str("probe", string(pd.Means.Means)).Str("why", pd.Means.Why)
		}
		return e.Str("class", string(v.Class)).Int("attempts", v.Attempts).Int("http_status", v.HTTPStatus).Str("request_id", v.RequestID)
	}
	if v.Finding.Severity == outcome.Info {
		p.Note(v.Finding, how)
	} else {
		how(log.Debug()).Msg("probe: " + string(v.Class))
		p.Note(v.Finding)
	}
	if u := v.Usage; u != nil {
		log.Debug().Str("status", u.Status).Str("claim", u.Claim).Msgf("usage: %s", u.Short())
	}
	var more outcome.Findings
	if v.UsageUnknown != "" {
		more.Note("usage_unknown", "usage unknown: "+v.UsageUnknown)
	}
	if o := v.Usage.OverageWords(time.Now()); o != "" {
		more.Warn("usage_overage", o, "usage credits are billed: spread the work across subscriptions, or wait for the reset")
	}
	if !v.Usage.Rejected() && !v.Usage.UsingOverage() {
		for _, w := range v.Usage.High(usageWarning, time.Now()) {
			more.Warn("usage_high", w, "when it is used up, every sleeve on this subscription stops until the reset: spread the work across subscriptions, or enable usage credits")
		}
	}
	return p.Add(more...)
}

// fresh is the last start's or health check's pass for the same
// credential and probe, while younger than SLEEVE_CHECK_HEALTH_TTL: a
// restarted sleeve (or a fleet restarted together) needs no new claude -p
// to know what it knew a minute ago. Only a start with a command reuses
// it, and only a pass.
func (pr prover) fresh(res *check.Resolution, means probe.Means) (state.ProbeCache, bool) {
	if !pr.reusable || pr.S.HealthTTL <= 0 || means.Costless() {
		return state.ProbeCache{}, false
	}
	c, ok := state.CachedVerdict(pr.Dirs, res.Selected, means)
	age := pr.Now.Sub(c.CheckedAt)
	return c, ok && c.Verdict.Class == probe.Valid && c.Verdict.Finding.Severity == outcome.Info && age >= 0 && age < pr.S.HealthTTL
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
func plainHTTP(res *check.Resolution, requireTLS, gateway bool) *outcome.Finding {
	u, err := url.Parse(res.BaseURL)
	if requireTLS || err != nil || u.Scheme != "http" || probe.IsLoopback(u.Hostname()) {
		return nil
	}
	if gateway {
		return &outcome.Finding{Severity: outcome.Warning, ID: "gateway_plain_http",
			Message: fmt.Sprintf("SLEEVE_CHECK_GATEWAY (%s) is plain http to %s, not a loopback address: this sleeve's key crosses the network unencrypted (the fleet credential does not)", strconv.Quote(probe.RedactURL(res.BaseURL)), strconv.Quote(u.Host)),
			Hint:    "serve the gateway over https (--tls-cert, --tls-key), or keep the sleeves from listening in (cap_drop NET_RAW); SLEEVE_CHECK_REQUIRE_TLS=true refuses such a start"}
	}
	return &outcome.Finding{Severity: outcome.Warning, ID: "base_url_plain_http",
		Message: fmt.Sprintf("%s is plain http to %s, not a loopback address: the credential crosses the network unencrypted, as Claude Code will send it", proof.BaseURLWords(res), strconv.Quote(u.Host)),
		Hint:    "use https, or a gateway on 127.0.0.1; set SLEEVE_CHECK_REQUIRE_TLS=true to refuse such a start"}
}
