// Package settings is sleeve-check's command line: the Settings (each an
// environment variable SLEEVE_CHECK_* and a flag; a flag beats the
// variable, which beats the default), the subcommand, the command after
// --, and Call, the inputs of one run that every mode takes. --help and
// the README's table are generated from the same struct (Table).
package settings

import (
	"encoding"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"sleeve-check/internal/environ"
)

// EnvPrefix is the prefix of every sleeve-check environment variable.
const EnvPrefix = "SLEEVE_CHECK_"

// Settings are sleeve-check's own options. Each is an environment variable
// (EnvPrefix + env tag) and a flag (flag tag); a flag beats the variable,
// which beats the default (envDefault, also for a variable set but
// empty); a list is split at envSeparator (a comma unless told). One
// struct, read by one mechanism (decode), documents them all for --help
// and the README.
type Settings struct {
	Verbose            bool          `env:"VERBOSE" flag:"verbose" state:"-" help:"log the steps with timings, the non-default settings and their sources, the credential's fingerprint"`
	Quiet              bool          `env:"QUIET" flag:"quiet" state:"-" help:"log errors only: no warnings, no progress lines (--verbose wins)"`
	JSON               bool          `env:"JSON" flag:"json" state:"-" help:"print one JSON report on stdout"`
	LogFormat          string        `env:"LOG_FORMAT" envDefault:"console" flag:"log-format" state:"-" help:"stderr format: console or json (JSON lines)"`
	ExpiryWarning      time.Duration `env:"EXPIRY_WARNING" envDefault:"1h" flag:"expiry-warning" help:"warn when a credential expires within this duration"`
	TokenIssued        Date          `env:"OAUTH_TOKEN_ISSUED" flag:"oauth-token-issued" help:"date (YYYY-MM-DD) the setup-token was issued; warns in the last 30 days of its year"`
	TrustDirs          []string      `env:"TRUST_DIRS" envSeparator:":" flag:"trust-dirs" help:"absolute directories (colon-separated) to mark as trusted, skipping the trust dialog"`
	ApproveAPIKey      bool          `env:"APPROVE_API_KEY" flag:"approve-api-key" help:"approve the selected ANTHROPIC_API_KEY so Claude Code does not ask"`
	AcceptBypass       bool          `env:"ACCEPT_BYPASS_PERMISSIONS" flag:"accept-bypass-permissions" help:"set skipDangerousModePermissionPrompt in settings.json"`
	ClaudeMDImports    string        `env:"CLAUDE_MD_IMPORTS" flag:"claude-md-imports" help:"answer claude's \"Allow external CLAUDE.md file imports?\" for the working directory ahead of time: deny (its own default answer) or allow (the files go into every prompt: only files you trust)"`
	ApproveMCP         []string      `env:"APPROVE_MCP_SERVERS" envSeparator:"," flag:"approve-mcp-servers" help:"project MCP servers (.mcp.json) to approve ahead: all, or comma-separated names (they run code: name only trusted ones)"`
	Probe              string        `env:"PROBE" envDefault:"auto" flag:"probe" help:"how to prove the credential: auto (claude -p for a subscription token, http for the rest), http (one tiny API request), cli (one claude -p) or off"`
	ProbeModel         string        `env:"PROBE_MODEL" envDefault:"claude-haiku-4-5" flag:"probe-model" help:"model named in the probe request (max_tokens 1)"`
	ProbeTimeout       time.Duration `env:"PROBE_TIMEOUT" envDefault:"20s" flag:"probe-timeout" help:"deadline for the whole probe, retries included"`
	AttemptTime        time.Duration `env:"PROBE_ATTEMPT_TIMEOUT" envDefault:"10s" flag:"probe-attempt-timeout" help:"deadline for one probe request"`
	StartTimeout       time.Duration `env:"START_TIMEOUT" envDefault:"60s" flag:"start-timeout" help:"the longest a start may take, every step up to the exec but the waits for the API and for a usage reset; past it the start stops with the exit code of the step it was in (0: no limit)"`
	RequireTLS         bool          `env:"REQUIRE_TLS" flag:"require-tls" help:"refuse (exit 3) a plain-http ANTHROPIC_BASE_URL off loopback instead of warning that the credential crosses the network unencrypted"`
	ProbeSplay         time.Duration `env:"PROBE_SPLAY" envDefault:"0s" flag:"probe-splay" help:"wait a random time up to this long before the probe, to spread sleeves started together"`
	Strict             bool          `env:"STRICT" flag:"strict" help:"stop (exit 9) when the API still rate-limits at the probe's deadline, instead of warning"`
	OnUsageLimit       string        `env:"ON_USAGE_LIMIT" envDefault:"fail" flag:"on-usage-limit" help:"when a usage limit is used up: fail (exit 11), warn (start anyway) or wait (for its reset)"`
	UsageWaitMax       time.Duration `env:"USAGE_WAIT_MAX" envDefault:"6h" flag:"usage-wait-max" help:"the longest --on-usage-limit=wait waits; a later reset fails with exit 11"`
	UsageWarning       Percent       `env:"USAGE_WARNING" envDefault:"90%" flag:"usage-warning" help:"warn when a window of the subscription's usage is this full"`
	OnUnavailable      string        `env:"ON_UNAVAILABLE" envDefault:"fail" flag:"on-unavailable" help:"when the API cannot be reached or fails: fail (exit 8), warn (start anyway) or wait (probe again with backoff, up to SLEEVE_CHECK_UNAVAILABLE_WAIT_MAX)"`
	UnavailableWaitMax time.Duration `env:"UNAVAILABLE_WAIT_MAX" envDefault:"15m" flag:"unavailable-wait-max" help:"the longest --on-unavailable=wait waits for the API; past it the start fails with exit 8"`
	SeedCredentials    string        `env:"SEED_CREDENTIALS" flag:"seed-credentials" help:"a credentials file (a read-only mount) to copy where Claude Code reads it, unless the copy there has a later expiresAt"`
	MergeConfig        string        `env:"MERGE_CONFIG" flag:"merge-config" help:"a global config (a copy of an operator's .claude.json, as Protectorate's envoy auth sync writes) whose keys are added to Claude Code's .claude.json where it lacks them; read before the user switch"`
	User               string        `env:"USER" flag:"user" help:"NAME|UID[:GID] to drop to (as gosu does) before anything else, when started as root"`
	StateDir           string        `env:"STATE_DIR" envDefault:"/run/sleeve-check" flag:"state-dir" help:"where the start leaves its state for health checks (falls back to $TMPDIR/sleeve-check-UID)"`
	HealthTTL          time.Duration `env:"HEALTH_TTL" envDefault:"30m" flag:"health-ttl" help:"health calls the API at most once per this long, reusing the last verdict"`
	HealthTimeout      time.Duration `env:"HEALTH_PROBE_TIMEOUT" envDefault:"5s" flag:"health-probe-timeout" help:"deadline of the probe a health check makes when its verdict is stale"`
	CredsDir           string        `env:"CREDS_DIR" envDefault:"/home/agent/.creds" flag:"creds-dir" help:"keeper: Protectorate's agent-creds volume (claude/credentials.json, claude/.credentials.json, claude/settings.json), read as root"`
	SessionSocket      string        `env:"SESSION_SOCKET" envDefault:"/home/agent/.dtach/session.sock" flag:"session-socket" help:"keeper: the dtach socket of the session Envoy's terminal attaches to"`
	StatusListen       string        `env:"STATUS_LISTEN" envDefault:":8080" flag:"status-listen" help:"keeper: where to answer Envoy's GET /status and /health (the dashboard's sidecar), as HOST:PORT; off for nowhere"`
	KeeperDir          string        `env:"KEEPER_DIR" envDefault:"/run/sleeve-keeper" flag:"keeper-dir" help:"keeper: root's directory for its socket and its last verdict (read by health)"`
	Gateway            string        `env:"GATEWAY" flag:"gateway" help:"the credential gateway's URL (sleeve-check gateway): claude gets it as ANTHROPIC_BASE_URL and this sleeve's key (SLEEVE_CHECK_GATEWAY_KEY or _FILE) instead of a credential, and the start and health ask the gateway instead of probing"`
	GatewayListen      string        `env:"GATEWAY_LISTEN" envDefault:"127.0.0.1:8090" flag:"listen" help:"gateway: where to listen, as HOST:PORT (0.0.0.0:8090 for the sleeves of a compose network)"`
	GatewayTLSCert     string        `env:"GATEWAY_TLS_CERT" flag:"tls-cert" help:"gateway: a PEM certificate (chain) to serve https with; needs --tls-key"`
	GatewayTLSKey      string        `env:"GATEWAY_TLS_KEY" flag:"tls-key" help:"gateway: the PEM private key of --tls-cert"`
	GatewayRevoked     string        `env:"GATEWAY_REVOKED" flag:"revoked" help:"gateway: a file of revoked sleeve names, one a line (# comments), read again within a second of a change"`
	GatewayConcurrent  int           `env:"GATEWAY_MAX_CONCURRENT" envDefault:"8" flag:"max-concurrent" help:"gateway: requests one sleeve may have in flight; past it a 429 (0: no cap)"`
	GatewayShare       Percent       `env:"GATEWAY_SLEEVE_SHARE" envDefault:"100%" flag:"sleeve-share" help:"gateway: the share of the subscription's 5-hour window one sleeve may use before its requests get a 429 until the reset (100%: no cap)"`
	GatewayDrain       time.Duration `env:"GATEWAY_DRAIN" envDefault:"25s" flag:"drain" help:"gateway: how long SIGTERM waits for requests in flight (streams) to end before closing them"`
	Managed            string        `env:"MANAGED_SETTINGS" envDefault:"/etc/claude-code/managed-settings.json" flag:"managed-settings" help:"path of Claude Code's managed settings file, read for its env block"`
}

