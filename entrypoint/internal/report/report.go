// Package report is the one machine-readable account of a run (--json),
// the schema state.json embeds and the keeper reads: Report, built once by
// Build from what a start's or a health check's steps returned, and
// printed for a person by PrintText.
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"sleeve-check/check"
	"sleeve-check/check/probe"
	"sleeve-check/entrypoint/internal/buildinfo"
	"sleeve-check/entrypoint/internal/sleeve"
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
	ProbeMeans *probe.Choice `json:"probe_means,omitempty"`
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

// Of is what a report is built from: what the steps of a start or a
// health check returned, what they said, and the exit status.
type Of struct {
	Began   time.Time
	Command []string
	// User is the user the run switched to, or nil.
	User    *sleeve.User
	Files   []FileReport
	Dry     bool
	Res     *check.Resolution
	Verdict *probe.Verdict
	Means   *probe.Choice
	Said    outcome.Findings
	Code    outcome.Code
}

// Build is the one place a report is made.
func Build(o Of) Report {
	rep := Report{Version: buildinfo.Version, CheckedAt: o.Began.UTC(), Status: check.StatusUnknown, ExitCode: int(o.Code), Exit: o.Code.Name(),
		Command: o.Command, Findings: append([]outcome.Finding{}, o.Said...), UID: os.Geteuid(),
		Config: ConfigReport{DryRun: o.Dry, Files: o.Files}}
	if f := o.Said.FirstError(); f != nil {
		rep.Message, rep.Hint = f.Message, f.Hint
	}
	if u := o.User; u != nil {
		rep.User, rep.UID = u.Name, u.UID
	}
	if res := o.Res; res != nil {
		describeResolution(&rep, res, o.Began)
	}
	if v := o.Verdict; v != nil {
		rep.Probe, rep.Usage = v, v.Usage
		rep.Status = ApplyVerdict(rep.Status, *v)
	}
	rep.ProbeMeans = o.Means
	if rep.Status == "" {
		rep.Status = check.StatusUnknown
	}
	rep.DurationMS = float64(time.Since(o.Began).Microseconds()) / 1000
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

// WriteJSON prints rep as indented JSON (--json).
func WriteJSON(w io.Writer, rep Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// PrintText prints rep for a person: the report of a start without a
// command.
func PrintText(w io.Writer, rep Report, now time.Time) {
	fmt.Fprintf(w, "status:       %s\n", rep.Status)
	if c := rep.Credential; c != nil {
		fmt.Fprintf(w, "credential:   %s\n", c)
		if c.ExpiresAt != nil {
			fmt.Fprintf(w, "expires:      %s (%s)\n", c.ExpiresAt.Format(time.RFC3339), outcome.Since(*c.ExpiresAt, now))
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

// ApplyVerdict is the status after the API's word: it sets the status,
// except that a valid answer does not hide a coming expiry, and no answer
// changes nothing.
func ApplyVerdict(status check.Status, v probe.Verdict) check.Status {
	if v.Class == probe.Authenticated {
		// The token passed the API's own checks, but no inference was
		// served: whether it works for Claude Code is not known.
		return check.StatusUnknown
	}
	if v.Status != check.StatusUnknown && !(v.Status == check.StatusValid && status == check.StatusExpiringSoon) {
		return v.Status
	}
	return status
}

// HealthReport is the health part of the report (health --json).
type HealthReport struct {
	Healthy        bool       `json:"healthy"`
	Warning        bool       `json:"warning"`
	Line           string     `json:"line"`
	StartedAt      *time.Time `json:"started_at,omitempty"`
	ProbeCheckedAt *time.Time `json:"probe_checked_at,omitempty"`
	ProbeCached    bool       `json:"probe_cached"`
}
