package start

import (
	"context"
	"errors"
	"strings"

	"sleeve-check/check"
	"sleeve-check/entrypoint/internal/pipeline"
	"sleeve-check/entrypoint/internal/prelude"
	"sleeve-check/entrypoint/internal/proof"
	"sleeve-check/entrypoint/internal/report"
	"sleeve-check/entrypoint/internal/settings"
	"sleeve-check/entrypoint/internal/sleeve"
	"sleeve-check/entrypoint/internal/state"
	"sleeve-check/internal/outcome"
)

// The start's own steps beside those of prelude, config.go, seed.go,
// helper.go and probe.go.
var (
	findStep = pipeline.Step{Name: "find command", Waits: "the command to be found", Code: outcome.NotFound, Quick: true}
	saveStep = pipeline.Step{Name: "save state", Waits: "the state for health checks to be written", Outside: true, Quick: true}
)

// started is what a start's steps returned; its report is built from it.
type started struct {
	in    prelude.Entered
	dirs  state.Dirs // the sleeve user's state directories
	cwd   string
	path  string // the command's
	files []report.FileReport
	res   *check.Resolution
	probe probed
}

// Run is a sleeve's start: it checks, prepares Claude Code's config and
// execs the command, or stops with an exit code and one sentence (without
// a command it only reports, and writes nothing). The steps run in the
// order the package comment lists, under one deadline.
func Run(ctx context.Context, c settings.Call) int {
	p := pipeline.New(ctx, c.Log, c.Settings().StartTimeout)
	p.OnWait(c.Caught.Catch)
	cmd := c.Inv.Command
	st, endNote, ok := steps(p, c)
	if ok && len(cmd) > 0 {
		rep := st.report(c, p.Said(), outcome.OK)
		pipeline.Run(p, saveStep, func(context.Context) (struct{}, outcome.Findings) {
			return struct{}{}, state.SaveStart(st.dirs, startState(c, rep, st.res, nil), st.res.Selected, st.probe.proved(), c.Log)
		})
	}
	endNote() // after the state: a health check never sees neither
	rep := st.report(c, p.Said(), p.Code())
	finish(c, rep)
	if rep.ExitCode != 0 || len(cmd) == 0 {
		return rep.ExitCode
	}
	c.Log.Debug().Str("path", st.path).Float64("took_ms", rep.DurationMS).Msgf("exec %s", strings.Join(cmd, " "))
	if err := sleeve.Exec(st.path, cmd, proof.ChildEnv(st.in.Env, st.res), c.Caught); err != nil {
		p.Add(lookFailed(err)...)
		return int(p.Code())
	}
	return 0 // not reached
}

// steps runs the start's steps up to the exec; each is a function of the
// values the steps before it returned. It returns them, what ends the
// note of a long step, and whether every step passed.
func steps(p *pipeline.Pipeline, c settings.Call) (st started, endNote func(), ok bool) {
	s, cmd := c.Settings(), c.Inv.Command
	endNote = func() {}
	if st.in, ok = prelude.Enter(p, c); !ok {
		return st, endNote, false
	}
	env := st.in.Env
	if gw := st.in.Root.Gateway; gw != nil && gw.Prepared() == check.KindAPIKey {
		// Behind a gateway whose fleet credential is an API key, claude
		// sends the sleeve's key as one: approving it is the operator's
		// intent, or claude asks at its first screen.
		c.Inv.Settings.ApproveAPIKey = true
	}
	st.dirs, st.cwd = state.NewDirs(s, env), sleeve.WorkingDir()
	if len(cmd) > 0 {
		// From here on as the sleeve user: health checks may read which step runs.
		note, done := state.NoteStarting(st.dirs, c.Began)
		p.OnLongStep(func(s pipeline.Step) { note(s.Name, s.Waits) })
		endNote = done
		if st.path, ok = pipeline.Run(p, findStep, func(context.Context) (string, outcome.Findings) { return findCommand(cmd[0], env.Get("PATH")) }); !ok {
			return st, endNote, false
		}
	}
	in := prelude.Input(s, env, st.cwd, c.Began, st.in.Root.Secrets)
	if seed := st.in.Root.Seed; seed != nil {
		sd, ok := pipeline.Run(p, seedStep, func(context.Context) (seeded, outcome.Findings) {
			return seedCredentials(seed, s.SeedCredentials, check.CredentialsPath(in), len(cmd) == 0, p.Waiting, c.Log)
		})
		if !ok {
			return st, endNote, false
		}
		in.Seeded = sd.asCopy
		if sd.file != nil {
			st.files = append(st.files, *sd.file)
		}
	}
	if st.res, ok = prelude.Resolve(p, in, st.in.Root.Gateway); !ok {
		return st, endNote, false
	}
	st, ok = st.check(p, c, in.Seeded != nil && len(cmd) == 0)
	return st, endNote, ok
}

