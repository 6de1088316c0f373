package check

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"sleeve-check/internal/environ"
	"sleeve-check/internal/outcome"
	"sleeve-check/internal/safefile"
)

// Input is everything the credential decision depends on.
type Input struct {
	// Env is the process environment the command will inherit.
	Env environ.Env
	// Cwd is the working directory the command will start in; it locates
	// the project settings files.
	Cwd string
	Now time.Time
	// ExpiryWarning is how close to expiry a credential earns a warning.
	ExpiryWarning time.Duration
	// TokenIssued is when the setup-token in CLAUDE_CODE_OAUTH_TOKEN was
	// issued; zero when unknown.
	TokenIssued time.Time
	// ManagedSettings is the path of the managed settings file.
	ManagedSettings string
	// CanWrite reports whether Claude Code's user could write path; nil
	// means the current process's access(2) answer.
	CanWrite func(path string) bool
	// Secrets are the *_FILE secrets read earlier (before dropping to the
	// sleeve user); nil means Resolve reads them itself.
	Secrets *Secrets
	// PasswdHome is the home directory of the user in /etc/passwd: Claude
	// Code (node's os.homedir) falls back to it when HOME is unset.
	PasswdHome string
	// Seeded, when set, is what the credentials file will hold once seeded
	// (SLEEVE_CHECK_SEED_CREDENTIALS), for a report that writes nothing.
	Seeded []byte
}

// Secrets are the values read from *_FILE variables.
type Secrets struct {
	// Values maps the plain variable to its value and source.
	Values   map[string]envVal
	Findings outcome.Findings
}

// LoadSecrets reads the *_FILE secrets named in env. sleeve-check calls it
// before it drops to the sleeve user, so that a secret readable only by
// root, named explicitly by the operator, still reaches Claude Code.
func LoadSecrets(env environ.Env) *Secrets {
	s := &Secrets{Values: map[string]envVal{}}
	for _, name := range SecretFileVars {
		fileVar := name + "_FILE"
		path := env.Get(fileVar)
		if path == "" {
			continue
		}
		if env.Get(name) != "" {
			s.Findings.Errf(outcome.Config, "secret_file_conflict", fmt.Sprintf("%s and %s are both set", name, fileVar),
				fmt.Sprintf("set only one: unset %s to use the file, or unset %s to use the variable", name, fileVar))
			continue
		}
		b, ok := readSmallFile(&s.Findings, path, fileVar, "secret_file")
		if !ok {
			continue
		}
		// A secret file conventionally ends with one newline: that one is
		// the file's. Whatever else Claude Code would trim is trimmed with
		// a warning, and the command gets the trimmed value.
		v := trimmed(&s.Findings, fmt.Sprintf("%s (%s)", fileVar, path), strings.TrimSuffix(string(b), "\n"))
		if v == "" {
			s.Findings.Errf(outcome.Malformed, "secret_file_empty", fmt.Sprintf("%s names %s, which is empty", fileVar, strconv.Quote(path)),
				"write the token into the file, or mount the right secret")
			continue
		}
		s.Values[name] = envVal{v: v, source: fmt.Sprintf("%s (%s)", fileVar, path)}
	}
	return s
}

// Resolution is the outcome: which credential Claude Code will use and
// what is wrong with it.
type Resolution struct {
	Selected *Credential
	Shadowed []Credential
	Findings outcome.Findings
	Status   Status
	// ChildEnv holds variables to add to the command's environment: the
	// plain variables read from *_FILE secrets.
	ChildEnv map[string]string
	// ConfigDir is Claude Code's config directory ($CLAUDE_CONFIG_DIR or ~/.claude).
	ConfigDir string
	// GlobalConfig is the .claude.json Claude Code reads.
	GlobalConfig string
	// CredentialsFile is where Claude Code looks for a /login credential.
	CredentialsFile string
	// Home is the home directory Claude Code uses, and HomeSource where
	// it came from (HOME, or the passwd entry when HOME is unset).
	Home, HomeSource string
	// UnusedConfig is a second global config that exists but that Claude
	// Code does not read (the .claude.json beside a legacy .config.json).
	UnusedConfig string
	// SettingsRead lists the settings files that exist and were read.
	SettingsRead []string
	// BaseURL is ANTHROPIC_BASE_URL as Claude Code uses it (trimmed), or
	// "" for the default; BaseURLSource names where it came from.
	BaseURL, BaseURLSource string

	eff map[string]envVal
	// model is the "model" key of the settings files, the last one read
	// winning (Claude Code's precedence).
	model envVal
	// helper is the apiKeyHelper command from the settings files, if any.
	helper envVal
}

