package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"sleeve-check/check/anthropictest"
	"sleeve-check/entrypoint"
	"sleeve-check/internal/leaktest"
	"sleeve-check/internal/outcome"
)

// Made-up credentials of the real shapes; none is real.
var (
	fakeOAuth  = anthropictest.FakeToken("oat01", "AAbbEE")
	fakeAPIKey = anthropictest.FakeToken("api03", "Ol9PqqZRRRRRRRZ-xyAA")
)

// fakeTokens are registered at each script's fake API under SECRET_<name>.
var fakeTokens = map[string]anthropictest.Behavior{
	"EXPIRED":     {Kind: anthropictest.Expired},
	"REVOKED":     {Kind: anthropictest.Revoked},
	"BILLING":     {Kind: anthropictest.Billing},
	"SPENDCAP":    {Kind: anthropictest.SpendCap},
	"RATELIMITED": {Kind: anthropictest.RateLimited, RetryAfter: time.Minute},
	"OVERLOADED":  {Kind: anthropictest.Overloaded},
	"SLOW":        {Kind: anthropictest.Valid, Delay: time.Minute},
	"CCONLY":      {Kind: anthropictest.ClaudeCodeOnly},
	// Twins: one length, one last four ("TWIN"), one valid, one revoked.
	"TWINA":      {Kind: anthropictest.Valid},
	"TWINB":      {Kind: anthropictest.Revoked},
	"TWINC":      {Kind: anthropictest.Valid},
	"REDIRECT":   {Kind: anthropictest.Redirect, Location: "https://elsewhere.invalid/v1/messages"},
	"USAGEOK":    {Kind: anthropictest.UsageOK},
	"USAGEWARN":  {Kind: anthropictest.UsageWarning},
	"USAGELIMIT": {Kind: anthropictest.UsageLimit},
	"OVERAGE":    {Kind: anthropictest.UsageOverage},
	// Answers that name an action of the account, not a bad credential.
	"TERMS":  {Kind: anthropictest.ConsumerTerms},
	"ORGOFF": {Kind: anthropictest.OAuthOrgDisallowed},
}

// fakeKey makes an API-key-shaped value unique to name.
func fakeKey(name string) string {
	return "sk-ant-api03-" + fakeToken(name)[len("sk-ant-oat01-"):]
}

// fakeToken makes a setup-token-shaped value unique to name.
func fakeToken(name string) string {
	body := strings.Repeat(strings.ToLower(name)+"X7", 20)
	return "sk-ant-oat01-" + body[:89] + "-" + strings.ToUpper(name[:4])
}

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){"sleeve-check": main, "ttyrun": ttyrun})
}

