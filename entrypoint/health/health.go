package health

import (
	"context"
	"fmt"
	"strings"
	"time"

	"sleeve-check/check"
	"sleeve-check/check/probe"
	"sleeve-check/entrypoint/claudeconfig"
	"sleeve-check/entrypoint/internal/pipeline"
	"sleeve-check/entrypoint/internal/prelude"
	"sleeve-check/entrypoint/internal/proof"
	"sleeve-check/entrypoint/internal/report"
	"sleeve-check/entrypoint/internal/settings"
	"sleeve-check/entrypoint/internal/sleeve"
	"sleeve-check/entrypoint/internal/state"
	"sleeve-check/internal/outcome"
)

// Health's own steps after the prelude's.
var (
	checkStep  = pipeline.Step{Name: "check the sleeve", Waits: "Claude Code's config to be read", Code: outcome.Config, Quick: true}
	recallStep = pipeline.Step{Name: "recall the API's verdict", Waits: "the last verdict to be read", Code: outcome.Config, Quick: true}
	askStep    = pipeline.Step{Name: "ask the API", Waits: "the health probe's answer", Code: outcome.Unavailable}
)

// checked is what health's steps returned; its report is built from it.
type checked struct {
	in  prelude.Entered
	res *check.Resolution
	api answer
}

// Run is the health check of the sleeve whose start left last (nil when
// it left nothing). It prints the line (or the report) and returns 0
// (healthy) or 1.
func Run(ctx context.Context, c settings.Call, last *state.LastStart) int {
	p := pipeline.New(ctx, c.Log, 0)
	p.OnWait(c.Caught.Catch)
	h, st := judge(p, c, last)
	code := 0
	if !h.Healthy {
		code = 1
	}
	if !c.Settings().JSON {
		fmt.Fprintln(c.Stdout, h.Line)
		return code
	}
	rep := report.Build(report.Of{Began: c.Began, Command: c.Inv.Command, User: st.in.User, Res: st.res, Verdict: st.api.verdict, Means: st.api.means,
		Said: p.Said(), Code: outcome.Code(code)})
	rep.Health = &h
	report.WriteJSON(c.Stdout, rep)
	return code
}

// judge is the health part of the report, and what the steps returned.
func judge(p *pipeline.Pipeline, c settings.Call, last *state.LastStart) (report.HealthReport, checked) {
	h := report.HealthReport{Healthy: true}
	var parts []string
	if last != nil && !last.CheckedAt.IsZero() {
		t := last.CheckedAt
		h.StartedAt = &t
		parts = append(parts, "started "+outcome.Human(c.Began.Sub(t))+" ago")
	}
	if l, found := startInProgress(c, last); found {
		h.Healthy, h.Warning, h.Line = l.healthy, l.warning, l.String()
		return h, checked{}
	}
	if kv := state.ReadKeeperVerdict(c.Settings().KeeperDir); kv != nil {
		// A Protectorate sleeve: its keeper holds the credential (from
		// Envoy's volume) and checks it; health reports its verdict.
		h.Healthy, h.Line = keeperLine(kv, last, c.Began)
		return h, checked{}
	}
	st, ok := localChecks(p, c, last)
	warn := localWarning(p.Said())
	st.api.warn = warn
	if ok && proof.Skip(c.Settings(), st.res, c.Began, false) == "" {
		pr := st.prober(c, last)
		var r recalled
		r, ok = pipeline.Run(p, recallStep, func(context.Context) (recalled, outcome.Findings) { return recall(pr, st.res, warn) })
		st.api = r.answer
		if ok && !r.fresh {
			st.api, ok = pipeline.Run(p, askStep, func(ctx context.Context) (answer, outcome.Findings) {
				return ask(ctx, pr, st.res, warn)
			})
		}
	}
	h.ProbeCheckedAt, h.ProbeCached = st.api.at, st.api.cached
	if !ok {
		h.Healthy, h.Line = false, Unhealthy(p.Ended().Message)
		return h, st
	}
	fp := st.res.Selected.Fingerprint()
	desc := string(fp.Kind)
	if fp.Last4 != "" {
		desc += " ..." + fp.Last4
	}
	desc += " " + string(st.res.Status)
	if gw := st.in.Root.Gateway; gw != nil {
		desc = fmt.Sprintf("behind the gateway as %s (key ...%s)", gw.Name(), fp.Last4)
	}
	parts = append(append(parts, desc), st.api.parts...)
	if fp.ExpiresAt != nil {
		parts = append(parts, "expires "+outcome.Since(*fp.ExpiresAt, c.Began))
	}
	l := line{healthy: true, text: strings.Join(parts, ", ")}
	if st.api.warn != "" {
		l.warning, l.text = true, l.text+"; "+st.api.warn
	}
	h.Warning, h.Line = l.warning, l.String()
	return h, st
}

// localWarning is the first warning of the local checks (a shadowed
// credential aside): what a healthy line warns of unless the API says
// worse.
func localWarning(said outcome.Findings) string {
	for _, f := range said {
		if f.Severity == outcome.Warning && f.ID != "credential_shadowed" {
			return f.Message
		}
	}
	return ""
}

