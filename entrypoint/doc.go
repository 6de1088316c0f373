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
// A start runs its steps in order, and the first error ends them:
//
//	find command -> drop to --user -> resolve credential (check) ->
//	foresee claude's screens -> prepare config (entrypoint/claudeconfig) ->
//	probe (check/probe; claude -p reads the config) -> save state -> exec
//
// Each step that fails leaves one Finding whose Code is the exit status,
// and one sentence on stderr with a hint. Without a command it only
// reports (text, or --json), and writes nothing.
//
// The start leaves state.json (its report, its settings, its home) and
// probe.json (the last API verdict) in the state directory. `health`, the
// image's HEALTHCHECK, reads them: it adopts the start's settings below its
// own, re-checks the credential and the onboarding flag, reuses the API
// verdict for SLEEVE_CHECK_HEALTH_TTL, and prints one line, exit 0 or 1.
package entrypoint
