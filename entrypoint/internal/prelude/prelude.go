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
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"sleeve-check/check"
	"sleeve-check/check/probe"
	"sleeve-check/entrypoint/internal/fleet"
	"sleeve-check/entrypoint/internal/pipeline"
	"sleeve-check/entrypoint/internal/settings"
	"sleeve-check/entrypoint/internal/sleeve"
	"sleeve-check/internal/environ"
	"sleeve-check/internal/outcome"
	"sleeve-check/internal/safefile"
)

// The prelude's steps.
var (
	readRootFilesStep = pipeline.Step{Name: "read root-only files", Waits: "the *_FILE secrets and the seed to be read", Code: outcome.Config, Quick: true}
	switchUserStep    = pipeline.Step{Name: "switch user", Waits: "the user switch", Code: outcome.Config, Quick: true}
	resolveStep       = pipeline.Step{Name: "resolve credential", Waits: "Claude Code's settings and credentials to be read", Code: outcome.Config, Quick: true}
	gatewayStep       = pipeline.Step{Name: "ask the gateway", Waits: "the credential gateway's answer (SLEEVE_CHECK_GATEWAY)", Code: outcome.Unavailable}
)

// RootFiles are what is read before the user switch, with the rights the
// container started with: the operator named these files, and a
// root-owned 0600 mount is for root to read.
type RootFiles struct {
	Secrets *check.Secrets // the *_FILE secrets
	Seed    *Seed          // SLEEVE_CHECK_SEED_CREDENTIALS, if set
	// Base is SLEEVE_CHECK_MERGE_CONFIG's object, if set.
	Base map[string]any
	// Gateway is the credential gateway and this sleeve's key for it,
	// when SLEEVE_CHECK_GATEWAY is set.
	Gateway *fleet.Sleeve
}

// Seed is the file named by SLEEVE_CHECK_SEED_CREDENTIALS, read and
// checked.
type Seed struct {
	Data     []byte
	File     check.OAuthFile
	Findings outcome.Findings
}

// Entered is what the first steps return: the root-only files, the
// user switched to (nil without a switch), and the environment that
// follows the user (HOME, USER, LOGNAME) - behind a credential gateway,
// the one claude gets: the gateway as its API, the sleeve's key as its
// credential.
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
	if s.User != "" {
		type switched struct {
			u   *sleeve.User
			env environ.Env
		}
		sw, ok := pipeline.Run(p, switchUserStep, func(context.Context) (switched, outcome.Findings) {
			u, env, fs := sleeve.Switch(s.User, c.Env, c.Log)
			return switched{u, env}, fs
		})
		if out.User, out.Env = sw.u, sw.env; !ok {
			return out, false
		}
	}
	if gw := out.Root.Gateway; gw != nil {
		deadline := s.ProbeTimeout
		if c.Inv.Sub == "health" {
			deadline = s.HealthTimeout
		}
		gw.Proxy = out.Env.Proxy()
		// Health asks once: a gateway that is away is said at once, not
		// after the check's whole deadline of tries.
		gw.Once = c.Inv.Sub == "health"
		pipeline.Run(p, gatewayStep, func(ctx context.Context) (struct{}, outcome.Findings) {
			gw.First(ctx, deadline)
			return struct{}{}, nil
		})
		out.Env = gw.ClaudeEnv(out.Env)
	}
	return out, true
}

// maxMergeConfig bounds the config to merge (a .claude.json grows with
// its projects' history).
const maxMergeConfig = 64 << 20

// readRootFiles reads the *_FILE secrets, the seed and the config to merge.
func readRootFiles(s settings.Settings, env environ.Env) (RootFiles, outcome.Findings) {
	rf := RootFiles{Secrets: check.LoadSecrets(env)}
	if s.Gateway != "" {
		gw, fs := behindGateway(s, env)
		if fs.HasError() {
			return rf, fs
		}
		rf.Gateway = gw
	}
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

// behindGateway reads the sleeve's key for the gateway at url, and
// refuses a real credential beside it: every process of the container
// could read it from its init's environment (/proc/1/environ), which is
// what the gateway is there to prevent.
func behindGateway(s settings.Settings, env environ.Env) (*fleet.Sleeve, outcome.Findings) {
	var fs outcome.Findings
	if u, err := url.Parse(s.Gateway); s.RequireTLS && err == nil && u.Scheme == "http" && !probe.IsLoopback(u.Hostname()) {
		fs.Errf(outcome.Config, "gateway_plain_http", fmt.Sprintf("SLEEVE_CHECK_GATEWAY (%s) is plain http to %q, not a loopback address, and SLEEVE_CHECK_REQUIRE_TLS is set", strconv.Quote(probe.RedactURL(s.Gateway)), u.Host),
			"serve the gateway over https (--tls-cert, --tls-key) and give its https URL")
		return nil, fs
	}
	if real := fleet.RealCredentials(env); len(real) > 0 {
		fs.Errf(outcome.Config, "gateway_real_credential", fmt.Sprintf("%s is set in a sleeve behind the credential gateway (SLEEVE_CHECK_GATEWAY): any process in the container can read it from /proc/1/environ", strings.Join(real, " and ")),
			"give the credential to the gateway only, and the sleeve only its key (SLEEVE_CHECK_GATEWAY_KEY_FILE)")
		return nil, fs
	}
	key, source, fs := fleet.LoadKey(env)
	if fs.HasError() {
		return nil, fs
	}
	return &fleet.Sleeve{URL: s.Gateway, Key: key, KeySource: source}, fs
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
// Behind a gateway (gw) it must be the sleeve's key, and no real
// credential may be found beside it (a credentials file, a settings
// file's env block): the agent could read it.
func Resolve(p *pipeline.Pipeline, in check.Input, gw *fleet.Sleeve) (*check.Resolution, bool) {
	return pipeline.Run(p, resolveStep, func(context.Context) (*check.Resolution, outcome.Findings) {
		res, fs := resolve(in, p.Log())
		if gw != nil && !fs.HasError() {
			fs = append(fs, keyOnly(res, gw)...)
		}
		return res, fs
	})
}

// keyOnly says what real credential a sleeve behind a gateway holds.
func keyOnly(res *check.Resolution, gw *fleet.Sleeve) outcome.Findings {
	var fs outcome.Findings
	hint := "give the credential to the gateway only; the sleeve holds only its key"
	if sel := res.Selected; sel == nil || sel.Value.Reveal() != gw.Key {
		src := "nothing"
		if sel != nil {
			src = sel.Source
		}
		fs.Errf(outcome.Config, "gateway_key_overridden", fmt.Sprintf("claude would not use the gateway key: %s takes precedence over it", src), "remove that credential from the sleeve; "+hint)
		return fs
	}
	if res.BaseURL != gw.URL {
		fs.Errf(outcome.Config, "gateway_bypassed", fmt.Sprintf("claude would not go through the gateway: ANTHROPIC_BASE_URL comes from %s, which takes precedence over the environment", res.BaseURLSource),
			"remove ANTHROPIC_BASE_URL from that settings file's env block; behind a gateway sleeve-check sets it")
		return fs
	}
	res.Selected.Source = fmt.Sprintf("%s (sleeve %s's key for the gateway)", res.Selected.Var, gw.Name())
	for _, sh := range res.Shadowed {
		if sh.Kind == check.KindOAuthFile || sh.Value.Len() > 0 {
			fs.Errf(outcome.Config, "gateway_real_credential", fmt.Sprintf("a real credential is in a sleeve behind the credential gateway: %s, which the agent can read", sh.Source), "remove it; "+hint)
			return fs
		}
	}
	return fs
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