func TestScripts(t *testing.T) {
	// World-traversable, so scripts can run sleeve-check as another uid.
	root, err := os.MkdirTemp("", "sleeve-check-scripts")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(root, 0o755)
	t.Cleanup(func() { os.RemoveAll(root) })
	testscript.Run(t, testscript.Params{
		Dir:         "testdata/script",
		WorkdirRoot: root,
		Setup: func(e *testscript.Env) error {
			home := filepath.Join(e.WorkDir, "home")
			e.Setenv("HOME", home)
			e.Setenv("SECRET_OAUTH", fakeOAuth)
			e.Setenv("SECRET_APIKEY", fakeAPIKey)
			e.Setenv("NOW_MS", "1")
			// A credential gateway's secret, and a free port for one.
			e.Setenv("SECRET_GATEWAY", "gw-secret-"+strings.Repeat("Q7v", 12)+"-Zk")
			port, err := freePort()
			if err != nil {
				return err
			}
			e.Setenv("GW_PORT", port)
			e.Setenv("GW_URL", "http://127.0.0.1:"+port)
			// As Dockerfile.sleeve does; claude_screens.txtar unsets it.
			e.Setenv("DISABLE_AUTOUPDATER", "1")
			e.Setenv("SLEEVE_CHECK_MANAGED_SETTINGS", filepath.Join(e.WorkDir, "managed-settings.json"))
			e.Setenv("SLEEVE_CHECK_STATE_DIR", filepath.Join(e.WorkDir, "state"))
			// Every script talks to its own fake API on loopback.
			srv := anthropictest.NewServer()
			e.Defer(srv.Close)
			e.Setenv("ANTHROPIC_BASE_URL", srv.URL)
			e.Setenv("FAKE_API", srv.URL)
			srv.Set(fakeOAuth, anthropictest.Behavior{Kind: anthropictest.Valid})
			srv.Set(fakeAPIKey, anthropictest.Behavior{Kind: anthropictest.Valid})
			e.Values["fake"] = srv
			// The same fake on this machine's own non-loopback address, as
			// a gateway on the sleeves' network looks: FAKE_API_LAN.
			lan, err := lanServer(srv.API)
			if err != nil {
				return err
			}
			e.Defer(lan.Close)
			e.Setenv("FAKE_API_LAN", lan.URL)
			for name, b := range fakeTokens {
				tok := fakeToken(name)
				e.Setenv("SECRET_"+name, tok)
				srv.Set(tok, b)
				// The same behaviour for an API key, which the HTTP probe proves.
				key := fakeKey(name)
				e.Setenv("SECRET_KEY_"+name, key)
				srv.Set(key, b)
			}
			cdir, err := claudeDir(e.WorkDir)
			if err != nil {
				return err
			}
			e.Setenv("PATH", cdir+string(os.PathListSeparator)+e.Getenv("PATH"))
			e.Setenv("REAL_CLAUDE", filepath.Join(cdir, "claude"))
			// TMPDIR, like a container's /tmp, is for every user: claude, run
			// as the sleeve user by the probe, keeps its temporary files there.
			if err := os.Chmod(e.Getenv("TMPDIR"), 0o777|os.ModeSticky); err != nil {
				return err
			}
			if dir, err := wrapperDir(e.WorkDir); err != nil || dir != "" {
				e.Setenv("PATH", dir+string(os.PathListSeparator)+e.Getenv("PATH"))
				if err != nil {
					return err
				}
			}
			return os.MkdirAll(home, 0o755)
		},
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "root":
				return os.Geteuid() == 0, nil
			}
			return false, nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			// noleak fails if stdout, stderr or the named files hold any
			// piece of a SECRET_* value.
			"noleak": func(ts *testscript.TestScript, neg bool, args []string) {
				noLeak(ts, args...)
			},
			// exits N CMD ARGS... runs CMD and asserts its exit code is N.
			"exits": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) < 2 {
					ts.Fatalf("usage: exits N command [args...]")
				}
				want, err := strconv.Atoi(args[0])
				ts.Check(err)
				err = ts.Exec(args[1], args[2:]...)
				got := 0
				if ee, ok := err.(*exec.ExitError); ok {
					got = ee.ExitCode()
				} else if err != nil {
					ts.Fatalf("%v", err)
				}
				if got != want {
					ts.Fatalf("exit code %d, want %d", got, want)
				}
				// Every failure path is checked for secrets, not only the
				// ones a script remembers to check.
				noLeak(ts)
			},
			// fakecount N asserts how many requests the fake API has seen.
			"fakecount": func(ts *testscript.TestScript, neg bool, args []string) {
				n, err := strconv.Atoi(args[0])
				ts.Check(err)
				if got := len(ts.Value("fake").(*anthropictest.Server).Requests()); got != n {
					ts.Fatalf("the fake API saw %d requests, want %d", got, n)
				}
			},
			// onlyclaudecode fails if the fake API saw a subscription token
			// in a request that Claude Code did not make (Anthropic's terms).
			"onlyclaudecode": func(ts *testscript.TestScript, neg bool, args []string) {
				n := 0
				for _, r := range ts.Value("fake").(*anthropictest.Server).Requests() {
					if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer sk-ant-oat") {
						continue
					}
					n++
					if !strings.HasPrefix(r.UserAgent, "claude-cli/") || r.Header.Get("x-app") != "cli" {
						ts.Fatalf("a subscription token was sent by %q, not Claude Code", r.UserAgent)
					}
				}
				if n == 0 {
					ts.Fatalf("the fake API saw no request with a subscription token")
				}
			},
			// fakereset forgets the requests the fake API has seen.
			"fakereset": func(ts *testscript.TestScript, neg bool, args []string) {
				ts.Value("fake").(*anthropictest.Server).Reset()
			},
			// fakeset TOKEN BEHAVIOR [RESET_IN] changes how the fake answers a
			// token (RESET_IN: when a usage_limit window resets).
			"fakeset": func(ts *testscript.TestScript, neg bool, args []string) {
				b := anthropictest.Behavior{Kind: anthropictest.Kind(args[1])}
				if len(args) > 2 {
					d, err := time.ParseDuration(args[2])
					ts.Check(err)
					b.ResetIn = d
				}
				ts.Value("fake").(*anthropictest.Server).Set(args[0], b)
			},
			// fakemodel MODEL has the fake answer 404 for MODEL, as the API
			// does for a model that does not exist or is not this account's.
			"fakemodel": func(ts *testscript.TestScript, neg bool, args []string) {
				ts.Value("fake").(*anthropictest.Server).SetModelUnavailable(args[0])
			},
			// fakesetafter DURATION TOKEN BEHAVIOR changes how the fake
			// answers a token, DURATION from now (while a command waits).
			"fakesetafter": func(ts *testscript.TestScript, neg bool, args []string) {
				d, err := time.ParseDuration(args[0])
				ts.Check(err)
				srv := ts.Value("fake").(*anthropictest.Server)
				time.AfterFunc(d, func() { srv.Set(args[1], anthropictest.Behavior{Kind: anthropictest.Kind(args[2])}) })
			},
			// expand SRC DST writes SRC with $VARIABLES replaced, so that
			// files holding a made-up token need no token literal.
			"expand": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 2 {
					ts.Fatalf("usage: expand src dst")
				}
				ts.Check(os.WriteFile(ts.MkAbs(args[1]), []byte(os.Expand(ts.ReadFile(args[0]), ts.Getenv)), 0o600))
			},
			// noproc TEXT [DIR] fails if a running process's command line
			// holds TEXT (read from /proc, so it cannot pass for want of a
			// tool); with DIR, only a process working in DIR counts (scripts
			// run side by side).
			"noproc": func(ts *testscript.TestScript, neg bool, args []string) {
				procs, err := filepath.Glob("/proc/[0-9]*/cmdline")
				ts.Check(err)
				if len(procs) == 0 {
					ts.Fatalf("no /proc to look in")
				}
				for _, p := range procs {
					if len(args) > 1 {
						if cwd, _ := os.Readlink(filepath.Join(filepath.Dir(p), "cwd")); cwd != args[1] {
							continue
						}
					}
					b, _ := os.ReadFile(p)
					if strings.Contains(strings.ReplaceAll(string(b), "\x00", " "), args[0]) {
						ts.Fatalf("%s is still running: %q", args[0], b)
					}
				}
			},
			// waitgateway URL waits (10 s at most) until a gateway at URL
			// answers its /status.
			"waitgateway": func(ts *testscript.TestScript, neg bool, args []string) {
				// Up is all this asks; whether the sleeves trust the
				// gateway's certificate is the scripts' to check.
				c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
				for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
					resp, err := c.Get(args[0] + "/status")
					if err == nil {
						resp.Body.Close()
						if resp.StatusCode == http.StatusOK {
							return
						}
					}
					if time.Now().After(deadline) {
						ts.Fatalf("no gateway answered at %s: %v", args[0], err)
					}
				}
			},
			// http METHOD URL [-H 'Name: value']... [-keyfile F] [-d BODY] [-big MiB]
			// prints "HTTP status" and the answer's body on stdout.
			"http": func(ts *testscript.TestScript, neg bool, args []string) {
				httpCmd(ts, args)
			},
			// mkcert CERT KEY writes a self-signed certificate for
			// 127.0.0.1 (its own CA) and its key.
			"mkcert": func(ts *testscript.TestScript, neg bool, args []string) {
				ts.Check(mkcert(ts.MkAbs(args[0]), ts.MkAbs(args[1])))
			},
			"mkfifo": func(ts *testscript.TestScript, neg bool, args []string) {
				for _, a := range args {
					ts.Check(syscall.Mkfifo(ts.MkAbs(a), 0o600))
				}
			},
		},
	})
}

