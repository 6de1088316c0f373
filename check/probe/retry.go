package probe

import (
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// decision is what to do after one attempt.
type decision struct {
	Retry bool
	// Wait is the pause before the next attempt.
	Wait time.Duration
	// TooLong is a Retry-After that outlasts the time left: not retried,
	// and said so in the verdict.
	TooLong time.Duration
}

// retryPolicy decides whether an answer is worth another attempt within
// the time left. What can pass is retried: a 429 that asks to wait, 5xx
// and 529, a transport error. What cannot is not: 401, 403, other 4xx, a
// certificate or protocol mismatch, a 429 without Retry-After (a spend
// cap). The API's Retry-After replaces the backoff; one longer than the
// time left ends the retries at once. No wait outlasts the deadline.
func retryPolicy(a Answer, left, backoff time.Duration) decision {
	if a.Usage.Rejected() {
		return usageRetry(a, left)
	}
	var retry bool
	switch {
	case a.Status == 0:
		// A certificate or protocol mismatch does not heal by waiting.
		retry = a.Err != nil && !isCertError(a.Err) && !isNotTLS(a.Err)
	case a.Status == http.StatusTooManyRequests:
		retry = a.WaitHelps
	case a.Status >= 500 && a.Status < 600:
		retry = true
	}
	// left <= 0: the context's own timer may not have fired yet on a busy
	// machine; without this, retries would spin with no wait.
	if !retry || left <= 0 {
		return decision{}
	}
	wait := backoff
	if a.RetryAfterSet {
		if a.RetryAfter > left {
			return decision{TooLong: a.RetryAfter}
		}
		wait = a.RetryAfter
	}
	return decision{Retry: true, Wait: min(wait, left)}
}

// usageRetry: a used-up usage window passes only at its reset. One that
// resets within the time left is waited for (a second past it, for the
// clocks); any other is not retried at all: exactly one request.
func usageRetry(a Answer, left time.Duration) decision {
	if a.Usage.ResetsAt == nil || left <= 0 {
		return decision{}
	}
	until := a.Usage.ResetsAt.Sub(a.At) + time.Second
	if until > left {
		return decision{TooLong: until}
	}
	return decision{Retry: true, Wait: max(until, 0)}
}

// backoff is exponential with jitter: attempt n waits a random time in
// [d/2, d] with d = min * 2^(n-1), capped at max.
func backoff(min, max time.Duration, n int) time.Duration {
	d := min
	for i := 1; i < n && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	if d <= 0 {
		return 0
	}
	return d/2 + rand.N(d/2+1)
}

// retryAfter reads Retry-After (seconds or an HTTP date) on the answers
// where the API uses it: 429, 503 and 529.
func retryAfter(status int, h http.Header, now time.Time) (time.Duration, bool) {
	if status != 429 && status != 503 && status != 529 {
		return 0, false
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 && s < 1e6 {
		return time.Duration(s * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}
