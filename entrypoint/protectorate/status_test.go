//go:build linux

package protectorate

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sleeve-check/check"
	"sleeve-check/entrypoint/internal/state"
)

// The shape Envoy decodes (its SidecarStatus and the types under it, dev
// branch of 2026-01-29, internal/envoy/sidecar_client.go): field names and
// JSON keys as Envoy has them. An answer that decodes into it is what makes
// Envoy's dashboard mark a sleeve sidecar_healthy.
type SidecarStatus struct {
	SleeveName string              `json:"sleeve_name"`
	DHF        *SidecarDHFInfo     `json:"dhf"`
	Workspace  *SidecarWorkspace   `json:"workspace"`
	Process    *SidecarProcessInfo `json:"process"`
	Auth       *SidecarAuthInfo    `json:"auth"`
}

type SidecarDHFInfo struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
}

type SidecarWorkspace struct {
	Path   string          `json:"path"`
	Cstack json.RawMessage `json:"cstack,omitempty"`
}

type SidecarProcessInfo struct {
	PID         int     `json:"pid"`
	UptimeSecs  float64 `json:"uptime_secs"`
	MemoryRSSKB int64   `json:"memory_rss_kb"`
}

type SidecarAuthInfo struct {
	ClaudeAuth bool `json:"claude_auth"`
	GeminiAuth bool `json:"gemini_auth"`
}

func TestStatusAsEnvoyReadsIt(t *testing.T) {
	// A process called claude of this user, in a workspace of its own.
	bin, ws := filepath.Join(t.TempDir(), "claude"), t.TempDir()
	sleep, _ := exec.LookPath("sleep")
	b, _ := os.ReadFile(sleep)
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "30")
	cmd.Dir = ws
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	time.Sleep(200 * time.Millisecond)

	fp := &check.Fingerprint{Kind: check.KindOAuthToken, Source: "CLAUDE_CODE_OAUTH_TOKEN", Length: 108, Last4: "AAAA"}
	var verdict *state.KeeperVerdict
	st := &statusServer{name: "sleeve-alpha", claudeVersion: "2.1.332", uid: os.Geteuid(), ttl: 30 * time.Minute, workspace: "/home/agent",
		verdict: func() *state.KeeperVerdict { return verdict }}
	srv := httptest.NewServer(st.handler())
	defer srv.Close()
	get := func() (SidecarStatus, map[string]any) {
		resp, err := http.Get(srv.URL + "/status")
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%v %v", resp, err)
		}
		defer resp.Body.Close()
		var raw json.RawMessage
		json.NewDecoder(resp.Body).Decode(&raw)
		var s SidecarStatus
		if err := json.Unmarshal(raw, &s); err != nil {
			t.Fatalf("Envoy cannot decode %s: %v", raw, err)
		}
		var ours map[string]any
		json.Unmarshal(raw, &ours)
		if strings.Contains(string(raw), "sk-ant") {
			t.Fatalf("a secret in %s", raw)
		}
		return s, ours["sleeve_check"].(map[string]any)
	}

	// Before any check: not authenticated, checking.
	s, ours := get()
	if s.SleeveName != "sleeve-alpha" || s.DHF.Name != "Claude Code" || s.DHF.Version != "2.1.332" || s.Auth.ClaudeAuth || ours["verdict"] != "checking" {
		t.Fatalf("%+v %v", s, ours)
	}
	if s.Process == nil || s.Process.PID != cmd.Process.Pid || s.Process.MemoryRSSKB <= 0 || s.Process.UptimeSecs < 0 || s.Workspace.Path != ws {
		t.Fatalf("process %+v workspace %+v, want pid %d in %s", s.Process, s.Workspace, cmd.Process.Pid, ws)
	}

	// An expired token: false, with the reason and the code.
	now := time.Now().UTC()
	verdict = &state.KeeperVerdict{Code: 6, Exit: "credential_rejected", Message: "the API says the credential has expired", CheckedAt: now, Credential: fp, Status: check.StatusExpired}
	if s, ours = get(); s.Auth.ClaudeAuth || ours["verdict"] != "failed" || ours["exit_code"] != float64(6) || ours["reason"] != verdict.Message || ours["next_check_at"] == nil {
		t.Fatalf("%+v %v", s.Auth, ours)
	}
	// Proved: true.
	verdict = &state.KeeperVerdict{OK: true, Exit: "ok", CheckedAt: now, Credential: fp, Status: check.StatusValid}
	if s, ours = get(); !s.Auth.ClaudeAuth || ours["verdict"] != "ok" || ours["status"] != "valid" {
		t.Fatalf("%+v %v", s.Auth, ours)
	}

	// /health answers 200; another method or path does not serve /status.
	if resp, err := http.Get(srv.URL + "/health"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("/health: %v %v", resp, err)
	}
	if resp, _ := http.Post(srv.URL+"/status", "application/json", nil); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST /status: %d", resp.StatusCode)
	}
}
