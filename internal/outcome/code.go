package outcome

import (
	"fmt"
	"strings"
)

// Code is sleeve-check's process exit status. Every code it can return is in
// Table; the README copies that table and a test keeps the two equal.
type Code int

// The exit codes. They are grouped by what the operator does next, so two
// failures share a code only when they share a fix.
const (
	OK            Code = 0
	Usage         Code = 2
	Config        Code = 3
	NoCredential  Code = 4
	Malformed     Code = 5
	Rejected      Code = 6
	ConfigWrite   Code = 7
	Unavailable   Code = 8
	RateLimited   Code = 9
	Billing       Code = 10
	UsageLimit    Code = 11
	ClaudeBroken  Code = 12
	AccountAction Code = 13
	Internal      Code = 70
	NotExecutable Code = 126
	NotFound      Code = 127
	// Interrupted is the base of 128+signal: SIGINT gives 130, SIGTERM 143.
	Interrupted Code = 128
)

// CodeInfo describes one exit code for --help and the README.
type CodeInfo struct {
	Code    Code
	Name    string
	Meaning string
	Action  string
}

// Table is the one exit-code table.
var Table = []CodeInfo{
	{OK, "ok", "checks passed (warnings may have been printed); the command was exec'd", "nothing"},
	{Usage, "usage", "a flag or argument is wrong", "fix the command line; see --help"},
	{Config, "config", "a setting is invalid or two settings contradict each other", "fix the named SLEEVE_CHECK_* variable, flag or file"},
	{NoCredential, "no_credential", "no credential reaches Claude Code", "set CLAUDE_CODE_OAUTH_TOKEN (or a *_FILE) or mount .credentials.json"},
	{Malformed, "malformed_credential", "the credential is there but its shape is wrong", "fix the value as the hint says (quotes, newline, wrong variable)"},
	{Rejected, "credential_rejected", "the credential is expired, revoked or refused by the API", "issue a new token (claude setup-token) or log in again"},
	{ConfigWrite, "config_write", "Claude Code's config could not be prepared", "fix the path or permissions of the named file"},
	{Unavailable, "api_unavailable", "the API could not be reached or failed (5xx, 529, timeout, DNS, TLS, proxy)", "check the network, proxy and CA files; retry later"},
	{RateLimited, "rate_limited", "the API kept answering 429 past the deadline (only with --strict)", "wait, splay the starts, or raise the deadline"},
	{Billing, "billing", "the credential works but the account cannot pay (402, spend limit)", "fix billing or the spend limit of the organisation"},
	{UsageLimit, "usage_limit", "the subscription's usage limit (5-hour, 7-day, ...) is used up until its reset", "wait for the reset (--on-usage-limit=wait), or spread the sleeves across subscriptions"},
	{ClaudeBroken, "claude_broken", "the claude binary cannot run (missing, not executable, its native binary not installed, or it exits before it starts)", "reinstall Claude Code in the image as the hint says; the API was not asked"},
	{AccountAction, "account_action", "the credential works, but its account or organisation must act first (accept updated terms in claude.ai; allow OAuth for the organisation)", "do what the hint says in claude.ai or the organisation's settings; a new token does not help"},
	{Internal, "internal", "a bug in sleeve-check", "report it with the output of --verbose"},
	{NotExecutable, "not_executable", "the command exists but cannot be executed", "fix its mode or choose another command"},
	{NotFound, "command_not_found", "the command is not in PATH", "install it or fix PATH"},
	{Interrupted, "interrupted", "SIGINT or SIGTERM arrived during the checks: 128+signal (in the first 10 ms of a start or health check, before it waits or writes anything but its state, the signal has its default effect instead: killed by it, or exit 2 as PID 1)", "nothing; the stop was asked for"},
}

// Name is the short name of c, as in Table; interrupted codes above 128
// share the name "interrupted".
func (c Code) Name() string {
	if c > Interrupted && c < Interrupted+65 {
		return "interrupted"
	}
	for _, e := range Table {
		if e.Code == c {
			return e.Name
		}
	}
	return fmt.Sprintf("code_%d", int(c))
}

// FormatTable renders Table as aligned text (for --help) or as a Markdown
// table (for the README).
func FormatTable(markdown bool) string {
	var b strings.Builder
	if markdown {
		b.WriteString("| code | name | meaning | what to do |\n|---|---|---|---|\n")
		for _, e := range Table {
			code := fmt.Sprint(int(e.Code))
			if e.Code == Interrupted {
				code = "128+n"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", code, e.Name, e.Meaning, e.Action)
		}
		return b.String()
	}
	for _, e := range Table {
		code := fmt.Sprint(int(e.Code))
		if e.Code == Interrupted {
			code = "128+n"
		}
		fmt.Fprintf(&b, "  %5s  %-21s %s\n", code, e.Name, e.Meaning)
	}
	return b.String()
}
