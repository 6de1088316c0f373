package gateway

import (
	"fmt"
	"sync"
	"time"

	"sleeve-check/check"
	"sleeve-check/check/probe"
	"sleeve-check/internal/outcome"
)

// ledger is what the gateway knows: the fleet credential's verdict and
// usage, learnt from its probe and from every answer it carries, and each
// sleeve's requests. One lock: every request touches it twice, briefly.
type ledger struct {
	mu sync.Mutex
	// verdict is the last word on the credential; from says how it came
	// (probe, traffic; "" while nothing is known), at when.
	verdict probe.Verdict
	from    string
	at      time.Time
	// proving is closed when the running probe ends; nil when none runs.
	proving chan struct{}
	probes  int
	// suspect: an answer since the probe may say the credential or the
	// API went bad; probedAt is when the last probe ended.
	suspect  bool
	probedAt time.Time
	// usage is the last usage the answers showed, usageAt when.
	usage   *probe.Usage
	usageAt time.Time
	// fiveHour is the 5-hour window as last seen: a rise in its
	// utilization within one window is the answering sleeve's share.
	fiveHour struct {
		util  float64
		reset time.Time
	}
	share   float64 // the cap on one sleeve's share; 1 or more: none
	sleeves map[string]*sleeveStats
	lastErr struct {
		msg string
		at  time.Time
	}
}

type sleeveStats struct {
	Requests   int64     `json:"requests"`
	Errors     int64     `json:"errors"`
	InFlight   int       `json:"in_flight"`
	LastSeen   time.Time `json:"last_seen"`
	LastStatus int       `json:"last_status,omitempty"`
	// Share is the part of the 5-hour window's utilization that rose
	// across this sleeve's answers since the window began.
	Share float64 `json:"share_5h"`
	// Refused counts the requests the gateway answered itself (key, cap,
	// route): they never reached the API.
	Refused int64 `json:"refused"`
}

func newLedger(share float64) *ledger {
	return &ledger{share: share, sleeves: map[string]*sleeveStats{}}
}

func (l *ledger) sleeve(name string) *sleeveStats {
	s, ok := l.sleeves[name]
	if !ok {
		s = &sleeveStats{}
		l.sleeves[name] = s
	}
	return s
}

// suspicious are the classes of an answer to one request that may speak
// of the credential, or of the API, for every sleeve: they send the
// gateway's own probe to find out (once a minute at most), and only the
// probe's answer becomes the fleet's error. A sleeve chooses its requests,
// and the API's error messages echo what a request held: one hostile
// sleeve must not stop the fleet by asking for a 403 or a "billing" 400.
var suspicious = map[probe.Class]bool{probe.Rejected: true, probe.Billing: true, probe.AccountAction: true, probe.Unavailable: true}

// refusal is why the gateway answers a sleeve's request itself: a cap.
type refusal struct {
	status     int
	typ, msg   string
	retryAfter time.Duration
}

// admit counts a request of name in, or says which cap refuses it.
func (l *ledger) admit(name string, maxConcurrent int, now time.Time) *refusal {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.sleeve(name)
	s.LastSeen = now
	if maxConcurrent > 0 && s.InFlight >= maxConcurrent {
		s.Refused++
		return &refusal{429, "rate_limit_error", fmt.Sprintf("sleeve %q has %d requests in flight, the gateway's cap for one sleeve (SLEEVE_CHECK_GATEWAY_MAX_CONCURRENT=%d)", name, s.InFlight, maxConcurrent), time.Second}
	}
	if l.share < 1 && s.Share >= l.share && now.Before(l.fiveHour.reset) {
		s.Refused++
		return &refusal{429, "rate_limit_error", fmt.Sprintf("sleeve %q has used %.0f%% of the subscription's 5-hour window, its share on this gateway (SLEEVE_CHECK_GATEWAY_SLEEVE_SHARE=%.0f%%)%s",
			name, 100*s.Share, 100*l.share, probe.ResetWords(&l.fiveHour.reset, now)), l.fiveHour.reset.Sub(now) + time.Second}
	}
	s.InFlight++
	s.Requests++
	return nil
}

// asked notes that name asked the gateway.
func (l *ledger) asked(name string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sleeve(name).LastSeen = now
}