// localChecks are the prelude and the check of the sleeve: the credential
// as the start would find it, the welcome screen, and that the credential
// is the one the start was given.
func localChecks(p *pipeline.Pipeline, c settings.Call, last *state.LastStart) (checked, bool) {
	var st checked
	var ok bool
	if st.in, ok = prelude.Enter(p, c); !ok {
		return st, false
	}
	in := prelude.Input(c.Settings(), st.in.Env, sleeve.WorkingDir(), c.Began, st.in.Root.Secrets)
	if st.res, ok = prelude.Resolve(p, in, st.in.Root.Gateway); !ok {
		return st, false
	}
	_, ok = pipeline.Run(p, checkStep, func(context.Context) (struct{}, outcome.Findings) {
		var fs outcome.Findings
		if why := claudeconfig.Onboarding(st.res.GlobalConfig); why != "" {
			fs.Errf(outcome.Config, "onboarding", why, "")
		} else if why := credentialChanged(last, st.res.Selected); why != "" {
			fs.Errf(outcome.Config, "credential_changed", why, "")
		}
		return struct{}{}, fs
	})
	return st, ok
}

// prober is the shared prober, for the sleeve the local checks found.
func (st checked) prober(c settings.Call, last *state.LastStart) proof.Prober {
	s := c.Settings()
	return proof.Prober{S: s, Env: st.in.Env, Cwd: sleeve.WorkingDir(), Cmd: last.Cmd(), Log: c.Log, Now: c.Began, Dirs: state.NewDirs(s, st.in.Env), Gateway: st.in.Root.Gateway}
}

// startInProgress is the health line of a start that has not ended: one
// in its steps ("starting: ...", unhealthy as Docker's start period
// expects), or one waiting in place as it was told to (healthy, with the
// warning). found is false when no start is in progress.
func startInProgress(c settings.Call, last *state.LastStart) (l line, found bool) {
	w := waitingNow(last, c.Began)
	if s := state.StartingNow(state.NewDirs(c.Settings(), c.Env), last); s != nil && (w == nil || !last.CheckedAt.Equal(s.Began)) {
		waits := s.Waits
		if waits == "" {
			waits = "its step"
		}
		return line{prefix: "starting: ", text: fmt.Sprintf("%s (step %q for %s; the start began %s ago)",
			waits, s.Step, outcome.Human(c.Began.Sub(s.Since)), outcome.Human(c.Began.Sub(s.Began)))}, true
	}
	if w == nil {
		return line{}, false
	}
	what := fmt.Sprintf("waiting for the %s limit to reset%s", w.Window, probe.ResetWords(&w.Until, c.Began))
	if w.API {
		what = "waiting for the API to answer again (SLEEVE_CHECK_ON_UNAVAILABLE=wait)"
	}
	return line{healthy: true, warning: true, text: what}, true
}

// waitingNow is the start's wait for a usage window's reset, while it
// lasts (and a minute past the reset, for the probe after it).
func waitingNow(last *state.LastStart, now time.Time) *state.Waiting {
	if last == nil || last.Start.Waiting == nil {
		return nil
	}
	if w := last.Start.Waiting; w.API || now.Before(w.Until.Add(time.Minute+30*time.Second)) {
		return w
	}
	return nil
}

// keeperLine is the health line of a keeper's verdict.
func keeperLine(kv *state.KeeperVerdict, last *state.LastStart, now time.Time) (healthy bool, text string) {
	if !kv.OK {
		msg := kv.Message
		if msg == "" {
			msg = fmt.Sprintf("the keeper's check failed (exit %d)", kv.Code)
		}
		return false, Unhealthy(msg)
	}
	parts := []string{"checked " + outcome.Human(now.Sub(kv.CheckedAt)) + " ago by the keeper"}
	if last != nil && last.Credential != nil {
		parts = append(parts, fmt.Sprintf("%s ...%s %s", last.Credential.Kind, last.Credential.Last4, last.Status))
	}
	return true, line{healthy: true, text: strings.Join(parts, ", ")}.String()
}

// credentialChanged says why the credential found now is not the one the
// running process was started with, or "". Claude Code reads its variables
// once, at start: a Kubernetes secret rotated behind a *_FILE since then is
// not what it sends. A credentials file it re-reads (and refreshes itself)
// and a helper it re-runs are exempt. The start's keyed identity decides
// (a value of the same length and last four is still another value); a
// state without one is judged by the fingerprint.
func credentialChanged(last *state.LastStart, cred *check.Credential) string {
	if last == nil || last.Credential == nil {
		return ""
	}
	was, now := *last.Credential, cred.Fingerprint()
	if was.Kind != now.Kind || was.Source != now.Source || now.Kind == check.KindOAuthFile || now.Kind == check.KindAPIKeyHelper {
		return ""
	}
	if same, known := last.IsCredential(cred); known && same || !known && state.SameCredential(was, now) {
		return ""
	}
	if state.SameCredential(was, now) {
		return fmt.Sprintf("the credential changed since the start; restart the sleeve to use the new one (%s holds another value of the same length %d and last four ...%s)",
			now.Source, now.Length, now.Last4)
	}
	return fmt.Sprintf("the credential changed since the start; restart the sleeve to use the new one (%s was length %d ...%s at the start, now length %d ...%s)",
		now.Source, was.Length, was.Last4, now.Length, now.Last4)
}