// envVal is a variable's value and where it came from; settings is the
// settings file whose env block set it, if one did.
type envVal struct{ v, source, settings string }

// Model is the model Claude Code will use unless its command line names
// one (--model), and where it was set: ANTHROPIC_MODEL (the environment,
// or a settings file's env block) over the "model" key of the settings
// files (Claude Code's documented order). "" when neither sets one.
func (r *Resolution) Model() (model, source string) {
	if v, src, ok := r.Lookup("ANTHROPIC_MODEL"); ok && strings.TrimSpace(v) != "" {
		return strings.TrimSpace(v), src
	}
	return r.model.v, r.model.source
}

// Lookup returns a variable as Claude Code will see it (settings env
// blocks over *_FILE secrets over the process environment) and where it
// came from.
func (r *Resolution) Lookup(name string) (value, source string, ok bool) {
	e, ok := r.eff[name]
	return e.v, e.source, ok
}

// credentialVars are the variables that carry a credential's value.
var credentialVars = []string{"CLAUDE_CODE_OAUTH_TOKEN", "ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN"}

// SecretFileVars are the variables that take a *_FILE twin, the
// Docker/Kubernetes secrets convention.
var SecretFileVars = []string{"CLAUDE_CODE_OAUTH_TOKEN", "ANTHROPIC_API_KEY"}

var cloudSwitches = []struct{ env, name string }{
	{"CLAUDE_CODE_USE_BEDROCK", "Amazon Bedrock"},
	{"CLAUDE_CODE_USE_VERTEX", "Google Vertex AI"},
	{"CLAUDE_CODE_USE_FOUNDRY", "Microsoft Foundry"},
}

// maxCredentialsSize bounds what is read of a credentials or secret file;
// a real one is under 1 KiB.
const maxCredentialsSize = 1 << 20

// maxSettingsSize bounds what is read of a settings file.
const maxSettingsSize = 64 << 20

// Resolve mirrors Claude Code's credential precedence, then checks the
// credential that wins.
func Resolve(in Input) *Resolution {
	r := &Resolution{ChildEnv: map[string]string{}, eff: map[string]envVal{}}
	if in.CanWrite == nil {
		in.CanWrite = canWrite
	}
	for _, k := range in.Env.Names() {
		r.eff[k] = envVal{v: in.Env.Get(k), source: k}
	}
	if !r.locate(in) {
		r.Status = StatusUnknown
		return r
	}
	if in.Secrets == nil {
		in.Secrets = LoadSecrets(in.Env)
	}
	r.Findings = append(r.Findings, in.Secrets.Findings...)
	for k, v := range in.Secrets.Values {
		r.eff[k] = v
		r.ChildEnv[k] = v.v
	}
	r.readSettings(in)
	if v, src, ok := r.Lookup("ANTHROPIC_BASE_URL"); ok && v != "" {
		r.BaseURL, r.BaseURLSource = trimmed(&r.Findings, src, v), src
	}
	if r.Findings.HasError() {
		r.Status = StatusUnknown
		return r
	}
	cands, empties := r.candidates(in)
	if len(cands) == 0 {
		r.noCredential(empties)
		return r
	}
	for _, name := range empties {
		r.Findings.Note("credential_var_empty", fmt.Sprintf("%s is set but empty; Claude Code treats it as unset", name))
	}
	sel := cands[0]
	r.Selected = &sel
	r.Shadowed = cands[1:]
	for _, sh := range r.Shadowed {
		r.shadowWarning(sel, sh)
	}
	r.checkSelected(in)
	return r
}

