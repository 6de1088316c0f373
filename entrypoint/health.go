package entrypoint

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"sleeve-check/check"
	"sleeve-check/check/probe"
	"sleeve-check/entrypoint/claudeconfig"
	"sleeve-check/internal/environ"
	"sleeve-check/internal/outcome"
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
// one short line on stdout. Its own short pipeline over the start's state
// (last): it re-runs the local checks, asks claudeconfig about the welcome
// screen, and reuses the last API verdict for HealthTTL; it never writes
// Claude Code's config, never refreshes, never starts anything.
func health(ctx context.Context, c call, last *StartState) int {
	p := newPipeline(ctx, c.log, 0)
	s, env := c.inv.Settings, c.env
	var st started
	h := &HealthReport{Healthy: true}
	var parts []string
	if last != nil && !last.CheckedAt.IsZero() {
		t := last.CheckedAt
		h.StartedAt = &t
		parts = append(parts, "started "+outcome.Human(c.began.Sub(t))+" ago")
	}
	if healthy, line, found := startInProgress(c, env, last); found {
		h.Healthy, h.Warning, h.Line = healthy, healthy, line
		return healthOut(c, st, p, h)
	}
	if kv := readKeeperVerdict(c.inv.Settings.KeeperDir); kv != nil {
		// A Protectorate sleeve: its keeper holds the credential (from
		// Envoy's volume) and checks it; health reports its verdict.
		h.Healthy, h.Line = keeperLine(kv, last, c.began)
		return healthOut(c, st, p, h)
	}
	ok := healthSteps(p, c, &st, last, &env)
	if !ok {
		h.Healthy, h.Line = false, healthLine(false, false, p.ended.Message)
		return healthOut(c, st, p, h)
	}
	fp := st.res.Selected.Fingerprint()
	desc := string(fp.Kind)
	if fp.Last4 != "" {
		desc += " ..." + fp.Last4
	}
	parts = append(parts, desc+" "+string(st.res.Status))
	warn := ""
	for _, f := range p.said {
		if f.Severity == outcome.Warning && f.ID != "credential_shadowed" && warn == "" {
			warn = f.Message
		}
	}
	pr := prober{s: s, env: env, cwd: workingDir(), claude: claudeOf(last.command()), log: c.log, now: c.began, dirs: newStateDirs(s, env)}
	if probeSkip(s, st.res, c.began, false) == "" && !askAPI(p, pr, &st, h, &parts, &warn) {
		h.Healthy, h.Line = false, healthLine(false, false, p.ended.Message)
		return healthOut(c, st, p, h)
	}
	if fp.ExpiresAt != nil {
		parts = append(parts, "expires "+relTime(*fp.ExpiresAt, c.began))
	}
	line := strings.Join(parts, ", ")
	if warn != "" {
		line += "; " + warn
	}
	h.Warning, h.Line = warn != "", healthLine(true, warn != "", line)
	return healthOut(c, st, p, h)
}

// startInProgress is the health line of a start that has not ended: one
// in its steps ("starting: ...", unhealthy as Docker's start period
// expects), or one waiting in place as it was told to (healthy, with the
// warning). found is false when no start is in progress.
func startInProgress(c call, env environ.Env, last *StartState) (healthy bool, line string, found bool) {
	w := waitingNow(last, c.began)
	if s := startingNow(newStateDirs(c.inv.Settings, env), last); s != nil && (w == nil || !last.CheckedAt.Equal(s.Began)) {
		return false, stateLine("starting: ", fmt.Sprintf("%s (step %q for %s; the start began %s ago)",
			stepWaits[s.Step].what, s.Step, outcome.Human(c.began.Sub(s.Since)), outcome.Human(c.began.Sub(s.Began)))), true
	}
	if w == nil {
		return false, "", false
	}
	what := fmt.Sprintf("waiting for the %s limit to reset%s", w.Window, probe.ResetWords(&w.Until, c.began))
	if w.API {
		what = "waiting for the API to answer again (SLEEVE_CHECK_ON_UNAVAILABLE=wait)"
	}
	return true, healthLine(true, true, what), true
}

