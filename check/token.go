package check

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"sleeve-check/internal/outcome"
)

// Token prefixes Anthropic uses today. They are used only to tell a value
// put in the wrong variable, never to accept or refuse a well-formed token
// of an unknown format: formats move.
const (
	prefixOAuth   = "sk-ant-oat"
	prefixRefresh = "sk-ant-ort"
	prefixAPIKey  = "sk-ant-api"
	prefixAdmin   = "sk-ant-admin"
)

// GatewayKeyPrefix begins the key a credential gateway gives a sleeve
// (sleeve-check gateway key NAME), which Claude Code sends in place of a
// credential.
const GatewayKeyPrefix = "scgw1."

// Length bounds. A setup-token and an API key are both about 108
// characters; anything far outside that was cut or pasted twice.
const (
	minTokenLen      = 20
	maxTokenLen      = 8192
	minKnownTokenLen = 60
	maxKnownTokenLen = 200
)

// CheckToken checks the shape of a token taken from variable name for a
// credential of the given kind. It returns at most one error, first in the
// order an operator would fix them, plus any warnings. The value itself
// never appears in a finding.
func CheckToken(kind Kind, name string, v Secret) outcome.Findings {
	var fs outcome.Findings
	s := v.Reveal()
	for _, rule := range []func(Kind, string, string) *outcome.Finding{wrapping, wrongKind, tokenLength} {
		if f := rule(kind, name, s); f != nil {
			return append(fs, *f)
		}
	}
	switch {
	case strings.HasPrefix(s, GatewayKeyPrefix):
		// A credential gateway's key for this sleeve (sleeve-check
		// gateway key NAME): the gateway holds the real credential.
	case kind == KindOAuthToken && !strings.HasPrefix(s, prefixOAuth):
		fs.Warn("token_unknown_format", fmt.Sprintf("%s does not start with %s01-, the prefix of a setup-token", name, prefixOAuth),
			"check that it came from `claude setup-token`")
	case kind == KindAPIKey && !strings.HasPrefix(s, prefixAPIKey):
		fs.Warn("token_unknown_format", fmt.Sprintf("%s does not start with %s03-, the prefix of an Anthropic API key", name, prefixAPIKey),
			"fine for a key issued by a gateway; otherwise check where it came from")
	}
	return fs
}

// wrapping finds what was copied along with the token: quotes, "Bearer ",
// a whole env-file line, whitespace or control characters inside.
func wrapping(_ Kind, name, s string) *outcome.Finding {
	switch {
	case strings.TrimSpace(s) == "":
		return bad("token_blank", fmt.Sprintf("%s is blank (only whitespace)", name), "set it to the token, or unset it")
	case len(s) >= 2 && (s[0] == '"' || s[0] == '\'') && s[len(s)-1] == s[0]:
		return bad("token_quoted", fmt.Sprintf("%s is wrapped in quotes", name),
			"remove the quotes: docker --env-file and compose env files keep them as part of the value")
	case len(s) >= 7 && strings.EqualFold(s[:7], "bearer ") || strings.EqualFold(s, "bearer"):
		return bad("token_bearer_prefix", fmt.Sprintf("%s starts with \"Bearer \"", name),
			"set only the token: Claude Code adds the \"Bearer \" itself")
	}
	if v, ok := assignment(s); ok {
		return bad("token_assignment", fmt.Sprintf("%s holds a shell assignment (%s=...), not only the token", name, v),
			"put only the token in it: a line of an env file (export NAME=value) is not the content of a secret file")
	}
	if f, isBad := badByte(s); isBad {
		return bad("token_bad_char", fmt.Sprintf("%s %s", name, f), charHint(s))
	}
	return nil
}

