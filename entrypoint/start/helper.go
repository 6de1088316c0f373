package start

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"sleeve-check/check"
	"sleeve-check/entrypoint/internal/pipeline"
	"sleeve-check/internal/outcome"
)

// helperTimeout is how long Claude Code waits for an apiKeyHelper (10
// minutes in 2.1.332, read from its code; a helper that sleeps held claude
// -p past 40 s). A start gives it no more, and usually less: what is left
// of SLEEVE_CHECK_START_TIMEOUT.
const helperTimeout = 10 * time.Minute

// helperStep runs the apiKeyHelper and returns its key.
var helperStep = pipeline.Step{Name: "run apiKeyHelper", Waits: "the apiKeyHelper to print a key", Code: outcome.NoCredential}

// maxHelperOutput bounds what is read of a helper's output.
const maxHelperOutput = 64 << 10

// runKeyHelper is the start's step that runs the apiKeyHelper as Claude
// Code runs it (observed with 2.1.332: through /bin/sh -c, in the working
// directory, with the sleeve's environment, as the sleeve user, its
// standard output trimmed; no value, a failure or a key that is not
// printable ASCII fails), and returns the key it printed.
func runKeyHelper(parent context.Context, cred *check.Credential, env []string, cwd string) (check.Secret, outcome.Findings) {
	var fs outcome.Findings
	ctx, cancel := context.WithTimeout(parent, helperTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", cred.Helper)
	cmd.Env, cmd.Dir = env, cwd
	var stdout, stderr limitedBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// Its own process group, killed whole: a helper's children must not
	// keep the start waiting on their pipe.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	what := fmt.Sprintf("the %s (%s)", cred.Detail, cred.Source)
	hint := "run it by hand inside the sleeve, as the sleeve user, and fix it: it must print only the key on standard output"
	key := strings.TrimSpace(stdout.String())
	var ee *exec.ExitError
	switch {
	case parent.Err() != nil:
		// A signal, or the start deadline: the pipeline says which.
	case ctx.Err() != nil:
		fs.Errf(outcome.NoCredential, "api_key_helper_timeout", fmt.Sprintf("%s did not finish in %s, as long as Claude Code waits for it", what, helperTimeout), hint)
	case errors.As(err, &ee):
		fs.Errf(outcome.NoCredential, "api_key_helper_failed", fmt.Sprintf("%s exited %d%s, so Claude Code gets no key", what, ee.ExitCode(), helperStderr(stderr.String())), hint)
	case err != nil:
		fs.Errf(outcome.NoCredential, "api_key_helper_failed", fmt.Sprintf("%s could not be run: %v", what, err), hint)
	case key == "":
		fs.Errf(outcome.NoCredential, "api_key_helper_empty", what+" printed nothing, so Claude Code gets no key (\"apiKeyHelper failed: did not return a value\")", hint)
	case !printableASCII(key):
		fs.Errf(outcome.Malformed, "api_key_helper_output", what+" printed output that cannot be used as an API key (not printable ASCII): Claude Code refuses it", hint)
	default:
		s := check.NewSecret(key)
		fs.Note("api_key_helper_ran", fmt.Sprintf("%s printed a key of length %d ending ...%s", what, s.Len(), s.Last4()))
		return s, fs
	}
	return check.Secret{}, fs
}

// helperStderr is the last line of a failed helper's standard error, for
// the message: at most 200 characters, and every word long enough to be a
// key left out, since a helper may print one there.
func helperStderr(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	last := strings.TrimSpace(lines[len(lines)-1])
	if last == "" {
		return ""
	}
	words := strings.Fields(last)
	for i, w := range words {
		if len(w) > 24 || !printableASCII(w) {
			words[i] = "[...]"
		}
	}
	last = strings.Join(words, " ")
	if len(last) > 200 {
		last = last[:200] + "..."
	}
	return ": " + last
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// limitedBuffer keeps the first maxHelperOutput bytes written to it and
// drops the rest, so that a helper cannot fill the memory.
type limitedBuffer struct{ bytes.Buffer }

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := maxHelperOutput - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
