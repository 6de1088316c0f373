package check

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// CLIProbeConfig is how to run the unmodified Claude Code binary as the
// probe: the sanctioned way to exercise a subscription token.
type CLIProbeConfig struct {
	Path    string   // the claude binary
	Env     []string // its environment (the one the command will get)
	Dir     string
	Timeout time.Duration // hard: the process group is killed after it
	// BaseURL is ANTHROPIC_BASE_URL, whose secret parts are scrubbed from
	// what claude prints.
	BaseURL string
	Strict  bool
	// WarnUnavailable as in ProbeConfig.
	WarnUnavailable bool
}

// CLIArgs are the arguments of the probe: one tiny prompt, JSON out, no
// session kept, no tools, one turn.
var CLIArgs = []string{"-p", ".", "--max-turns", "1", "--output-format", "json", "--no-session-persistence", "--tools", ""}

// ProbeCLI runs `claude -p` once and classifies its JSON result into the
// same verdicts as the http probe.
func ProbeCLI(ctx context.Context, cfg CLIProbeConfig) Verdict {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, cfg.Path, CLIArgs...)
	// No retries inside claude: a 429 or 529 is then reported at once
	// instead of being waited out past the deadline (Claude Code honours
	// retry-after and retries 10 times by default).
	cmd.Env, cmd.Dir = append(append([]string(nil), cfg.Env...), "CLAUDE_CODE_MAX_RETRIES=0"), cfg.Dir
	// Its own process group, so a timeout kills claude and whatever it started.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &limitedWriter{w: &stdout, n: 1 << 20}
	cmd.Stderr = &limitedWriter{w: &stderr, n: 64 << 10}
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil && ctx.Err() == nil:
		v := verdict("unavailable", StatusUnknown, Error, Config, "probe_cli_start", fmt.Sprintf("cannot run %s: %v", strconv.Quote(cfg.Path), err),
			"install Claude Code in the image, or use --probe=http")
		v.ElapsedMS = time.Since(start).Milliseconds()
		return v
	}
	var v Verdict
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		v = verdict("interrupted", StatusUnknown, Error, Interrupted, "probe_interrupted", "the probe was interrupted", "")
	case ctx.Err() != nil:
		v = unavailable(ProbeConfig{WarnUnavailable: cfg.WarnUnavailable}, "probe_cli_timeout",
			fmt.Sprintf("claude -p gave no answer within %s and was killed", cfg.Timeout), "check the network; raise SLEEVE_CHECK_PROBE_TIMEOUT on a slow link")
	default:
		v = ClassifyCLI(stdout.Bytes(), stderr.Bytes(), code, cfg)
	}
	v.Attempts = 1
	v.ElapsedMS = time.Since(start).Milliseconds()
	v.scrubURL(cfg.BaseURL)
	return v
}

// cliResult is the part of claude -p's JSON result that matters here.
type cliResult struct {
	Type           string  `json:"type"`
	IsError        bool    `json:"is_error"`
	APIErrorStatus *int    `json:"api_error_status"`
	APIErrorType   string  `json:"api_error_type"`
	Result         string  `json:"result"`
	Subtype        string  `json:"subtype"`
	Cost           float64 `json:"total_cost_usd"`
}

// ClassifyCLI maps claude -p's output to a verdict.
func ClassifyCLI(stdout, stderr []byte, exitCode int, cfg CLIProbeConfig) Verdict {
	var r cliResult
	found := false
	// The result is the last JSON object printed.
	lines := bytes.Split(bytes.TrimSpace(stdout), []byte("\n"))
	for i := len(lines) - 1; i >= 0 && !found; i-- {
		if json.Unmarshal(lines[i], &r) == nil && r.Type == "result" {
			found = true
		}
	}
	pcfg := ProbeConfig{Strict: cfg.Strict, WarnUnavailable: cfg.WarnUnavailable, Model: "the default model"}
	if !found {
		what := excerpt(stderr)
		if len(bytes.TrimSpace(stderr)) == 0 {
			what = excerpt(stdout)
		}
		return unavailable(pcfg, "probe_cli_no_result", fmt.Sprintf("claude -p printed no result (exit %d): %s", exitCode, what),
			"run the same claude -p by hand in the sleeve to see why")
	}
	msg := clean(r.Result, maxShownMessage)
	tail := fmt.Sprintf(" (claude -p: %s)", msg)
	if !r.IsError {
		v := verdict("valid", StatusValid, Info, OK, "probe_valid", "claude -p ran a turn with the credential", "")
		v.HTTPStatus = 200
		return v
	}
	status := 0
	if r.APIErrorStatus != nil {
		status = *r.APIErrorStatus
	}
	// The same classes as the http probe, decided on the status and message
	// claude reports.
	a := lastAnswer{status: status, header: map[string][]string{}, tail: tail, once: true,
		apiErr: &APIError{Type: clean(r.APIErrorType, 64), Message: clean(apiMessage(r.Result), maxShownMessage), Anthropic: true}}
	if status == 429 && !isSpendCap(r.Result) {
		// claude does not print the header; its words tell a rate limit
		// ("not your usage limit") from a spend cap.
		a.header.Set("Retry-After", "1")
	}
	var v Verdict
	if status == 0 {
		v = unavailable(pcfg, "probe_cli_error", "claude -p failed without an API status"+tail, "run the same claude -p by hand in the sleeve to see why")
	} else {
		v = classify(a, pcfg, "the API")
	}
	v.HTTPStatus, v.ErrorType = status, clean(r.APIErrorType, 64)
	return v
}

// apiMessage takes the API's own words out of claude's result text, e.g.
// "Failed to authenticate. API Error: 401 OAuth token has expired. ...".
func apiMessage(result string) string {
	if i := strings.Index(result, "API Error: "); i >= 0 {
		rest := result[i+len("API Error: "):]
		if j := strings.IndexByte(rest, ' '); j > 0 && j <= 3 {
			rest = rest[j+1:]
		}
		return rest
	}
	return result
}

type limitedWriter struct {
	w io.Writer
	n int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if l.n <= 0 {
		return len(p), nil
	}
	q := p
	if len(q) > l.n {
		q = q[:l.n]
	}
	l.n -= len(q)
	l.w.Write(q)
	return len(p), nil
}

func isSpendCap(msg string) bool {
	m := strings.ToLower(msg)
	if strings.Contains(m, "not your usage limit") {
		return false
	}
	return strings.Contains(m, "usage limit") || strings.Contains(m, "spend")
}