// wrongKind finds a token of another kind than its variable takes.
func wrongKind(kind Kind, name, s string) *outcome.Finding {
	switch {
	case kind == KindOAuthToken && (strings.HasPrefix(s, prefixAPIKey) || strings.HasPrefix(s, prefixAdmin)):
		return bad("token_wrong_variable", fmt.Sprintf("%s holds an API key (%s...), not an OAuth token", name, s[:10]),
			"move it to ANTHROPIC_API_KEY (billed to the API organisation), or set a token from `claude setup-token`")
	case kind == KindOAuthToken && strings.HasPrefix(s, prefixRefresh):
		return bad("token_refresh_token", fmt.Sprintf("%s holds a refresh token (%s...), not an access token", name, prefixRefresh),
			"set a token from `claude setup-token` (it starts with sk-ant-oat01-)")
	case kind == KindAPIKey && strings.HasPrefix(s, prefixOAuth):
		return bad("token_wrong_variable", fmt.Sprintf("%s holds an OAuth token (%s...), not an API key", name, prefixOAuth),
			"move it to CLAUDE_CODE_OAUTH_TOKEN: Claude Code sends ANTHROPIC_API_KEY as x-api-key, which the API refuses for OAuth tokens")
	case kind == KindAPIKey && strings.HasPrefix(s, prefixRefresh):
		return bad("token_refresh_token", fmt.Sprintf("%s holds a refresh token (%s...), not an API key", name, prefixRefresh),
			"set an API key from the Claude Console (it starts with sk-ant-api03-)")
	case kind == KindAPIKey && strings.HasPrefix(s, prefixAdmin):
		return bad("token_admin_key", fmt.Sprintf("%s holds an Admin API key, which cannot run inference", name), "set a normal API key (sk-ant-api03-...)")
	}
	return nil
}

// tokenLength finds a token cut when copied, or pasted twice.
func tokenLength(_ Kind, name, s string) *outcome.Finding {
	known := strings.HasPrefix(s, prefixOAuth) || strings.HasPrefix(s, prefixAPIKey)
	switch {
	case len(s) < minTokenLen:
		return bad("token_length", fmt.Sprintf("%s is %d characters long, too short for a credential", name, len(s)),
			"a setup-token or API key is about 108 characters; the value was probably cut when it was copied")
	case len(s) > maxTokenLen:
		return bad("token_length", fmt.Sprintf("%s is %d characters long, too long for a credential", name, len(s)),
			"it probably holds a whole file or several values; set only the token")
	case known && (len(s) < minKnownTokenLen || len(s) > maxKnownTokenLen):
		return bad("token_length", fmt.Sprintf("%s is %d characters long; a %s... token is about 108", name, len(s), s[:10]),
			"copy the whole token again: it was cut, or pasted twice")
	}
	return nil
}

// assignment reports whether s is a line of an env file or shell script,
// "export NAME=..." or "NAME=..." for a credential variable, and names it.
func assignment(s string) (string, bool) {
	rest := s
	export := false
	if strings.HasPrefix(rest, "export") && len(rest) > 6 && (rest[6] == ' ' || rest[6] == '\t') {
		rest, export = strings.TrimLeft(rest[6:], " \t"), true
	}
	name, _, ok := strings.Cut(rest, "=")
	if !ok || name == "" {
		return "", false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9') {
			return "", false
		}
	}
	switch {
	case export:
		return "export " + name, true
	case contains(credentialVars, name):
		return name, true
	}
	return "", false
}

// badByte describes the first byte that cannot be part of a token sent in
// an HTTP header: whitespace, control characters, non-ASCII.
func badByte(s string) (string, bool) {
	switch {
	case strings.HasSuffix(s, "\n") || strings.HasSuffix(s, "\r"):
		return "ends with a newline", true
	case strings.TrimSpace(s) != s:
		return "has leading or trailing whitespace", true
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\n' || c == '\r':
			return fmt.Sprintf("contains a newline at position %d", i), true
		case c == ' ' || c == '\t':
			return fmt.Sprintf("contains whitespace at position %d", i), true
		case c < 0x20 || c == 0x7f:
			return fmt.Sprintf("contains the control character 0x%02x at position %d", c, i), true
		case c >= 0x80:
			if !utf8.ValidString(s) {
				return fmt.Sprintf("contains invalid UTF-8 at position %d", i), true
			}
			return fmt.Sprintf("contains a non-ASCII character at position %d", i), true
		}
	}
	return "", false
}

func charHint(s string) string {
	if strings.ContainsAny(s, "\r\n") {
		return "write the secret without a trailing newline (printf '%s', or `kubectl create secret --from-literal`), or strip it where it is set"
	}
	return "copy the token again: it has a stray character, or two values were joined"
}
