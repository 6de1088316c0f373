package main

import (
	"sleeve-check/internal/leaktest"
	"sleeve-check/internal/outcome"

	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"sleeve-check/check/anthropictest"
)

type procResult struct {
	code    int
	elapsed time.Duration
	out     string
}

// runMany starts n sleeve-check processes at the same moment.
func runMany(t *testing.T, bin string, n int, env func(i int) []string, args func(i int) []string) []procResult {
	t.Helper()
	res := make([]procResult, n)
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			cmd := exec.Command(bin, args(i)...)
			cmd.Env = env(i)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			<-gate
			start := time.Now()
			cmd.Run()
			res[i] = procResult{cmd.ProcessState.ExitCode(), time.Since(start), out.String()}
		}(i)
	}
	close(gate)
	wg.Wait()
	return res
}

// Twelve sleeves start together against an API that admits 3 requests a
// second and answers the rest 429 with retry-after: all reach valid within
// their deadline, and the requests stay bounded. Then with the API
// overloaded (529) for longer than the deadline: all end with the
// unavailable code inside it, none hangs.
func TestFleetStart(t *testing.T) {
	bin := buildBinary(t)
	srv := anthropictest.NewServer()
	defer srv.Close()
	const n = 12
	const deadline = 15 * time.Second
	toks := make([]string, n)
	for i := range toks {
		toks[i] = fmt.Sprintf("sk-ant-oat01-fleet%02d", i) + strings.Repeat("F", 80) + fmt.Sprintf("-s%02d", i)
		srv.Set(toks[i], anthropictest.Behavior{Kind: anthropictest.Valid})
	}
	base := t.TempDir()
	env := func(i int) []string {
		home := filepath.Join(base, fmt.Sprint(i))
		os.MkdirAll(home, 0o755)
		return []string{"HOME=" + home, "PATH=" + pathWithClaude(t), "CLAUDE_CODE_OAUTH_TOKEN=" + toks[i],
			"ANTHROPIC_BASE_URL=" + srv.URL, "SLEEVE_CHECK_STATE_DIR=" + filepath.Join(home, "state")}
	}
	srv.Admit(3)
	res := runMany(t, bin, n, env, func(int) []string { return []string{"--probe-timeout=" + deadline.String(), "--", "true"} })
	requests := len(srv.Requests())
	t.Logf("rate-limited fleet: %d sleeves, %d requests in all", n, requests)
	for i, r := range res {
		if r.code != 0 || r.elapsed > deadline+2*time.Second {
			t.Errorf("sleeve %d: exit %d after %s:\n%s", i, r.code, r.elapsed, r.out)
		}
		t.Logf("sleeve %2d: exit %d in %s", i, r.code, r.elapsed.Round(time.Millisecond))
	}
	if requests > 5*n {
		t.Errorf("%d requests for %d sleeves: retries are not bounded", requests, n)
	}

	srv.Admit(0)
	srv.Reset()
	srv.OverloadFor(time.Minute)
	base = t.TempDir() // new sleeves: a restarted one would reuse its fresh verdict
	// Twelve claude -p starting together on two cores take seconds
	// before their first request (BENCHMARKS.md): the deadline allows it.
	const short = 15 * time.Second
	res = runMany(t, bin, n, env, func(int) []string { return []string{"--probe-timeout=" + short.String(), "--", "true"} })
	requests = len(srv.Requests())
	t.Logf("overloaded fleet: %d sleeves, %d requests in all", n, requests)
	for i, r := range res {
		if r.code != int(outcome.Unavailable) || r.elapsed > short+2*time.Second || !strings.Contains(r.out, "the API is overloaded (") {
			t.Errorf("sleeve %d: exit %d after %s:\n%s", i, r.code, r.elapsed, r.out)
		}
	}
	if requests > 10*n {
		t.Errorf("%d requests for %d sleeves in %s", requests, n, short)
	}
	for _, tok := range toks {
		for _, r := range res {
			if leaktest.LeakedWindow(tok, r.out) != "" {
				t.Fatal("a token leaked")
			}
		}
	}
}

