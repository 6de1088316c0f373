// Package outcome is the vocabulary every part of sleeve-check speaks:
// a Finding (one sentence and a hint, with its Severity), the exit Code
// it maps to and the one table of codes, and the two small readers and
// writers of words operators see (Human for a duration, Truthy for a
// switch). It imports nothing of the module, so the credential logic,
// the probe and Claude Code's config each import only what they use.
package outcome
