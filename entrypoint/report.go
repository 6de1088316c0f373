package entrypoint

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"sleeve-check/check"
	"sleeve-check/check/probe"
	"sleeve-check/internal/outcome"
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

// buildReport is the one place a start's report is made: from what the
// steps returned (st), what they said, and the exit status.
func buildReport(c call, st started, said outcome.Findings, code outcome.Code) Report {
	rep := Report{Version: Version, CheckedAt: c.began.UTC(), Status: check.StatusUnknown, ExitCode: int(code), Exit: code.Name(),
		Command: c.inv.Command, Findings: append([]outcome.Finding{}, said...), UID: os.Geteuid(),
		Config: ConfigReport{DryRun: st.dry, Files: st.files}}
	if f := said.FirstError(); f != nil {
		rep.Message, rep.Hint = f.Message, f.Hint
	}
	if u := st.user; u != nil {
		rep.User, rep.UID = u.Name, u.UID
	}
	if res := st.res; res != nil {
		describeResolution(&rep, res, c.began)
	}
	if v := st.probe.Verdict; v != nil {
		rep.Probe, rep.Usage = v, v.Usage
		rep.Status = applyVerdict(rep.Status, *v)
	}
	rep.ProbeMeans = st.probe.Means
	if rep.Status == "" {
		rep.Status = check.StatusUnknown
	}
	rep.DurationMS = float64(time.Since(c.began).Microseconds()) / 1000
	return rep
}

// describeResolution puts the credential, its expiry, the ones it
// shadows and Claude Code's config paths in the report.
func describeResolution(rep *Report, res *check.Resolution, now time.Time) {
	rep.Status = res.Status
	rep.Config.ConfigDir, rep.Config.GlobalConfig = res.ConfigDir, res.GlobalConfig
	if res.Selected != nil {
		fp := res.Selected.Fingerprint()
		rep.Credential = &fp
		if fp.ExpiresAt != nil {
			s := int64(fp.ExpiresAt.Sub(now).Seconds())
			rep.ExpiresIn = &s
		}
	}
	for _, sh := range res.Shadowed {
		rep.Shadowed = append(rep.Shadowed, sh.Fingerprint())
	}
}

// finish prints the report (--json, or the text of a report without a
// command) and the start's last line.
func finish(c call, rep Report) {
	if c.inv.Settings.JSON {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		enc.Encode(rep)
	} else if len(c.inv.Command) == 0 {
		printText(c.stdout, rep, c.began)
	}
	if rep.ExitCode == 0 && len(c.inv.Command) > 0 {
		if rep.Credential != nil {
			c.log.Info().Msgf("ok: %s, %s; starting %s", rep.Credential, rep.Status, c.inv.Command[0])
		}
		return // the exec line says the rest
	}
	c.log.Debug().Float64("took_ms", rep.DurationMS).Msgf("done: exit %d (%s)", rep.ExitCode, rep.Exit)
}

func printText(w io.Writer, rep Report, now time.Time) {
	fmt.Fprintf(w, "status:       %s\n", rep.Status)
	if c := rep.Credential; c != nil {
		fmt.Fprintf(w, "credential:   %s\n", c)
		if c.ExpiresAt != nil {
			fmt.Fprintf(w, "expires:      %s (%s)\n", c.ExpiresAt.Format(time.RFC3339), relTime(*c.ExpiresAt, now))
		}
	}
	if p := rep.ProbeMeans; p != nil {
		fmt.Fprintf(w, "probe:        %s (%s)\n", p.Means, p.Why)
	}
	if u := rep.Usage.Short(); u != "" {
		fmt.Fprintf(w, "usage:        %s\n", u)
	} else if rep.Probe != nil && rep.Probe.UsageUnknown != "" {
		fmt.Fprintf(w, "usage:        unknown (%s)\n", rep.Probe.UsageUnknown)
	}
	for _, s := range rep.Shadowed {
		fmt.Fprintf(w, "ignored:      %s\n", s)
	}
	if rep.Config.GlobalConfig != "" {
		fmt.Fprintf(w, "config:       %s\n", rep.Config.GlobalConfig)
	}
	for _, f := range rep.Config.Files {
		for _, c := range f.Changes {
			fmt.Fprintf(w, "would change: %s: %s\n", f.Path, c)
		}
	}
	fmt.Fprintf(w, "result:       %s (exit %d)\n", rep.Exit, rep.ExitCode)
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
