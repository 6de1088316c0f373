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

	"github.com/rs/zerolog"

	"sleeve-check/check"
	"sleeve-check/internal/outcome"
	"sleeve-check/internal/safefile"
)

// CLIConfig is how to run the unmodified Claude Code binary as the
// probe: the sanctioned way to exercise a subscription token.
type CLIConfig struct {
	// Strict, WarnUnavailable and WarnUsageLimit say how the answer is judged (Judgement).
	Strict, WarnUnavailable, WarnUsageLimit bool
	// RequireTLS refuses a plain-http base URL off loopback.
	RequireTLS bool
	Path       string   // the claude binary
	Env        []string // its environment (the one the command will get)
	Dir        string
	Timeout    time.Duration // hard: the process group is killed after it
	// Model is the model of the probe: claude's own when it sets one
	// (ModelSource says where), else SLEEVE_CHECK_PROBE_MODEL.
	Model, ModelSource string
	// BaseURL is ANTHROPIC_BASE_URL, whose secret parts are scrubbed from
	// what claude prints, and which words a 404; BaseURLSource names it.
	BaseURL, BaseURLSource string
	// RetryWaitMin and RetryWaitMax bound the backoff between runs while
	// the API is unavailable or rate-limiting, within Timeout: the HTTP
	// probe's policy (claude itself is told not to retry).
	RetryWaitMin, RetryWaitMax time.Duration
	// Log gets a line per run that is tried again (at the default level
	// once the probe has taken 2 s).
	Log zerolog.Logger
}

// The cheapest sanctioned run, kept in one place: one turn of a tiny
// prompt on the probe model, the answer as a stream (the only output that
// carries the rate_limit_event with the usage windows), no tools, no MCP
// server started, no session saved. Measured with 2.1.332 against the
// fake: 0.4-0.6 s and about 200 MB (BENCHMARKS.md).
func CLIArgs(model string) []string {
	return []string{"-p", ".", "--max-turns", "1", "--output-format", "stream-json", "--verbose",
		"--model", model, "--tools", "", "--strict-mcp-config", "--no-session-persistence"}
}

