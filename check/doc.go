// Package check decides which credential Claude Code will use and what is
// wrong with it, before anything is started.
//
// Resolve mirrors Claude Code's own precedence: a cloud provider switch
// (CLAUDE_CODE_USE_BEDROCK, _VERTEX, _FOUNDRY), then ANTHROPIC_AUTH_TOKEN,
// ANTHROPIC_API_KEY, an apiKeyHelper, CLAUDE_CODE_OAUTH_TOKEN, and last the
// /login credentials file (<config dir>/.credentials.json). The variables
// are looked up as Claude Code sees them: the env blocks of the settings
// files (user, project, local, managed) over the *_FILE secrets
// (LoadSecrets, read before any user switch) over the process
// environment. Values are trimmed the way Claude Code trims them. The
// winner is checked for shape (CheckToken: quotes, "Bearer ", a whole
// env-file line, the wrong kind of token, a cut length), and a credentials
// file for its JSON, scopes and expiry (ParseCredentials, CheckExpiry);
// every credential it hides is named, with what that costs.
//
// The outcome is a Resolution: the selected Credential, the paths Claude
// Code will use (home, config directory, global config, credentials
// file), and Findings. A Finding is one sentence and one hint; an Error
// finding carries a Code, and Table is the one exit-code table that
// --help and the README print. A credential's value is a Secret, which
// prints only as a Fingerprint (kind, source, length, last 4).
//
// Whether the API accepts the credential is the job of check/probe; the
// fake API it is tested against is check/anthropictest.
package check
