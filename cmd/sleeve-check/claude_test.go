package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// realClaude is the real Claude Code CLI the tests run: under
// --probe=auto a subscription token is proved by Claude Code itself, so
// every script that starts with one runs it. make test installs the
// pinned release (e2e/tools/install-claude.sh) and names it in
// SLEEVE_CHECK_TEST_CLAUDE; go test alone finds that install in .cache.
func realClaude() (string, error) {
	if p := os.Getenv("SLEEVE_CHECK_TEST_CLAUDE"); p != "" {
		return p, nil
	}
	v, err := os.ReadFile("../../e2e/fixtures/claude-version")
	if err != nil {
		return "", err
	}
	cache := filepath.Join("..", "..", ".cache", "claude-code-"+strings.TrimSpace(string(v)), "node_modules", "@anthropic-ai")
	for _, p := range []string{filepath.Join(cache, "claude-code-linux-x64", "claude"), filepath.Join(cache, "claude-code-linux-arm64", "claude")} {
		if abs, err := filepath.Abs(p); err == nil {
			if _, err := os.Stat(abs); err == nil {
				return abs, nil
			}
		}
	}
	return "", fmt.Errorf("the real Claude Code CLI is not installed: run e2e/tools/install-claude.sh (make test does), or set SLEEVE_CHECK_TEST_CLAUDE to a claude binary")
}

// claudeDir is a directory holding `claude`, the real CLI, for PATH.
func claudeDir(parent string) (string, error) {
	bin, err := realClaude()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(parent, ".claude-bin")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	return dir, os.Symlink(bin, filepath.Join(dir, "claude"))
}

// pathWithClaude is PATH with the real claude first, for tests that run
// the binary with an environment of their own.
func pathWithClaude(t testing.TB) string {
	dir, err := claudeDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return dir + string(os.PathListSeparator) + os.Getenv("PATH")
}
