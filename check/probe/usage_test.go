package probe

import (
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"sleeve-check/internal/outcome"
)

var usageNow = time.Date(2026, 11, 29, 13, 33, 0, 0, time.UTC)

func headers(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set("anthropic-ratelimit-unified-"+kv[i], kv[i+1])
	}
	return h
}

func TestParseUsage(t *testing.T) {
	reset := usageNow.Add(2 * time.Hour)
	rs := "1795966380" // reset, in Unix seconds
	if reset.Unix() != 1795966380 {
		t.Fatalf("fix the test: reset is %d", reset.Unix())
	}
	for _, tt := range []struct {
		name  string
		h     http.Header
		short string
		check func(*Usage) bool
	}{
		{"no headers (an API key)", http.Header{"Anthropic-Ratelimit-Requests-Remaining": {"49"}}, "", func(u *Usage) bool { return u == nil }},
		{"every window", headers("status", "allowed", "representative-claim", "five_hour", "reset", rs,
			"5h-utilization", "0.12", "5h-reset", rs, "5h-status", "allowed",
			"7d-utilization", "0.35", "7d-reset", rs, "7d-status", "allowed",
			"7d_oi-utilization", "0.5", "overage-utilization", "0", "overage-status", "rejected"), "5h 12%, 7d 35%, 7d_oi 50%, overage 0%",
			func(u *Usage) bool {
				return u.Status == "allowed" && u.Claim == "five_hour" && u.ResetsAt.Equal(reset) && len(u.Windows) == 4 &&
					u.Windows["five_hour"].Status == "allowed" && u.Windows["overage"].Status == "rejected"
			}},
		{"rejected, the reset only on the window", headers("status", "rejected", "representative-claim", "seven_day", "7d-reset", rs, "7d-utilization", "1"), "7d 100%",
			func(u *Usage) bool { return u.Rejected() && u.ResetsAt.Equal(reset) && u.Words() == "7-day" }},
		{"malformed values are left out", headers("status", "maybe", "representative-claim", "ten_minute", "reset", "soon", "5h-utilization", "lots", "5h-reset", "-1", "7d-status", "allowed"), "",
			func(u *Usage) bool {
				return u.Status == "" && u.Claim == "" && u.ResetsAt == nil && u.Windows["five_hour"].Status == "" && u.Windows["seven_day"].Status == "allowed"
			}},
		{"utilization above 1 and below 0 is clamped", headers("status", "allowed", "5h-utilization", "1.7", "7d-utilization", "-3"), "5h 100%, 7d 0%", func(u *Usage) bool { return true }},
		{"NaN and Inf are left out", headers("status", "allowed", "5h-utilization", "NaN", "7d-utilization", "+Inf"), "", func(u *Usage) bool { return u.Windows == nil }},
		{"a huge or negative reset is dropped", headers("status", "rejected", "reset", "99999999999999", "5h-reset", "-5"), "", func(u *Usage) bool { return u.ResetsAt == nil && u.Windows == nil }},
	} {
		u := ParseUsage(tt.h, usageNow)
		if !tt.check(u) || u.Short() != tt.short {
			t.Errorf("%s: %+v, short %q, want %q", tt.name, u, u.Short(), tt.short)
		}
	}
}

func TestUsageWords(t *testing.T) {
	reset := usageNow.Add(2 * time.Hour)
	if got := ResetWords(&reset, usageNow); got != "; it resets at 15:33 UTC (in 2h0m)" {
		t.Errorf("today: %q", got)
	}
	later := usageNow.Add(77 * time.Hour)
	if got := ResetWords(&later, usageNow); got != "; it resets at 2026-12-02 18:33 UTC (in 3d5h)" {
		t.Errorf("another day: %q", got)
	}
	u := ParseUsage(headers("status", "allowed_warning", "representative-claim", "seven_day", "7d-utilization", "0.91", "7d-reset", "1795966380", "7d-status", "allowed_warning", "5h-utilization", "0.95"), usageNow)
	high := u.High(0.9, usageNow)
	if len(high) != 2 || high[0] != "the subscription's 5-hour usage is at 95%" || high[1] != "the subscription's 7-day usage is at 91%; it resets at 15:33 UTC (in 2h0m)" {
		t.Errorf("high: %q", high)
	}
	if got := u.High(0.99, usageNow); len(got) != 1 || !strings.Contains(got[0], "7-day") {
		t.Errorf("allowed_warning is high whatever the limit: %q", got)
	}
}

