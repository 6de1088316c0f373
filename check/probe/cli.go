package probe

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

	"sleeve-check/check"
)

// CLIConfig is how to run the unmodified Claude Code binary as the
// probe: the sanctioned way to exercise a subscription token.
type CLIConfig struct {
	// Strict, WarnUnavailable and WarnUsageLimit say how the answer is judged (Judgement).
	Strict, WarnUnavailable, WarnUsageLimit bool
	Path                                    string   // the claude binary
	Env                                     []string // its environment (the one the command will get)
	Dir                                     string
	Timeout                                 time.Duration // hard: the process group is killed after it
	// BaseURL is ANTHROPIC_BASE_URL, whose secret parts are scrubbed from
	// what claude prints.
	BaseURL string
}

// CLIArgs are the arguments of the probe: one tiny prompt, JSON out, no
// session kept, no tools, one turn.
var CLIArgs = []string{"-p", ".", "--max-turns", "1", "--output-format", "json", "--no-session-persistence", "--tools", ""}

// CLI runs `claude -p` once and classifies its JSON result into the
// same verdicts as the HTTP probe.
func CLI(ctx context.Context, cfg CLIConfig) Verdict {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	stdout, stderr, code, err := runClaude(ctx, cfg)
	var v Verdict
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		v = interrupted()
	case ctx.Err() != nil:
		v = unavailable(question{Judgement: Judgement{cfg.Strict, cfg.WarnUnavailable, cfg.WarnUsageLimit}}, "probe_cli_timeout",
			fmt.Sprintf("claude -p gave no answer within %s and was killed", cfg.Timeout), "check the network; raise SLEEVE_CHECK_PROBE_TIMEOUT on a slow link")
	case err != nil:
		v = verdict(NotRun, check.StatusUnknown, check.Error, check.Config, "probe_cli_start", fmt.Sprintf("cannot run %s: %v", strconv.Quote(cfg.Path), err),
			"install Claude Code in the image, or use --probe=http")
	default:
		v = ClassifyCLI(stdout, stderr, code, cfg)
	}
	v.Attempts = 1
	v.ElapsedMS = time.Since(start).Milliseconds()
	v.scrubURL(cfg.BaseURL)
	return v
}

// runClaude runs the probe command in its own process group, so that a
// timeout kills claude and whatever it started. err is set only when it
// could not be run at all.
func runClaude(ctx context.Context, cfg CLIConfig) (stdout, stderr []byte, code int, err error) {
	cmd := exec.CommandContext(ctx, cfg.Path, CLIArgs...)
	// No retries inside claude: a 429 or 529 is then reported at once
	// instead of being waited out past the deadline (Claude Code honours
	// retry-after and retries 10 times by default).
	cmd.Env, cmd.Dir = append(append([]string(nil), cfg.Env...), "CLAUDE_CODE_MAX_RETRIES=0"), cfg.Dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	var out, errOut bytes.Buffer
	cmd.Stdout = &limitedWriter{w: &out, n: 1 << 20}
	cmd.Stderr = &limitedWriter{w: &errOut, n: 64 << 10}
	err = cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return out.Bytes(), errOut.Bytes(), ee.ExitCode(), nil
	}
	if ctx.Err() != nil {
		err = nil
	}
	return out.Bytes(), errOut.Bytes(), 0, err
}

// cliResult is the part of claude -p's JSON result that matters here.
type cliResult struct {
	Type           string `json:"type"`
	IsError        bool   `json:"is_error"`
	APIErrorStatus *int   `json:"api_error_status"`
	APIErrorType   string `json:"api_error_type"`
	// APIError is claude's own name for the refusal, e.g. usage_limit_reached.
	APIError string  `json:"api_error"`
	Result   string  `json:"result"`
	Subtype  string  `json:"subtype"`
	Cost     float64 `json:"total_cost_usd"`
}

// ClassifyCLI maps claude -p's output to a verdict: its result, read
// into an Answer, goes through the same classifier as an HTTP answer.
func ClassifyCLI(stdout, stderr []byte, exitCode int, cfg CLIConfig) Verdict {
	q := question{Judgement: Judgement{cfg.Strict, cfg.WarnUnavailable, cfg.WarnUsageLimit}, Source: "the API", Model: "the default model"}
	r, found := lastResult(stdout)
	if !found {
		what := excerpt(stderr)
		if len(bytes.TrimSpace(stderr)) == 0 {
			what = excerpt(stdout)
		}
		return unavailable(q, "probe_cli_no_result", fmt.Sprintf("claude -p printed no result (exit %d): %s", exitCode, what),
			"run the same claude -p by hand in the sleeve to see why")
	}
	tail := fmt.Sprintf(" (claude -p: %s)", clean(r.Result, maxShownMessage))
	if !r.IsError {
		v := verdict(Valid, check.StatusValid, check.Info, check.OK, "probe_valid", "claude -p ran a turn with the credential", "")
		v.HTTPStatus = 200
		return v
	}
	if r.APIErrorStatus == nil || *r.APIErrorStatus == 0 {
		v := unavailable(q, "probe_cli_error", "claude -p failed without an API status"+tail, "run the same claude -p by hand in the sleeve to see why")
		v.ErrorType = clean(r.APIErrorType, 64)
		return v
	}
	a := Answer{Status: *r.APIErrorStatus, Detail: tail, Once: true,
		API: APIError{Type: clean(r.APIErrorType, 64), Message: clean(apiMessage(r.Result), maxShownMessage), Anthropic: true},
		// claude does not print the headers; its words tell a rate limit
		// ("not your usage limit") from a spend cap.
		WaitHelps: !isSpendCap(r.Result), At: time.Now()}
	if r.APIError == "usage_limit_reached" {
		// claude -p's JSON names the refusal but not when it ends (2.1.332
		// prints the reset only in its sentence, which is not parsed).
		a.Usage = &Usage{Status: "rejected"}
	}
	return classify(a, q)
}

// lastResult finds the result: the last JSON object printed.
func lastResult(stdout []byte) (cliResult, bool) {
	var r cliResult
	lines := bytes.Split(bytes.TrimSpace(stdout), []byte("\n"))
	for i := len(lines) - 1; i >= 0; i-- {
		if json.Unmarshal(lines[i], &r) == nil && r.Type == "result" {
			return r, true
		}
		r = cliResult{}
	}
	return r, false
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
