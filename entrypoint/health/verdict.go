package health

import (
	"context"
	"fmt"
	"time"

	"sleeve-check/check"
	"sleeve-check/check/probe"
	"sleeve-check/entrypoint/internal/proof"
	"sleeve-check/entrypoint/internal/state"
	"sleeve-check/internal/outcome"
)

// unavailableTTL is how long a failed probe (API unreachable) is reused:
// short, so recovery is seen soon, but not zero, so an outage does not
// turn every health check into a request.
const unavailableTTL = time.Minute

// answer is what the API said, for the line and the report: the verdict
// (nil when it was not asked), by which means, when, and whether it was
// the cached one; the parts of the line it adds; and the line's warning.
type answer struct {
	verdict *probe.Verdict
	means   *probe.Choice
	at      *time.Time
	cached  bool
	parts   []string
	warn    string
}

// recall is the "recall the API's verdict" step: the cached verdict, if
// it is fresh enough to answer with (fresh), as ask words it.
func recall(pr proof.Prober, res *check.Resolution, localWarn string) (recalled, outcome.Findings) {
	v, at, fresh := freshVerdict(pr, res)
	if !fresh {
		return recalled{answer: answer{warn: localWarn}}, nil
	}
	a, fs := describe(pr, res, v, at, true, localWarn)
	return recalled{answer: a, fresh: true}, fs
}

// recalled is what recall found: the answer, when fresh.
type recalled struct {
	answer
	fresh bool
}

// ask is the "ask the API" step, when there is no fresh verdict to
// recall: the API's verdict, as parts of the line and its warning (given
// the local checks' warning, which an outage or a used-up window
// overrides); or why the sleeve is unhealthy.
func ask(ctx context.Context, pr proof.Prober, res *check.Resolution, localWarn string) (answer, outcome.Findings) {
	v, at, asked := verdict(ctx, pr, res)
	if !asked {
		return answer{warn: localWarn, parts: []string{fmt.Sprintf("api not checked (no writable state directory to remember it; asked in the first minute of every %s)", pr.S.HealthTTL)}}, nil
	}
	return describe(pr, res, v, at, false, localWarn)
}

// describe words the verdict v of at (cached or just asked).
func describe(pr proof.Prober, res *check.Resolution, v probe.Verdict, at time.Time, cached bool, localWarn string) (answer, outcome.Findings) {
	a := answer{warn: localWarn}
	means := pr.Choice(res)
	a.verdict, a.means, a.at, a.cached = &v, &means, &at, cached
	age := outcome.Human(pr.Now.Sub(at)) + " ago"
	switch {
	case v.Finding.ID == "gateway_unreachable":
		// Every request of claude's goes through the gateway: the sleeve
		// cannot work until it is back (no restart of the sleeve needed).
		return a, outcome.Findings{v.Finding}
	case v.Finding.Severity == outcome.Error && v.Class != probe.Unavailable && v.Class != probe.UsageLimit:
		return a, outcome.Findings{v.Finding}
	case v.Class == probe.UsageLimit:
		// A restart cannot bring quota back; the running task resumes at the reset.
		a.warn = v.Finding.Message
	case v.Class == probe.Unavailable:
		// Restarting the sleeve would not bring the API back.
		a.warn = "API unreachable: " + v.Finding.Message
	case v.Finding.Severity == outcome.Warning && a.warn == "":
		a.warn = v.Finding.Message
		a.parts = append(a.parts, "api checked "+age)
	case means.Means == probe.ByGateway:
		a.parts = append(a.parts, "fleet credential "+string(v.Class)+" (the gateway's word, "+age+")")
	default:
		a.parts = append(a.parts, "api ok "+age)
	}
	if u := v.Usage.Short(); u != "" {
		a.parts = append(a.parts, u)
	}
	if o := v.Usage.OverageWords(pr.Now); o != "" && a.warn == "" {
		a.warn = o
	}
	if high := v.Usage.High(pr.S.UsageWarning.Fraction, pr.Now); len(high) > 0 && a.warn == "" && !v.Usage.Rejected() {
		a.warn = high[0]
	}
	return a, nil
}

// freshVerdict is the cached verdict for the credential of res, if it is
// fresh enough: younger than SLEEVE_CHECK_HEALTH_TTL, a minute for an
// outage, and not past a used-up window's reset. Behind a gateway there
// is none: asking it costs the API nothing.
func freshVerdict(pr proof.Prober, res *check.Resolution) (probe.Verdict, time.Time, bool) {
	means := pr.Choice(res).Means
	if means.Costless() {
		return probe.Verdict{}, time.Time{}, false
	}
	c, ok := state.CachedVerdict(pr.Dirs, res.Selected, means)
	if !ok {
		return probe.Verdict{}, time.Time{}, false
	}
	ttl := pr.S.HealthTTL
	if c.Verdict.Class == probe.Unavailable {
		ttl = min(ttl, unavailableTTL)
	}
	if u := c.Verdict.Usage; u.Rejected() && u.ResetsAt != nil {
		ttl = min(ttl, u.ResetsAt.Sub(c.CheckedAt))
	}
	if age := pr.Now.Sub(c.CheckedAt); age >= 0 && age < ttl {
		return c.Verdict, c.CheckedAt, true
	}
	return probe.Verdict{}, time.Time{}, false
}

// verdict probes once within the health deadline and caches the answer
// (recall found no fresh one). Where no verdict can be cached (no
// writable state directory), it asks the API only in the first minute of
// every TTL, so that health checks every 30 s still make about two
// requests per TTL; asked is false when it did not ask.
func verdict(ctx context.Context, pr proof.Prober, res *check.Resolution) (v probe.Verdict, at time.Time, asked bool) {
	s := pr.S
	means := pr.Choice(res).Means
	if means.Costless() {
		return pr.Run(ctx, res, proof.Policy{Deadline: s.HealthTimeout}), time.Now().UTC(), true
	}
	dir, derr := pr.Dirs.Writable()
	if derr != nil && s.HealthTTL > 0 && pr.Now.Sub(pr.Now.Truncate(s.HealthTTL)) >= time.Minute {
		return v, at, false
	}
	// Judged as facts, not as a start: a rate limit proves the credential,
	// and an outage is reported as such (health turns it into a warning).
	v = pr.Run(ctx, res, proof.Policy{Deadline: s.HealthTimeout})
	now := time.Now().UTC()
	if v.Class != probe.Interrupted && derr == nil {
		state.SaveVerdict(dir, res.Selected, state.Proved{Verdict: v, Means: means, At: now})
	}
	return v, now, true
}
