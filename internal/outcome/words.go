package outcome

import (
	"fmt"
	"strings"
	"time"
)

// Human renders a duration the way an operator reads it: 3d4h, 5h12m, 40s.
func Human(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%dd%dh", int(d.Hours())/24, int(d.Hours())%24)
	case d >= time.Hour:
		return fmt.Sprintf("%dh%dm", int(d.Hours()), int(d.Minutes())%60)
	case d >= time.Minute:
		return fmt.Sprintf("%dm%ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%ds", int(d.Seconds()))
}

// Since is t relative to now, as an operator reads it: "in 3h0m" or
// "2m0s ago".
func Since(t, now time.Time) string {
	if t.Before(now) {
		return Human(now.Sub(t)) + " ago"
	}
	return "in " + Human(t.Sub(now))
}

// Truthy is how Claude Code reads a switch variable: 1, true, yes, on.
func Truthy(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}