// Date is a calendar date setting.
type Date struct{ time.Time }

// UnmarshalText parses YYYY-MM-DD.
func (d *Date) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		d.Time = time.Time{}
		return nil
	}
	t, err := time.Parse(time.DateOnly, string(b))
	if err != nil {
		return fmt.Errorf("%q is not a date of the form YYYY-MM-DD", string(b))
	}
	d.Time = t
	return nil
}

// Percent is a percentage setting: "90%" or "90", kept as a fraction.
type Percent struct{ Fraction float64 }

// UnmarshalText parses 0 to 100, with or without a % sign.
func (p *Percent) UnmarshalText(b []byte) error {
	f, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(string(b)), "%"), 64)
	if err != nil || !(f >= 0 && f <= 100) { // (NaN is neither)
		return fmt.Errorf("%q is not a percentage from 0 to 100", string(b))
	}
	p.Fraction = f / 100
	return nil
}

// Field describes one setting.
type Field struct {
	Name    string // Go field name
	Env     string // full variable name
	Flag    string
	Default string
	Help    string
	IsBool  bool
	// Sep splits a list setting's value.
	Sep string
	// Output settings (state:"-") are the health check's own; every other
	// setting the start was given is left in its state for health.
	Output bool
}

// Fields are every setting, in the order of Settings.
var Fields = func() []Field {
	t := reflect.TypeOf(Settings{})
	out := make([]Field, t.NumField())
	for i := range out {
		sf := t.Field(i)
		f := &out[i]
		f.Name, f.IsBool, f.Sep = sf.Name, sf.Type.Kind() == reflect.Bool, ","
		// One pass over the tag, not one per key (StructTag.Get): this
		// table is built at every start and health check.
		for tag := string(sf.Tag); tag != ""; {
			key, rest, _ := strings.Cut(strings.TrimLeft(tag, " "), ":")
			val, err := strconv.QuotedPrefix(rest)
			if err != nil {
				panic("settings: malformed tag of " + sf.Name)
			}
			tag = rest[len(val):]
			val, _ = strconv.Unquote(val)
			switch key {
			case "env":
				f.Env = EnvPrefix + val
			case "flag":
				f.Flag = val
			case "envDefault":
				f.Default = val
			case "help":
				f.Help = val
			case "envSeparator":
				f.Sep = val
			case "state":
				f.Output = val == "-"
			}
		}
	}
	return out
}()

