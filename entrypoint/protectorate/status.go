//go:build linux

package protectorate

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"sleeve-check/check"
	"sleeve-check/check/probe"
	"sleeve-check/entrypoint/claudecli"
	"sleeve-check/entrypoint/internal/settings"
	"sleeve-check/entrypoint/internal/sleeve"
	"sleeve-check/entrypoint/internal/state"
)

// The dashboard's sidecar: Envoy asks every sleeve GET
// http://<container>:8080/status (5 s timeout) each time its list is read,
// and marks the sleeve sidecar_healthy when the answer decodes. The shape
// is Envoy's (its SidecarStatus, dev branch of 2026-01-29); sleeve_check is
// ours beside it, which Envoy's decoder ignores. Nothing in it is a secret:
// the credential appears as a fingerprint.
type sidecarStatus struct {
	SleeveName string           `json:"sleeve_name"`
	DHF        sidecarDHF       `json:"dhf"`
	Workspace  sidecarWorkspace `json:"workspace"`
	Process    *sidecarProcess  `json:"process"`
	Auth       sidecarAuth      `json:"auth"`
	// SleeveCheck is the keeper's last verdict.
	SleeveCheck sleeveCheckStatus `json:"sleeve_check"`
}

type sidecarDHF struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
}

type sidecarWorkspace struct {
	Path string `json:"path"`
}

type sidecarProcess struct {
	PID         int     `json:"pid"`
	UptimeSecs  float64 `json:"uptime_secs"`
	MemoryRSSKB int64   `json:"memory_rss_kb"`
}

type sidecarAuth struct {
	// ClaudeAuth is true only when the last check proved the credential
	// (upstream's sidecar says true whenever a file exists).
	ClaudeAuth bool `json:"claude_auth"`
	GeminiAuth bool `json:"gemini_auth"`
}

// sleeveCheckStatus is the verdict behind claude_auth.
type sleeveCheckStatus struct {
	// Verdict is ok, failed, or checking (no check has ended yet).
	Verdict    string             `json:"verdict"`
	Reason     string             `json:"reason,omitempty"`
	ExitCode   int                `json:"exit_code"`
	Exit       string             `json:"exit,omitempty"`
	Status     check.Status       `json:"status,omitempty"`
	Credential *check.Fingerprint `json:"credential,omitempty"`
	Usage      *probe.Usage       `json:"usage,omitempty"`
	CheckedAt  *time.Time         `json:"checked_at,omitempty"`
	NextCheck  *time.Time         `json:"next_check_at,omitempty"`
}

// recheckEvery is how often a session whose check failed checks again by
// itself (and so when a failed verdict is checked next).
const recheckEvery = time.Minute

// statusServer answers /status and /health from what the keeper holds:
// its last verdict, the claude it found once, and /proc.
type statusServer struct {
	name, workspace string
	uid             int
	mu              sync.Mutex // over claudeVersion, found after the start
	claudeVersion   string
	ttl             time.Duration
	verdict         func() *state.KeeperVerdict
}

// newStatusServer describes the sleeve: its name (SLEEVE_NAME, upstream's
// variable, else the hostname: Docker's default is the container id, and a
// container's own name is not visible inside it), its claude's version,
// and the sleeve user's uid, whose claude is the one shown.
func newStatusServer(c settings.Call, u *sleeve.User) *statusServer {
	name := c.Env.Get("SLEEVE_NAME")
	if name == "" {
		name, _ = os.Hostname()
	}
	// The session starts claude in the keeper's working directory (the
	// image's WORKDIR); reading claude's own cwd from /proc needs
	// CAP_SYS_PTRACE, which Docker does not give root by default.
	workspace := sleeve.WorkingDir()
	if workspace == "" || workspace == "/" {
		workspace = u.Home
	}
	st := &statusServer{name: name, uid: u.UID, ttl: c.Settings().HealthTTL, workspace: workspace,
		verdict: func() *state.KeeperVerdict { return state.ReadKeeperVerdict(c.Settings().KeeperDir) }}
	if claudecli.IsClaude(c.Inv.Command) {
		if path, err := sleeve.LookPath(c.Inv.Command[0], c.Env.Get("PATH")); err == nil {
			go st.findVersion(path, c.Env.With(u.Env()).Slice(), u)
		}
	}
	return st
}