func TestClassifyUsageLimit(t *testing.T) {
	reset := usageNow.Add(2 * time.Hour)
	rejected := &Usage{Status: "rejected", Claim: "five_hour", ResetsAt: &reset}
	a := Answer{Status: 429, Usage: rejected, At: usageNow, WaitHelps: true, API: APIError{Type: "rate_limit_error", Anthropic: true}, Attempts: 1}
	v := classify(a, question{})
	if v.Class != UsageLimit || v.Finding.Code != outcome.UsageLimit || v.Finding.Severity != outcome.Error || v.Usage != rejected ||
		!strings.HasPrefix(v.Finding.Message, "the subscription's 5-hour limit is reached; it resets at 15:33 UTC (in 2h0m) (HTTP 429 rate_limit_error") ||
		!strings.Contains(v.Finding.Hint, "spread the sleeves across subscriptions") {
		t.Fatalf("%+v", v)
	}
	if v := classify(a, question{Judgement: Judgement{WarnUsageLimit: true}}); v.Finding.Severity != outcome.Warning || v.Finding.Code != outcome.OK || !strings.Contains(v.Finding.Message, "starting anyway") {
		t.Fatalf("warn: %+v", v)
	}
	a.Usage = &Usage{Status: "rejected"}
	if v := classify(a, question{}); v.Finding.Message != "the subscription's usage limit is reached; the answer does not say when it resets in a form sleeve-check reads (HTTP 429 rate_limit_error)" {
		t.Fatalf("no reset: %q", v.Finding.Message)
	}
	// A 429 whose unified status is not rejected stays an ordinary rate limit.
	a.Usage = &Usage{Status: "allowed"}
	if v := classify(a, question{}); v.Class != RateLimited {
		t.Fatalf("%+v", v)
	}
	// A pass carries the usage it saw.
	ok := &Usage{Status: "allowed"}
	if v := classify(Answer{Status: 200, Usage: ok}, question{}); v.Class != Valid || v.Usage != ok {
		t.Fatalf("%+v", v)
	}
}

func FuzzParseUsage(f *testing.F) {
	f.Add("rejected", "five_hour", "1795966380", "0.5", "1795966380", "allowed")
	f.Add("", "", "", "1e999", "-1", "\x00")
	f.Add("allowed_warning", "seven_day", "18446744073709551616", "NaN", "1.0e2", "rejected")
	f.Fuzz(func(t *testing.T, status, claim, reset, util, wreset, wstatus string) {
		u := ParseUsage(headers("status", status, "representative-claim", claim, "reset", reset,
			"5h-utilization", util, "5h-reset", wreset, "5h-status", wstatus, "7d-utilization", util), usageNow)
		if u == nil {
			return
		}
		for name, w := range u.Windows {
			if w.Utilization != nil && (*w.Utilization < 0 || *w.Utilization > 1) {
				t.Fatalf("%s utilization %v out of [0,1]", name, *w.Utilization)
			}
		}
		for _, s := range append([]string{u.Short(), u.Words(), ResetWords(u.ResetsAt, usageNow)}, u.High(0.9, usageNow)...) {
			if !utf8.ValidString(s) || strings.ContainsAny(s, "\n\r\x00") || len(s) > 200 {
				t.Fatalf("unprintable or long: %q", s)
			}
		}
		if u.ResetsAt != nil && (u.ResetsAt.Before(time.Unix(1577836800, 0)) || u.ResetsAt.After(usageNow.Add(367*24*time.Hour))) {
			t.Fatalf("implausible reset %v", u.ResetsAt)
		}
	})
}

// Claude Code 2.1.332's rule: a used-up window with usage credits allowed
// goes on (isUsingOverage); with them rejected, it is refused.
func TestUsageOverage(t *testing.T) {
	now := time.Now()
	for _, c := range []struct {
		status, overage string
		rejected, using bool
	}{
		{"allowed", "rejected", false, false},
		{"rejected", "allowed", false, true},
		{"rejected", "allowed_warning", false, true},
		{"rejected", "rejected", true, false},
		{"rejected", "", true, false},
	} {
		h := http.Header{}
		h.Set("anthropic-ratelimit-unified-status", c.status)
		h.Set("anthropic-ratelimit-unified-representative-claim", "five_hour")
		h.Set("anthropic-ratelimit-unified-overage-status", c.overage)
		u := ParseUsage(h, now)
		if u.Rejected() != c.rejected || u.UsingOverage() != c.using || (u.OverageWords(now) != "") != c.using {
			t.Errorf("%s/%s: rejected %v using %v", c.status, c.overage, u.Rejected(), u.UsingOverage())
		}
	}
}