// Invocation is a parsed command line.
type Invocation struct {
	Settings Settings
	// Sources maps a Go field name to where its value came from.
	Sources map[string]string
	// Given holds the settings not at their defaults, as written, by
	// environment variable name, output settings left out: what the start
	// leaves for health checks, which Docker runs without the
	// ENTRYPOINT's flags.
	Given   map[string]string
	Command []string
	Help    bool
	Version bool
	// Sub is a subcommand, e.g. "health"; "" for the start.
	Sub string
	// Args are the words after a subcommand that takes some (gateway key NAME).
	Args []string
}

// Subcommand is a mode other than the start, and the package that
// implements it (--help and docs/architecture.md name both).
type Subcommand struct {
	Name, Package, Usage, Summary string
}

// Subcommands are the modes after the start's (sleeve-check [flags] --
// COMMAND, implemented by entrypoint/start).
var Subcommands = []Subcommand{
	{"health", "entrypoint/health", "sleeve-check health [flags]", "the HEALTHCHECK: one line, exit 0 (healthy) or 1 (unhealthy)"},
	{"keeper", "entrypoint/protectorate", "sleeve-check keeper [flags] -- COMMAND", "a Protectorate sleeve's supervisor (root): checks Envoy's credential, runs the session"},
	{"gateway", "entrypoint/gateway", "sleeve-check gateway [key NAME|health]", "the credential gateway: holds the fleet's credential; each sleeve's claude goes through it with a key of its own (docs/gateway.md)"},
	{"session", "entrypoint/protectorate", "sleeve-check session [flags] -- COMMAND", "the dtach session Envoy's terminal attaches to (the sleeve user): asks the keeper, runs COMMAND"},
}