// noLeak fails if stdout, stderr or the named files hold any piece of a
// SECRET_* value.
func noLeak(ts *testscript.TestScript, files ...string) {
	outs := map[string]string{"stdout": ts.ReadFile("stdout"), "stderr": ts.ReadFile("stderr")}
	for _, f := range files {
		outs[f] = ts.ReadFile(f)
	}
	names := []string{"SECRET_OAUTH", "SECRET_APIKEY", "SECRET_GATEWAY"}
	for n := range fakeTokens {
		names = append(names, "SECRET_"+n, "SECRET_KEY_"+n)
	}
	for _, name := range names {
		for where, out := range outs {
			if w := leaktest.LeakedWindow(ts.Getenv(name), out); w != "" {
				ts.Fatalf("%s leaked into %s (%q)", name, where, w)
			}
		}
	}
}

// The exec'd command must get default signal dispositions: killed by
// SIGTERM, not turned into sleeve-check's "interrupted" exit.
func TestExecedCommandGetsSignalsDirectly(t *testing.T) {
	bin := buildBinary(t)
	home := t.TempDir()
	cmd := exec.Command(bin, "--probe=off", "--", "sleep", "30")
	cmd.Env = []string{"HOME=" + home, "PATH=" + pathWithClaude(t), "CLAUDE_CODE_OAUTH_TOKEN=" + fakeOAuth, "SLEEVE_CHECK_STATE_DIR=" + filepath.Join(home, "state")}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until the process image is sleep, i.e. the exec happened.
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(cmd.Process.Pid), "comm"))
		if strings.TrimSpace(string(b)) == "sleep" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never exec'd sleep (comm %q)", b)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ws.Signaled() || ws.Signal() != syscall.SIGTERM {
		t.Fatalf("want death by SIGTERM, got %v (%v)", ws, err)
	}
}

