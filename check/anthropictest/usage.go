package anthropictest

import (
	"net/http"
	"strconv"
	"time"
)

// The subscription's usage windows, in the dialect Claude Code reads:
// the anthropic-ratelimit-unified-* headers of every answer to an OAuth
// (subscription) token. The names and values are those of Claude Code
// 2.1.332's parser; fed these, the real CLI prints "You've hit your 5-hour
// limit · resets 3:33pm (UTC)".
const (
	UsageOK      Kind = "usage_ok"      // 200; 5-hour window 12% used, 7-day 35%
	UsageWarning Kind = "usage_warning" // 200, allowed_warning; 7-day window 91% used
	// UsageLimit is a 429 for a used-up 5-hour window that resets in
	// Behavior.ResetIn (2 h when 0); once that time has passed, the token
	// gets UsageOK answers.
	UsageLimit Kind = "usage_limit"
	// UsageOverage is a 200 for a used-up 5-hour window whose requests
	// go on, paid from usage credits (extra usage): the unified status is
	// rejected, the overage status allowed.
	UsageOverage Kind = "usage_overage"
)

// usageWindow is one window's headers.
type usageWindow struct {
	short       string // 5h, 7d
	utilization float64
	reset       time.Time
	status      string
}

// usageHeaders sets the unified headers: the overall status, the binding
// window (claim) and its reset, and each window's own values.
func usageHeaders(h http.Header, status, claim string, windows ...usageWindow) {
	usageHeadersOverage(h, status, claim, "rejected", windows...)
}

// usageHeadersOverage is usageHeaders with the overage status given.
func usageHeadersOverage(h http.Header, status, claim, overage string, windows ...usageWindow) {
	const p = "anthropic-ratelimit-unified-"
	h.Set(p+"status", status)
	h.Set(p+"representative-claim", claim)
	for _, w := range windows {
		h.Set(p+w.short+"-utilization", strconv.FormatFloat(w.utilization, 'f', -1, 64))
		h.Set(p+w.short+"-reset", strconv.FormatInt(w.reset.Unix(), 10))
		h.Set(p+w.short+"-status", w.status)
		if (claim == "five_hour" && w.short == "5h") || (claim == "seven_day" && w.short == "7d") {
			h.Set(p+"reset", strconv.FormatInt(w.reset.Unix(), 10))
		}
	}
	h.Set(p+"fallback", "available")
	h.Set(p+"overage-status", overage)
	if overage == "rejected" {
		h.Set(p+"overage-disabled-reason", "org_level_disabled")
	}
}

// usageAnswer answers a usage kind, or returns false for another kind.
func (a *API) usageAnswer(w http.ResponseWriter, r *http.Request, body []byte, b Behavior, resetAt time.Time) (int, bool) {
	now := time.Now()
	fiveReset, sevenReset := now.Add(3*time.Hour), now.Add(4*24*time.Hour)
	switch {
	case b.Kind == UsageLimit && now.Before(resetAt):
		usageHeaders(w.Header(), "rejected", "five_hour",
			usageWindow{"5h", 1, resetAt, "rejected"}, usageWindow{"7d", 0.42, sevenReset, "allowed"})
		return a.apiError(w, 429, "rate_limit_error", "This request would exceed your account's rate limit. Please try again later.", resetAt.Sub(now)), true
	case b.Kind == UsageWarning:
		usageHeaders(w.Header(), "allowed_warning", "seven_day",
			usageWindow{"5h", 0.3, fiveReset, "allowed"}, usageWindow{"7d", 0.91, sevenReset, "allowed_warning"})
	case b.Kind == UsageOverage:
		usageHeadersOverage(w.Header(), "rejected", "five_hour", "allowed",
			usageWindow{"5h", 1, fiveReset, "rejected"}, usageWindow{"7d", 0.42, sevenReset, "allowed"})
	case b.Kind == UsageOK || b.Kind == UsageLimit:
		usageHeaders(w.Header(), "allowed", "five_hour",
			usageWindow{"5h", 0.12, fiveReset, "allowed"}, usageWindow{"7d", 0.35, sevenReset, "allowed"})
	default:
		return 0, false
	}
	return a.ok(w, r, body, b.Reply), true
}
