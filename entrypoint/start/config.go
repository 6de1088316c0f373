package start

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/rs/zerolog"

	"sleeve-check/check"
	"sleeve-check/entrypoint/claudecli"
	"sleeve-check/entrypoint/claudeconfig"
	"sleeve-check/entrypoint/internal/pipeline"
	"sleeve-check/entrypoint/internal/report"
	"sleeve-check/entrypoint/internal/sleeve"
	"sleeve-check/internal/outcome"
)

// The config's steps: before the probe, because the CLI probe is Claude
// Code, which reads the config (and, at a FIFO or a corrupt file, would
// hang or move it aside itself), so the probe runs claude as the command
// will find the sleeve.
var (
	foreseeStep = pipeline.Step{Name: "foresee claude's screens", Waits: "standard input to give claude -p its prompt", Code: outcome.Config, Quick: true}
	prepareStep = pipeline.Step{Name: "prepare config", Waits: "Claude Code's config lock (another process is writing .claude.json)", Code: outcome.ConfigWrite, Quick: true}
)

// configure foresees claude's screens, then prepares its config; it
// returns the files changed, after those changed before (files).
func configure(p *pipeline.Pipeline, v sleeveView, res *check.Resolution, base map[string]any, files []report.FileReport) ([]report.FileReport, bool) {
	if _, ok := pipeline.Run(p, foreseeStep, func(context.Context) (struct{}, outcome.Findings) { return struct{}{}, foresee(v, res, p.Waiting) }); !ok {
		return files, false
	}
	return pipeline.Run(p, prepareStep, func(ctx context.Context) ([]report.FileReport, outcome.Findings) {
		changed, fs := prepareConfig(ctx, v, res, base, p.Waiting, p.Log())
		return append(files, changed...), fs
	})
}

// prepareConfig writes what Claude Code needs to start without a screen
// (without a command it only says what it would write). It returns the
// files changed.
func prepareConfig(ctx context.Context, v sleeveView, res *check.Resolution, base map[string]any, waiting func(), log zerolog.Logger) ([]report.FileReport, outcome.Findings) {
	s := v.s
	plan := claudeconfig.ConfigPlan{GlobalConfig: res.GlobalConfig, ConfigDir: res.ConfigDir, TrustDirs: v.trust, AcceptBypass: s.AcceptBypass, MCPServers: s.ApproveMCP,
		Base: base, BaseName: s.MergeConfig, ClaudeMDImports: s.ClaudeMDImports, Cwd: v.cwd}
	fs := claudeconfig.UnknownMCP(v.cwd, s.ApproveMCP)
	if s.ApproveAPIKey {
		if res.Selected != nil && res.Selected.Kind == check.KindAPIKey {
			plan.APIKeySuffix = last20(res.Selected.Value)
		} else {
			fs.Warn("approve_no_api_key", "SLEEVE_CHECK_APPROVE_API_KEY is set but Claude Code will not use ANTHROPIC_API_KEY", "unset it, or check which credential wins above")
		}
	}
	dry := len(v.cmd) == 0
	prep, err := claudeconfig.Prepare(plan, claudeconfig.EditOptions{DryRun: dry, Now: v.now, Ctx: ctx, BeforeLock: waiting})
	var files []report.FileReport
	for _, f := range prep.Files {
		files = append(files, fileReport(f))
		fs = append(fs, fileFindings(f, dry, log)...)
	}
	if err == nil || ctx.Err() != nil {
		return files, fs // a signal or the deadline: the pipeline says so
	}
	var fe *claudeconfig.FileError
	if !errors.As(err, &fe) {
		fe = &claudeconfig.FileError{ID: "config_write", Msg: err.Error()}
	}
	if claudecli.IsClaude(v.cmd) && !claudeInteractive(v.cmd, v.stdout) {
		// Print mode shows none of the screens these keys skip (observed
		// with claude -p 2.1.332 on a read-only home), so it starts regardless.
		fs.Warn(fe.ID, fe.Msg+"; claude -p needs none of it, so starting anyway", fe.Hint)
		return files, fs
	}
	fs.Errf(outcome.ConfigWrite, fe.ID, fe.Msg, fe.Hint)
	return files, fs
}

func fileReport(f claudeconfig.EditResult) report.FileReport {
	fr := report.FileReport{Path: f.Path, Changes: f.Changes, Backup: f.Backup, InPlace: f.InPlace}
	if fr.Changes == nil {
		fr.Changes = []string{}
	}
	return fr
}

// fileFindings say what was (or would be) changed in one file.
func fileFindings(f claudeconfig.EditResult, dry bool, log zerolog.Logger) outcome.Findings {
	verb := "changed"
	if dry {
		verb = "would change"
	}
	for _, c := range f.Changes {
		log.Debug().Str("path", f.Path).Msgf("%s: %s", verb, c)
	}
	var fs outcome.Findings
	if f.Backup != "" {
		fs.Warn("config_corrupt", fmt.Sprintf("%q was corrupt; a copy is kept at %q and a fresh one was written", f.Path, f.Backup),
			"Claude Code's settings in it (projects, history) are in the copy if you need them")
	}
	if f.InPlace {
		fs.Note("config_in_place", fmt.Sprintf("%q could not be replaced by rename (a single-file bind mount?), so it was rewritten in place", f.Path))
	}
	return fs
}

// realTrustDirs are the trust directories as Claude Code will see them:
// with symlinks resolved.
func realTrustDirs(dirs []string, log zerolog.Logger) []string {
	var out []string
	for _, d := range dirs {
		if rd := sleeve.RealPath(d); rd != filepath.Clean(d) {
			log.Debug().Str("dir", d).Str("real", rd).Msg("trust dir is reached through a symlink; trusting its real path")
			d = rd
		}
		out = append(out, d)
	}
	return out
}