// The exec'd command starts with the dispositions sleeve-check was
// started with: SIGHUP and SIGINT ignored by its parent (nohup, an empty trap)
// stay ignored, and SIGTERM, caught for the checks, is default again,
// exactly as when the same command is exec'd without it. (Go's runtime
// keeps an inherited SIG_IGN for these two only: an ignored SIGQUIT, say,
// gets its handler at start-up and is default after the exec.)
func TestExecedCommandKeepsInheritedDispositions(t *testing.T) {
	if testExec != "" {
		// qemu-user does not carry an inherited SIG_IGN through a Go
		// program's exec: a program that does nothing but exec cat shows
		// SigIgn 0 under qemu-aarch64-static with HUP and INT ignored by
		// its parent, 3 natively. The native run holds sleeve-check to it.
		t.Skipf("signal dispositions across exec are not emulated faithfully by %s", testExec)
	}
	bin := buildBinary(t)
	home := t.TempDir()
	status := func(via string) (ign, cgt string) {
		t.Helper()
		cmd := exec.Command("sh", "-c", "trap '' HUP INT; exec "+via+"cat /proc/self/status")
		cmd.Env = []string{"HOME=" + home, "PATH=" + pathWithClaude(t), "CLAUDE_CODE_OAUTH_TOKEN=" + fakeOAuth, "SLEEVE_CHECK_STATE_DIR=" + filepath.Join(home, "state")}
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: %v", via, err)
		}
		for _, l := range strings.Split(string(out), "\n") {
			if v, ok := strings.CutPrefix(l, "SigIgn:"); ok {
				ign = strings.TrimSpace(v)
			}
			if v, ok := strings.CutPrefix(l, "SigCgt:"); ok {
				cgt = strings.TrimSpace(v)
			}
		}
		return ign, cgt
	}
	wantIgn, wantCgt := status("")
	ign, cgt := status(bin + " --probe=off --quiet -- ")
	if ign != wantIgn || cgt != wantCgt {
		t.Fatalf("exec'd through sleeve-check: SigIgn %s, SigCgt %s; exec'd directly: SigIgn %s, SigCgt %s", ign, cgt, wantIgn, wantCgt)
	}
}

