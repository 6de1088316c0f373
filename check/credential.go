package check

import (
	"strconv"
	"time"
)

// Kind is how Claude Code would authenticate.
type Kind string

// Subscription reports whether k is a subscription (OAuth) token, which
// Anthropic's terms reserve for Claude Code.
func (k Kind) Subscription() bool { return k == KindOAuthToken || k == KindOAuthFile }

const (
	KindCloud        Kind = "cloud_provider"
	KindAuthToken    Kind = "auth_token"
	KindAPIKey       Kind = "api_key"
	KindAPIKeyHelper Kind = "api_key_helper"
	KindOAuthToken   Kind = "oauth_token"
	KindOAuthFile    Kind = "oauth_credentials_file"
)

// Status is the one-word verdict, the same words Protectorate's Envoy uses.
type Status string

const (
	StatusValid        Status = "valid"
	StatusExpiringSoon Status = "expiring_soon"
	StatusExpired      Status = "expired"
	StatusMissing      Status = "missing"
	StatusInvalid      Status = "invalid"
	StatusUnknown      Status = "unknown"
)

// Credential is one credential Claude Code could use.
type Credential struct {
	Kind Kind
	// Source names where it came from: a variable, a variable's file, a
	// settings file's env block, or the credentials file's path.
	Source string
	// Var is the environment variable Claude Code reads it from, if any.
	Var   string
	Value Secret
	// ExpiresAt is zero when unknown (setup-tokens are opaque).
	ExpiresAt time.Time
	// Refreshable: a refresh token in a file Claude Code can write.
	Refreshable bool
	// Detail is a short non-secret description for cloud providers and
	// apiKeyHelper (the provider, the helper's command).
	Detail string
	// Helper is an apiKeyHelper's command line, run through the shell to
	// get the key. It is never shown: it may hold a secret.
	Helper string
	// SettingsFile is the settings file whose env block supplied the
	// credential, overriding the process environment; "" otherwise.
	SettingsFile string
}

// Fingerprint is everything sleeve-check ever shows of a credential.
type Fingerprint struct {
	Kind      Kind       `json:"kind"`
	Source    string     `json:"source"`
	Length    int        `json:"length,omitempty"`
	Last4     string     `json:"last4,omitempty"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	Detail    string     `json:"detail,omitempty"`
}

// Fingerprint describes c without its secret.
func (c Credential) Fingerprint() Fingerprint {
	f := Fingerprint{Kind: c.Kind, Source: c.Source, Length: c.Value.Len(), Last4: c.Value.Last4(), Detail: c.Detail}
	if !c.ExpiresAt.IsZero() {
		t := c.ExpiresAt
		f.ExpiresAt = &t
	}
	return f
}

// String is a one-line fingerprint for logs.
func (f Fingerprint) String() string {
	s := string(f.Kind) + " from " + f.Source
	if f.Length > 0 {
		s += ", length " + strconv.Itoa(f.Length)
		if f.Last4 != "" {
			s += ", ending ..." + f.Last4
		}
	}
	if f.Detail != "" {
		s += ", " + f.Detail
	}
	return s
}
