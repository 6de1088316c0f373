package entrypoint

import (
	"fmt"
	"strings"

	"sleeve-check/entrypoint/internal/settings"
	"sleeve-check/internal/outcome"
)

// helpText is --help: the modes and the packages that implement them, the
// settings, the exit codes.
func helpText() string {
	var modes strings.Builder
	fmt.Fprintf(&modes, "  %-42s %s\n", "sleeve-check [flags] -- COMMAND [ARGS...]", "check, prepare Claude Code's config, exec COMMAND (entrypoint/start)")
	fmt.Fprintf(&modes, "  %-42s %s\n", "sleeve-check [flags]", "check only and print a report; nothing is written (entrypoint/start)")
	for _, s := range settings.Subcommands {
		fmt.Fprintf(&modes, "  %-42s %s (%s)\n", s.Usage, s.Summary, s.Package)
	}
	modes.WriteString("  sleeve-check --version | --help\n")
	return `sleeve-check guards the start of a container that runs Claude Code.

Usage:
` + modes.String() + `
It finds the credential Claude Code will use (the same precedence as Claude
Code), checks its presence, shape and expiry, sets hasCompletedOnboarding in
Claude Code's global config, and replaces itself with COMMAND. On any
problem it stops with an exit code and one sentence saying what to fix.
Secrets are only ever shown as a fingerprint (kind, source, length, last 4).

Flags (each also an environment variable; a flag beats the variable):
` + settings.Table(false) + `
Exit codes:
` + outcome.FormatTable(false)
}