func (r *Resolution) locate(in Input) bool {
	r.Home, r.HomeSource = in.Env.Get("HOME"), "HOME"
	if r.Home == "" && in.PasswdHome != "" {
		r.Home, r.HomeSource = in.PasswdHome, "the passwd entry (HOME is unset)"
	}
	base := r.Home
	if d := in.Env.Get("CLAUDE_CONFIG_DIR"); d != "" {
		if !filepath.IsAbs(d) {
			d = filepath.Join(in.Cwd, d)
		}
		r.ConfigDir = filepath.Clean(d)
		base = r.ConfigDir
	} else if r.Home != "" {
		r.ConfigDir = filepath.Join(r.Home, ".claude")
	} else {
		r.Findings.Errf(outcome.Config, "home_unset", "HOME is not set, the user has no home in /etc/passwd, and CLAUDE_CONFIG_DIR is not set, so Claude Code's config cannot be found",
			"set HOME to the sleeve user's home directory, or set CLAUDE_CONFIG_DIR")
		return false
	}
	r.GlobalConfig, r.UnusedConfig = globalConfig(filepath.Join(base, ".claude.json"), filepath.Join(r.ConfigDir, ".config.json"))
	if r.UnusedConfig != "" {
		r.Findings.Warn("config_duplicate", fmt.Sprintf("two Claude Code config files exist: Claude Code reads %s, not %s, so sleeve-check prepares that one",
			strconv.Quote(r.GlobalConfig), strconv.Quote(r.UnusedConfig)),
			"move aside the one you do not want (Claude Code itself warns about this at every start)")
	}
	r.CredentialsFile = filepath.Join(r.ConfigDir, ".credentials.json")
	return true
}

// globalConfig picks the global config file the way Claude Code 2.1.332
// does (read from its code, and observed): a legacy <config dir>/.config.json
// that is a non-empty file wins over .claude.json, with a "Two Claude Code
// config files exist" warning when both hold something; an empty one wins
// only when it is writable and .claude.json is missing (or an empty,
// read-only placeholder). It returns the file used and the one ignored.
func globalConfig(current, legacy string) (use, unused string) {
	l, err := os.Stat(legacy)
	if err != nil || !l.Mode().IsRegular() || (l.Size() == 0 && l.Mode().Perm()&0o222 == 0) {
		return current, ""
	}
	g, err := os.Stat(current)
	switch {
	case err != nil:
		return legacy, ""
	case l.Size() == 0 && g.Mode().IsRegular() && g.Size() == 0 && g.Mode().Perm()&0o222 == 0:
		return legacy, ""
	case l.Size() == 0:
		return current, ""
	case !g.Mode().IsRegular() || g.Size() == 0 || os.SameFile(l, g):
		return legacy, ""
	}
	return legacy, current
}

// readSmallFile reads a credential-bearing file, turning each way it can
// be missing into a finding of class NoCredential.
func readSmallFile(out *outcome.Findings, path, what, id string) ([]byte, bool) {
	q := strconv.Quote(path)
	label := q + ", which"
	if what != "" {
		label = fmt.Sprintf("%s names %s, which", what, q)
	}
	b, _, err := safefile.Read(path, maxCredentialsSize, safefile.Options{})
	var nr *safefile.NotRegularError
	var tl *safefile.TooLargeError
	switch {
	case err == nil:
		return b, true
	case errors.Is(err, fs.ErrNotExist):
		out.Errf(outcome.NoCredential, id+"_missing", fmt.Sprintf("%s does not exist", label),
			"mount the file at that path, or fix the path")
	case errors.Is(err, fs.ErrPermission):
		out.Errf(outcome.NoCredential, id+"_unreadable", fmt.Sprintf("%s cannot be read: permission denied (running as uid %d)", label, os.Getuid()),
			"make it readable by the sleeve user (chown or chmod the file on the host, or the secret's defaultMode)")
	case errors.As(err, &nr) && nr.IsDir():
		out.Errf(outcome.NoCredential, id+"_is_directory", fmt.Sprintf("%s is a directory, not a file: docker -v creates a directory when the host file does not exist", label),
			"create the file on the host first and mount it again, or mount the directory that holds it")
	case errors.As(err, &nr):
		out.Errf(outcome.NoCredential, id+"_not_regular", fmt.Sprintf("%s is not a regular file (%s)", label, nr.Mode.Type()),
			"mount a regular file")
	case errors.As(err, &tl):
		out.Errf(outcome.Malformed, id+"_too_large", fmt.Sprintf("%s is larger than %d bytes, far too large for a credential", label, maxCredentialsSize),
			"mount the right file")
	case isOpenErr(err):
		out.Errf(outcome.NoCredential, id+"_unreadable", fmt.Sprintf("%s cannot be opened: %s", label, safefile.ErrText(err)), "check the mount")
	default:
		out.Errf(outcome.NoCredential, id+"_unreadable", fmt.Sprintf("%s cannot be read: %s", label, safefile.ErrText(err)), "check the mount")
	}
	return nil, false
}

