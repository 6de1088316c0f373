package probe

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"sleeve-check/check"
	"sleeve-check/internal/outcome"
)

// Outputs of claude 2.1.332 -p --output-format json, as seen against the
// fake API (trimmed to the fields that matter).
func TestClassifyCLI(t *testing.T) {
	for _, c := range []struct {
		name, out string
		exit      int
		cfg       CLIConfig
		code      outcome.Code
		sev       outcome.Severity
		class     Class
		status    check.Status
		msg       string
	}{
		{"valid", `{"type":"result","subtype":"success","is_error":false,"api_error_status":null,"result":"Hello from the fake API"}`, 0, CLIConfig{},
			outcome.OK, outcome.Info, "valid", check.StatusValid, "claude -p ran a turn"},
		{"expired", `{"type":"result","subtype":"success","is_error":true,"api_error_status":401,"api_error_type":"authentication_error","result":"Failed to authenticate. API Error: 401 OAuth token has expired. Please obtain a new token or refresh your existing token."}`, 1, CLIConfig{},
			outcome.Rejected, outcome.Error, "rejected", check.StatusExpired, "has expired (claude -p: Failed to authenticate. API Error: 401 OAuth token has expired"},
		{"revoked", `{"type":"result","is_error":true,"api_error_status":403,"api_error_type":"permission_error","result":"API Error: 403 OAuth token has been revoked. Please obtain a new token."}`, 1, CLIConfig{},
			outcome.Rejected, outcome.Error, "rejected", check.StatusInvalid, "has been revoked"},
		{"rate limited", `{"type":"result","is_error":true,"api_error_status":429,"api_error_type":"rate_limit_error","result":"API Error: Server is temporarily limiting requests (not your usage limit) · Number of request tokens has exceeded your per-minute rate limit."}`, 1, CLIConfig{},
			outcome.OK, outcome.Warning, "rate_limited", check.StatusValid, "starting anyway"},
		{"rate limited strict", `{"type":"result","is_error":true,"api_error_status":429,"result":"API Error: Server is temporarily limiting requests (not your usage limit)"}`, 1, CLIConfig{Strict: true},
			outcome.RateLimited, outcome.Error, "rate_limited", check.StatusValid, "rate-limiting"},
		{"spend cap", `{"type":"result","is_error":true,"api_error_status":429,"result":"API Error: 429 You have reached your specified API usage limits."}`, 1, CLIConfig{},
			outcome.Billing, outcome.Error, "billing", check.StatusValid, "spend limit"},
		{"overloaded", `{"type":"result","is_error":true,"api_error_status":529,"api_error_type":"overloaded_error","result":"API Error: Repeated 529 Overloaded errors"}`, 1, CLIConfig{},
			outcome.Unavailable, outcome.Error, "unavailable", check.StatusUnknown, "overloaded"},
		// Observed: claude 2.1.332 -p --output-format json against the fake's usage_limit token.
		{"usage limit", `{"type":"result","subtype":"success","is_error":true,"api_error_status":429,"api_error_type":"rate_limit_error","api_error":"usage_limit_reached","result":"You've hit your 5-hour limit · resets 5:33pm (UTC)"}`, 1, CLIConfig{},
			outcome.UsageLimit, outcome.Error, "usage_limit", check.StatusValid, "the subscription's usage limit is reached; the answer does not say when it resets in a form sleeve-check reads (claude -p: You've hit your 5-hour limit · resets 5:33pm (UTC))"},
		{"usage limit warn", `{"type":"result","is_error":true,"api_error_status":429,"api_error":"usage_limit_reached","result":"You've hit your 5-hour limit"}`, 1, CLIConfig{WarnUsageLimit: true},
			outcome.OK, outcome.Warning, "usage_limit", check.StatusValid, "starting anyway (SLEEVE_CHECK_ON_USAGE_LIMIT=warn)"},
		// A claude that exits before its stream begins never asked the API:
		// a release that refuses the probe's options, npm's placeholder.
		{"no json", "Error: unknown option '--tools'\n", 1, CLIConfig{},
			outcome.ClaudeBroken, outcome.Error, "claude_broken", check.StatusUnknown, "claude -p exited 1 before it started"},
		{"native binary not installed", "Error: claude native binary not installed.\n\nEither postinstall did not run\n", 1, CLIConfig{},
			outcome.ClaudeBroken, outcome.Error, "claude_broken", check.StatusUnknown, "exited 1 before it started: \"Error: claude native binary not installed."},
		// Observed: claude 2.1.332 -p against the fake's consumer_terms and
		// oauth_org_disallowed tokens (the second in claude's own words).
		{"consumer terms", `{"type":"result","is_error":true,"api_error_status":400,"api_error_type":"invalid_request_error","result":"API Error: 400 We've updated our Consumer Terms and Privacy Policy. You'll need to accept them in claude.ai with the email in /status to continue."}`, 1, CLIConfig{},
			outcome.AccountAction, outcome.Error, "account_action", check.StatusValid, "must accept Anthropic's updated Consumer Terms"},
		{"organisation without OAuth", `{"type":"result","is_error":true,"api_error_status":401,"api_error_type":"authentication_error","result":"Your organization has disabled Claude subscription access for Claude Code · Use an Anthropic API key instead, or ask your admin to enable access"}`, 1, CLIConfig{},
			outcome.AccountAction, outcome.Error, "account_action", check.StatusUnknown, "does not allow subscription (OAuth) tokens for the organisation"},
		{"error without status", `{"type":"result","is_error":true,"api_error_status":null,"result":"Connection error."}`, 1, CLIConfig{WarnUnavailable: true},
			outcome.OK, outcome.Warning, "unavailable", check.StatusUnknown, "failed without an API status (claude -p: Connection error.)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := ClassifyCLI([]byte("noise\n"+c.out+"\n"), []byte(c.out), c.exit, c.cfg)
			f := v.Finding
			if f.Code != c.code || f.Severity != c.sev || v.Class != c.class || v.Status != c.status || !strings.Contains(f.Message, c.msg) {
				t.Fatalf("got %d %s %s %s %q", f.Code, f.Severity, v.Class, v.Status, f.Message)
			}
		})
	}
}