// CLIEnv is added to the command's environment for the probe: no retries
// inside claude (a 429 or 529 is then reported at once instead of being
// waited out past the deadline; Claude Code retries 10 times by default),
// and no update check, telemetry or error reports.
var CLIEnv = []string{"CLAUDE_CODE_MAX_RETRIES=0", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1", "DISABLE_AUTOUPDATER=1"}

// EventSince is the first Claude Code release that prints the
// rate_limit_event in its stream (found by bisecting the npm releases
// against the fake); each window (unifiedWindows) is there from 2.1.242,
// before it the binding window alone, with its utilization only in the
// warning zone.
const EventSince = "2.1.45"

// CLI runs `claude -p` and classifies its stream into the same verdicts
// as the HTTP probe; while the API is unavailable or rate-limiting it runs
// claude again, with the HTTP probe's backoff, within cfg.Timeout.
func CLI(ctx context.Context, cfg CLIConfig) Verdict {
	start := time.Now()
	if cfg.BaseURL != "" {
		// The same refusals as the HTTP probe, before claude is started.
		if _, bad := checkBaseURL(cfg.BaseURL, cfg.RequireTLS, question{Source: cfg.BaseURLSource}); bad != nil {
			bad.scrubURL(cfg.BaseURL)
			return *bad
		}
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	v := cliRetries(ctx, cfg, start)
	v.ElapsedMS = time.Since(start).Milliseconds()
	v.scrubURL(cfg.BaseURL)
	return v
}

// cliRetries runs claude -p until its answer is not one that time heals
// (the API unavailable or rate-limiting), or the deadline leaves no room
// for another run: the HTTP probe's retry policy, with claude -p as the
// request.
func cliRetries(ctx context.Context, cfg CLIConfig, start time.Time) Verdict {
	deadline, _ := ctx.Deadline()
	var prev Verdict
	for attempt := 1; ; attempt++ {
		began := time.Now()
		v := cliOnce(ctx, cfg)
		took := time.Since(began)
		v.Attempts = attempt
		if attempt > 1 && v.Finding.ID == "probe_cli_timeout" {
			// A run cut short by the probe's own deadline says less than
			// the answer before it.
			return gaveUp(prev, attempt, start)
		}
		if (v.Class != Unavailable && v.Class != RateLimited) || v.Finding.ID == "probe_cli_timeout" || ctx.Err() != nil {
			return v
		}
		left := time.Until(deadline)
		wait := backoff(cfg.RetryWaitMin, cfg.RetryWaitMax, attempt)
		// Another run only when it has the time this one took, and more.
		if cfg.RetryWaitMax <= 0 || wait+took*3/2+time.Second > left {
			return gaveUp(v, attempt, start)
		}
		ev := cfg.Log.Debug()
		if time.Since(start)+wait >= progressAfter {
			ev = cfg.Log.Info()
		}
		ev.Msgf("probe attempt %d: %s; trying again in %s, %s left of SLEEVE_CHECK_PROBE_TIMEOUT", attempt, v.Finding.Message, wait.Round(100*time.Millisecond), left.Round(time.Second))
		prev = v
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return gaveUp(v, attempt, start)
		}
	}
}

// gaveUp is the last verdict of attempts runs, saying so when there was
// more than one.
func gaveUp(v Verdict, attempts int, start time.Time) Verdict {
	v.Attempts = attempts
	if attempts > 1 {
		v.Finding.Message += gaveUpWords(attempts, time.Since(start).Round(time.Second))
	}
	return v
}

// cliOnce runs claude -p once and judges what it printed.
func cliOnce(ctx context.Context, cfg CLIConfig) Verdict {
	stdout, stderr, code, err := runClaude(ctx, cfg)
	var v Verdict
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		v = interrupted()
	case ctx.Err() != nil:
		v = unavailable(question{Judgement: Judgement{cfg.Strict, cfg.WarnUnavailable, cfg.WarnUsageLimit}}, "probe_cli_timeout",
			fmt.Sprintf("claude -p gave no answer within %s and was killed", cfg.Timeout), "check the network; raise SLEEVE_CHECK_PROBE_TIMEOUT on a slow link")
	case err != nil:
		// What the file says of itself tells how it was installed (npm's
		// placeholder is a script without #!, so exec gives ENOEXEC).
		head, _, _ := safefile.Read(cfg.Path, 4096, safefile.Options{})
		v = ClaudeCannotRun(cfg.Path, fmt.Sprintf("claude at %s cannot be run: %v", strconv.Quote(cfg.Path), err), string(head))
	default:
		v = ClassifyCLI(stdout, stderr, code, cfg)
	}
	return v
}