// refused counts a request the gateway refused before admit (key, route).
func (l *ledger) refused(name string, now time.Time) {
	if name == "" {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.sleeve(name)
	s.Refused++
	s.LastSeen = now
}

// done counts a request of name out, with its answer: status 0 when none
// came (the API unreachable, or the client gone).
func (l *ledger) done(name string, status int, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.sleeve(name)
	s.InFlight--
	s.LastSeen = now
	s.LastStatus = status
	if status == 0 || status >= 400 {
		s.Errors++
	}
}

// observe learns from one answer the API gave to name's request: the
// usage its headers show (and name's share of the 5-hour window's rise),
// and, when it says something of the credential, the verdict.
func (l *ledger) observe(name string, a probe.Answer) {
	v := probe.Judge(a, probe.Judgement{}, "the API")
	l.mu.Lock()
	defer l.mu.Unlock()
	if u := a.Usage; u != nil {
		l.usage, l.usageAt = u, a.At
		l.attribute(name, u)
	}
	switch {
	case v.Class == probe.Valid && a.Status < 300, v.Class == probe.UsageLimit:
		// What no request can fake: an answer served with the credential,
		// or the API's own usage headers saying the window is used up.
		v.Usage = a.Usage
		l.verdict, l.from, l.at = v, "traffic", a.At
		l.suspect = false
	case suspicious[v.Class]:
		l.suspect = true
	}
}

// attribute gives name the rise of the 5-hour window's utilization since
// the last answer; a new window (another reset) starts every share anew.
func (l *ledger) attribute(name string, u *probe.Usage) {
	w, ok := u.Windows["five_hour"]
	if !ok || w.Utilization == nil || w.ResetsAt == nil {
		return
	}
	if !w.ResetsAt.Equal(l.fiveHour.reset) {
		for _, s := range l.sleeves {
			s.Share = 0
		}
		l.fiveHour.reset, l.fiveHour.util = *w.ResetsAt, *w.Utilization
		return
	}
	if rise := *w.Utilization - l.fiveHour.util; rise > 0 && name != "" {
		l.sleeve(name).Share += rise
	}
	l.fiveHour.util = *w.Utilization
}

// failed keeps the last transport failure to the API, for /status.
func (l *ledger) failed(msg string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lastErr.msg, l.lastErr.at = msg, now
	l.suspect = true
}

// unavailableTTL is how long an outage the probe found stands before a
// sleeve's ask probes again: short, so recovery is seen soon, but not
// zero, so an outage does not turn every ask into a request.
const unavailableTTL = time.Minute

// stale says whether the verdict needs the gateway's probe: nothing is
// known, the outage the probe saw is a minute old, the used-up window has
// reset, or nothing has been heard for ttl.
func (l *ledger) stale(now time.Time, ttl time.Duration) bool {
	switch {
	case l.from == "":
		return true
	case l.suspect && now.Sub(l.probedAt) >= unavailableTTL:
		return true
	case l.verdict.Class == probe.Unavailable || l.verdict.Class == probe.NotRun || l.verdict.Class == probe.ClaudeBroken:
		return now.Sub(l.at) >= unavailableTTL
	case l.verdict.Class == probe.UsageLimit:
		if r := l.verdict.Usage.ResetsAtIfRejected(); r != nil {
			return now.After(*r)
		}
		return now.Sub(l.at) >= unavailableTTL // no reset to wait for: ask again soon
	case l.verdict.Class == probe.Rejected:
		return false // the probe's own word: a new credential is a new gateway
	}
	return ttl > 0 && now.Sub(l.at) >= ttl
}

// snapshot is the ledger as /status shows it.
type snapshot struct {
	Name       string                  `json:"gateway"`
	StartedAt  time.Time               `json:"started_at"`
	Upstream   string                  `json:"upstream"`
	Credential credentialStatus        `json:"credential"`
	Usage      *usageStatus            `json:"usage,omitempty"`
	Sleeves    map[string]*sleeveStats `json:"sleeves"`
	Probes     int                     `json:"probes"`
	LastError  *lastError              `json:"last_upstream_error,omitempty"`
}

type credentialStatus struct {
	Kind        check.Kind       `json:"kind"`
	Fingerprint string           `json:"fingerprint"`
	Verdict     string           `json:"verdict"`
	Status      check.Status     `json:"status"`
	Code        int              `json:"exit_code"`
	Message     string           `json:"message"`
	From        string           `json:"from"`
	At          *time.Time       `json:"at,omitempty"`
	Severity    outcome.Severity `json:"severity"`
}

type usageStatus struct {
	*probe.Usage
	SeenAt time.Time `json:"seen_at"`
}

type lastError struct {
	Message string    `json:"message"`
	At      time.Time `json:"at"`
}

func (l *ledger) snapshot() snapshot {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := snapshot{Sleeves: map[string]*sleeveStats{}, Probes: l.probes}
	out.Credential = credentialStatus{Verdict: "unknown", Status: check.StatusUnknown, Message: "not proved yet", From: l.from}
	if l.from != "" {
		at := l.at
		out.Credential.Verdict, out.Credential.Status, out.Credential.Message, out.Credential.At = string(l.verdict.Class), l.verdict.Status, l.verdict.Finding.Message, &at
		out.Credential.Code, out.Credential.Severity = int(l.verdict.Finding.Code), l.verdict.Finding.Severity
	}
	if l.usage != nil {
		out.Usage = &usageStatus{l.usage, l.usageAt}
	}
	for n, s := range l.sleeves {
		c := *s
		out.Sleeves[n] = &c
	}
	if l.lastErr.msg != "" {
		out.LastError = &lastError{l.lastErr.msg, l.lastErr.at}
	}
	return out
}