func isOpenErr(err error) bool {
	var pe *fs.PathError
	return errors.As(err, &pe) && pe.Op == "open"
}

// settings files in Claude Code's order, lowest precedence first.
func (r *Resolution) settingsPaths(in Input) []string {
	p := []string{filepath.Join(r.ConfigDir, "settings.json")}
	if in.Cwd != "" {
		p = append(p, filepath.Join(in.Cwd, ".claude", "settings.json"), filepath.Join(in.Cwd, ".claude", "settings.local.json"))
	}
	if in.ManagedSettings != "" {
		p = append(p, in.ManagedSettings)
	}
	return p
}

func (r *Resolution) readSettings(in Input) {
	for _, path := range r.settingsPaths(in) {
		b, _, err := safefile.Read(path, maxSettingsSize, safefile.Options{})
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				r.Findings.Warn("settings_unreadable", fmt.Sprintf("settings file %s cannot be read: %s", strconv.Quote(path), safefile.ErrText(err)),
					"sleeve-check cannot see its env block or apiKeyHelper; Claude Code may not either")
			}
			continue
		}
		r.SettingsRead = append(r.SettingsRead, path)
		var s struct {
			Env          map[string]json.RawMessage `json:"env"`
			APIKeyHelper json.RawMessage            `json:"apiKeyHelper"`
			Model        json.RawMessage            `json:"model"`
		}
		if err := json.Unmarshal(b, &s); err != nil {
			r.Findings.Warn("settings_invalid", fmt.Sprintf("settings file %s is not valid JSON or has an env block that is not an object: %s", strconv.Quote(path), jsonErr(err)),
				"fix it: Claude Code will complain about it too")
			continue
		}
		keys := make([]string, 0, len(s.Env))
		for k := range s.Env {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			var v string
			if err := json.Unmarshal(s.Env[k], &v); err != nil {
				r.Findings.Warn("settings_env_value", fmt.Sprintf("settings file %s: env.%s is not a string", strconv.Quote(path), k), "quote the value")
				continue
			}
			r.eff[k] = envVal{v: v, source: fmt.Sprintf("%s in the env block of %s", k, path), settings: path}
		}
		var model string
		if len(s.Model) > 0 && json.Unmarshal(s.Model, &model) == nil && strings.TrimSpace(model) != "" {
			r.model = envVal{v: strings.TrimSpace(model), source: "model in " + path}
		}
		var helper string
		if len(s.APIKeyHelper) > 0 && json.Unmarshal(s.APIKeyHelper, &helper) == nil && helper != "" {
			r.helper = envVal{v: helper, source: "apiKeyHelper in " + path}
		}
	}
}

// candidates lists the credentials present, in Claude Code's precedence,
// and the credential variables that are set but empty.
func (r *Resolution) candidates(in Input) ([]Credential, []string) {
	var out []Credential
	var empties []string
	for _, c := range cloudSwitches {
		if v, src, ok := r.Lookup(c.env); ok && outcome.Truthy(v) {
			out = append(out, Credential{Kind: KindCloud, Source: src, Var: c.env, Detail: c.name})
			break
		}
	}
	for _, v := range []struct {
		name string
		kind Kind
	}{{"ANTHROPIC_AUTH_TOKEN", KindAuthToken}, {"ANTHROPIC_API_KEY", KindAPIKey}, {"", KindAPIKeyHelper}, {"CLAUDE_CODE_OAUTH_TOKEN", KindOAuthToken}} {
		if v.kind == KindAPIKeyHelper {
			if r.helper.v != "" {
				out = append(out, Credential{Kind: v.kind, Source: r.helper.source, Detail: "helper command " + strconv.Quote(firstWord(r.helper.v)), Helper: r.helper.v})
			}
			continue
		}
		e, ok := r.eff[v.name]
		switch {
		case !ok:
		case e.v == "":
			empties = append(empties, v.name)
		default:
			out = append(out, Credential{Kind: v.kind, Source: e.source, Var: v.name, Value: NewSecret(trimmed(&r.Findings, e.source, e.v)), SettingsFile: e.settings})
		}
	}
	if _, err := os.Lstat(r.CredentialsFile); in.Seeded != nil || err == nil || !errors.Is(err, fs.ErrNotExist) {
		out = append(out, Credential{Kind: KindOAuthFile, Source: r.CredentialsFile})
	}
	return out, empties
}

