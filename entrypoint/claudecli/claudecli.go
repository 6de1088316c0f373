// Package claudecli reads a claude command line the way Claude Code does,
// to foresee what it will do when sleeve-check execs it: start the
// interactive UI or print mode, with or without a prompt, in bypass mode
// or not, or run a subcommand that needs none of that.
//
// Claude Code parses its arguments with commander. A flag that takes a
// value consumes the next argument ("--model sonnet"), a variadic one
// every following argument up to the next flag ("--add-dir a b"), an
// optional one the next argument if it is not a flag ("--debug api").
// What is left is a subcommand or the prompt. The tables below are
// Claude Code 2.1.332's (`claude --help`); a flag missing from them is read
// as a switch, so an unknown flag's value looks like a prompt: the safe
// direction, since sleeve-check stops a start only when it is sure there
// is no prompt.
//
// The mode (observed with 2.1.332, and read from its code): -p/--print,
// --init-only and --sdk-url select print mode, and so does a standard
// output that is not a terminal. Print mode needs a prompt argument or
// data on standard input; without either it exits 1 with "Input must be
// provided either through stdin or as a prompt argument when using
// --print".
package claudecli

import (
	"path/filepath"
	"slices"
	"strings"
)

// Command is what a claude command line asks for.
type Command struct {
	// Print: print mode whatever the terminal (-p, --print, --init-only, --sdk-url).
	Print bool
	// Info: --version or --help, which print and exit.
	Info bool
	// Sub is the subcommand (mcp, doctor, ...), or "".
	Sub string
	// Prompt: a prompt argument is given.
	Prompt bool
	// Bypass: bypass-permissions mode is asked for.
	Bypass bool
	// Model is the --model the command names, or "".
	Model string
}

// IsClaude reports whether argv runs Claude Code.
func IsClaude(argv []string) bool { return len(argv) > 0 && filepath.Base(argv[0]) == "claude" }

// NeedsInput reports whether the command, in print mode, needs a prompt
// from standard input: it is not a subcommand, not --version or --help,
// and carries no prompt argument.
func (c Command) NeedsInput() bool { return !c.Info && c.Sub == "" && !c.Prompt }

var (
	// required: the flag takes the next argument.
	required = []string{"--agent", "--agents", "--append-system-prompt", "--append-system-prompt-file", "--autocompact",
		"--debug-file", "--effort", "--environment", "--fallback-model", "--input-format", "--json-schema", "--max-budget-usd",
		"--max-turns", "--model", "-n", "--name", "--output-format", "--permission-mode", "--permission-prompts", "--plugin-dir",
		"--plugin-url", "--remote-control-session-name-prefix", "--session-id", "--setting-sources", "--settings",
		"--system-prompt", "--system-prompt-file", "--system-prompt-snapshot"}
	// variadic: the flag takes every argument up to the next flag.
	variadic = []string{"--add-dir", "--allowedTools", "--allowed-tools", "--betas", "--disallowedTools", "--disallowed-tools",
		"--file", "--mcp-config", "--tools"}
	// optional: the flag takes the next argument unless it is a flag.
	optional = []string{"--cloud", "-d", "--debug", "--from-pr", "--prompt-suggestions", "--remote-control", "-r", "--resume",
		"--teleport", "-w", "--worktree"}
	subcommands = []string{"agents", "attach", "auth", "auto-mode", "config", "doctor", "gateway", "import", "install", "kill",
		"logs", "mcp", "migrate-installer", "plugin", "plugins", "purge", "respawn", "rm", "setup-token", "stop", "ultrareview",
		"update", "upgrade"}
)

// Parse reads the arguments after "claude".
func Parse(args []string) Command {
	var c Command
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			c.positional(args[i+1:])
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			// A subcommand's arguments are its own; after a prompt, claude
			// (commander) still reads options: claude -p task --model x.
			c.positional(args[i:])
			if c.Sub != "" {
				break
			}
			continue
		}
		name, value, hasValue := strings.Cut(a, "=")
		c.flag(name, value, hasValue, args[i+1:])
		if hasValue {
			continue
		}
		switch {
		case slices.Contains(required, name):
			i++
		case slices.Contains(variadic, name):
			for i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
				i++
			}
		case slices.Contains(optional, name) && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-"):
			i++
		}
	}
	return c
}

func (c *Command) flag(name, value string, hasValue bool, rest []string) {
	switch {
	case name == "-p" || name == "--print" || name == "--init-only" || name == "--sdk-url":
		c.Print = true
	case name == "-v" || name == "--version" || name == "-h" || name == "--help":
		c.Info = true
	case name == "--dangerously-skip-permissions":
		c.Bypass = true
	case name == "--model" && hasValue:
		c.Model = value
	case name == "--model" && len(rest) > 0:
		c.Model = rest[0]
	case name == "--permission-mode":
		if !hasValue && len(rest) > 0 {
			value = rest[0]
		}
		c.Bypass = c.Bypass || value == "bypassPermissions"
	}
}

func (c *Command) positional(rest []string) {
	if len(rest) == 0 {
		return
	}
	if !c.Prompt && slices.Contains(subcommands, rest[0]) {
		c.Sub = rest[0]
		return
	}
	c.Prompt = true
}
