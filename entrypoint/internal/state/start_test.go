package state

import (
	"reflect"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"sleeve-check/check"
	"sleeve-check/entrypoint/internal/report"
)

// A health check reads back what the start saved: LastStart's fields
// carry the names report.Report writes them under.
func TestReadStartReadsWhatTheStartSaved(t *testing.T) {
	dirs := Dirs{configured: t.TempDir(), tmp: t.TempDir()}
	expires := time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC)
	cred := &check.Credential{Kind: check.KindOAuthToken, Source: "CLAUDE_CODE_OAUTH_TOKEN", Value: check.NewSecret("sk-ant-oat01-FAKE-last"), ExpiresAt: expires}
	fp := cred.Fingerprint()
	saved := StartState{
		Report: report.Report{CheckedAt: time.Date(2026, 12, 1, 2, 3, 4, 5, time.UTC), Status: check.StatusValid, Credential: &fp, Command: []string{"claude", "-p", "x"}},
		Start: StartContext{Home: "/home/agent", Settings: map[string]string{"SLEEVE_CHECK_PROBE": "off"},
			Waiting: &Waiting{Until: expires, Window: "five_hour", API: true}},
	}
	if fs := SaveStart(dirs, saved, cred, nil, zerolog.Nop()); fs != nil {
		t.Fatalf("not saved: %v", fs)
	}
	got := ReadStart(dirs)
	if got == nil {
		t.Fatal("nothing read back")
	}
	if !got.CheckedAt.Equal(saved.CheckedAt) || got.Status != saved.Status || !reflect.DeepEqual(got.Credential, saved.Credential) ||
		!reflect.DeepEqual(got.Command, saved.Command) || got.Start.Home != saved.Start.Home || !reflect.DeepEqual(got.Start.Settings, saved.Start.Settings) ||
		!reflect.DeepEqual(got.Start.Waiting, saved.Start.Waiting) || got.Start.Identity == "" {
		t.Fatalf("read back %+v, saved %+v", got, saved)
	}
	if same, known := got.IsCredential(cred); !same || !known {
		t.Fatalf("the saved identity does not match the credential: same %v, known %v", same, known)
	}
}