// findVersion asks claude its version, as the sleeve user (root never
// runs what a PATH of the sleeve user's could put there), within 10 s.
func (st *statusServer) findVersion(path string, env []string, u *sleeve.User) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "--version")
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: u.Credential()}
	out, _ := cmd.Output()
	v, _, _ := strings.Cut(strings.TrimSpace(string(out)), " ")
	st.mu.Lock()
	st.claudeVersion = v
	st.mu.Unlock()
}

// serve answers on addr until the process ends; it reports a listen error.
func (st *statusServer) serve(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: st.handler(), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second, IdleTimeout: time.Minute}
	go srv.Serve(ln)
	return nil
}

// handler answers GET /status and GET /health; anything else is 404 or 405.
func (st *statusServer) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"status":"ok"}` + "\n"))
	})
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(st.status(time.Now()))
	})
	return mux
}

// status is the answer now.
func (st *statusServer) status(now time.Time) sidecarStatus {
	st.mu.Lock()
	version := st.claudeVersion
	st.mu.Unlock()
	s := sidecarStatus{SleeveName: st.name, DHF: sidecarDHF{Name: "Claude Code", Version: version}, Workspace: sidecarWorkspace{Path: st.workspace}}
	if p := findClaude(st.uid); p != nil {
		s.Process = p.process
		if p.cwd != "" {
			s.Workspace.Path = p.cwd
		}
	}
	s.SleeveCheck.Verdict = "checking"
	if v := st.verdict(); v != nil {
		s.Auth.ClaudeAuth = v.OK
		s.SleeveCheck = sleeveCheckStatus{Verdict: "failed", Reason: v.Message, ExitCode: v.Code, Exit: v.Exit, Status: v.Status, Credential: v.Credential, Usage: v.Usage}
		checked, next := v.CheckedAt, v.CheckedAt.Add(recheckEvery)
		if v.OK {
			s.SleeveCheck.Verdict, next = "ok", v.CheckedAt.Add(st.ttl)
		}
		s.SleeveCheck.CheckedAt, s.SleeveCheck.NextCheck = &checked, &next
	}
	return s
}

// claudeProc is the sleeve user's claude: the newest process of uid whose
// command is claude, with its stats and working directory.
type claudeProc struct {
	process *sidecarProcess
	cwd     string
}

func findClaude(uid int) *claudeProc {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	var best *claudeProc
	var bestStart int64 = -1
	for _, d := range dirs {
		st, err := os.Stat(d)
		if err != nil || int(st.Sys().(*syscall.Stat_t).Uid) != uid {
			continue
		}
		comm, _ := os.ReadFile(filepath.Join(d, "comm"))
		if strings.TrimSpace(string(comm)) != "claude" {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(d))
		start, rss := procStart(d), procRSS(d)
		if start < bestStart {
			continue
		}
		cwd, _ := os.Readlink(filepath.Join(d, "cwd"))
		best, bestStart = &claudeProc{process: &sidecarProcess{PID: pid, UptimeSecs: procUptime(start), MemoryRSSKB: rss}, cwd: cwd}, start
	}
	return best
}

// userHZ is the unit of /proc's process times: USER_HZ, 100 on every
// Linux the image is built for.
const userHZ = 100

// procStart is when the process in dir started, in ticks since boot
// (field 22 of stat, after the parenthesised command).
func procStart(dir string) int64 {
	b, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return -1
	}
	i := strings.LastIndexByte(string(b), ')')
	f := strings.Fields(string(b)[i+1:])
	if len(f) < 20 {
		return -1
	}
	n, _ := strconv.ParseInt(f[19], 10, 64)
	return n
}

// procUptime is how long ago a process that started at start ticks began.
func procUptime(start int64) float64 {
	b, _ := os.ReadFile("/proc/uptime")
	f := strings.Fields(string(b))
	if len(f) == 0 || start < 0 {
		return 0
	}
	up, _ := strconv.ParseFloat(f[0], 64)
	return max(0, up-float64(start)/userHZ)
}

// procRSS is the process's resident set in kB (VmRSS).
func procRSS(dir string) int64 {
	b, _ := os.ReadFile(filepath.Join(dir, "status"))
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}