func (r *Resolution) noCredential(empties []string) {
	r.Status = StatusMissing
	hint := fmt.Sprintf("set CLAUDE_CODE_OAUTH_TOKEN (a token from `claude setup-token`) or CLAUDE_CODE_OAUTH_TOKEN_FILE, or mount a .credentials.json at %s", strconv.Quote(r.CredentialsFile))
	for _, name := range credentialVars {
		if _, _, ok := r.Lookup("export " + name); ok {
			r.Findings.Errf(outcome.NoCredential, "credential_var_export", fmt.Sprintf("a variable named \"export %s\" is set, but %s itself is not: an env file line kept its shell \"export \"", name, name),
				"remove \"export \" from the line in the env file (docker --env-file and compose read NAME=value lines only)")
			return
		}
	}
	if len(empties) > 0 {
		r.Findings.Errf(outcome.NoCredential, "credential_var_empty", fmt.Sprintf("%s is set but empty, and no other credential was found", strings.Join(empties, " and ")),
			"a variable that is unset where compose or `docker run -e` reads it arrives empty: export it there, or use "+empties[0]+"_FILE")
		return
	}
	r.Findings.Errf(outcome.NoCredential, "no_credential", fmt.Sprintf("no credential found: ANTHROPIC_AUTH_TOKEN, ANTHROPIC_API_KEY and CLAUDE_CODE_OAUTH_TOKEN are unset and %s does not exist", strconv.Quote(r.CredentialsFile)), hint)
}

// shadowWarning tells the operator that a credential they set is ignored
// and what that costs them.
func (r *Resolution) shadowWarning(sel, sh Credential) {
	name := sh.Source
	if sh.Kind == KindOAuthFile {
		name = "the credentials file " + strconv.Quote(sh.Source)
	}
	msg := fmt.Sprintf("%s is ignored: %s takes precedence", name, sel.Source)
	hint := "unset the one you do not mean to use"
	switch {
	case sel.Kind == KindCloud:
		msg += fmt.Sprintf(", so Claude Code calls %s, not the Anthropic API", sel.Detail)
	case (sel.Kind == KindAPIKey || sel.Kind == KindAPIKeyHelper) && sh.Kind.Subscription():
		msg += ", so usage is billed to the API organisation, not to the Claude subscription"
		hint = "unset ANTHROPIC_API_KEY (and apiKeyHelper) to use the subscription"
	case sel.Kind == KindAuthToken && sh.Kind.Subscription():
		msg += ", so requests go to the gateway's token, not to the Claude subscription"
	case sel.Kind == KindAuthToken && sh.Kind == KindAPIKey:
		msg += ", so the API key is never sent"
	case sel.Kind == KindOAuthToken && sh.Kind == KindOAuthFile:
		msg += "; its expiry and refresh do not matter"
		hint = "remove the file or the variable if this is not what you meant"
	}
	r.Findings.Warn("credential_shadowed", msg, hint)
}

func (r *Resolution) checkSelected(in Input) {
	sel := r.Selected
	switch sel.Kind {
	case KindCloud:
		r.Findings.Note("cloud_provider", fmt.Sprintf("%s is set: Claude Code uses %s with that provider's own credentials, which sleeve-check does not check", sel.Var, sel.Detail))
		r.Status = StatusUnknown
	case KindAPIKeyHelper:
		r.Findings.Note("api_key_helper", fmt.Sprintf("Claude Code gets its key from the %s (%s)", sel.Detail, sel.Source))
		r.Status = StatusUnknown
	case KindAuthToken, KindAPIKey, KindOAuthToken:
		fs := CheckToken(sel.Kind, sel.Source, sel.Value)
		r.Findings = append(r.Findings, fs...)
		r.Status = StatusValid
		if fs.HasError() {
			r.Status = StatusInvalid
			return
		}
		if sel.Kind == KindOAuthToken && !in.TokenIssued.IsZero() {
			r.checkIssued(in)
		}
	case KindOAuthFile:
		r.checkCredentialsFile(in)
	}
}