// IsSubcommand reports whether name is one of Subcommands.
func IsSubcommand(name string) bool {
	for _, s := range Subcommands {
		if s.Name == name {
			return true
		}
	}
	return false
}

// ParseError collects every problem with the command line and settings,
// so the operator fixes them in one go.
type ParseError struct {
	Usage  []string // flag and argument problems: exit code 2
	Config []string // environment problems: exit code 3
	Hint   string
}

func (e *ParseError) Error() string { return strings.Join(append(e.Usage, e.Config...), "; ") }

// Parse reads args (without the program name) and the environment.
func Parse(args []string, env environ.Env) (*Invocation, error) {
	inv := &Invocation{Sources: map[string]string{}, Given: map[string]string{}}
	perr := &ParseError{}
	// One map of values by variable name: the environment's, with the
	// flags written over it, read by one decoder.
	overlay := map[string]string{}
	for _, k := range env.Names() {
		if strings.HasPrefix(k, EnvPrefix) {
			overlay[k] = env.Get(k)
		}
	}
	fromFlag := parseArgs(inv, args, overlay, perr)
	decode(inv, overlay, fromFlag, perr)
	for _, f := range Fields {
		switch {
		case fromFlag[f.Env]:
			inv.Sources[f.Name] = "flag --" + f.Flag
		case overlay[f.Env] != "":
			inv.Sources[f.Name] = "env " + f.Env
		default:
			inv.Sources[f.Name] = "default"
			continue
		}
		if !f.Output {
			inv.Given[f.Env] = overlay[f.Env]
		}
	}
	validate(inv, fromFlag, perr)
	if len(perr.Usage) > 0 || len(perr.Config) > 0 {
		return inv, perr
	}
	return inv, nil
}

// parseArgs reads the flags into overlay, by variable name, and the
// subcommand and command into inv. It returns which variables a flag set.
func parseArgs(inv *Invocation, args []string, overlay map[string]string, perr *ParseError) map[string]bool {
	fromFlag := map[string]bool{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			inv.Command = args[i+1:]
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			if i == 0 && IsSubcommand(a) {
				inv.Sub = a
				continue
			}
			if inv.Sub == "gateway" {
				inv.Args = append(inv.Args, a)
				continue
			}
			perr.Usage = append(perr.Usage, fmt.Sprintf("unexpected argument %q before --", a))
			perr.Hint = fmt.Sprintf("put the command after --: sleeve-check [flags] -- %s", strings.Join(args[i:], " "))
			break
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		switch name {
		case "h", "help":
			inv.Help = true
			continue
		case "version":
			inv.Version = true
			continue
		}
		f := fieldByFlag(name)
		switch {
		case f == nil:
			perr.Usage = append(perr.Usage, fmt.Sprintf("unknown flag %s", a))
			continue
		case hasVal:
		case f.IsBool:
			val = "true"
		case i+1 < len(args) && args[i+1] != "--":
			i++
			val = args[i]
		default:
			perr.Usage = append(perr.Usage, fmt.Sprintf("flag --%s needs a value", name))
			continue
		}
		overlay[f.Env] = val
		fromFlag[f.Env] = true
	}
	return fromFlag
}

