package claudecli

import "testing"

func TestParse(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want Command
	}{
		{nil, Command{}},
		{[]string{"--dangerously-skip-permissions"}, Command{Bypass: true}},
		{[]string{"--permission-mode", "bypassPermissions"}, Command{Bypass: true}},
		{[]string{"--permission-mode=bypassPermissions", "fix it"}, Command{Bypass: true, Prompt: true}},
		{[]string{"--model", "sonnet"}, Command{Model: "sonnet"}},
		{[]string{"--model", "sonnet", "fix the tests"}, Command{Prompt: true, Model: "sonnet"}},
		{[]string{"fix the tests"}, Command{Prompt: true}},
		{[]string{"-p"}, Command{Print: true}},
		{[]string{"--print", "hello"}, Command{Print: true, Prompt: true}},
		{[]string{"--version"}, Command{Info: true}},
		{[]string{"-h"}, Command{Info: true}},
		{[]string{"mcp", "list"}, Command{Sub: "mcp"}},
		{[]string{"--model", "opus", "doctor"}, Command{Sub: "doctor", Model: "opus"}},
		// Observed with 2.1.332: --debug takes the next word as its filter.
		{[]string{"--debug", "say hi"}, Command{}},
		{[]string{"--debug", "--model", "x"}, Command{Model: "x"}},
		{[]string{"-p", "task", "--model", "claude-x", "--dangerously-skip-permissions"}, Command{Print: true, Prompt: true, Model: "claude-x", Bypass: true}},
		{[]string{"mcp", "add", "--model", "m"}, Command{Sub: "mcp"}},
		{[]string{"--add-dir", "/a", "/b"}, Command{}},
		{[]string{"--add-dir", "/a", "--verbose", "go"}, Command{Prompt: true}},
		{[]string{"--", "-starts with a dash"}, Command{Prompt: true}},
		// An unknown flag is a switch: its value reads as a prompt (never a false stop).
		{[]string{"--some-new-flag", "value"}, Command{Prompt: true}},
	} {
		if got := Parse(tt.args); got != tt.want {
			t.Errorf("%q: %+v, want %+v", tt.args, got, tt.want)
		}
	}
	if !IsClaude([]string{"/usr/local/bin/claude"}) || IsClaude([]string{"claude-wrapper"}) || IsClaude(nil) {
		t.Fatal("IsClaude")
	}
}

// A word of the prompt that names a subcommand is still the prompt.
func TestPromptWordsAreNotSubcommands(t *testing.T) {
	for _, args := range [][]string{{"fix", "the", "config"}, {"-p", "review", "the", "install", "--model", "x"}} {
		c := Parse(args)
		if c.Sub != "" || !c.Prompt {
			t.Errorf("%q: %+v", args, c)
		}
	}
	if c := Parse([]string{"-p", "review", "the", "install", "--model", "x"}); c.Model != "x" {
		t.Errorf("model %q", c.Model)
	}
}