// Fifty sleeve-check runs merge into one .claude.json at once while
// another process rewrites it the way Claude Code 2.1.332 does (mkdir
// .claude.json.lock, read, temp file, rename, rmdir): the file is valid
// JSON at every moment, and no key written by anyone is lost.
func TestConcurrentConfigMerge(t *testing.T) {
	bin := buildBinary(t)
	home := t.TempDir()
	cfg := filepath.Join(home, ".claude.json")
	if err := os.WriteFile(cfg, []byte(`{"numStartups": 1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var readers sync.WaitGroup
	var bad []string
	var badMu sync.Mutex
	readers.Add(1)
	go func() { // a reader checks the file at every moment
		defer readers.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			b, err := os.ReadFile(cfg)
			var m map[string]any
			if err != nil || json.Unmarshal(b, &m) != nil {
				badMu.Lock()
				bad = append(bad, fmt.Sprintf("%v: %.60q", err, b))
				badMu.Unlock()
			}
		}
	}()
	const ccWrites = 150
	readers.Add(1)
	go func() { // "Claude Code"
		defer readers.Done()
		for i := 0; i < ccWrites; i++ {
			claudeCodeSave(t, cfg, fmt.Sprintf("cc_%03d", i))
		}
	}()
	const n = 50
	res := runMany(t, bin, n, func(int) []string {
		return []string{"HOME=" + home, "PATH=" + pathWithClaude(t), "CLAUDE_CODE_OAUTH_TOKEN=" + fakeOAuth, "SLEEVE_CHECK_STATE_DIR=" + filepath.Join(home, "state")}
	}, func(i int) []string {
		return []string{"--probe=off", fmt.Sprintf("--trust-dirs=/w/%02d", i), "--", "true"}
	})
	for i, r := range res {
		if r.code != 0 {
			t.Errorf("run %d: exit %d\n%s", i, r.code, r.out)
		}
	}
	time.Sleep(50 * time.Millisecond)
	close(stop)
	readers.Wait()
	if len(bad) > 0 {
		t.Fatalf("%d reads saw a file that was not valid JSON, e.g. %s", len(bad), bad[0])
	}
	var m map[string]any
	b, _ := os.ReadFile(cfg)
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	var lost []string
	if m["hasCompletedOnboarding"] != true || m["numStartups"] == nil {
		lost = append(lost, "hasCompletedOnboarding or numStartups")
	}
	projects, _ := m["projects"].(map[string]any)
	for i := 0; i < n; i++ {
		if p, _ := projects[fmt.Sprintf("/w/%02d", i)].(map[string]any); p["hasTrustDialogAccepted"] != true {
			lost = append(lost, fmt.Sprintf("projects[/w/%02d]", i))
		}
	}
	for i := 0; i < ccWrites; i++ {
		if m[fmt.Sprintf("cc_%03d", i)] == nil {
			lost = append(lost, fmt.Sprintf("cc_%03d", i))
		}
	}
	if len(lost) > 0 {
		t.Fatalf("%d keys lost: %v", len(lost), lost)
	}
	t.Logf("%d sleeve-check runs and %d Claude Code saves, no key lost", n, ccWrites)
}

// claudeCodeSave adds key the way Claude Code saves its config (strace of
// 2.1.332): mkdir <file>.lock, read, write a temp file, rename, rmdir.
func claudeCodeSave(t *testing.T, path, key string) {
	lock := path + ".lock"
	for os.Mkdir(lock, 0o777) != nil {
		time.Sleep(time.Millisecond)
	}
	defer os.Remove(lock)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Error(err)
		return
	}
	m := map[string]any{}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Errorf("Claude Code read invalid JSON: %v", err)
		return
	}
	m[key] = true
	out, _ := json.MarshalIndent(m, "", "  ")
	tmp := fmt.Sprintf("%s.tmp.%d.%d", path, os.Getpid(), time.Now().UnixNano())
	if err := os.WriteFile(tmp, out, 0o600); err != nil {
		t.Error(err)
		return
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Error(err)
	}
}

// Health checks running while sleeves start never see a half-written
// state file: every one finds the start's record, or the note of the start
// in progress.
func TestHealthDuringStarts(t *testing.T) {
	bin := buildBinary(t)
	srv := anthropictest.NewServer()
	defer srv.Close()
	srv.Set(fakeOAuth, anthropictest.Behavior{Kind: anthropictest.Valid})
	home := t.TempDir()
	env := []string{"HOME=" + home, "PATH=" + pathWithClaude(t), "CLAUDE_CODE_OAUTH_TOKEN=" + fakeOAuth,
		"ANTHROPIC_BASE_URL=" + srv.URL, "SLEEVE_CHECK_STATE_DIR=" + filepath.Join(home, "state")}
	first := exec.Command(bin, "--", "true")
	first.Env = env
	if out, err := first.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	res := runMany(t, bin, 60, func(int) []string { return env }, func(i int) []string {
		if i%2 == 0 {
			return []string{"--", "true"}
		}
		return []string{"health"}
	})
	for i, r := range res {
		// Issue 19: a health check while a start runs says so ("starting:",
		// exit 1, as Docker's start period expects), never a false reason.
		starting := i%2 == 1 && r.code == 1 && strings.HasPrefix(r.out, "starting: ")
		if !starting && (r.code != 0 || (i%2 == 1 && !strings.HasPrefix(r.out, "healthy: started "))) {
			t.Errorf("run %d: exit %d: %q", i, r.code, r.out)
		}
	}
	for _, f := range []string{"state.json", "probe.json"} {
		b, _ := os.ReadFile(filepath.Join(home, "state", f))
		if leaktest.LeakedWindow(fakeOAuth, string(b)) != "" {
			t.Fatalf("the token is in %s", f)
		}
	}
}

// Twelve sleeves on one subscription whose 5-hour window is used up: all
// exit 11 at once, with one request each. Then with its reset a few
// seconds away and --on-usage-limit=wait: all twelve wait for it, and all
// start after it.
func TestFleetUsageLimit(t *testing.T) {
	bin := buildBinary(t)
	srv := anthropictest.NewServer()
	defer srv.Close()
	const n = 12
	toks := make([]string, n)
	for i := range toks {
		toks[i] = fmt.Sprintf("sk-ant-oat01-quota%02d", i) + strings.Repeat("Q", 80) + fmt.Sprintf("-q%02d", i)
		srv.Set(toks[i], anthropictest.Behavior{Kind: anthropictest.UsageLimit, ResetIn: 2 * time.Hour})
	}
	base := t.TempDir()
	env := func(i int) []string {
		home := filepath.Join(base, fmt.Sprint(i))
		os.MkdirAll(home, 0o755)
		return []string{"HOME=" + home, "PATH=" + pathWithClaude(t), "CLAUDE_CODE_OAUTH_TOKEN=" + toks[i],
			"ANTHROPIC_BASE_URL=" + srv.URL, "SLEEVE_CHECK_STATE_DIR=" + filepath.Join(home, "state")}
	}
	res := runMany(t, bin, n, env, func(int) []string { return []string{"--", "sh", "-c", "echo child-ran"} })
	if got := len(srv.Requests()); got != n {
		t.Errorf("%d requests for %d sleeves at their limit, want %d", got, n, n)
	}
	for i, r := range res {
		if r.code != int(outcome.UsageLimit) || strings.Contains(r.out, "child-ran") || !strings.Contains(r.out, "the subscription's 5-hour limit is reached") {
			t.Errorf("sleeve %d: exit %d after %s:\n%s", i, r.code, r.elapsed, r.out)
		}
		t.Logf("at the limit, sleeve %2d: exit %d in %s", i, r.code, r.elapsed.Round(time.Millisecond))
	}

	srv.Reset()
	// Past the time twelve claude -p take to start together (about 5 s here,
	// 9 s beside the rest of the suite under -race on 2 cores, 11.6 s once
	// beside the Docker e2e too, when the reset had passed as the answer
	// came: hence 20 s, and the probe timeout of 30 s below, so that the
	// probe after the reset is not cut short by the load).
	const resetIn = 20 * time.Second
	for _, tok := range toks {
		srv.Set(tok, anthropictest.Behavior{Kind: anthropictest.UsageLimit, ResetIn: resetIn})
	}
	resetAt := time.Now().Add(resetIn)
	res = runMany(t, bin, n, env, func(int) []string {
		return []string{"--on-usage-limit=wait", "--probe-timeout=30s", "--", "sh", "-c", "echo child-ran"}
	})
	for i, r := range res {
		if r.code != 0 || !strings.Contains(r.out, "child-ran") || !strings.Contains(r.out, "waiting for the subscription's 5-hour limit to reset") {
			t.Errorf("sleeve %d: exit %d after %s:\n%s", i, r.code, r.elapsed, r.out)
		}
		t.Logf("waiting, sleeve %2d: exit %d in %s", i, r.code, r.elapsed.Round(time.Millisecond))
	}
	if now := time.Now(); now.Before(resetAt) {
		t.Errorf("the sleeves started %s before the reset", resetAt.Sub(now))
	}
	if got := len(srv.Requests()); got != 2*n {
		t.Errorf("%d requests for %d waiting sleeves, want %d (one before the reset, one after)", got, n, 2*n)
	}
	for _, tok := range toks {
		for _, r := range res {
			if leaktest.LeakedWindow(tok, r.out) != "" {
				t.Fatal("a token leaked")
			}
		}
	}
}
