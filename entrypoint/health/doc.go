// Package health is the image's HEALTHCHECK (`sleeve-check health`): one
// short line on stdout, exit 0 (healthy) or 1 (unhealthy), or with --json
// the report with its health part. It never writes Claude Code's config,
// never refreshes a token, never starts anything.
//
// Adopt first reads the state the start left (entrypoint/internal/state)
// and gives the check the start's settings below its own (Docker runs it
// without the ENTRYPOINT's flags). A start still in its steps reads
// "starting: ..." (unhealthy, as Docker's start period expects); one
// waiting in place as it was told reads healthy with a warning; a
// Protectorate sleeve's keeper verdict, when there is one, is reported as
// it is. Otherwise Run is a short pipeline of its own:
//
//	read root-only files -> [switch user] -> [ask the gateway] ->
//	resolve credential -> check the sleeve -> [recall the API's verdict
//	-> [ask the API]]
//
// The first four are entrypoint/internal/prelude's, shared with the
// start. Behind a credential gateway "ask the API" asks the gateway every
// time (it costs the API nothing), so that a gateway that stopped or a
// revoked key shows at the next check, and heals without a restart. "check the sleeve" asks claudeconfig about the welcome screen and
// compares the credential with the start's (its keyed identity); "recall
// the API's verdict" reuses the last verdict for SLEEVE_CHECK_HEALTH_TTL,
// and "ask the API" probes (entrypoint/internal/proof) once it is stale.
// Only a step that waits on the outside (the gateway, the API) has the
// check catch its signals (sleeve.Catcher): a check from its cache is
// over before catching them would have paid off.
package health