// SIGTERM during the checks (here: a probe the API never answers) stops
// sleeve-check promptly with 128+15, and the command never starts.
func TestSignalDuringProbe(t *testing.T) {
	bin := buildBinary(t)
	srv := anthropictest.NewServer()
	defer srv.Close()
	srv.Set(fakeOAuth, anthropictest.Behavior{Kind: anthropictest.Valid, Delay: time.Minute})
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		home := t.TempDir()
		cmd := exec.Command(bin, "--", "sh", "-c", "echo child-ran")
		cmd.Env = []string{"HOME=" + home, "PATH=" + pathWithClaude(t), "CLAUDE_CODE_OAUTH_TOKEN=" + fakeOAuth, "ANTHROPIC_BASE_URL=" + srv.URL, "SLEEVE_CHECK_STATE_DIR=" + filepath.Join(home, "state")}
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(10 * time.Second); len(srv.Requests()) == 0; {
			if time.Now().After(deadline) {
				t.Fatal("the probe never reached the fake API")
			}
			time.Sleep(10 * time.Millisecond)
		}
		sent := time.Now()
		cmd.Process.Signal(sig)
		cmd.Wait()
		took := time.Since(sent)
		if code := cmd.ProcessState.ExitCode(); code != 128+int(sig) {
			t.Fatalf("%v: exit %d, want %d\n%s", sig, code, 128+int(sig), out.String())
		}
		if took > 2*time.Second || strings.Contains(out.String(), "child-ran") || !strings.Contains(out.String(), "error: stopped by "+map[syscall.Signal]string{syscall.SIGTERM: "SIGTERM", syscall.SIGINT: "SIGINT"}[sig]) {
			t.Fatalf("%v after %s:\n%s", sig, took, out.String())
		}
		if leaktest.LeakedWindow(fakeOAuth, out.String()) != "" {
			t.Fatal("leak")
		}
		// The config is prepared before the probe (claude, the probe,
		// reads it): what is there is the merge a start writes, no more.
		if b, err := os.ReadFile(filepath.Join(home, ".claude.json")); err == nil && !strings.Contains(string(b), `"hasCompletedOnboarding": true`) {
			t.Fatalf("config after an interrupted start: %s", b)
		}
		srv.Reset()
	}
}

// A credentials file the sleeve user cannot read. As root, permissions do
// not bind, so the binary runs as nobody.
func TestUnreadableCredentialsFile(t *testing.T) {
	bin := buildBinary(t)
	home := t.TempDir()
	os.Chmod(home, 0o755)
	os.MkdirAll(filepath.Join(home, ".claude"), 0o755)
	cred := filepath.Join(home, ".claude", ".credentials.json")
	os.WriteFile(cred, []byte(`{"claudeAiOauth":{"accessToken":"`+fakeOAuth+`"}}`), 0o600)
	cmd := exec.Command(bin)
	cmd.Env = []string{"HOME=" + home}
	if os.Geteuid() == 0 {
		os.Chmod(filepath.Dir(home), 0o755)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		if err := exec.Command("chmod", "o+rx", bin, filepath.Dir(bin)).Run(); err != nil {
			t.Fatal(err)
		}
	} else {
		os.Chmod(cred, 0)
	}
	out, err := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); code != int(outcome.NoCredential) {
		t.Fatalf("exit %d (%v), want %d:\n%s", code, err, outcome.NoCredential, out)
	}
	if !strings.Contains(string(out), "cannot be read: permission denied") || !strings.Contains(string(out), "hint: make it readable") {
		t.Fatalf("message:\n%s", out)
	}
	if leaktest.LeakedWindow(fakeOAuth, string(out)) != "" {
		t.Fatal("leak")
	}
}

// A panic is turned into exit code 70 and never prints its value.
func TestPanicIsInternalAndRedacted(t *testing.T) {
	var out strings.Builder
	code := entrypoint.Recover(&out, func() int { panic("token " + fakeOAuth) })
	if code != int(outcome.Internal) || !strings.Contains(out.String(), "internal error") || leaktest.LeakedWindow(fakeOAuth, out.String()) != "" {
		t.Fatalf("code %d out:\n%s", code, out.String())
	}
}

// Every code in the exit-code table is produced by some test: the scripts
// (exits N) or, for the codes a script cannot reach, the Go tests named.
func TestEveryExitCodeIsProduced(t *testing.T) {
	byGoTest := map[outcome.Code]string{
		outcome.OK:          "ok_exec.txtar",
		outcome.Internal:    "TestPanicIsInternalAndRedacted",
		outcome.Interrupted: "TestSignalDuringProbe",
	}
	seen := map[string]bool{}
	files, _ := filepath.Glob("testdata/script/*.txtar")
	re := regexp.MustCompile(`(?m)^exits (\d+) sleeve-check`)
	for _, f := range files {
		b, _ := os.ReadFile(f)
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			seen[m[1]] = true
		}
	}
	for _, e := range outcome.Table {
		if _, ok := byGoTest[e.Code]; ok {
			continue
		}
		if !seen[strconv.Itoa(int(e.Code))] {
			t.Errorf("exit code %d (%s) is in the table but no script produces it", e.Code, e.Name)
		}
	}
}

