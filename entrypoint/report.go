package entrypoint

import (
	"encoding/json"
	"fmt"
	"sleeve-check/internal/outcome"
	"time"

	"sleeve-check/check"
	"sleeve-check/check/probe"
)

// Report is the one machine-readable account of a run (--json), in
// snake_case with the status words Protectorate's Envoy uses.
type Report struct {
	Version    string              `json:"version"`
	CheckedAt  time.Time           `json:"checked_at"`
	Status     check.Status        `json:"status"`
	ExitCode   int                 `json:"exit_code"`
	Exit       string              `json:"exit"`
	Message    string              `json:"message,omitempty"`
	Hint       string              `json:"hint,omitempty"`
	Credential *check.Fingerprint  `json:"credential,omitempty"`
	ExpiresIn  *int64              `json:"expires_in_seconds,omitempty"`
	Shadowed   []check.Fingerprint `json:"shadowed,omitempty"`
	Findings   []outcome.Finding   `json:"findings"`
	Config     ConfigReport        `json:"config"`
	Probe      *probe.Verdict      `json:"probe,omitempty"`
	// ProbeMeans is which probe ran (http or cli), and why.
	ProbeMeans *ProbeChoice `json:"probe_means,omitempty"`
	// Usage is the subscription's usage the last probe saw.
	Usage      *probe.Usage  `json:"usage,omitempty"`
	Command    []string      `json:"command,omitempty"`
	User       string        `json:"user,omitempty"`
	UID        int           `json:"uid"`
	Health     *HealthReport `json:"health,omitempty"`
	DurationMS float64       `json:"duration_ms"`
}

// ConfigReport is what was (or, without a command, would be) written.
type ConfigReport struct {
	ConfigDir    string       `json:"config_dir,omitempty"`
	GlobalConfig string       `json:"global_config,omitempty"`
	DryRun       bool         `json:"dry_run,omitempty"`
	Files        []FileReport `json:"files,omitempty"`
}

// FileReport is one config file and its changes.
type FileReport struct {
	Path    string   `json:"path"`
	Changes []string `json:"changes"`
	Backup  string   `json:"backup,omitempty"`
	InPlace bool     `json:"in_place,omitempty"`
}

// finish fills in the verdict and prints the report.
func (r *runner) finish(code outcome.Code) {
	r.rep.ExitCode = int(code)
	r.rep.Exit = code.Name()
	if f := outcome.Findings(r.rep.Findings).FirstError(); f != nil {
		r.rep.Message, r.rep.Hint = f.Message, f.Hint
	}
	if r.rep.Status == "" {
		r.rep.Status = check.StatusUnknown
	}
	r.rep.DurationMS = float64(time.Since(r.start).Microseconds()) / 1000
	if r.inv.Settings.JSON {
		enc := json.NewEncoder(r.stdout)
		enc.SetIndent("", "  ")
		enc.Encode(r.rep)
	} else if len(r.inv.Command) == 0 {
		r.printText()
	}
	if code == outcome.OK && len(r.inv.Command) > 0 {
		if r.rep.Credential != nil {
			r.log.Info().Msgf("ok: %s, %s; starting %s", r.rep.Credential, r.rep.Status, r.inv.Command[0])
		}
		return // the exec line says the rest
	}
	r.log.Debug().Float64("took_ms", r.rep.DurationMS).Msgf("done: exit %d (%s)", code, code.Name())
}

func (r *runner) printText() {
	w := r.stdout
	fmt.Fprintf(w, "status:       %s\n", r.rep.Status)
	if c := r.rep.Credential; c != nil {
		fmt.Fprintf(w, "credential:   %s\n", c)
		if c.ExpiresAt != nil {
			fmt.Fprintf(w, "expires:      %s (%s)\n", c.ExpiresAt.Format(time.RFC3339), relTime(*c.ExpiresAt, r.start))
		}
	}
	if p := r.rep.ProbeMeans; p != nil {
		fmt.Fprintf(w, "probe:        %s (%s)\n", p.Means, p.Why)
	}
	if u := r.rep.Usage.Short(); u != "" {
		fmt.Fprintf(w, "usage:        %s\n", u)
	} else if r.rep.Probe != nil && r.rep.Probe.UsageUnknown != "" {
		fmt.Fprintf(w, "usage:        unknown (%s)\n", r.rep.Probe.UsageUnknown)
	}
	for _, s := range r.rep.Shadowed {
		fmt.Fprintf(w, "ignored:      %s\n", s)
	}
	if r.rep.Config.GlobalConfig != "" {
		fmt.Fprintf(w, "config:       %s\n", r.rep.Config.GlobalConfig)
	}
	for _, f := range r.rep.Config.Files {
		for _, c := range f.Changes {
			fmt.Fprintf(w, "would change: %s: %s\n", f.Path, c)
		}
	}
	fmt.Fprintf(w, "result:       %s (exit %d)\n", r.rep.Exit, r.rep.ExitCode)
}

func helpText() string {
	return `sleeve-check guards the start of a container that runs Claude Code.

Usage:
  sleeve-check [flags] -- COMMAND [ARGS...]   check, prepare Claude Code's config, exec COMMAND
  sleeve-check [flags]                        check only and print a report (nothing is written)
  sleeve-check health [flags]                 the HEALTHCHECK: one line, exit 0 (healthy) or 1 (unhealthy)
  sleeve-check --version | --help

It finds the credential Claude Code will use (the same precedence as Claude
Code), checks its presence, shape and expiry, sets hasCompletedOnboarding in
Claude Code's global config, and replaces itself with COMMAND. On any
problem it stops with an exit code and one sentence saying what to fix.
Secrets are only ever shown as a fingerprint (kind, source, length, last 4).

Flags (each also an environment variable; a flag beats the variable):
` + SettingsTable(false) + `
Exit codes:
` + outcome.FormatTable(false)
}

func relTime(t, now time.Time) string {
	if t.Before(now) {
		return outcome.Human(now.Sub(t)) + " ago"
	}
	return "in " + outcome.Human(t.Sub(now))
}
