// Package prelude is what a start and a health check do first, the same
// way: read the root-only files with the rights the container started
// with (the *_FILE secrets, the seed, the config to merge), switch to the
// sleeve user (SLEEVE_CHECK_USER), and - after what the start alone does
// in between - resolve the credential Claude Code will use. Each is a
// pipeline step; the first error ends the run, for health as for a start.
package prelude

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"sleeve-check/check"
	"sleeve-check/entrypoint/internal/pipeline"
	"sleeve-check/entrypoint/internal/settings"
	"sleeve-check/entrypoint/internal/sleeve"
	"sleeve-check/internal/environ"
	"sleeve-check/internal/outcome"
	"sleeve-check/internal/safefile"
)

// The prelude's steps.
var (
	readRootFilesStep = pipeline.Step{Name: "read root-only files", Waits: "the *_FILE secrets and the seed to be read", Code: outcome.Config}
	switchUserStep    = pipeline.Step{Name: "switch user", Waits: "the user switch", Code: outcome.Config}
	resolveStep       = pipeline.Step{Name: "resolve credential", Waits: "Claude Code's settings and credentials to be read", Code: outcome.Config}
)

// RootFiles are what is read before the user switch, with the rights the
// container started with: the operator named these files, and a
// root-owned 0600 mount is for root to read.
type RootFiles struct {
	Secrets *check.Secrets // the *_FILE secrets
	Seed    *Seed          // SLEEVE_CHECK_SEED_CREDENTIALS, if set
	// Base is SLEEVE_CHECK_MERGE_CONFIG's object, if set.
	Base map[string]any
}

// Seed is the file named by SLEEVE_CHECK_SEED_CREDENTIALS, read and
// checked.
type Seed struct {
	Data     []byte
	File     check.OAuthFile
	Findings outcome.Findings
}

// Entered is what the first two steps return: the root-only files, the
// user switched to (nil without a switch), and the environment that
// follows the user (HOME, USER, LOGNAME).
type Entered struct {
	Root RootFiles
	User *sleeve.User
	Env  environ.Env
}

// Enter runs the first two steps: read the root-only files, then switch
// to the sleeve user when SLEEVE_CHECK_USER is set.
func Enter(p *pipeline.Pipeline, c settings.Call) (Entered, bool) {
	s := c.Settings()
	out := Entered{Env: c.Env}
	var ok bool
	if out.Root, ok = pipeline.Run(p, readRootFilesStep, func(context.Context) (RootFiles, outcome.Findings) { return readRootFiles(s, c.Env) }); !ok {
		return out, false
	}
	if s.User == "" {
		return out, true
	}
	type switched struct {
		u   *sleeve.User
		env environ.Env
	}
	sw, ok := pipeline.Run(p, switchUserStep, func(context.Context) (switched, outcome.Findings) {
		u, env, fs := sleeve.Switch(s.User, c.Env, c.Log)
		return switched{u, env}, fs
	})
	out.User, out.Env = sw.u, sw.env
	return out, ok
}

// maxMergeConfig bounds the config to merge (a .claude.json grows with
// its projects' history).
const maxMergeConfig = 64 << 20

// readRootFiles reads the *_FILE secrets, the seed and the config to merge.
func readRootFiles(s settings.Settings, env environ.Env) (RootFiles, outcome.Findings) {
	rf := RootFiles{Secrets: check.LoadSecrets(env)}
	if s.SeedCredentials != "" {
		data, of, fs := check.ReadSeed(s.SeedCredentials)
		rf.Seed = &Seed{data, of, fs}
	}
	var fs outcome.Findings
	if p := s.MergeConfig; p != "" {
		b, _, err := safefile.Read(p, maxMergeConfig, safefile.Options{})
		if err == nil {
			err = json.Unmarshal(b, &rf.Base)
			if err == nil && rf.Base == nil {
				err = errors.New("it is null")
			}
		}
		if err != nil {
			fs.Errf(outcome.Config, "merge_config", fmt.Sprintf("SLEEVE_CHECK_MERGE_CONFIG %q cannot be merged into Claude Code's config: it is not a JSON object (%s)", p, safefile.ErrText(err)),
				"point it at a copy of a .claude.json, or unset it")
		}
	}
	return rf, fs
}

// Input is what the credential decision depends on, for the start and for
// health alike.
func Input(s settings.Settings, env environ.Env, cwd string, now time.Time, secrets *check.Secrets) check.Input {
	in := check.Input{Env: env, Cwd: cwd, Now: now, ExpiryWarning: s.ExpiryWarning,
		TokenIssued: s.TokenIssued.Time, ManagedSettings: s.Managed, Secrets: secrets}
	if env.Get("HOME") == "" {
		in.PasswdHome = sleeve.PasswdHome()
	}
	return in
}

// Resolve is the step that finds the credential Claude Code will use.
func Resolve(p *pipeline.Pipeline, in check.Input) (*check.Resolution, bool) {
	return pipeline.Run(p, resolveStep, func(context.Context) (*check.Resolution, outcome.Findings) { return resolve(in, p.Log()) })
}

func resolve(in check.Input, log zerolog.Logger) (*check.Resolution, outcome.Findings) {
	res := check.Resolve(in)
	if res.Selected != nil {
		fp := res.Selected.Fingerprint()
		ev := log.Debug()
		if fp.ExpiresAt != nil {
			ev = ev.Time("expires_at", *fp.ExpiresAt).Str("expires", outcome.Since(*fp.ExpiresAt, in.Now))
		}
		ev.Msgf("credential: %s", fp)
	}
	for _, p := range res.SettingsRead {
		log.Debug().Str("path", p).Msg("read settings file")
	}
	log.Debug().Str("home", res.Home).Str("home_from", res.HomeSource).Str("global_config", res.GlobalConfig).Str("credentials_file", res.CredentialsFile).Msg("paths")
	return res, res.Findings
}