// Streams of claude -p --output-format stream-json --verbose, as printed
// against the fake API by the releases named (lines trimmed to the
// fields read; the result lines as in TestClassifyCLI).
func TestClassifyCLIStream(t *testing.T) {
	const (
		init332 = `{"type":"system","subtype":"init","claude_code_version":"2.1.332"}`
		init40  = `{"type":"system","subtype":"init","claude_code_version":"2.1.40"}`
		ok      = `{"type":"result","subtype":"success","is_error":false,"api_error_status":null,"result":"pong"}`
	)
	in := func(d time.Duration) int64 { return time.Now().Add(d).Unix() }
	usageOK := fmt.Sprintf(`{"type":"rate_limit_event","rate_limit_info":{"status":"allowed","resetsAt":%d,"rateLimitType":"five_hour","overageStatus":"rejected","isUsingOverage":false,"unifiedWindows":{"five_hour":{"utilization":0.12,"resetsAt":%d,"status":"allowed"},"seven_day":{"utilization":0.35,"resetsAt":%d,"status":"allowed"}}}}`,
		in(3*time.Hour), in(3*time.Hour), in(96*time.Hour))
	usageWarn := fmt.Sprintf(`{"type":"rate_limit_event","rate_limit_info":{"status":"allowed_warning","resetsAt":%d,"rateLimitType":"seven_day","utilization":0.91,"unifiedWindows":{"five_hour":{"utilization":0.3,"resetsAt":%d,"status":"allowed"},"seven_day":{"utilization":0.91,"resetsAt":%d,"status":"allowed_warning"}}}}`,
		in(96*time.Hour), in(3*time.Hour), in(96*time.Hour))
	usageLimit := fmt.Sprintf(`{"type":"rate_limit_event","rate_limit_info":{"status":"rejected","resetsAt":%d,"rateLimitType":"five_hour","unifiedWindows":{"five_hour":{"utilization":1,"resetsAt":%d,"status":"rejected"},"seven_day":{"utilization":0.42,"resetsAt":%d,"status":"allowed"}}}}`,
		in(2*time.Hour), in(2*time.Hour), in(96*time.Hour))
	limitResult := `{"type":"result","subtype":"success","is_error":true,"api_error_status":429,"api_error":"usage_limit_reached","api_error_type":"rate_limit_error","result":"You've hit your 5-hour limit · resets 3:33pm (UTC)"}`
	// 2.1.112: the event names the binding window, without unifiedWindows.
	warn112 := fmt.Sprintf(`{"type":"rate_limit_event","rate_limit_info":{"status":"allowed_warning","resetsAt":%d,"rateLimitType":"seven_day","utilization":0.91}}`, in(96*time.Hour))
	notFound := `{"type":"result","is_error":true,"api_error_status":404,"api_error_type":"not_found_error","result":"There's an issue with the selected model (claude-haiku-4-5). It may not exist or you may not have access to it. Run --model to pick a different model."}`
	for _, c := range []struct {
		name, out string
		cfg       CLIConfig
		code      outcome.Code
		class     Class
		short     string // Usage.Short()
		high      string // the first of Usage.High(0.9)
		msg       string
	}{
		{"usage ok", init332 + "\n" + usageOK + "\n" + ok, CLIConfig{}, outcome.OK, Valid, "5h 12%, 7d 35%", "", "claude -p ran a turn"},
		{"usage warning", init332 + "\n" + usageWarn + "\n" + ok, CLIConfig{}, outcome.OK, Valid, "5h 30%, 7d 91%", "the subscription's 7-day usage is at 91%; it resets at", "claude -p ran a turn"},
		{"usage limit with its reset", init332 + "\n" + usageLimit + "\n" + limitResult, CLIConfig{}, outcome.UsageLimit, UsageLimit, "5h 100%, 7d 42%", "the subscription's 5-hour usage is at 100%", "the subscription's 5-hour limit is reached; it resets at"},
		{"an ordinary rate limit is no usage", `{"type":"rate_limit_event","rate_limit_info":{"status":"rejected","isUsingOverage":false}}` + "\n" +
			`{"type":"result","is_error":true,"api_error_status":429,"api_error_type":"rate_limit_error","result":"API Error: Server is temporarily limiting requests (not your usage limit) · Number of request tokens has exceeded your per-minute rate limit."}`,
			CLIConfig{}, outcome.OK, RateLimited, "", "", "rate-limiting this credential"},
		{"2.1.112 binding window only", warn112 + "\n" + ok, CLIConfig{}, outcome.OK, Valid, "7d 91%", "the subscription's 7-day usage is at 91%", "ran a turn"},
		// 2.1.112 below the warning zone: the binding window, no utilization (observed).
		{"2.1.112 allowed", fmt.Sprintf(`{"type":"rate_limit_event","rate_limit_info":{"status":"allowed","resetsAt":%d,"rateLimitType":"five_hour","overageStatus":"rejected","isUsingOverage":false}}`, in(3*time.Hour)) + "\n" + ok,
			CLIConfig{}, outcome.OK, Valid, "5-hour allowed", "", "ran a turn"},
		{"404 for the model", notFound, CLIConfig{Model: "claude-haiku-4-5"}, outcome.OK, Valid, "", "", `the probe model "claude-haiku-4-5" is not available`},
		{"404 for a base URL ending in /v1", notFound, CLIConfig{Model: "claude-haiku-4-5", BaseURL: "http://127.0.0.1:9/v1", BaseURLSource: `the base URL "http://127.0.0.1:9/v1" (ANTHROPIC_BASE_URL)`}, outcome.Config, NotAnthropic, "", "", `the base URL "http://127.0.0.1:9/v1" (ANTHROPIC_BASE_URL) ends in /v1, so requests go to /v1/v1/messages and get 404; Claude Code appends /v1/messages itself, so it would fail every message (claude -p got HTTP 404`},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := ClassifyCLI([]byte(c.out+"\n"), nil, 0, c.cfg)
			if v.Finding.Code != c.code || v.Class != c.class || !strings.Contains(v.Finding.Message, c.msg) {
				t.Fatalf("got %d %s %q", v.Finding.Code, v.Class, v.Finding.Message)
			}
			if got := v.Usage.Short(); got != c.short {
				t.Errorf("usage %q, want %q", got, c.short)
			}
			high := v.Usage.High(0.9, time.Now())
			if (c.high == "") != (len(high) == 0) || (c.high != "" && !strings.HasPrefix(high[0], c.high)) {
				t.Errorf("high %q, want %q", high, c.high)
			}
			if v.UsageUnknown != "" {
				t.Errorf("usage unknown: %s", v.UsageUnknown)
			}
		})
	}
	// Before 2.1.45 there is no event: usage is unknown, and says why.
	v := ClassifyCLI([]byte(init40+"\n"+ok+"\n"), nil, 0, CLIConfig{})
	if v.Class != Valid || v.Usage != nil || v.UsageUnknown != "claude 2.1.40 does not report the subscription's usage (releases from 2.1.45 on do)" {
		t.Fatalf("%+v", v)
	}
}

func TestCLIArgs(t *testing.T) {
	got := strings.Join(CLIArgs("claude-haiku-4-5"), " ")
	want := "-p . --max-turns 1 --output-format stream-json --verbose --model claude-haiku-4-5 --tools  --strict-mcp-config --no-session-persistence"
	if got != want {
		t.Fatalf("%q", got)
	}
}
