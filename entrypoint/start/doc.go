// Package start is a sleeve's start (`sleeve-check [flags] -- COMMAND`,
// the image's ENTRYPOINT): it checks the credential Claude Code will use,
// prepares Claude Code's config, proves the credential, leaves its state
// for health checks and execs the command - or stops with an exit code
// and one sentence. Without a command it only reports (text, or --json),
// and writes nothing.
//
// Run is a pipeline of plain steps (entrypoint/internal/pipeline): each
// step is a function of the values the steps before it returned, and the
// report is built once, from what they returned (report.Build). A start
// runs these steps, in this order (a step in brackets only when it
// applies):
//
//	read root-only files -> [switch user] -> [ask the gateway] -> [find command] ->
//	[seed credentials] -> resolve credential -> [run apiKeyHelper] ->
//	foresee claude's screens -> prepare config -> [spread the probe] ->
//	probe -> [wait for the API] -> [wait for the usage reset] ->
//	[probe after the reset] -> [save state] -> exec
//
// The first three and "resolve credential" are entrypoint/internal/prelude's,
// shared with health. Behind a credential gateway (SLEEVE_CHECK_GATEWAY)
// "ask the gateway" learns the fleet credential's kind and verdict, claude
// gets the gateway as its API and the sleeve's key as its credential, a
// real credential in the sleeve stops the start (exit 3), and the probe
// is the gateway's answer: twelve sleeves cost the API one probe. "read root-only files" reads the *_FILE secrets and
// the seed with the rights the container started with, before the switch
// to --user; every later step runs as the sleeve user, and a start with a
// command notes (starting.json) the step it is in once that step has run
// 100 ms, for health checks ("starting: ..."); a quick start writes no
// note. A step that runs over 2 s says so at the default level. The config
// is prepared before the probe because the CLI probe is Claude Code, which
// reads it. One deadline, SLEEVE_CHECK_START_TIMEOUT, covers every step
// but the two waits (each has its own cap) and saving the state: past it
// the start stops with the exit code of the step it was in, and says
// "start timeout". Each step that fails leaves one Finding whose Code is
// the exit status, and one sentence on stderr with a hint.
//
// The start leaves state.json (its report, its settings, its home) and
// probe.json (the last API verdict) in the state directory
// (entrypoint/internal/state), for entrypoint/health.
package start