// keeperLine is the health line of a keeper's verdict.
func keeperLine(kv *KeeperVerdict, last *StartState, now time.Time) (healthy bool, line string) {
	if !kv.OK {
		msg := kv.Message
		if msg == "" {
			msg = fmt.Sprintf("the keeper's check failed (exit %d)", kv.Code)
		}
		return false, healthLine(false, false, msg)
	}
	parts := []string{"checked " + outcome.Human(now.Sub(kv.CheckedAt)) + " ago by the keeper"}
	if last != nil && last.Credential != nil {
		parts = append(parts, fmt.Sprintf("%s ...%s %s", last.Credential.Kind, last.Credential.Last4, last.Status))
	}
	return true, healthLine(true, false, strings.Join(parts, ", "))
}

// healthSteps are the local checks: the credential as the start would
// find it, the welcome screen, and that the credential is the one the
// start was given.
func healthSteps(p *pipeline, c call, st *started, last *StartState, env *environ.Env) bool {
	s := c.inv.Settings
	root, _ := step(p, "read root-only files", outcome.Config, func(context.Context) (rootFiles, outcome.Findings) { return readRootFiles(s, *env) })
	ok := true
	if s.User != "" {
		if st.user, ok = step(p, "switch user", outcome.Config, func(context.Context) (*sleeveUser, outcome.Findings) {
			u, e, fs := switchUser(s.User, *env, c.log)
			*env = e
			return u, fs
		}); !ok {
			return false
		}
	}
	in := resolveInput(s, *env, workingDir(), c.began, root.secrets)
	if st.res, ok = step(p, "resolve credential", outcome.Config, func(context.Context) (*check.Resolution, outcome.Findings) { return resolve(in, c.log) }); !ok {
		return false
	}
	_, ok = step(p, "check the sleeve", outcome.Config, func(context.Context) (struct{}, outcome.Findings) {
		var fs outcome.Findings
		if why := claudeconfig.Onboarding(st.res.GlobalConfig); why != "" {
			fs.Errf(outcome.Config, "onboarding", why, "")
		} else if why := credentialChanged(last, st.res.Selected.Fingerprint()); why != "" {
			fs.Errf(outcome.Config, "credential_changed", why, "")
		}
		return struct{}{}, fs
	})
	return ok
}

// askAPI is health's last step: the API's verdict, cached or asked.
func askAPI(p *pipeline, pr prober, st *started, h *HealthReport, parts *[]string, warn *string) bool {
	_, ok := step(p, "ask the API", outcome.Unavailable, func(ctx context.Context) (struct{}, outcome.Findings) {
		return struct{}{}, healthAPI(ctx, pr, st, h, parts, warn)
	})
	return ok
}