func buildBinary(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "sleeve-check-bin")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	if wd, err := wrapperDir(dir); err != nil || wd != "" {
		if err != nil {
			t.Fatal(err)
		}
		return filepath.Join(wd, "sleeve-check")
	}
	bin := filepath.Join(dir, "sleeve-check")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// Issue 9, case 12: a stale .claude.json.lock that cannot be removed (here
// a non-empty lock directory) used to spin the lock loop at 100% CPU
// forever, deaf to SIGTERM. Now it ends at once with exit 7 naming the
// lock; and while a live lock is waited for, the wait sleeps and SIGTERM
// ends it with 143.
func TestConfigLockNeverSpins(t *testing.T) {
	bin := buildBinary(t)
	run := func(home string, signalAfter time.Duration) (int, string, time.Duration, time.Duration) {
		cmd := exec.Command(bin, "--probe=off", "--", "sh", "-c", "echo child-ran")
		cmd.Env = []string{"HOME=" + home, "PATH=" + pathWithClaude(t), "CLAUDE_CODE_OAUTH_TOKEN=" + fakeOAuth, "SLEEVE_CHECK_STATE_DIR=" + filepath.Join(home, "state")}
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		start := time.Now()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		kill := time.AfterFunc(20*time.Second, func() { cmd.Process.Kill() })
		defer kill.Stop()
		if signalAfter > 0 {
			time.AfterFunc(signalAfter, func() { cmd.Process.Signal(syscall.SIGTERM) })
		}
		cmd.Wait()
		ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		return cmd.ProcessState.ExitCode(), out.String(), time.Since(start), cpu
	}

	home := t.TempDir()
	lock := filepath.Join(home, ".claude.json.lock")
	os.MkdirAll(filepath.Join(lock, "someone-elses-file"), 0o755)
	old := time.Now().Add(-time.Minute)
	os.Chtimes(lock, old, old)
	code, out, took, _ := run(home, 0)
	if code != int(outcome.ConfigWrite) || !strings.Contains(out, `error: "`+lock+`" is a stale lock (untouched for 1m0s) that cannot be removed: directory not empty`) ||
		!strings.Contains(out, "hint: no Claude Code holds it: remove it by hand (rm -r") || strings.Contains(out, "child-ran") {
		t.Fatalf("exit %d after %s:\n%s", code, took, out)
	}
	if took > 10*time.Second {
		t.Fatalf("a stale lock that cannot be removed took %s to report", took)
	}

	// A live lock (fresh, so not stale): the start waits, sleeping, and
	// SIGTERM ends the wait.
	home = t.TempDir()
	os.Mkdir(filepath.Join(home, ".claude.json.lock"), 0o755)
	code, out, took, cpu := run(home, 1500*time.Millisecond)
	if code != 128+int(syscall.SIGTERM) || !strings.Contains(out, "error: stopped by SIGTERM") || strings.Contains(out, "child-ran") {
		t.Fatalf("exit %d after %s:\n%s", code, took, out)
	}
	// Not a timing target: a spinning loop burns the whole 1.5 s on CPU;
	// a sleeping one a few milliseconds.
	if cpu > took/2 {
		t.Fatalf("the lock wait spun: %s of CPU in %s", cpu, took)
	}
	if leaktest.LeakedWindow(fakeOAuth, out) != "" {
		t.Fatal("leak")
	}
}

