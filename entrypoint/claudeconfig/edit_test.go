package claudeconfig

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"
)

var now = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

func onboard(obj map[string]any) []string { return setTrue(obj, "hasCompletedOnboarding") }

// A .claude.json of the kind Claude Code writes, with values that a naive
// round-trip would damage: big integers, floats, HTML characters, unicode.
const claudeWritten = `{
  "numStartups": 42,
  "installMethod": "native",
  "userID": "2f6c1f0e8a9b4c3d2f6c1f0e8a9b4c3d2f6c1f0e8a9b4c3d2f6c1f0e8a9b4c3d",
  "firstStartTime": "2026-11-01T10:00:00.000Z",
  "bigNumber": 123456789012345678901234567890,
  "float": 0.1000000000000000055511151231257827,
  "html": "<b>&amp;</b>",
  "unicode": "héllo \u2028 wörld",
  "projects": {"/home/agent/workspace": {"allowedTools": [], "hasTrustDialogAccepted": false, "history": [{"display": "x"}]}},
  "tipsHistory": {"a": 1},
  "nullValue": null,
  "hasCompletedOnboarding": false
}`

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatalf("not a JSON object: %v\n%s", err, b)
	}
	return m
}

func TestEditKeepsEveryOtherKey(t *testing.T) {
	p := filepath.Join(t.TempDir(), ".claude.json")
	must(t, os.WriteFile(p, []byte(claudeWritten), 0o640))
	res, err := EditJSON(p, EditOptions{Now: now}, onboard)
	if err != nil || len(res.Changes) != 1 || res.Created || res.Backup != "" {
		t.Fatalf("%+v %v", res, err)
	}
	after, _ := os.ReadFile(p)
	got, want := decode(t, after), decode(t, []byte(claudeWritten))
	want["hasCompletedOnboarding"] = true
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("keys changed:\n got %v\nwant %v", got, want)
	}
	for _, s := range []string{"123456789012345678901234567890", "0.1000000000000000055511151231257827", "<b>&amp;</b>"} {
		if !strings.Contains(string(after), s) {
			t.Errorf("%s not kept as written:\n%s", s, after)
		}
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640 kept", st.Mode().Perm())
	}
	assertNoTemp(t, filepath.Dir(p))
}

func TestEditNoWriteWhenUnchanged(t *testing.T) {
	p := filepath.Join(t.TempDir(), ".claude.json")
	must(t, os.WriteFile(p, []byte(`{"hasCompletedOnboarding": true, "x": 1}`), 0o600))
	old := time.Now().Add(-time.Hour)
	must(t, os.Chtimes(p, old, old))
	before, _ := os.Stat(p)
	res, err := EditJSON(p, EditOptions{Now: now}, onboard)
	if err != nil || len(res.Changes) != 0 {
		t.Fatalf("%+v %v", res, err)
	}
	after, _ := os.Stat(p)
	if !os.SameFile(before, after) || !after.ModTime().Equal(before.ModTime()) {
		t.Fatal("file was rewritten although nothing changed")
	}
	assertNoTemp(t, filepath.Dir(p))
}

func TestEditCreatesWith0600(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cfg")
	p := filepath.Join(dir, ".claude.json")
	res, err := EditJSON(p, EditOptions{Mkdir: true, Now: now}, onboard)
	if err != nil || !res.Created {
		t.Fatalf("%+v %v", res, err)
	}
	st, _ := os.Stat(p)
	dst, _ := os.Stat(dir)
	if st.Mode().Perm() != 0o600 || dst.Mode().Perm() != 0o700 {
		t.Fatalf("modes %v %v", st.Mode(), dst.Mode())
	}
	if b, _ := os.ReadFile(p); decode(t, b)["hasCompletedOnboarding"] != true {
		t.Fatalf("%s", b)
	}
}

func TestEditEmptyFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), ".claude.json")
	must(t, os.WriteFile(p, nil, 0o600))
	res, err := EditJSON(p, EditOptions{Now: now}, onboard)
	if err != nil || res.Backup != "" || len(res.Changes) != 1 {
		t.Fatalf("%+v %v", res, err)
	}
}

func TestEditCorruptFileIsKept(t *testing.T) {
	for name, content := range map[string]string{
		"truncated":   `{"numStartups": 4, "projects": {`,
		"array":       `[1, 2]`,
		"trailing":    `{"a": 1} {"b": 2}`,
		"invalid utf": "{\"a\": \"\xff\xfe\"}",
		"nul bytes":   "\x00\x00\x00",
	} {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), ".claude.json")
			must(t, os.WriteFile(p, []byte(content), 0o644))
			res, err := EditJSON(p, EditOptions{Now: now}, onboard)
			if err != nil || res.Backup == "" {
				t.Fatalf("%+v %v", res, err)
			}
			if b, _ := os.ReadFile(res.Backup); string(b) != content {
				t.Fatalf("backup %q, want the original %q", b, content)
			}
			if st, _ := os.Stat(res.Backup); st.Mode().Perm() != 0o600 {
				t.Errorf("backup mode %v", st.Mode())
			}
			if b, _ := os.ReadFile(p); decode(t, b)["hasCompletedOnboarding"] != true {
				t.Fatalf("fresh file %s", b)
			}
			if !strings.Contains(res.Changes[0], "kept at "+res.Backup) {
				t.Errorf("changes %v", res.Changes)
			}
		})
	}
}

func TestEditDirectoryAtPath(t *testing.T) {
	p := filepath.Join(t.TempDir(), ".claude.json")
	must(t, os.Mkdir(p, 0o755))
	_, err := EditJSON(p, EditOptions{Now: now}, onboard)
	var fe *FileError
	if !errors.As(err, &fe) || fe.ID != "config_is_directory" || !strings.Contains(fe.Msg, "docker -v") || fe.Hint == "" {
		t.Fatalf("%v", err)
	}
}

func TestEditFIFOAtPath(t *testing.T) {
	p := filepath.Join(t.TempDir(), ".claude.json")
	must(t, syscall.Mkfifo(p, 0o600))
	_, err := EditJSON(p, EditOptions{Now: now}, onboard)
	var fe *FileError
	if !errors.As(err, &fe) || fe.ID != "config_not_regular" {
		t.Fatalf("%v", err)
	}
}

func TestEditRenameBusyFallsBackInPlace(t *testing.T) {
	for _, errno := range []syscall.Errno{syscall.EBUSY, syscall.EXDEV} {
		t.Run(errno.Error(), func(t *testing.T) {
			p := filepath.Join(t.TempDir(), ".claude.json")
			must(t, os.WriteFile(p, []byte(`{"keep": "me", "long": "`+strings.Repeat("x", 500)+`"}`), 0o600))
			before, _ := os.Stat(p)
			busy := func(o, n string) error { return &os.LinkError{Op: "rename", Old: o, New: n, Err: errno} }
			res, err := EditJSON(p, EditOptions{Now: now, rename: busy}, func(obj map[string]any) []string {
				delete(obj, "long") // the new content is shorter: the tail must be cut
				return append(onboard(obj), "dropped long")
			})
			if err != nil || !res.InPlace {
				t.Fatalf("%+v %v", res, err)
			}
			after, _ := os.Stat(p)
			b, _ := os.ReadFile(p)
			m := decode(t, b)
			if !os.SameFile(before, after) || m["keep"] != "me" || m["hasCompletedOnboarding"] != true || m["long"] != nil {
				t.Fatalf("in-place write wrong: %s", b)
			}
			assertNoTemp(t, filepath.Dir(p))
		})
	}
}