// decode fills inv.Settings from overlay, naming the flag or the variable
// of each bad value. An empty value is the default's. (A few lines here
// instead of a reflection library: it parsed the same in a quarter of a
// millisecond, which every start and health check paid, twice for health.)
func decode(inv *Invocation, overlay map[string]string, fromFlag map[string]bool, perr *ParseError) {
	v := reflect.ValueOf(&inv.Settings).Elem()
	for i, f := range Fields {
		raw := overlay[f.Env]
		if raw == "" {
			raw = f.Default
		}
		if raw == "" {
			continue
		}
		err := setValue(v.Field(i), raw, f.Sep)
		switch {
		case err == nil:
		case fromFlag[f.Env]:
			perr.Usage = append(perr.Usage, fmt.Sprintf("invalid value %q for --%s: %v", overlay[f.Env], f.Flag, err))
		default:
			perr.Config = append(perr.Config, fmt.Sprintf("invalid value %q for %s: %v", overlay[f.Env], f.Env, err))
		}
	}
}

// setValue parses raw into the setting fv, by its type.
func setValue(fv reflect.Value, raw, sep string) error {
	if u, ok := fv.Addr().Interface().(encoding.TextUnmarshaler); ok {
		return u.UnmarshalText([]byte(raw))
	}
	switch fv.Interface().(type) {
	case time.Duration:
		d, err := time.ParseDuration(raw)
		if err != nil {
			return fmt.Errorf("unable to parse duration: %w", err)
		}
		fv.SetInt(int64(d))
	case bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return strconv.ErrSyntax
		}
		fv.SetBool(b)
	case int:
		n, err := strconv.Atoi(raw)
		if err != nil {
			return errors.New("not a whole number")
		}
		fv.SetInt(int64(n))
	case string:
		fv.SetString(raw)
	case []string:
		fv.Set(reflect.ValueOf(strings.Split(raw, sep)))
	default:
		panic("settings: no parser for a setting of type " + fv.Type().String())
	}
	return nil
}

func validate(inv *Invocation, fromFlag map[string]bool, perr *ParseError) {
	s := &inv.Settings
	bad := func(name, msg string) {
		f := FieldByName(name)
		if fromFlag[f.Env] {
			perr.Usage = append(perr.Usage, fmt.Sprintf("--%s %s", f.Flag, msg))
		} else {
			perr.Config = append(perr.Config, fmt.Sprintf("%s %s", f.Env, msg))
		}
	}
	if s.LogFormat != "console" && s.LogFormat != "json" {
		bad("LogFormat", fmt.Sprintf("must be console or json, not %q", s.LogFormat))
	}
	if s.Probe != "auto" && s.Probe != "http" && s.Probe != "cli" && s.Probe != "off" {
		bad("Probe", fmt.Sprintf("must be auto, http, cli or off, not %q", s.Probe))
	}
	if s.ClaudeMDImports != "" && s.ClaudeMDImports != "deny" && s.ClaudeMDImports != "allow" {
		bad("ClaudeMDImports", fmt.Sprintf("must be deny or allow, not %q", s.ClaudeMDImports))
	}
	if s.OnUsageLimit != "fail" && s.OnUsageLimit != "warn" && s.OnUsageLimit != "wait" {
		bad("OnUsageLimit", fmt.Sprintf("must be fail, warn or wait, not %q", s.OnUsageLimit))
	}
	if s.OnUnavailable != "fail" && s.OnUnavailable != "warn" && s.OnUnavailable != "wait" {
		bad("OnUnavailable", fmt.Sprintf("must be fail, warn or wait, not %q", s.OnUnavailable))
	}
	if s.ProbeTimeout <= 0 {
		bad("ProbeTimeout", "must be positive")
	}
	if s.AttemptTime <= 0 {
		bad("AttemptTime", "must be positive")
	}
	if s.HealthTTL < 0 {
		bad("HealthTTL", "must not be negative")
	}
	if s.HealthTimeout <= 0 {
		bad("HealthTimeout", "must be positive")
	}
	if s.GatewayConcurrent < 0 {
		bad("GatewayConcurrent", "must not be negative (0: no cap)")
	}
	if s.GatewayDrain < 0 {
		bad("GatewayDrain", "must not be negative")
	}
	if (s.GatewayTLSCert == "") != (s.GatewayTLSKey == "") {
		perr.Config = append(perr.Config, "SLEEVE_CHECK_GATEWAY_TLS_CERT (--tls-cert) and SLEEVE_CHECK_GATEWAY_TLS_KEY (--tls-key) go together: set both, or neither")
	}
	if s.Gateway != "" {
		if u, err := url.Parse(s.Gateway); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("Gateway", "must be the gateway's http or https URL, such as http://gateway:8090")
		}
	}
	validateLists(s, bad)
	if inv.Sub == "" && len(inv.Command) == 0 && inv.Command != nil {
		perr.Usage = append(perr.Usage, "nothing after --")
		perr.Hint = "give the command to run, e.g. sleeve-check -- claude; or drop -- to only check"
	}
}