// --on-usage-limit=wait: while the start waits for the window's reset,
// health says so and exits 0; SIGTERM ends the wait at once with 143, and
// the command never runs. One request in all.
func TestUsageLimitWait(t *testing.T) {
	bin := buildBinary(t)
	srv := anthropictest.NewServer()
	defer srv.Close()
	srv.Set(fakeOAuth, anthropictest.Behavior{Kind: anthropictest.UsageLimit, ResetIn: 2 * time.Hour})
	home := t.TempDir()
	env := []string{"HOME=" + home, "PATH=" + pathWithClaude(t), "CLAUDE_CODE_OAUTH_TOKEN=" + fakeOAuth, "ANTHROPIC_BASE_URL=" + srv.URL,
		"SLEEVE_CHECK_STATE_DIR=" + filepath.Join(home, "state"), "SLEEVE_CHECK_ON_USAGE_LIMIT=wait"}
	cmd := exec.Command(bin, "--", "sh", "-c", "echo child-ran")
	cmd.Env = env
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Health once the start waits (before that, a health check finds no
	// verdict yet and probes itself).
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if b, _ := os.ReadFile(filepath.Join(home, "state", "state.json")); strings.Contains(string(b), `"waiting"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the start never said it waits")
		}
	}
	var line string
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(line, "waiting"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("health never said the start waits: %q\n%s", line, out.String())
		}
		h := exec.Command(bin, "health")
		h.Env = env
		b, err := h.Output()
		if err != nil && strings.Contains(string(b), "waiting") {
			t.Fatalf("health exits %v while the start waits: %s", err, b)
		}
		line = string(b)
	}
	if !regexp.MustCompile(`^healthy \(warning\): waiting for the 5-hour limit to reset; it resets at (\d{4}-\d\d-\d\d )?\d\d:\d\d UTC \(in (2h0m|1h59m)\)\n$`).MatchString(line) {
		t.Fatalf("health line %q", line)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 143 || strings.Contains(out.String(), "child-ran") || !strings.Contains(out.String(), "error: stopped by SIGTERM") {
		t.Fatalf("exit %d:\n%s", code, out.String())
	}
	if !strings.Contains(out.String(), "warning: waiting for the subscription's 5-hour limit to reset") {
		t.Fatalf("no word of the wait:\n%s", out.String())
	}
	if n := len(srv.Requests()); n != 1 {
		t.Fatalf("%d requests, want 1 (health reused the start's verdict): %+v", n, srv.Requests())
	}
	if w := leaktest.LeakedWindow(fakeOAuth, out.String()+line); w != "" {
		t.Fatalf("leak %q", w)
	}
}

// lanServer serves api on this machine's non-loopback address.
func lanServer(api http.Handler) (*httptest.Server, error) {
	ip, err := anthropictest.LocalAddress()
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		return nil, err
	}
	srv := &httptest.Server{Listener: l, Config: &http.Server{Handler: api}}
	srv.Start()
	return srv, nil
}

// freePort is a loopback port nobody listens on (now).
func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	_, port, err := net.SplitHostPort(ln.Addr().String())
	return port, err
}

// httpCmd is the script command http: one request, its status and body
// on stdout (and in the script's stdout, for noleak).
func httpCmd(ts *testscript.TestScript, args []string) {
	if len(args) < 2 {
		ts.Fatalf("usage: http METHOD URL [-H 'Name: value']... [-keyfile F] [-d BODY] [-big MiB]")
	}
	var body io.Reader
	hdr := http.Header{}
	size := int64(-1)
	for i := 2; i+1 < len(args); i += 2 {
		switch args[i] {
		case "-H":
			k, v, _ := strings.Cut(args[i+1], ":")
			hdr.Set(strings.TrimSpace(k), strings.TrimSpace(v))
		case "-keyfile":
			hdr.Set("Authorization", "Bearer "+strings.TrimSpace(ts.ReadFile(args[i+1])))
		case "-d":
			body = strings.NewReader(args[i+1])
		case "-big":
			mib, err := strconv.Atoi(args[i+1])
			ts.Check(err)
			size = int64(mib) << 20
			body = io.LimitReader(zeros{}, size)
		default:
			ts.Fatalf("http: unknown option %s", args[i])
		}
	}
	req, err := http.NewRequest(args[0], args[1], body)
	ts.Check(err)
	req.Header = hdr
	if size >= 0 {
		req.ContentLength = size
	}
	resp, err := (&http.Client{Timeout: 20 * time.Second}).Do(req)
	ts.Check(err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	out := fmt.Sprintf("HTTP %d\n%s\n", resp.StatusCode, b)
	for _, k := range []string{"Retry-After"} {
		if v := resp.Header.Get(k); v != "" {
			out += k + ": " + v + "\n"
		}
	}
	ts.Stdout().Write([]byte(out))
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// mkcert writes a self-signed certificate for 127.0.0.1, usable as its
// own CA, and its key, in PEM.
func mkcert(certPath, keyPath string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sleeve-check test gateway"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return err
	}
	return os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
}