// check runs the steps after the credential is known: the apiKeyHelper,
// claude's screens and config, and the probe. It returns st with what
// they found.
func (st started) check(p *pipeline.Pipeline, c settings.Call, reportOnlySeed bool) (started, bool) {
	s, cmd, env, cwd := c.Settings(), c.Inv.Command, st.in.Env, st.cwd
	if sel := st.res.Selected; sel != nil && sel.Kind == check.KindAPIKeyHelper && s.Probe != "off" {
		var ok bool
		if sel.Value, ok = pipeline.Run(p, helperStep, func(ctx context.Context) (check.Secret, outcome.Findings) {
			return runKeyHelper(ctx, sel, proof.ChildEnv(env, st.res), cwd)
		}); !ok {
			return st, false
		}
	}
	v := sleeveView{cmd: cmd, s: s, env: env, cwd: cwd, stdin: c.Stdin, stdout: c.Stdout, trust: realTrustDirs(s.TrustDirs, c.Log), now: c.Began}
	var ok bool
	if st.files, ok = configure(p, v, st.res, st.in.Root.Base, st.files); !ok {
		return st, false
	}
	pr := prover{Prober: proof.Prober{S: s, Env: env, Cwd: cwd, Cmd: cmd, Log: c.Log, Now: c.Began, Dirs: st.dirs, Gateway: st.in.Root.Gateway}, reusable: len(cmd) > 0}
	pr.waiting = func(pd probed, w state.Waiting) {
		waiting := st
		waiting.probe = pd
		state.SaveWaiting(st.dirs, startState(c, waiting.report(c, nil, outcome.OK), st.res, &w))
	}
	st.probe, ok = prove(p, pr, st.res, reportOnlySeed)
	return st, ok
}

// report is the start's report: from what the steps returned, what they
// said, and the exit status.
func (st started) report(c settings.Call, said outcome.Findings, code outcome.Code) report.Report {
	return report.Build(report.Of{Began: c.Began, Command: c.Inv.Command, User: st.in.User, Files: st.files, Dry: len(c.Inv.Command) == 0,
		Res: st.res, Verdict: st.probe.Verdict, Means: st.probe.Means, Said: said, Code: code})
}

// startState is the state a start leaves for health checks: its report,
// its settings, the home of its credential (res), and the wait it is in
// (w, or nil).
func startState(c settings.Call, rep report.Report, res *check.Resolution, w *state.Waiting) state.StartState {
	return state.StartState{Report: rep, Start: state.StartContext{Settings: c.Inv.Given, Waiting: w, Home: res.Home}}
}

// finish prints the report (--json, or the text of a report without a
// command) and the start's last line.
func finish(c settings.Call, rep report.Report) {
	if c.Settings().JSON {
		report.WriteJSON(c.Stdout, rep)
	} else if len(c.Inv.Command) == 0 {
		report.PrintText(c.Stdout, rep, c.Began)
	}
	if rep.ExitCode == 0 && len(c.Inv.Command) > 0 {
		if rep.Credential != nil {
			c.Log.Info().Msgf("ok: %s, %s; starting %s", rep.Credential, rep.Status, c.Inv.Command[0])
		}
		return // the exec line says the rest
	}
	c.Log.Debug().Float64("took_ms", rep.DurationMS).Msgf("done: exit %d (%s)", rep.ExitCode, rep.Exit)
}

// findCommand is the step that finds the command the way a shell does.
func findCommand(name, path string) (string, outcome.Findings) {
	p, err := sleeve.LookPath(name, path)
	if err != nil {
		return "", lookFailed(err)
	}
	return p, nil
}

// lookFailed says why the command cannot be run: 127 or 126.
func lookFailed(err error) outcome.Findings {
	var le *sleeve.LookError
	if !errors.As(err, &le) {
		le = &sleeve.LookError{Msg: err.Error()}
	}
	code := outcome.NotExecutable
	if le.NotFound {
		code = outcome.NotFound
	}
	var fs outcome.Findings
	fs.Errf(code, code.Name(), le.Msg, le.Hint)
	return fs
}