func TestEditFollowsSymlink(t *testing.T) {
	home, vol := t.TempDir(), t.TempDir()
	target := filepath.Join(vol, "claude.json")
	must(t, os.WriteFile(target, []byte(`{"a":1}`), 0o600))
	link := filepath.Join(home, ".claude.json")
	must(t, os.Symlink(target, link))
	res, err := EditJSON(link, EditOptions{Now: now}, onboard)
	if err != nil || res.Path != target {
		t.Fatalf("%+v %v", res, err)
	}
	if fi, _ := os.Lstat(link); fi.Mode()&os.ModeSymlink == 0 {
		t.Fatal("the symlink was replaced by a file")
	}
	if b, _ := os.ReadFile(target); decode(t, b)["hasCompletedOnboarding"] != true {
		t.Fatalf("%s", b)
	}
}

func TestEditDryRunWritesNothing(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "sub", ".claude.json")
	res, err := EditJSON(p, EditOptions{Mkdir: true, DryRun: true, Now: now}, onboard)
	if err != nil || len(res.Changes) != 1 {
		t.Fatalf("%+v %v", res, err)
	}
	if _, err := os.Stat(filepath.Dir(p)); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("dry run created something")
	}
}

func TestPrepare(t *testing.T) {
	home := t.TempDir()
	cfgDir := filepath.Join(home, ".claude")
	global := filepath.Join(home, ".claude.json")
	must(t, os.WriteFile(global, []byte(`{"customApiKeyResponses":{"approved":["other"],"rejected":["abcdefghijklmnopqrst"]},"projects":{"/w":{"history":[1]}}}`), 0o600))
	plan := ConfigPlan{GlobalConfig: global, ConfigDir: cfgDir, TrustDirs: []string{"/w", "/x"}, APIKeySuffix: "abcdefghijklmnopqrst", AcceptBypass: true}
	res, err := Prepare(plan, EditOptions{Now: now})
	if err != nil || len(res.Files) != 2 {
		t.Fatalf("%+v %v", res, err)
	}
	b, _ := os.ReadFile(global)
	m := decode(t, b)
	projects := m["projects"].(map[string]any)
	if projects["/w"].(map[string]any)["hasTrustDialogAccepted"] != true || projects["/x"].(map[string]any)["hasTrustDialogAccepted"] != true {
		t.Errorf("trust not set: %s", b)
	}
	if len(projects["/w"].(map[string]any)["history"].([]any)) != 1 {
		t.Errorf("project history lost: %s", b)
	}
	resp := m["customApiKeyResponses"].(map[string]any)
	if !reflect.DeepEqual(resp["approved"], []any{"other", "abcdefghijklmnopqrst"}) || len(resp["rejected"].([]any)) != 0 {
		t.Errorf("approval wrong: %s", b)
	}
	for _, c := range res.Files[0].Changes {
		if strings.Contains(c, "abcdefghijklmnopqrst") {
			t.Errorf("change description shows the key suffix: %q", c)
		}
	}
	sb, _ := os.ReadFile(filepath.Join(cfgDir, "settings.json"))
	if decode(t, sb)["skipDangerousModePermissionPrompt"] != true {
		t.Errorf("settings.json: %s", sb)
	}
	// Idempotent: the second run changes nothing.
	res, err = Prepare(plan, EditOptions{Now: now})
	if err != nil || len(res.Files[0].Changes)+len(res.Files[1].Changes) != 0 {
		t.Fatalf("second run changed %+v %v", res, err)
	}
	// Someone else's data of another type is left alone, and said so.
	must(t, os.WriteFile(global, []byte(`{"projects":"not an object"}`), 0o600))
	res, _ = Prepare(ConfigPlan{GlobalConfig: global, ConfigDir: cfgDir, TrustDirs: []string{"/w"}}, EditOptions{Now: now})
	if b, _ := os.ReadFile(global); decode(t, b)["projects"] != "not an object" || !strings.Contains(strings.Join(res.Files[0].Changes, ";"), "left projects alone") {
		t.Errorf("%s %v", b, res.Files[0].Changes)
	}
}

