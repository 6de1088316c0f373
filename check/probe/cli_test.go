package probe

import (
	"strings"
	"testing"

	"sleeve-check/check"
)

// Outputs of claude 2.1.332 -p --output-format json, as seen against the
// fake API (trimmed to the fields that matter).
func TestClassifyCLI(t *testing.T) {
	for _, c := range []struct {
		name, out string
		exit      int
		cfg       CLIConfig
		code      check.Code
		sev       check.Severity
		class     Class
		status    check.Status
		msg       string
	}{
		{"valid", `{"type":"result","subtype":"success","is_error":false,"api_error_status":null,"result":"Hello from the fake API"}`, 0, CLIConfig{},
			check.OK, check.Info, "valid", check.StatusValid, "claude -p ran a turn"},
		{"expired", `{"type":"result","subtype":"success","is_error":true,"api_error_status":401,"api_error_type":"authentication_error","result":"Failed to authenticate. API Error: 401 OAuth token has expired. Please obtain a new token or refresh your existing token."}`, 1, CLIConfig{},
			check.Rejected, check.Error, "rejected", check.StatusExpired, "has expired (claude -p: Failed to authenticate. API Error: 401 OAuth token has expired"},
		{"revoked", `{"type":"result","is_error":true,"api_error_status":403,"api_error_type":"permission_error","result":"API Error: 403 OAuth token has been revoked. Please obtain a new token."}`, 1, CLIConfig{},
			check.Rejected, check.Error, "rejected", check.StatusInvalid, "has been revoked"},
		{"rate limited", `{"type":"result","is_error":true,"api_error_status":429,"api_error_type":"rate_limit_error","result":"API Error: Server is temporarily limiting requests (not your usage limit) · Number of request tokens has exceeded your per-minute rate limit."}`, 1, CLIConfig{},
			check.OK, check.Warning, "rate_limited", check.StatusValid, "starting anyway"},
		{"rate limited strict", `{"type":"result","is_error":true,"api_error_status":429,"result":"API Error: Server is temporarily limiting requests (not your usage limit)"}`, 1, CLIConfig{Strict: true},
			check.RateLimited, check.Error, "rate_limited", check.StatusValid, "rate-limiting"},
		{"spend cap", `{"type":"result","is_error":true,"api_error_status":429,"result":"API Error: 429 You have reached your specified API usage limits."}`, 1, CLIConfig{},
			check.Billing, check.Error, "billing", check.StatusValid, "spend limit"},
		{"overloaded", `{"type":"result","is_error":true,"api_error_status":529,"api_error_type":"overloaded_error","result":"API Error: Repeated 529 Overloaded errors"}`, 1, CLIConfig{},
			check.Unavailable, check.Error, "unavailable", check.StatusUnknown, "overloaded"},
		// Observed: claude 2.1.332 -p --output-format json against the fake's usage_limit token.
		{"usage limit", `{"type":"result","subtype":"success","is_error":true,"api_error_status":429,"api_error_type":"rate_limit_error","api_error":"usage_limit_reached","result":"You've hit your 5-hour limit · resets 5:33pm (UTC)"}`, 1, CLIConfig{},
			check.UsageLimit, check.Error, "usage_limit", check.StatusValid, "the subscription's usage limit is reached; the answer does not say when it resets in a form sleeve-check reads (claude -p: You've hit your 5-hour limit · resets 5:33pm (UTC))"},
		{"usage limit warn", `{"type":"result","is_error":true,"api_error_status":429,"api_error":"usage_limit_reached","result":"You've hit your 5-hour limit"}`, 1, CLIConfig{WarnUsageLimit: true},
			check.OK, check.Warning, "usage_limit", check.StatusValid, "starting anyway (SLEEVE_CHECK_ON_USAGE_LIMIT=warn)"},
		{"no json", "Error: unknown option '--tools'\n", 1, CLIConfig{},
			check.Unavailable, check.Error, "unavailable", check.StatusUnknown, "printed no result (exit 1)"},
		{"error without status", `{"type":"result","is_error":true,"api_error_status":null,"result":"Connection error."}`, 1, CLIConfig{WarnUnavailable: true},
			check.OK, check.Warning, "unavailable", check.StatusUnknown, "failed without an API status (claude -p: Connection error.)"},
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
