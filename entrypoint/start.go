package entrypoint

import (
	"context"
	"io"
	"os"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"sleeve-check/check"
	"sleeve-check/check/probe"
	"sleeve-check/internal/environ"
	"sleeve-check/internal/outcome"
)

// call is one run's inputs, read once: the parsed invocation, the
// environment, the standard streams, the logger, and when it began.
type call struct {
	inv    *Invocation
	env    environ.Env
	stdin  *os.File
	stdout io.Writer
	log    zerolog.Logger
	began  time.Time
}

// started is what a start's steps returned; its report is built from it.
type started struct {
	user  *sleeveUser
	files []FileReport
	dry   bool
	res   *check.Resolution
	probe probed
}

// start is a sleeve's start: it checks, prepares Claude Code's config and
// execs the command, or stops with an exit code and one sentence (without
// a command it only reports, and writes nothing). The steps run in the
// order entrypoint/doc.go lists, under one deadline.
func start(ctx context.Context, c call) int {
	p := newPipeline(ctx, c.log, c.inv.Settings.StartTimeout)
	var st started
	path, env, ok := startSteps(p, c, &st)
	if ok && len(c.inv.Command) > 0 {
		saveStart(p, c, st, env)
	}
	if p.endNote != nil {
		p.endNote() // after the state: a health check never sees neither
	}
	rep := buildReport(c, st, p.said, p.code())
	finish(c, rep)
	if rep.ExitCode != 0 || len(c.inv.Command) == 0 {
		return rep.ExitCode
	}
	c.log.Debug().Str("path", path).Float64("took_ms", rep.DurationMS).Msgf("exec %s", strings.Join(c.inv.Command, " "))
	if err := Exec(path, c.inv.Command, childEnv(env, st.res)); err != nil {
		p.add(lookFailed(err)...)
		return int(p.code())
	}
	return 0 // not reached
}

// startSteps runs the start's steps up to the exec; each is a function of
// the values the steps before it returned. It returns the command's path
// and the environment it gets, and whether every step passed.
func startSteps(p *pipeline, c call, st *started) (string, environ.Env, bool) {
	s, env, cmd := c.inv.Settings, c.env, c.inv.Command
	root, ok := step(p, "read root-only files", outcome.Config, func(context.Context) (rootFiles, outcome.Findings) { return readRootFiles(s, env) })
	if !ok {
		return "", env, false
	}
	if s.User != "" {
		if st.user, ok = step(p, "switch user", outcome.Config, func(context.Context) (*sleeveUser, outcome.Findings) {
			u, e, fs := switchUser(s.User, env, c.log)
			env = e
			return u, fs
		}); !ok {
			return "", env, false
		}
	}
	var path string
	if len(cmd) > 0 {
		// From here on as the sleeve user: health checks may read which step runs.
		p.onStep, p.endNote = noteStarting(newStateDirs(s, env), c.began)
		if path, ok = step(p, "find command", outcome.NotFound, func(context.Context) (string, outcome.Findings) { return findCommand(cmd[0], env.Get("PATH")) }); !ok {
			return "", env, false
		}
	}
	cwd := workingDir()
	in := resolveInput(s, env, cwd, c.began, root.secrets)
	if root.seed != nil {
		var sd seeded
		if sd, ok = step(p, "seed credentials", outcome.ConfigWrite, func(context.Context) (seeded, outcome.Findings) {
			return seedCredentials(root.seed, s.SeedCredentials, check.CredentialsPath(in), len(cmd) == 0, c.log)
		}); !ok {
			return "", env, false
		}
		in.Seeded = sd.asCopy
		if sd.file != nil {
			st.files = append(st.files, *sd.file)
		}
	}
	if st.res, ok = step(p, "resolve credential", outcome.Config, func(context.Context) (*check.Resolution, outcome.Findings) { return resolve(in, c.log) }); !ok {
		return "", env, false
	}
	if sel := st.res.Selected; sel != nil && sel.Kind == check.KindAPIKeyHelper && s.Probe != "off" {
		if sel.Value, ok = step(p, "run apiKeyHelper", outcome.NoCredential, func(ctx context.Context) (check.Secret, outcome.Findings) {
			return runKeyHelper(ctx, sel, childEnv(env, st.res), cwd)
		}); !ok {
			return "", env, false
		}
	}
	v := sleeveView{cmd: cmd, s: s, env: env, cwd: cwd, stdin: c.stdin, stdout: c.stdout, trust: realTrustDirs(s.TrustDirs, c.log)}
	if !configSteps(p, c, st, v, root.base) {
		return "", env, false
	}
	return path, env, probeSteps(p, c, st, prober{s: s, env: env, cwd: cwd, claude: claudeOf(cmd), log: c.log, now: c.began,
		dirs: newStateDirs(s, env), reusable: len(cmd) > 0}, in.Seeded != nil && len(cmd) == 0)
}

// configSteps foresee claude's screens and prepare its config: before the
// probe, because the CLI probe is Claude Code, which reads the config (and,
// at a FIFO or a corrupt file, would hang or move it aside itself), so the
// probe runs claude as the command will find the sleeve.
func configSteps(p *pipeline, c call, st *started, v sleeveView, base map[string]any) bool {
	if _, ok := step(p, "foresee claude's screens", outcome.Config, func(context.Context) (struct{}, outcome.Findings) { return struct{}{}, foresee(v, st.res) }); !ok {
		return false
	}
	st.dry = len(v.cmd) == 0
	var ok bool
	st.files, ok = step(p, "prepare config", outcome.ConfigWrite, func(ctx context.Context) ([]FileReport, outcome.Findings) {
		files, fs := prepareConfig(ctx, v, st.res, base, c.began, c.log)
		return append(st.files, files...), fs
	})
	return ok
}

