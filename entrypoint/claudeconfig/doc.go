// Package claudeconfig prepares Claude Code's own config files so that it
// starts without a screen that waits for a person, and reads them back.
//
// Claude Code keeps two kinds of file: the global config (.claude.json in
// the home or $CLAUDE_CONFIG_DIR, or a legacy .config.json), which holds
// hasCompletedOnboarding, the trusted projects and the approved API keys,
// and settings.json in the config directory (skipDangerousModePermissionPrompt).
// Prepare sets what a ConfigPlan asks for and nothing else.
//
// Every write is a merge under Claude Code's own lock (EditJSON): the
// directory <file>.lock that Claude Code makes with mkdir before it saves,
// read again under that lock, changed, and written back only if something
// changed - atomically, or in place where a single-file bind mount makes
// rename impossible. Unknown keys and number precision survive; a corrupt
// file is kept beside the new one, never lost; a symlink to a volume stays
// a link. Failures are *FileError values with an ID, one sentence and a
// hint.
//
// TopLevel reads a few top-level keys of a config that may have grown to
// tens of MB in one bounded pass (the health check's read).
package claudeconfig
