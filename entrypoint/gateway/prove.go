package gateway

import (
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"sleeve-check/check"
	"sleeve-check/check/probe"
	"sleeve-check/entrypoint/internal/buildinfo"
	"sleeve-check/entrypoint/internal/fleet"
	"sleeve-check/entrypoint/internal/sleeve"
	"sleeve-check/internal/outcome"
	"time"
)

// known is what is known of the credential, after the probe when
// nothing fresh is: one probe at a time, which every ask waits for.
func (g *Gateway) known(ctx context.Context) (probe.Verdict, string, time.Time) {
	l := g.led
	l.mu.Lock()
	if l.stale(time.Now(), g.s.HealthTTL) && l.proving == nil {
		l.proving = make(chan struct{})
		l.probes++
		go g.prove(l.proving)
	}
	wait := l.proving
	l.mu.Unlock()
	if wait != nil {
		select {
		case <-wait:
		case <-ctx.Done():
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.from == "" {
		return probe.Verdict{Class: probe.NotRun, Status: check.StatusUnknown, Finding: outcome.Finding{Severity: outcome.Warning, ID: "gateway_not_proved",
			Message: "the gateway has not proved the credential yet: its one probe is still under way", Hint: "nothing to do: the next check hears its verdict"}}, "", time.Time{}
	}
	return l.verdict, l.from, l.at
}

// prove is the gateway's own probe, through the gateway itself: Claude
// Code (claude -p) for a subscription token, as the provider's terms
// require; one tiny request for a key. Its answer passes through the
// proxy like any other, and the verdict is the probe's.
func (g *Gateway) prove(done chan struct{}) {
	v := g.probeOnce()
	l := g.led
	l.mu.Lock()
	defer l.mu.Unlock()
	defer close(done)
	l.proving = nil
	if v.Class == probe.Interrupted {
		return
	}
	if v.Class == probe.NotRun && l.from != "" {
		// A probe that could not run says nothing new: what is known stands.
		l.suspect, l.probedAt = false, time.Now()
		g.log.Warn().Msg("gateway: probe: " + v.Finding.Message)
		return
	}
	l.verdict, l.from, l.at = v, "probe", time.Now()
	l.suspect, l.probedAt = false, l.at
	g.log.Info().Str("class", string(v.Class)).Int("http_status", v.HTTPStatus).Msg("gateway: probe: " + v.Finding.Message)
}

// internalURL is the loopback listener the gateway's own probe goes
// through, plain http whatever the public one speaks; opened once.
func (g *Gateway) internalURL() (string, error) {
	internal := &g.internal
	internal.once.Do(func() {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			internal.err = err
			return
		}
		srv := &http.Server{Handler: g, ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
		go srv.Serve(ln)
		internal.url = "http://" + ln.Addr().String()
	})
	return internal.url, internal.err
}

func (g *Gateway) probeOnce() probe.Verdict {
	u, err := g.internalURL()
	if err != nil {
		return probe.Verdict{Class: probe.NotRun, Status: check.StatusUnknown, Finding: outcome.Finding{Severity: outcome.Warning, ID: "gateway_probe_not_run", Message: "the gateway's probe could not listen on loopback: " + err.Error()}}
	}
	s := g.s
	ctx := context.Background()
	if !g.cred.Kind.Subscription() {
		cred := check.Credential{Kind: g.cred.Kind, Value: check.NewSecret(g.probeKey)}
		return probe.HTTP(ctx, cred, probe.HTTPConfig{BaseURL: u, BaseURLSource: "the gateway's API (" + g.upDesc + ")", Model: s.ProbeModel, Deadline: s.ProbeTimeout, AttemptTimeout: min(s.AttemptTime, s.ProbeTimeout),
			UserAgent: "sleeve-check/" + buildinfo.Version, RetryWaitMin: 500 * time.Millisecond, RetryWaitMax: 4 * time.Second, Log: g.log})
	}
	env := g.env
	path, err := sleeve.LookPath("claude", env.Get("PATH"))
	if err != nil {
		return probe.Verdict{Class: probe.NotRun, Status: check.StatusUnknown, Finding: outcome.Finding{Severity: outcome.Warning, ID: "gateway_probe_no_claude",
			Message: "the gateway has not proved the subscription token: only Claude Code may send it, and claude is not in the gateway's PATH; the first answers it carries will tell",
			Hint:    "run the gateway from an image with Claude Code in it (the sleeve image)"}}
	}
	home, err := os.MkdirTemp(env.TempDir(), "sleeve-check-gateway-probe-")
	if err != nil {
		return probe.Verdict{Class: probe.NotRun, Status: check.StatusUnknown, Finding: outcome.Finding{Severity: outcome.Warning, ID: "gateway_probe_not_run", Message: "the gateway's probe has no home: " + err.Error()}}
	}
	defer os.RemoveAll(home)
	env = fleet.ClaudeEnv(env, u, g.probeKey, g.cred.Kind)
	env.Set("HOME", home)
	// Its own temporary directory too: in a keeper, the probe runs as root
	// beside the sleeve user, who can write in /tmp.
	env.Set("TMPDIR", home)
	env.Unset("CLAUDE_CONFIG_DIR")
	env.Unset(fleet.SecretVar)
	env.Unset(fleet.SecretVar + "_FILE")
	return probe.CLI(ctx, probe.CLIConfig{Path: path, Env: env.Slice(), Dir: home, Timeout: s.ProbeTimeout, BaseURL: u, BaseURLSource: "the gateway's API (" + g.upDesc + ")",
		Model: s.ProbeModel, RetryWaitMin: 500 * time.Millisecond, RetryWaitMax: 4 * time.Second, Log: g.log})
}