// setup-tokens last one year and are opaque, so the issue date the
// operator gives is the only way to see the end coming.
func (r *Resolution) checkIssued(in Input) {
	if in.TokenIssued.After(in.Now) {
		r.Findings.Warn("token_issued_future", fmt.Sprintf("SLEEVE_CHECK_OAUTH_TOKEN_ISSUED (%s) is in the future", in.TokenIssued.Format(time.DateOnly)),
			"set the date the token was created with `claude setup-token`")
		return
	}
	r.Selected.ExpiresAt = in.TokenIssued.AddDate(1, 0, 0)
	fs, st := CheckExpiry(ExpiryInput{
		Name:      fmt.Sprintf("the setup-token in %s (issued %s, valid one year)", r.Selected.Source, in.TokenIssued.Format(time.DateOnly)),
		ExpiresAt: r.Selected.ExpiresAt, Now: in.Now, Window: 30 * 24 * time.Hour,
		WhyNot: "setup-tokens cannot be refreshed",
		Hint:   "create a new token with `claude setup-token`, set it in CLAUDE_CODE_OAUTH_TOKEN and update SLEEVE_CHECK_OAUTH_TOKEN_ISSUED",
	})
	r.Findings = append(r.Findings, fs...)
	r.Status = st
}

func (r *Resolution) checkCredentialsFile(in Input) {
	path := r.CredentialsFile
	b, ok := in.Seeded, true
	if b == nil {
		b, ok = readSmallFile(&r.Findings, path, "", "credentials_file")
	}
	if !ok {
		r.Status = StatusMissing
		return
	}
	of, fs := ParseCredentials(path, b)
	r.Findings = append(r.Findings, fs...)
	if e := fs.FirstError(); e != nil {
		r.Status = StatusInvalid
		if e.Code == outcome.Rejected {
			r.Status = StatusExpired
		}
		return
	}
	r.Selected.Value = of.AccessToken
	r.Selected.ExpiresAt = of.ExpiresAt
	if of.Subscription != "" {
		r.Selected.Detail = "subscription " + of.Subscription
	}
	// The access token itself must survive the same shape rules as an env token.
	if tfs := CheckToken(KindOAuthToken, path+" accessToken", of.AccessToken); tfs.HasError() {
		r.Findings = append(r.Findings, tfs...)
		r.Status = StatusInvalid
		return
	}
	ro := readOnlyMount(existing(path))
	writable := !ro && (in.CanWrite(path) || in.Seeded != nil)
	r.Selected.Refreshable = of.HasRefreshToken && writable
	whyNot := ""
	switch {
	case ro:
		whyNot = "the file is on a read-only mount, so Claude Code cannot store a refreshed token"
	case !writable:
		whyNot = "Claude Code cannot write the file, so it cannot store a refreshed token"
	case !of.HasRefreshToken:
		whyNot = "the file has no refresh token"
	}
	efs, st := CheckExpiry(ExpiryInput{
		Name: "the access token in " + strconv.Quote(path), ExpiresAt: of.ExpiresAt, Now: in.Now, Window: in.ExpiryWarning,
		Refreshable: r.Selected.Refreshable, WhyNot: whyNot,
		Hint: "log in again with `claude /login` and copy the new .credentials.json, or use a one-year token from `claude setup-token` in CLAUDE_CODE_OAUTH_TOKEN",
	})
	r.Findings = append(r.Findings, efs...)
	r.Status = st
	if !efs.HasError() && of.HasRefreshToken && !writable {
		r.Findings.Warn("credentials_read_only", fmt.Sprintf("%s: %s; this sleeve stops authenticating at %s", strconv.Quote(path), whyNot, of.ExpiresAt.Format(time.RFC3339)),
			"mount it read-write for a single sleeve, or use CLAUDE_CODE_OAUTH_TOKEN for long-running sleeves")
	}
}

func firstWord(s string) string {
	if f := strings.Fields(s); len(f) > 0 {
		return f[0]
	}
	return s
}

func canWrite(path string) bool { return syscall.Access(path, 2 /* W_OK */) == nil }

// existing is path, or its nearest ancestor that exists.
func existing(path string) string {
	for p := path; ; p = filepath.Dir(p) {
		if _, err := os.Lstat(p); err == nil || p == filepath.Dir(p) {
			return p
		}
	}
}

// readOnlyMount reports whether path lives on a file system mounted read-only.
func readOnlyMount(path string) bool {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return false
	}
	const stRdonly = 0x1
	return st.Flags&stRdonly != 0
}