func assertNoTemp(t *testing.T, dir string) {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.Contains(e.Name(), ".sleeve-check-") {
			t.Fatalf("temp file left behind: %s", e.Name())
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestEditTakesClaudeCodesLock(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, ".claude.json")
	lock := p + ".lock"
	// A live holder (fresh lock): we wait, then give up with a clear error.
	must(t, os.Mkdir(lock, 0o777))
	_, err := EditJSON(p, EditOptions{Now: now, LockWait: 100 * time.Millisecond}, onboard)
	var fe *FileError
	if !errors.As(err, &fe) || fe.ID != "config_locked" || !strings.Contains(fe.Msg, lock) {
		t.Fatalf("%v", err)
	}
	if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("written without the lock")
	}
	// The holder releases it while we wait: we go on.
	time.AfterFunc(50*time.Millisecond, func() { os.Remove(lock) })
	if _, err := EditJSON(p, EditOptions{Now: now, LockWait: 5 * time.Second}, onboard); err != nil {
		t.Fatal(err)
	}
	// A stale lock (a holder that died) is taken over, as proper-lockfile does.
	must(t, os.Mkdir(lock, 0o777))
	old := time.Now().Add(-lockStale - time.Second)
	must(t, os.Chtimes(lock, old, old))
	if _, err := EditJSON(p, EditOptions{Now: now, LockWait: 100 * time.Millisecond}, func(o map[string]any) []string { return setTrue(o, "x") }); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(lock); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("lock left behind")
	}
}

// A synced copy of the operator's .claude.json is merged in: its keys are
// added where the file lacks them, the file's own keys are kept, and the
// flags sleeve-check sets win over both.
func TestPrepareMergesABaseConfig(t *testing.T) {
	dir := t.TempDir()
	global := filepath.Join(dir, ".claude.json")
	if err := os.WriteFile(global, []byte(`{"numStartups": 7, "hasCompletedOnboarding": false}`), 0o600); err != nil {
		t.Fatal(err)
	}
	base := map[string]any{"numStartups": 99.0, "userID": "u-1", "oauthAccount": map[string]any{"emailAddress": "op@example.invalid"}, "hasCompletedOnboarding": false}
	res, err := Prepare(ConfigPlan{GlobalConfig: global, ConfigDir: filepath.Join(dir, ".claude"), Base: base, BaseName: "claude/settings.json"}, EditOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := ReadJSON(global)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got["numStartups"]) != "7" || got["userID"] != "u-1" || got["hasCompletedOnboarding"] != true || got["oauthAccount"] == nil {
		t.Fatalf("%v", got)
	}
	if ch := res.Files[0].Changes; len(ch) == 0 || !strings.Contains(ch[0], "added 2 keys from claude/settings.json (oauthAccount, userID)") {
		t.Fatalf("%q", ch)
	}
}

// BeforeLock is called before the lock is taken when there is something
// to write (the start catches its signals then), and not at all when
// nothing changes or nothing is written (a dry run).
func TestEditBeforeLock(t *testing.T) {
	p := filepath.Join(t.TempDir(), ".claude.json")
	must(t, os.WriteFile(p, []byte(`{"x": 1}`), 0o600))
	calls := 0
	before := func() {
		calls++
		if _, err := os.Stat(p + ".lock"); err == nil {
			t.Error("BeforeLock called with the lock taken")
		}
	}
	if _, err := EditJSON(p, EditOptions{Now: now, DryRun: true, BeforeLock: before}, onboard); err != nil || calls != 0 {
		t.Fatalf("dry run: %d calls, %v", calls, err)
	}
	if _, err := EditJSON(p, EditOptions{Now: now, BeforeLock: before}, onboard); err != nil || calls != 1 {
		t.Fatalf("a change: %d calls, %v", calls, err)
	}
	if _, err := EditJSON(p, EditOptions{Now: now, BeforeLock: before}, onboard); err != nil || calls != 1 {
		t.Fatalf("nothing to change: %d calls, %v", calls, err)
	}
}
