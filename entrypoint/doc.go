// Package entrypoint is the program behind cmd/sleeve-check: it parses
// the settings and dispatches to a mode, each in a package of its own.
//
//	sleeve-check [flags] [-- COMMAND]   the start (entrypoint/start)
//	sleeve-check health                 the HEALTHCHECK (entrypoint/health)
//	sleeve-check keeper -- COMMAND      Protectorate's supervisor (entrypoint/protectorate)
//	sleeve-check session -- COMMAND     Protectorate's session (entrypoint/protectorate)
//	sleeve-check gateway                the credential gateway (entrypoint/gateway)
//
// Main takes the arguments and the environment (one environ.Env value,
// read once) and returns the exit status, or never returns because the
// start exec'd the command. settings.Parse reads the settings: each field
// of settings.Settings is an environment variable (SLEEVE_CHECK_ + its env
// tag) and a flag; a flag beats the variable, which beats the default;
// --help and the README's table are generated from the same struct. A
// signal (SIGINT, SIGTERM) ends the run's context with its cause, which
// the modes turn into 128+n; a panic is exit 70 with a stack and no value.
//
// What the modes share lies one floor down, in entrypoint/internal: the
// settings, the step pipeline, the prelude of a start and a health check,
// the probe they share, the report, the state files the modes hand each
// other, the user switch and the exec, the console. docs/architecture.md
// draws which package may import which; internal/layout's test holds the
// code to it.
package entrypoint
