package probe

import (
	"crypto/x509"
	"errors"
	"net/http"
	"syscall"
	"testing"
	"time"
)

func TestRetryPolicy(t *testing.T) {
	const left, back = 10 * time.Second, 500 * time.Millisecond
	refused := &syscallErr{syscall.ECONNREFUSED}
	for _, tt := range []struct {
		name string
		a    Answer
		left time.Duration
		want decision
	}{
		{"2xx is final", Answer{Status: 200}, left, decision{}},
		{"401 never heals", Answer{Status: 401}, left, decision{}},
		{"403 never heals", Answer{Status: 403}, left, decision{}},
		{"404 never heals", Answer{Status: 404}, left, decision{}},
		{"429 without Retry-After is a spend cap", Answer{Status: 429}, left, decision{}},
		{"429 waits what it asks", Answer{Status: 429, WaitHelps: true, RetryAfter: 2 * time.Second, RetryAfterSet: true}, left, decision{Retry: true, Wait: 2 * time.Second}},
		{"429 with an unreadable Retry-After backs off", Answer{Status: 429, WaitHelps: true}, left, decision{Retry: true, Wait: back}},
		{"429 asking past the deadline stops at once", Answer{Status: 429, WaitHelps: true, RetryAfter: time.Hour, RetryAfterSet: true}, left, decision{TooLong: time.Hour}},
		{"500 backs off", Answer{Status: 500}, left, decision{Retry: true, Wait: back}},
		{"529 waits what it asks", Answer{Status: 529, RetryAfter: time.Second, RetryAfterSet: true}, left, decision{Retry: true, Wait: time.Second}},
		{"503 asking past the deadline stops", Answer{Status: 503, RetryAfter: time.Minute, RetryAfterSet: true}, left, decision{TooLong: time.Minute}},
		{"a refused connection is retried", Answer{Err: refused}, left, decision{Retry: true, Wait: back}},
		{"a certificate error is not", Answer{Err: x509.UnknownAuthorityError{}}, left, decision{}},
		{"plain http to an https URL is not", Answer{Err: errors.New("http: server gave HTTP response to HTTPS client")}, left, decision{}},
		{"no wait outlasts the deadline", Answer{Status: 500}, 100 * time.Millisecond, decision{Retry: true, Wait: 100 * time.Millisecond}},
		{"no time left, no retry", Answer{Status: 500}, 0, decision{}},
		{"a used-up window far from its reset: one request", Answer{Status: 429, WaitHelps: true, RetryAfter: 2 * time.Hour, RetryAfterSet: true, Usage: rejectedIn(2 * time.Hour), At: at}, left, decision{TooLong: 2*time.Hour + time.Second}},
		{"a used-up window that resets within the deadline: waited for", Answer{Status: 429, Usage: rejectedIn(3 * time.Second), At: at}, left, decision{Retry: true, Wait: 4 * time.Second}},
		{"a used-up window with no reset: one request", Answer{Status: 429, WaitHelps: true, Usage: &Usage{Status: "rejected"}, At: at}, left, decision{}},
	} {
		if got := retryPolicy(tt.a, tt.left, back); got != tt.want {
			t.Errorf("%s: %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

var at = time.Date(2026, 11, 29, 13, 33, 0, 0, time.UTC)

func rejectedIn(d time.Duration) *Usage {
	t := at.Add(d)
	return &Usage{Status: "rejected", Claim: "five_hour", ResetsAt: &t}
}

type syscallErr struct{ errno syscall.Errno }

func (e *syscallErr) Error() string { return e.errno.Error() }
func (e *syscallErr) Unwrap() error { return e.errno }

func TestBackoffAndRetryAfter(t *testing.T) {
	for n := 1; n <= 6; n++ {
		d := min(100*time.Millisecond<<(n-1), time.Second)
		if b := backoff(100*time.Millisecond, time.Second, n); b < d/2 || b > d {
			t.Errorf("attempt %d waits %s, want within [%s, %s]", n, b, d/2, d)
		}
	}
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	h := http.Header{}
	h.Set("Retry-After", "3")
	if d, ok := retryAfter(429, h, now); !ok || d != 3*time.Second {
		t.Error("seconds")
	}
	h.Set("Retry-After", now.Add(time.Minute).Format(http.TimeFormat))
	if d, ok := retryAfter(529, h, now); !ok || d != time.Minute {
		t.Error("HTTP date")
	}
	if _, ok := retryAfter(500, h, now); ok {
		t.Error("Retry-After read on a 500")
	}
	h.Set("Retry-After", "soon")
	if _, ok := retryAfter(429, h, now); ok {
		t.Error("nonsense read as a wait")
	}
}