// runClaude runs the probe command in its own process group, so that a
// timeout kills claude and whatever it started. err is set only when it
// could not be run at all.
func runClaude(ctx context.Context, cfg CLIConfig) (stdout, stderr []byte, code int, err error) {
	cmd := exec.CommandContext(ctx, cfg.Path, CLIArgs(cfg.Model)...)
	cmd.Env, cmd.Dir = append(append([]string(nil), cfg.Env...), CLIEnv...), cfg.Dir
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

// ClassifyCLI maps claude -p's stream to a verdict: its result, read
// into an Answer with the usage of its rate_limit_event, goes through the
// same classifier as an HTTP answer.
func ClassifyCLI(stdout, stderr []byte, exitCode int, cfg CLIConfig) Verdict {
	q := question{Judgement: Judgement{cfg.Strict, cfg.WarnUnavailable, cfg.WarnUsageLimit}, Source: "the API", Model: cfg.Model, ModelSource: cfg.ModelSource, BaseURL: cfg.BaseURL}
	if q.Model == "" {
		q.Model = "the default model"
	}
	if cfg.BaseURLSource != "" {
		q.Source = cfg.BaseURLSource
	}
	st := readStream(stdout, time.Now())
	r := st.result
	if !st.found {
		what := excerpt(stderr)
		if len(bytes.TrimSpace(stderr)) == 0 {
			what = excerpt(stdout)
		}
		if !st.started && exitCode != 0 {
			// Not one line of its stream: claude never got as far as the
			// API (observed with 2.1.332's npm stub, "claude native binary
			// not installed", and with releases that refuse the probe's
			// options), so the API is not the one to blame.
			return ClaudeCannotRun(cfg.Path, fmt.Sprintf("claude -p exited %d before it started: %s", exitCode, what), string(stderr))
		}
		return unavailable(q, "probe_cli_no_result", fmt.Sprintf("claude -p printed no result (exit %d): %s", exitCode, what),
			"run the same claude -p by hand in the sleeve to see why")
	}
	tail := fmt.Sprintf(" (claude -p: %s)", clean(r.Result, maxShownMessage))
	if !r.IsError {
		v := verdict(Valid, check.StatusValid, outcome.Info, outcome.OK, "probe_valid", "claude -p ran a turn with the credential", "")
		v.HTTPStatus, v.Usage = 200, st.usage
		if !st.event {
			v.UsageUnknown = fmt.Sprintf("claude %s does not report the subscription's usage (releases from %s on do)", st.versionWords(), EventSince)
		}
		return v
	}
	if r.APIErrorStatus == nil || *r.APIErrorStatus == 0 {
		v := unavailable(q, "probe_cli_error", "claude -p failed without an API status"+tail, "run the same claude -p by hand in the sleeve to see why")
		v.ErrorType = clean(r.APIErrorType, 64)
		return v
	}
	a := Answer{Status: *r.APIErrorStatus, Detail: tail, Once: true, Usage: st.usage,
		API: APIError{Type: clean(r.APIErrorType, 64), Message: clean(apiMessage(r.Result), maxShownMessage), Anthropic: true},
		// claude does not print the headers; its words tell a rate limit
		// ("not your usage limit") from a spend cap.
		WaitHelps: !isSpendCap(r.Result), At: time.Now()}
	if r.APIError == "usage_limit_reached" && !a.Usage.Rejected() {
		// Releases before the event name the refusal but not its reset.
		a.Usage = &Usage{Status: "rejected"}
	}
	if a.Status == 404 {
		a.API, a.Detail = notFoundAnswer(r.Result, cfg.BaseURL, q.Model, a.Detail)
	}
	return classify(a, q)
}

// notFoundAnswer: claude words every 404 as a problem with the model
// (observed with 2.1.332, for the API's model 404 and for a base URL that
// ends in /v1 alike, "There's an issue with the selected model"), so the
// base URL itself tells the /v1 mistake apart, as the HTTP probe words it.
func notFoundAnswer(result, baseURL, model, detail string) (APIError, string) {
	if strings.HasSuffix(strings.TrimRight(baseURL, "/"), "/v1") || !strings.Contains(strings.ToLower(result), "model") {
		return APIError{Type: "not_found_error", Message: "Not Found", Anthropic: true}, " (claude -p got HTTP 404, which it words as a problem with the model)"
	}
	return APIError{Type: "not_found_error", Message: "model: " + model, Anthropic: true}, detail
}

// cliStream is what matters in claude -p's stream-json output.
type cliStream struct {
	result cliResult
	found  bool
	// started: claude printed at least one line of its stream.
	started bool
	event   bool
	usage   *Usage
	version string
}

func (s cliStream) versionWords() string {
	if s.version == "" {
		return "(this release)"
	}
	return s.version
}

// streamLine is any line of the stream: the init line names the
// release, the rate_limit_event carries the usage, the last result ends it.
type streamLine struct {
	cliResult
	Version   string         `json:"claude_code_version"`
	RateLimit *rateLimitInfo `json:"rate_limit_info"`
}

// rateLimitInfo is claude's own reading of the unified headers.
type rateLimitInfo struct {
	Status      string                 `json:"status"`
	Overage     string                 `json:"overageStatus"`
	ResetsAt    json.Number            `json:"resetsAt"`
	Type        string                 `json:"rateLimitType"`
	Utilization *float64               `json:"utilization"`
	Windows     map[string]eventWindow `json:"unifiedWindows"`
}

type eventWindow struct {
	Utilization *float64    `json:"utilization"`
	ResetsAt    json.Number `json:"resetsAt"`
	Status      string      `json:"status"`
}

func readStream(stdout []byte, now time.Time) cliStream {
	var s cliStream
	for _, line := range bytes.Split(stdout, []byte("\n")) {
		var l streamLine
		if json.Unmarshal(bytes.TrimSpace(line), &l) != nil {
			continue
		}
		if l.Type != "" {
			s.started = true
		}
		switch l.Type {
		case "system":
			if l.Version != "" {
				s.version = clean(l.Version, 32)
			}
		case "rate_limit_event":
			s.event = true
			if l.RateLimit != nil {
				s.usage = l.RateLimit.usage(now)
			}
		case "result":
			s.result, s.found = l.cliResult, true
		}
	}
	return s
}

// usage is the event as the same Usage the HTTP probe reads from the
// headers, within the same bounds; nil when the event carries only a
// status (what claude says of an answer without the unified headers, such
// as an ordinary rate limit).
func (e *rateLimitInfo) usage(now time.Time) *Usage {
	u := &Usage{Status: oneOf(e.Status, statuses), Claim: oneOfKeys(e.Type, claims), ResetsAt: unixTime(e.ResetsAt.String(), now), Overage: oneOf(e.Overage, statuses)}
	for _, w := range windows {
		if ew, ok := e.Windows[w.long]; ok {
			u.addWindow(w.long, Window{Utilization: clamp(ew.Utilization), ResetsAt: unixTime(ew.ResetsAt.String(), now), Status: oneOf(ew.Status, statuses)})
		}
	}
	if u.Claim == "" && u.ResetsAt == nil && u.Windows == nil {
		return nil
	}
	if _, ok := u.Windows[u.Claim]; !ok && e.Utilization != nil && isWindow(u.Claim) {
		// Releases before unifiedWindows give the binding window alone.
		u.addWindow(u.Claim, Window{Utilization: clamp(e.Utilization), ResetsAt: u.ResetsAt, Status: u.Status})
	}
	return u
}

func (u *Usage) addWindow(long string, w Window) {
	if u.Windows == nil {
		u.Windows = map[string]Window{}
	}
	u.Windows[long] = w
}

func isWindow(long string) bool {
	for _, w := range windows {
		if w.long == long {
			return true
		}
	}
	return false
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

// ClaudeCannotRun is the verdict on a claude binary at path that cannot
// run: msg says what happened, and the hint names the binary and how it
// was installed (read from its path and what it printed on stderr).
func ClaudeCannotRun(path, msg, stderr string) Verdict {
	hint := fmt.Sprintf("run %s --version in the sleeve as the sleeve user; reinstall Claude Code in the image if it fails", strconv.Quote(path))
	switch {
	case strings.Contains(stderr, "native binary not installed"):
		// The npm package's placeholder: its postinstall did not run
		// (npm --ignore-scripts) or the platform package was left out
		// (--omit=optional).
		hint = fmt.Sprintf("%s is the npm package's placeholder: its native binary was not installed (npm ran with --ignore-scripts or --omit=optional); reinstall @anthropic-ai/claude-code without them, or run node install.cjs in the package", strconv.Quote(path))
	case strings.Contains(path, "node_modules/@anthropic-ai/claude-code/"):
		hint = fmt.Sprintf("%s comes from the npm package @anthropic-ai/claude-code; reinstall it (npm install -g @anthropic-ai/claude-code) and check that its platform package was installed too", strconv.Quote(path))
	case strings.Contains(path, "/.local/"):
		hint = fmt.Sprintf("%s comes from Claude Code's native installer; install it again as the sleeve user (claude install), or put the release in the image", strconv.Quote(path))
	}
	return verdict(ClaudeBroken, check.StatusUnknown, outcome.Error, outcome.ClaudeBroken, "probe_claude_broken", msg+", so the credential was not checked", hint)
}