// validateLists checks the settings that name paths, models and lists.
func validateLists(s *Settings, bad func(name, msg string)) {
	if s.StateDir == "" || !filepath.IsAbs(s.StateDir) {
		bad("StateDir", fmt.Sprintf("must be an absolute directory, not %q", s.StateDir))
	}
	if s.UsageWaitMax < 0 {
		bad("UsageWaitMax", "must not be negative")
	}
	if s.UnavailableWaitMax < 0 {
		bad("UnavailableWaitMax", "must not be negative")
	}
	if s.StartTimeout < 0 {
		bad("StartTimeout", "must not be negative (0: no limit)")
	}
	if s.ProbeSplay < 0 {
		bad("ProbeSplay", "must not be negative")
	}
	if s.ProbeModel == "" {
		bad("ProbeModel", "must name a model")
	}
	if s.ExpiryWarning < 0 {
		bad("ExpiryWarning", "must not be negative")
	}
	for _, n := range s.ApproveMCP {
		if strings.TrimSpace(n) == "" || strings.TrimSpace(n) != n {
			bad("ApproveMCP", fmt.Sprintf("must be all or comma-separated server names, not %q", strings.Join(s.ApproveMCP, ",")))
			break
		}
	}
	if s.SeedCredentials != "" && !filepath.IsAbs(s.SeedCredentials) {
		bad("SeedCredentials", fmt.Sprintf("must be an absolute path, not %q", s.SeedCredentials))
	}
	for _, d := range s.TrustDirs {
		if !filepath.IsAbs(d) {
			bad("TrustDirs", fmt.Sprintf("must list absolute directories, and %q is not one", d))
		}
	}
}

// fieldByFlag is the setting of the flag --name, or nil.
func fieldByFlag(name string) *Field {
	for i := range Fields {
		if Fields[i].Flag == name {
			return &Fields[i]
		}
	}
	return nil
}

// FieldByEnv is the setting read from the environment variable env, or nil.
func FieldByEnv(env string) *Field {
	for i := range Fields {
		if Fields[i].Env == env {
			return &Fields[i]
		}
	}
	return nil
}

// FieldByName is the setting of the Go field name.
func FieldByName(name string) Field {
	for _, f := range Fields {
		if f.Name == name {
			return f
		}
	}
	return Field{Name: name, Env: name, Flag: strings.ToLower(name)}
}

// Table renders the settings for --help (text) or the README (Markdown).
func Table(markdown bool) string {
	var b strings.Builder
	fields := Fields
	if markdown {
		b.WriteString("| flag | environment variable | default | meaning |\n|---|---|---|---|\n")
		for _, f := range fields {
			def := f.Default
			if def == "" {
				def = "(none)"
				if f.IsBool {
					def = "false"
				}
			}
			fmt.Fprintf(&b, "| `--%s` | `%s` | `%s` | %s |\n", f.Flag, f.Env, def, f.Help)
		}
		return b.String()
	}
	for _, f := range fields {
		arg := " VALUE"
		if f.IsBool {
			arg = ""
		}
		fmt.Fprintf(&b, "  --%s%s\n        %s (env %s", f.Flag, arg, f.Help, f.Env)
		if f.Default != "" {
			fmt.Fprintf(&b, ", default %s", f.Default)
		}
		b.WriteString(")\n")
	}
	return b.String()
}
