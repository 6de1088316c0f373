package entrypoint

import (
	"encoding/json"
	"fmt"
	"maps"
	"sleeve-check/internal/outcome"
	"slices"
	"strings"
	"time"

	"sleeve-check/check"
	"sleeve-check/check/probe"
	"sleeve-check/entrypoint/claudeconfig"
	"sleeve-check/internal/safefile"
)

// HealthReport is the health part of the shared report.
type HealthReport struct {
	Healthy        bool       `json:"healthy"`
	Warning        bool       `json:"warning"`
	Line           string     `json:"line"`
	StartedAt      *time.Time `json:"started_at,omitempty"`
	ProbeCheckedAt *time.Time `json:"probe_checked_at,omitempty"`
	ProbeCached    bool       `json:"probe_cached"`
}

// maxHealthLine keeps the line far under Docker's 4096-byte limit.
const maxHealthLine = 1000

// unavailableTTL is how long a failed probe (API unreachable) is reused:
// short, so recovery is seen soon, but not zero, so an outage does not
// turn every health check into a request.
const unavailableTTL = time.Minute

// health is the image's HEALTHCHECK: exit 0 (healthy) or 1 (unhealthy),
// one short line on stdout. It re-runs the local checks, looks at the
// config flag, and reuses the last API verdict for HealthTTL; it never
// writes Claude Code's config, never refreshes, never starts anything.
func (r *runner) health() int {
	h := &HealthReport{Healthy: true}
	r.rep.Health = h
	var parts []string
	warn := ""
	fail := func(msg string) int {
		h.Healthy, h.Line = false, healthLine(false, false, msg)
		return r.healthOut()
	}

	if st := r.started; st != nil && !st.CheckedAt.IsZero() {
		t := st.CheckedAt
		h.StartedAt = &t
		parts = append(parts, "started "+outcome.Human(r.start.Sub(t))+" ago")
	}
	if w := r.waiting(); w != nil {
		// The start is alive and doing what it was told: not a failure.
		h.Warning, h.Line = true, healthLine(true, true, fmt.Sprintf("waiting for the %s limit to reset%s", w.Window, probe.ResetWords(&w.Until, r.start)))
		return r.healthOut()
	}

	res, msg := r.healthLocal()
	if msg != "" {
		return fail(msg)
	}
	fp := res.Selected.Fingerprint()
	desc := string(fp.Kind)
	if fp.Last4 != "" {
		desc += " ..." + fp.Last4
	}
	parts = append(parts, desc+" "+string(res.Status))
	for _, f := range res.Findings {
		if f.Severity == outcome.Warning && f.ID != "credential_shadowed" && warn == "" {
			warn = f.Message
		}
	}

	if r.probeSkip(res) == "" {
		if msg := r.healthAPI(res, &parts, &warn); msg != "" {
			return fail(msg)
		}
	}
	if fp.ExpiresAt != nil {
		parts = append(parts, "expires "+relTime(*fp.ExpiresAt, r.start))
	}
	line := strings.Join(parts, ", ")
	if warn != "" {
		line += "; " + warn
	}
	h.Warning = warn != ""
	h.Line = healthLine(true, warn != "", line)
	return r.healthOut()
}

// healthLocal re-runs the local checks: the credential, the onboarding
// flag, and that the credential is the one the start was given. It
// returns why the sleeve is unhealthy, or "".
func (r *runner) healthLocal() (*check.Resolution, string) {
	res := check.Resolve(r.resolveInput())
	r.resolution(res)
	if e := res.Findings.FirstError(); e != nil {
		return res, e.Message
	}
	// Only the one flag is read: a .claude.json can grow to tens of MB.
	if glob, err := claudeconfig.TopLevel(res.GlobalConfig, "hasCompletedOnboarding"); err != nil {
		return res, fmt.Sprintf("cannot read %q: %s", res.GlobalConfig, safefile.ErrText(err))
	} else if string(glob["hasCompletedOnboarding"]) != "true" {
		return res, fmt.Sprintf("hasCompletedOnboarding is not set in %q, so claude waits at its welcome screen", res.GlobalConfig)
	}
	return res, r.credentialChanged(res.Selected.Fingerprint())
}

// healthAPI adds what the API says to the health line: a part, or a
// warning; or it returns why the sleeve is unhealthy.
func (r *runner) healthAPI(res *check.Resolution, parts *[]string, warn *string) string {
	v, at, cached, asked := r.healthVerdict(res)
	if !asked {
		*parts = append(*parts, fmt.Sprintf("api not checked (no writable state directory to remember it; asked in the first minute of every %s)", r.inv.Settings.HealthTTL))
		return ""
	}
	r.rep.Health.ProbeCheckedAt, r.rep.Health.ProbeCached = &at, cached
	r.rep.Probe = &v
	r.applyVerdict(v)
	age := outcome.Human(r.start.Sub(at)) + " ago"
	switch {
	case v.Finding.Severity == outcome.Error && v.Class != probe.Unavailable && v.Class != probe.UsageLimit:
		return v.Finding.Message
	case v.Class == probe.UsageLimit:
		// A restart cannot bring quota back; the running task resumes at the reset.
		*warn = v.Finding.Message
	case v.Class == probe.Unavailable:
		// Restarting the sleeve would not bring the API back.
		*warn = "API unreachable: " + v.Finding.Message
	case v.Finding.Severity == outcome.Warning && *warn == "":
		*warn = v.Finding.Message
		*parts = append(*parts, "api checked "+age)
	default:
		*parts = append(*parts, "api ok "+age)
	}
	if u := v.Usage.Short(); u != "" {
		*parts = append(*parts, u)
	}
	if high := v.Usage.High(r.inv.Settings.UsageWarning.Fraction, r.start); len(high) > 0 && *warn == "" && !v.Usage.Rejected() {
		*warn = high[0]
	}
	return ""
}

