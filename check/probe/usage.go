package probe

import (
	"fmt"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Usage is what an answer to a subscription (OAuth) credential says about
// the subscription's usage limits: the anthropic-ratelimit-unified-*
// headers that Claude Code reads (the names and values of its 2.1.332
// parser; the public API docs do not list them). API keys get other
// headers, and no Usage.
type Usage struct {
	// Status is allowed, allowed_warning or rejected.
	Status string `json:"status"`
	// Claim is the window that binds: five_hour, seven_day, ...
	Claim    string     `json:"claim,omitempty"`
	ResetsAt *time.Time `json:"resets_at,omitempty"`
	// Windows are keyed by the API's long names.
	Windows map[string]Window `json:"windows,omitempty"`
	// Overage is the status of the subscription's usage credits (extra
	// usage): allowed, allowed_warning or rejected; "" when not said.
	Overage string `json:"overage,omitempty"`
}

// Window is one usage window.
type Window struct {
	// Utilization is the API's fraction: 0.12 is 12% used.
	Utilization *float64   `json:"utilization,omitempty"`
	ResetsAt    *time.Time `json:"resets_at,omitempty"`
	Status      string     `json:"status,omitempty"`
}

// windows maps the API's long window names to the short ones of its
// per-window headers, in Claude Code 2.1.332's order.
var windows = []struct{ long, short, words string }{
	{"five_hour", "5h", "5-hour"},
	{"seven_day", "7d", "7-day"},
	{"seven_day_overage_included", "7d_oi", "7-day (usage credits included)"},
	{"overage", "overage", "usage-credits"},
}

// claims are the binding windows the API names, in words.
var claims = map[string]string{
	"five_hour": "5-hour", "seven_day": "7-day", "seven_day_opus": "7-day Opus", "seven_day_sonnet": "7-day Sonnet",
	"seven_day_overage_included": "7-day (usage credits included)", "overage": "usage-credits",
}

var statuses = []string{"allowed", "allowed_warning", "rejected"}

// ParseUsage reads the unified headers, or returns nil when there are
// none. It never fails: a value that does not parse is left out, a
// utilization is kept within 0 and 1, and a reset outside a sane range
// (before 2020, or more than a year ahead of now) is dropped.
func ParseUsage(h http.Header, now time.Time) *Usage {
	const p = "anthropic-ratelimit-unified-"
	if !hasUnified(h) {
		// Most answers (every API key's) carry none: a look at the names
		// spares the dozen lookups below, on every answer the gateway
		// carries.
		return nil
	}
	u := &Usage{Status: oneOf(h.Get(p+"status"), statuses), Claim: oneOfKeys(h.Get(p+"representative-claim"), claims), Overage: oneOf(h.Get(p+"overage-status"), statuses)}
	u.ResetsAt = unixTime(h.Get(p+"reset"), now)
	for _, w := range windows {
		win := Window{
			Utilization: fraction(h.Get(p + w.short + "-utilization")),
			ResetsAt:    unixTime(h.Get(p+w.short+"-reset"), now),
			Status:      oneOf(h.Get(p+w.short+"-status"), statuses),
		}
		if win.Utilization == nil && win.ResetsAt == nil && win.Status == "" {
			continue
		}
		if u.Windows == nil {
			u.Windows = map[string]Window{}
		}
		u.Windows[w.long] = win
	}
	if u.Status == "" && u.Claim == "" && u.ResetsAt == nil && u.Windows == nil {
		return nil
	}
	if u.ResetsAt == nil && u.Claim != "" {
		u.ResetsAt = u.Windows[u.Claim].ResetsAt
	}
	return u
}

// hasUnified reports whether h has any anthropic-ratelimit-unified-*
// header, by its canonical name.
func hasUnified(h http.Header) bool {
	for k := range h {
		if strings.HasPrefix(k, "Anthropic-Ratelimit-Unified-") {
			return true
		}
	}
	return false
}

func oneOf(v string, allowed []string) string {
	v = strings.TrimSpace(v)
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	return ""
}

func oneOfKeys(v string, m map[string]string) string {
	v = strings.TrimSpace(v)
	if _, ok := m[v]; ok {
		return v
	}
	return ""
}

func fraction(v string) *float64 {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil {
		return nil
	}
	return clamp(&f)
}

// clamp keeps a fraction within 0 and 1; nil for NaN and infinities.
func clamp(f *float64) *float64 {
	if f == nil || math.IsNaN(*f) || math.IsInf(*f, 0) {
		return nil
	}
	c := min(max(*f, 0), 1)
	return &c
}

func unixTime(v string, now time.Time) *time.Time {
	s, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || s < 1577836800 || s > now.Add(366*24*time.Hour).Unix() {
		return nil
	}
	t := time.Unix(s, 0).UTC()
	return &t
}

// ResetsAtIfRejected is when a used-up window resets, or nil.
func (u *Usage) ResetsAtIfRejected() *time.Time {
	if !u.Rejected() {
		return nil
	}
	return u.ResetsAt
}

// Rejected reports whether the binding window is used up and nothing
// pays for more: requests are refused until the reset.
func (u *Usage) Rejected() bool { return u != nil && u.Status == "rejected" && !u.UsingOverage() }

// UsingOverage reports whether the binding window is used up and requests
// go on, paid from usage credits (extra usage). Claude Code 2.1.332's own
// rule (isUsingOverage): the status is rejected and the overage status
// allowed or allowed_warning; it then shows no error, and claude -p
// answered (observed against the fake).
func (u *Usage) UsingOverage() bool {
	return u != nil && u.Status == "rejected" && (u.Overage == "allowed" || u.Overage == "allowed_warning")
}

// OverageWords says that the window is used up and usage credits pay,
// with the window's reset; "" when they do not.
func (u *Usage) OverageWords(now time.Time) string {
	if !u.UsingOverage() {
		return ""
	}
	return fmt.Sprintf("the subscription's %s limit is used up, and claude goes on paid from usage credits (extra usage)%s", u.Words(), ResetWords(u.ResetsAt, now))
}

// Words names the binding window: "5-hour", "7-day", or "usage".
func (u *Usage) Words() string {
	if w, ok := claims[u.Claim]; ok {
		return w
	}
	return "usage"
}

// Short is the usage in a few words for the health line: "5h 12%, 7d 35%",
// or "5-hour allowed" when no window's utilization is known.
func (u *Usage) Short() string {
	if u == nil {
		return ""
	}
	var parts []string
	for _, w := range windows {
		if win, ok := u.Windows[w.long]; ok && win.Utilization != nil {
			parts = append(parts, fmt.Sprintf("%s %.0f%%", w.short, *win.Utilization*100))
		}
	}
	if len(parts) == 0 && u.Status != "" && u.Claim != "" {
		// Only the binding window's state is known (Claude Code before
		// 2.1.242 gives its utilization only in the warning zone).
		parts = append(parts, u.Words()+" "+u.Status)
	}
	if u.UsingOverage() {
		parts = append(parts, "usage credits paying")
	}
	return strings.Join(parts, ", ")
}

// High lists the windows at or above the fraction limit, or marked
// allowed_warning, highest first, in words with their reset.
func (u *Usage) High(limit float64, now time.Time) []string {
	if u == nil {
		return nil
	}
	type high struct {
		f    float64
		text string
	}
	var hs []high
	for _, w := range windows {
		win, ok := u.Windows[w.long]
		if !ok || win.Utilization == nil || (*win.Utilization < limit && win.Status != "allowed_warning") {
			continue
		}
		hs = append(hs, high{*win.Utilization, fmt.Sprintf("the subscription's %s usage is at %.0f%%%s", w.words, *win.Utilization*100, ResetWords(win.ResetsAt, now))})
	}
	sort.SliceStable(hs, func(i, j int) bool { return hs[i].f > hs[j].f })
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.text
	}
	return out
}

// ResetWords is "; it resets at 15:33 UTC (in 2h0m)", with the date when
// the reset is not today, or "" when t is unknown.
func ResetWords(t *time.Time, now time.Time) string {
	if t == nil {
		return ""
	}
	layout := "15:04 UTC"
	if t.UTC().Format(time.DateOnly) != now.UTC().Format(time.DateOnly) {
		layout = "2006-01-02 15:04 UTC"
	}
	return fmt.Sprintf("; it resets at %s (in %s)", t.UTC().Format(layout), shortDuration(t.Sub(now)))
}

func shortDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	d = d.Round(time.Minute)
	if d >= 48*time.Hour {
		return fmt.Sprintf("%dd%dh", d/(24*time.Hour), (d%(24*time.Hour))/time.Hour)
	}
	if d < time.Minute {
		return "0m"
	}
	return strings.TrimSuffix(d.String(), "0s")
}