// healthAPI adds what the API says to the health line: a part, or a
// warning; or it returns why the sleeve is unhealthy.
func healthAPI(ctx context.Context, pr prober, st *started, h *HealthReport, parts *[]string, warn *string) outcome.Findings {
	v, at, cached, asked := healthVerdict(ctx, pr, st.res)
	if !asked {
		*parts = append(*parts, fmt.Sprintf("api not checked (no writable state directory to remember it; asked in the first minute of every %s)", pr.s.HealthTTL))
		return nil
	}
	means := pr.choice(st.res)
	st.probe = probed{Verdict: &v, Means: &means, At: at}
	h.ProbeCheckedAt, h.ProbeCached = &at, cached
	age := outcome.Human(pr.now.Sub(at)) + " ago"
	switch {
	case v.Finding.Severity == outcome.Error && v.Class != probe.Unavailable && v.Class != probe.UsageLimit:
		return outcome.Findings{v.Finding}
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
	if high := v.Usage.High(pr.s.UsageWarning.Fraction, pr.now); len(high) > 0 && *warn == "" && !v.Usage.Rejected() {
		*warn = high[0]
	}
	return nil
}

// waitingNow is the start's wait for a usage window's reset, while it
// lasts (and a minute past the reset, for the probe after it).
func waitingNow(last *StartState, now time.Time) *Waiting {
	if last == nil || last.Start.Waiting == nil {
		return nil
	}
	if w := last.Start.Waiting; w.API || now.Before(w.Until.Add(time.Minute+30*time.Second)) {
		return w
	}
	return nil
}

// adoptStart finds the state the start left and gives a health check the
// settings the start ran with (its ENTRYPOINT flags: --user, --probe,
// --state-dir, ...), below the health check's own flags and environment.
// It returns the state (nil when there is none), and the invocation and
// environment to run with.
func adoptStart(args []string, inv *Invocation, env environ.Env) (*StartState, *Invocation, environ.Env) {
	st := startState(newStateDirs(inv.Settings, env))
	if st == nil {
		return nil, inv, env
	}
	with := env.Clone()
	var adopted []string
	for _, k := range slices.Sorted(maps.Keys(st.Start.Settings)) {
		if with.Get(k) == "" {
			with.Set(k, st.Start.Settings[k])
			adopted = append(adopted, k)
		}
	}
	if len(adopted) == 0 {
		return st, inv, env
	}
	adoptedInv, err := Parse(args, with)
	if err != nil {
		return st, inv, env
	}
	env = env.Clone()
	for _, k := range adopted {
		if k == EnvPrefix+"USER" && st.Start.Home != "" {
			// The start's home, which the user switch replaces with the
			// passwd one where the user has an entry (as at the start).
			env.Set("HOME", st.Start.Home)
		}
		if f := fieldByEnv(k); f != nil && !strings.HasPrefix(adoptedInv.Sources[f.Name], "flag") {
			adoptedInv.Sources[f.Name] = "the start's state"
		}
	}
	return st, adoptedInv, env
}

// command is the start's command, or nil.
func (st *StartState) command() []string {
	if st == nil {
		return nil
	}
	return st.Command
}

// credentialChanged says why the credential found now is not the one the
// running process was started with, or "". Claude Code reads its variables
// once, at start: a Kubernetes secret rotated behind a *_FILE since then is
// not what it sends. A credentials file it re-reads (and refreshes itself)
// and a helper it re-runs are exempt.
func credentialChanged(last *StartState, now check.Fingerprint) string {
	if last == nil || last.Credential == nil {
		return ""
	}
	was := *last.Credential
	if was.Kind != now.Kind || was.Source != now.Source || now.Kind == check.KindOAuthFile || now.Kind == check.KindAPIKeyHelper || sameCredential(was, now) {
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
func healthVerdict(ctx context.Context, pr prober, res *check.Resolution) (v probe.Verdict, at time.Time, cached, asked bool) {
	s := pr.s
	means := pr.choice(res).Means
	if c, ok := cachedVerdict(pr.dirs, res.Selected, means); ok {
		ttl := s.HealthTTL
		if c.Verdict.Class == probe.Unavailable {
			ttl = min(ttl, unavailableTTL)
		}
		if u := c.Verdict.Usage; u.Rejected() && u.ResetsAt != nil {
			ttl = min(ttl, u.ResetsAt.Sub(c.CheckedAt))
		}
		if age := pr.now.Sub(c.CheckedAt); age >= 0 && age < ttl {
			return c.Verdict, c.CheckedAt, true, true
		}
	}
	dir, derr := pr.dirs.writable()
	if derr != nil && s.HealthTTL > 0 && pr.now.Sub(pr.now.Truncate(s.HealthTTL)) >= time.Minute {
		return v, at, false, false
	}
	// Judged as facts, not as a start: a rate limit proves the credential,
	// and an outage is reported as such (health turns it into a warning).
	v = pr.run(ctx, res, probePolicy{deadline: s.HealthTimeout})
	now := time.Now().UTC()
	if v.Class != probe.Interrupted && derr == nil {
		saveVerdict(dir, res.Selected, now, v, means)
	}
	return v, now, false, true
}

// healthOut prints the health line (or, with --json, the report with its
// health part) and returns 0 (healthy) or 1.
func healthOut(c call, st started, p *pipeline, h *HealthReport) int {
	code := 0
	if !h.Healthy {
		code = 1
	}
	if c.inv.Settings.JSON {
		rep := buildReport(c, st, p.said, outcome.Code(code))
		rep.Health = h
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		enc.Encode(rep)
	} else {
		fmt.Fprintln(c.stdout, h.Line)
	}
	return code
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
	return stateLine(prefix, msg)
}

// stateLine is prefix and msg as one line, no colour, no control
// characters, bounded.
func stateLine(prefix, msg string) string {
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