// waiting is the start's wait for a usage window's reset, while it lasts
// (and a minute past the reset, for the probe after it).
func (r *runner) waiting() *Waiting {
	if r.started == nil || r.started.Start.Waiting == nil {
		return nil
	}
	if w := r.started.Start.Waiting; r.start.Before(w.Until.Add(time.Minute + 30*time.Second)) {
		return w
	}
	return nil
}

// adoptStartSettings gives a health check the settings the start ran
// with (its ENTRYPOINT flags: --user, --probe, --state-dir, ...), below
// the health check's own flags and environment.
func (r *runner) adoptStartSettings(args []string) {
	st := startState(r.stateDirs())
	if st == nil {
		return
	}
	r.started = st
	env := r.env.Clone()
	var adopted []string
	for _, k := range slices.Sorted(maps.Keys(st.Start.Settings)) {
		if env.Get(k) == "" {
			env.Set(k, st.Start.Settings[k])
			adopted = append(adopted, k)
		}
	}
	if len(adopted) == 0 {
		return
	}
	inv, err := Parse(args, env)
	if err != nil {
		return
	}
	for _, k := range adopted {
		if k == EnvPrefix+"USER" && st.Start.Home != "" {
			// The start's home, which the user switch replaces with the
			// passwd one where the user has an entry (as at the start).
			r.env.Set("HOME", st.Start.Home)
		}
		if f := fieldByEnv(k); f != nil && !strings.HasPrefix(inv.Sources[f.Name], "flag") {
			inv.Sources[f.Name] = "the start's state"
		}
	}
	r.inv = inv
}

// credentialChanged says why the credential found now is not the one the
// running process was started with, or "". Claude Code reads its variables
// once, at start: a Kubernetes secret rotated behind a *_FILE since then is
// not what it sends. A credentials file it re-reads (and refreshes itself)
// is exempt.
func (r *runner) credentialChanged(now check.Fingerprint) string {
	if r.started == nil || r.started.Credential == nil {
		return ""
	}
	was := *r.started.Credential
	if was.Kind != now.Kind || was.Source != now.Source || now.Kind == check.KindOAuthFile || sameCredential(was, now) {
		return ""
	}
	return fmt.Sprintf("the credential changed since the start; restart the sleeve to use the new one (%s was length %d ...%s at the start, now length %d ...%s)",
		now.Source, was.Length, was.Last4, now.Length, now.Last4)
}

// healthVerdict returns a fresh enough cached verdict, or probes once
// within the health deadline and caches the answer. Where no verdict can
// be cached (no writable state directory), it asks the API only in the
// first minute of every TTL, so that health checks every 30 s still make
// about two requests per TTL; asked is false when it did not ask.
func (r *runner) healthVerdict(res *check.Resolution) (v probe.Verdict, at time.Time, cached, asked bool) {
	s := r.inv.Settings
	if c, ok := r.cachedVerdict(res.Selected, r.probeChoice(res)); ok {
		ttl := s.HealthTTL
		if c.Verdict.Class == probe.Unavailable {
			ttl = min(ttl, unavailableTTL)
		}
		if u := c.Verdict.Usage; u.Rejected() && u.ResetsAt != nil {
			ttl = min(ttl, u.ResetsAt.Sub(c.CheckedAt))
		}
		if age := r.start.Sub(c.CheckedAt); age >= 0 && age < ttl {
			return c.Verdict, c.CheckedAt, true, true
		}
	}
	dir, derr := r.stateDirs().writable()
	if derr != nil && s.HealthTTL > 0 && r.start.Sub(r.start.Truncate(s.HealthTTL)) >= time.Minute {
		return v, at, false, false
	}
	// Judged as facts, not as a start: a rate limit proves the credential,
	// and an outage is reported as such (health turns it into a warning).
	v = r.runProbe(res, probePolicy{deadline: s.HealthTimeout})
	now := time.Now().UTC()
	if v.Class != probe.Interrupted && derr == nil {
		r.saveVerdict(dir, res.Selected, now, v)
	}
	return v, now, false, true
}

func (r *runner) healthOut() int {
	h := r.rep.Health
	if r.inv.Settings.JSON {
		r.rep.ExitCode = 0
		if !h.Healthy {
			r.rep.ExitCode = 1
		}
		r.rep.DurationMS = float64(time.Since(r.start).Microseconds()) / 1000
		enc := json.NewEncoder(r.stdout)
		enc.SetIndent("", "  ")
		enc.Encode(r.rep)
	} else {
		fmt.Fprintln(r.stdout, h.Line)
	}
	if h.Healthy {
		return 0
	}
	return 1
}

// healthLine is one line, no colour, no control characters, bounded.
func healthLine(healthy, warning bool, msg string) string {
	prefix := "unhealthy: "
	switch {
	case healthy && warning:
		prefix = "healthy (warning): "
	case healthy:
		prefix = "healthy: "
	}
	msg = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, msg)
	line := prefix + msg
	if len(line) > maxHealthLine {
		line = strings.ToValidUTF8(line[:maxHealthLine-3], "") + "..."
	}
	return line
}
