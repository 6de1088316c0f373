// Package entrypoint is the whole program behind cmd/sleeve-check: the
// start of a sleeve, and its health check.
//
// Main takes the arguments and the environment (one environ.Env value,
// read once) and returns the exit status, or never returns because it
// exec'd the command. Parse reads the settings: each field of Settings is
// an environment variable (SLEEVE_CHECK_ + its env tag) and a flag, a flag
// beats the variable, which beats the default; --help and the README's
// table are generated from the same struct.
//
// Both are pipelines of plain steps (start.go, health.go): each step is a
// function of the values the steps before it returned, run by a pipeline
// that times it (--verbose logs "step NAME"), logs what it says, and ends
// the run at the first error. The report is built once, from what the
// steps returned. A start runs these steps, in this order (a step in
// brackets only when it applies):
//
//	read root-only files -> [switch user] -> [find command] ->
//	[seed credentials] -> resolve credential -> [run apiKeyHelper] ->
//	foresee claude's screens -> prepare config -> [spread the probe] ->
//	probe -> [wait for the API] -> [wait for the usage reset] ->
//	[probe after the reset] -> [save state] -> exec
//
// "read root-only files" reads the *_FILE secrets and the seed with the
// rights the container started with, before the switch to --user; every
// later step runs as the sleeve user, and a start with a command notes
// (starting.json) the step it is in once that step has run 100 ms, for
// health checks ("starting: ..."); a quick start writes no note. A step
// that runs over 2 s says so at the default level. The config is prepared before the
// probe because the CLI probe is Claude Code, which reads it. One deadline,
// SLEEVE_CHECK_START_TIMEOUT, covers every step but the two waits (each
// has its own cap) and saving the state: past
// it the start stops with the exit code of the step it was in, and says
// "start timeout". Each step that fails leaves one Finding whose Code is
// the exit status, and one sentence on stderr with a hint. Without a
// command the start only reports (text, or --json), and writes nothing.
//
// The start leaves state.json (its report, its settings, its home) and
// probe.json (the last API verdict) in the state directory. `health`, the
// image's HEALTHCHECK, first reads them and adopts the start's settings
// below its own, then runs:
//
//	read root-only files -> [switch user] -> resolve credential ->
//	check the sleeve -> [ask the API]
//
// "check the sleeve" asks claudeconfig about the welcome screen and
// compares the credential with the start's; "ask the API" reuses the last
// verdict for SLEEVE_CHECK_HEALTH_TTL. It prints one line, exit 0 or 1.
package entrypoint
