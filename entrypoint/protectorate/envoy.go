package protectorate

import (
	"encoding/json"
	"errors"
	"fmt"
	iofs "io/fs"
	"path/filepath"
	"strings"

	"sleeve-check/entrypoint/internal/settings"
	"sleeve-check/internal/outcome"
	"sleeve-check/internal/safefile"
)

// The files Protectorate's Envoy writes into its agent-creds volume,
// mounted read-only at SLEEVE_CHECK_CREDS_DIR (as root, mode 0600):
//
//	claude/credentials.json   envoy auth login claude <token>: {"accessToken": "<token>"}
//	claude/.credentials.json  envoy auth sync: the host's ~/.claude/.credentials.json
//	claude/settings.json      envoy auth sync: the host's ~/.claude.json (a global config)
const (
	envoyToken    = "claude/credentials.json"
	envoyLogin    = "claude/.credentials.json"
	envoySettings = "claude/settings.json"
)

// envoyLoginHint and envoySyncHint are the Envoy commands that write the
// files right.
const (
	envoyLoginHint = "on the host: claude setup-token, then envoy auth login claude <that token> (a one-year token, the preferred credential)"
	envoySyncHint  = "on the host: claude /login, then envoy auth sync"
)

// maxEnvoyFile bounds what is read of a file in the volume.
const maxEnvoyFile = 64 << 20

// envoyCredentials reads Envoy's volume at dir, as root, and returns the
// environment that gives its credential to a start, in this order after
// the environment: the pasted token as CLAUDE_CODE_OAUTH_TOKEN, else the
// synced login as the seed; and the synced global config to merge.
// Another shape in a file is an error naming the file and the Envoy
// command that writes it right.
func envoyCredentials(dir string) (map[string]string, outcome.Findings) {
	env := map[string]string{}
	var fs outcome.Findings
	tokPath, loginPath, setPath := filepath.Join(dir, envoyToken), filepath.Join(dir, envoyLogin), filepath.Join(dir, envoySettings)
	switch tok, err := readEnvoyToken(tokPath); {
	case err == nil:
		env["CLAUDE_CODE_OAUTH_TOKEN"] = tok
	case !isNotExist(err):
		fs.Errf(outcome.Malformed, "envoy_token", fmt.Sprintf("%s is not what envoy auth login writes ({\"accessToken\": \"sk-ant-oat01-...\"}): %s", tokPath, err), envoyLoginHint)
		return nil, fs
	default:
		if err := readEnvoyObject(loginPath, "claudeAiOauth"); err == nil {
			env[settings.EnvPrefix+"SEED_CREDENTIALS"] = loginPath
		} else if !isNotExist(err) {
			fs.Errf(outcome.Malformed, "envoy_login", fmt.Sprintf("%s is not a Claude Code login (a .credentials.json with claudeAiOauth): %s", loginPath, err), envoySyncHint+"; or "+envoyLoginHint)
			return nil, fs
		} else {
			fs.Errf(outcome.NoCredential, "envoy_no_credential",
				fmt.Sprintf("no Claude credential in %s (Envoy's agent-creds volume): neither %s (written by envoy auth login) nor %s (written by envoy auth sync)", dir, envoyToken, envoyLogin),
				envoyLoginHint+"; or "+envoySyncHint)
			return nil, fs
		}
	}
	if err := readEnvoyObject(setPath, ""); err == nil {
		env[settings.EnvPrefix+"MERGE_CONFIG"] = setPath
	} else if !isNotExist(err) {
		fs.Errf(outcome.Config, "envoy_settings", fmt.Sprintf("%s is not a copy of a .claude.json (a JSON object): %s", setPath, err), envoySyncHint)
		return nil, fs
	}
	return env, fs
}

// readEnvoyToken reads the pasted token: {"accessToken": "sk-ant-oat01-..."}.
func readEnvoyToken(path string) (string, error) {
	b, _, err := safefile.Read(path, maxEnvoyFile, safefile.Options{})
	if err != nil {
		return "", err
	}
	var f struct {
		AccessToken *string `json:"accessToken"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return "", fmt.Errorf("not JSON")
	}
	switch {
	case f.AccessToken == nil:
		return "", fmt.Errorf("it has no accessToken")
	case !strings.HasPrefix(strings.TrimSpace(*f.AccessToken), "sk-ant-oat01-"):
		return "", fmt.Errorf("its accessToken is not a token from claude setup-token (sk-ant-oat01-...)")
	}
	return strings.TrimSpace(*f.AccessToken), nil
}

// readEnvoyObject checks that path holds a JSON object (with the key
// want, when set).
func readEnvoyObject(path, want string) error {
	b, _, err := safefile.Read(path, maxEnvoyFile, safefile.Options{})
	if err != nil {
		return err
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b, &obj); err != nil || obj == nil {
		return fmt.Errorf("not a JSON object")
	}
	if _, ok := obj[want]; want != "" && !ok {
		return fmt.Errorf("it has no %s", want)
	}
	return nil
}

func isNotExist(err error) bool { return errors.Is(err, iofs.ErrNotExist) }
