// Package gateway is `sleeve-check gateway`: the credential gateway. It
// holds the fleet's one credential, and the sleeves hold only keys of
// their own, so that no command an agent runs in a sleeve can read the
// credential (from its environment, /proc or a file): there is none.
//
//	sleeve-check gateway [flags]      serve (SIGTERM drains and exits 0)
//	sleeve-check gateway key NAME     print sleeve NAME's key
//	sleeve-check gateway health       the gateway container's HEALTHCHECK (one line, 0 or 1)
//
// The fleet credential is found and judged by the same code as a start's
// (CLAUDE_CODE_OAUTH_TOKEN or its _FILE, the credentials file,
// ANTHROPIC_API_KEY, ANTHROPIC_AUTH_TOKEN), with the same findings and
// exit codes; ANTHROPIC_BASE_URL, HTTPS_PROXY/NO_PROXY, SSL_CERT_FILE and
// NODE_EXTRA_CA_CERTS say how the API is reached, as for claude.
//
// Keys. A sleeve's key is derived from the gateway's secret
// (SLEEVE_CHECK_GATEWAY_SECRET or _FILE, 32 bytes or more) and the
// sleeve's name (package fleet): no database, and a name is revoked by
// listing it in the file SLEEVE_CHECK_GATEWAY_REVOKED, with no new fleet
// credential. A missing, unknown, foreign or revoked key gets 401 in the
// API's error shape and never reaches the API.
//
// Routes. Only Claude Code's (found with 2.1.332, interactive and -p, an
// OAuth token and an API key): HEAD or GET /api/hello (its connectivity
// check, which carries no credential: the gateway answers it itself),
// POST /v1/messages and POST /v1/messages/count_tokens. Every other route
// answers 404 in the API's error shape without going upstream; the
// gateway's own are GET /status and GET /sleeve-check/v1/fleet (a
// sleeve's ask). On the way up the client's credential is dropped and the
// fleet's set (a subscription token as Bearer, an API key as x-api-key);
// every other header goes on unchanged. With a subscription credential
// only Claude Code's own requests (user agent claude-cli/...) go up: the
// provider's terms reserve the token for Claude Code.
//
// The verdict. The gateway learns the credential's verdict and usage from
// the answers it carries (a success, every answer's
// anthropic-ratelimit-unified-* headers), and from one probe of its own
// while it knows nothing fresh: for a subscription token that probe is
// Claude Code, claude -p through the gateway itself. An error answer to
// one sleeve's request (401, 403, 402, a 5xx, no answer) sends the probe,
// once a minute at most, and only the probe's answer becomes the fleet's
// error: a sleeve chooses its requests, and must not stop the others. A sleeve's
// start and health check ask it (GET /sleeve-check/v1/fleet) instead of
// probing, so twelve sleeves started together cost one probe.
//
// Caps. One sleeve may have SLEEVE_CHECK_GATEWAY_MAX_CONCURRENT requests
// in flight, and use SLEEVE_CHECK_GATEWAY_SLEEVE_SHARE of the 5-hour
// window (the rise in its utilization across the sleeve's own answers);
// past either a 429 in the API's shape, with retry-after, names the cap.
//
// Transport. Streams pass event by event; a client that goes away
// cancels its upstream request; bodies over 32 MiB get 413; a header must
// arrive within 10 s, a sleeve's body within 5 min, and a body the gateway
// does not read is not waited for (it answers and closes); no timeout
// cuts a long answer. The route goes up as checked, not as escaped. It listens on loopback unless told otherwise (--listen), with
// https when given a certificate and key.
package gateway