// probeSteps are the start's last checks: the probe (after a random
// spread), and, as the settings ask, the waits for an unreachable API to
// come back and for a used-up window to reset (outside the start
// deadline), and the probe after the reset.
func probeSteps(p *pipeline, c call, st *started, pr prober, reportOnlySeed bool) bool {
	plan := planProbe(pr, st.res, reportOnlySeed)
	switch {
	case plan.skip != "":
		c.log.Debug().Msg("not probed: " + plan.skip)
		return true
	case plan.reused != nil:
		st.probe = probed{Verdict: &plan.reused.Verdict, Means: &plan.means, At: plan.reused.CheckedAt}
		c.log.Debug().Msgf("probe: reusing the pass of %s ago for the same credential (within SLEEVE_CHECK_HEALTH_TTL)", outcome.Human(c.began.Sub(plan.reused.CheckedAt)))
		return noteVerdict(p, *st.probe.Verdict, st.probe.Means, pr.s.UsageWarning.Fraction)
	}
	var ok bool
	if pr.s.ProbeSplay > 0 {
		if _, ok = step(p, "spread the probe", outcome.Unavailable, func(ctx context.Context) (struct{}, outcome.Findings) {
			spreadProbe(ctx, pr.s.ProbeSplay, c.log)
			return struct{}{}, nil
		}); !ok {
			return false
		}
	}
	if st.probe, ok = step(p, "probe", outcome.Unavailable, func(ctx context.Context) (probed, outcome.Findings) { return probeNow(ctx, pr, st.res, plan.means) }); !ok {
		return false
	}
	if st.probe.Verdict.Class == probe.Unavailable && pr.s.OnUnavailable == "wait" {
		saveWaiting(pr.dirs, waitingState(c, *st, Waiting{Window: "API", API: true}))
		if st.probe, ok = pause(p, "wait for the API", func(ctx context.Context) (probed, outcome.Findings) { return waitForAPI(ctx, pr, st.res, st.probe) }); !ok {
			return false
		}
	}
	if w := st.probe.Wait; w != nil {
		return usageWait(p, c, st, pr, *w)
	}
	return noteVerdict(p, *st.probe.Verdict, st.probe.Means, pr.s.UsageWarning.Fraction)
}

// usageWait waits, with --on-usage-limit=wait, for a used-up window to
// reset (outside the start deadline), then probes once more.
func usageWait(p *pipeline, c call, st *started, pr prober, w Waiting) bool {
	p.add(usageWaitNotice(*st.probe.Verdict, w))
	saveWaiting(pr.dirs, waitingState(c, *st, w))
	var ok bool
	if _, ok = pause(p, "wait for the usage reset", func(ctx context.Context) (bool, outcome.Findings) { return sleep(ctx, w.wait), nil }); !ok {
		return false
	}
	pol := pr.startPolicy()
	if st.probe.Verdict, ok = step(p, "probe after the reset", outcome.Unavailable, func(ctx context.Context) (*probe.Verdict, outcome.Findings) {
		again := pr.run(ctx, st.res, pol)
		return &again, nil
	}); !ok {
		return false
	}
	st.probe.At = time.Now()
	return noteVerdict(p, *st.probe.Verdict, st.probe.Means, pr.s.UsageWarning.Fraction)
}

// waitingState is the state a waiting start leaves for health checks:
// its report so far (with the verdict that made it wait), and the wait.
func waitingState(c call, st started, w Waiting) StartState {
	return StartState{Report: buildReport(c, st, nil, outcome.OK), Start: StartContext{Settings: c.inv.Given, Waiting: &w, Home: st.res.Home}}
}

// saveStart is the start's last step before the exec: it leaves its
// report and verdict for health checks. It is local and short, so the
// start deadline does not cover it.
func saveStart(p *pipeline, c call, st started, env environ.Env) {
	state := StartState{Report: buildReport(c, st, p.said, outcome.OK), Start: StartContext{Settings: c.inv.Given, Home: st.res.Home}}
	pause(p, "save state", func(context.Context) (struct{}, outcome.Findings) {
		return struct{}{}, saveState(newStateDirs(c.inv.Settings, env), state, st.res.Selected, st.probe, c.log)
	})
}

// resolve is the step that finds the credential Claude Code will use.
func resolve(in check.Input, log zerolog.Logger) (*check.Resolution, outcome.Findings) {
	res := check.Resolve(in)
	if res.Selected != nil {
		fp := res.Selected.Fingerprint()
		ev := log.Debug()
		if fp.ExpiresAt != nil {
			ev = ev.Time("expires_at", *fp.ExpiresAt).Str("expires", relTime(*fp.ExpiresAt, in.Now))
		}
		ev.Msgf("credential: %s", fp)
	}
	for _, p := range res.SettingsRead {
		log.Debug().Str("path", p).Msg("read settings file")
	}
	log.Debug().Str("home", res.Home).Str("home_from", res.HomeSource).Str("global_config", res.GlobalConfig).Str("credentials_file", res.CredentialsFile).Msg("paths")
	return res, res.Findings
}

// resolveInput is what the credential decision depends on, for the start
// and for health alike.
func resolveInput(s Settings, env environ.Env, cwd string, now time.Time, secrets *check.Secrets) check.Input {
	in := check.Input{Env: env, Cwd: cwd, Now: now, ExpiryWarning: s.ExpiryWarning,
		TokenIssued: s.TokenIssued.Time, ManagedSettings: s.Managed, Secrets: secrets}
	if env.Get("HOME") == "" {
		in.PasswdHome = passwdHome()
	}
	return in
}
