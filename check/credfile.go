package check

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"sleeve-check/internal/outcome"
)

// OAuthFile is what sleeve-check keeps of a .credentials.json. The refresh
// token's value is never kept: only whether there is one.
type OAuthFile struct {
	AccessToken     Secret
	HasRefreshToken bool
	ExpiresAt       time.Time
	Scopes          []string
	HasScopes       bool
	Subscription    string
}

// Bounds for expiresAt, in milliseconds since the epoch. Below msFloor a
// value is more plausibly seconds (msFloor ms is March 1973, msFloor s is
// the year 5138); above msCeiling (year 5138 in ms) it is nonsense.
const (
	secondsFloor = 1e9  // 2001-09-09 in seconds
	msFloor      = 1e11 // 1973-03-03 in milliseconds
	msCeiling    = 1e14
)

// ParseCredentials reads the bytes of a .credentials.json named path. On
// an error finding the OAuthFile is incomplete and must not be used.
func ParseCredentials(path string, data []byte) (OAuthFile, outcome.Findings) {
	var out OAuthFile
	var fs outcome.Findings
	q := strconv.Quote(path)
	o, f := oauthObject(q, data)
	if f == nil {
		f = out.tokens(q, o)
	}
	if f == nil {
		f = out.expiry(q, o)
	}
	if f == nil {
		f = out.scopes(q, o)
	}
	if f != nil {
		fs = append(fs, *f)
	}
	return out, fs
}

// bad is a Malformed finding: the credentials file needs a new login.
func bad(id, msg, hint string) *outcome.Finding {
	return &outcome.Finding{Severity: outcome.Error, Code: outcome.Malformed, ID: id, Message: msg, Hint: hint}
}

// oauthObject is the claudeAiOauth object of a credentials file.
func oauthObject(q string, data []byte) (map[string]json.RawMessage, *outcome.Finding) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, bad("credentials_empty", fmt.Sprintf("%s is empty", q),
			"log in again with `claude /login`, or copy a working .credentials.json")
	}
	var top map[string]json.RawMessage
	if err := unmarshalStrict(data, &top); err != nil {
		return nil, bad("credentials_not_json", fmt.Sprintf("%s is not valid JSON: %s", q, jsonErr(err)),
			"restore it from a good copy or log in again; it must be the file Claude Code writes")
	}
	raw, ok := top["claudeAiOauth"]
	if !ok || isNull(raw) {
		return nil, bad("credentials_no_oauth", fmt.Sprintf("%s has no \"claudeAiOauth\" object", q),
			"this is not a Claude Code login file; log in with `claude /login` or set CLAUDE_CODE_OAUTH_TOKEN")
	}
	var o map[string]json.RawMessage
	if err := unmarshalStrict(raw, &o); err != nil {
		return nil, bad("credentials_no_oauth", fmt.Sprintf("%s: \"claudeAiOauth\" is not an object", q),
			"log in again with `claude /login`")
	}
	return o, nil
}

// tokens reads the access token and whether there is a refresh token.
func (out *OAuthFile) tokens(q string, o map[string]json.RawMessage) *outcome.Finding {
	access, accessErr := stringField(o, "accessToken")
	refresh, refreshErr := stringField(o, "refreshToken")
	exp, expState := numberField(o, "expiresAt")
	switch {
	case accessErr != "":
		return bad("credentials_access_token", fmt.Sprintf("%s: accessToken %s", q, accessErr), "log in again with `claude /login`")
	case access == "" && refresh == "" && refreshErr == "" && (expState == numOK && exp == 0):
		return &outcome.Finding{Severity: outcome.Error, Code: outcome.Rejected, ID: "credentials_blanked",
			Message: fmt.Sprintf("%s is a blanked stub: accessToken, refreshToken and expiresAt are empty, which is what a lost race between two processes refreshing the same file leaves behind", q),
			Hint:    "log in again with `claude /login`, and give each sleeve its own credentials file or a CLAUDE_CODE_OAUTH_TOKEN so that no two processes refresh one file"}
	case access == "":
		return bad("credentials_access_token", fmt.Sprintf("%s: accessToken is empty", q), "log in again with `claude /login`")
	}
	out.AccessToken = NewSecret(access)
	out.HasRefreshToken = refreshErr == "" && refresh != ""
	return nil
}

// expiry reads expiresAt: milliseconds since 1970, as Claude Code writes it.
func (out *OAuthFile) expiry(q string, o map[string]json.RawMessage) *outcome.Finding {
	exp, expState := numberField(o, "expiresAt")
	switch {
	case expState == numMissing:
		return bad("credentials_expires_missing", fmt.Sprintf("%s: expiresAt is missing", q),
			"log in again with `claude /login`; Claude Code writes expiresAt in milliseconds since 1970")
	case expState == numNotNumber:
		return bad("credentials_expires_type", fmt.Sprintf("%s: expiresAt is not a number", q),
			"it must be milliseconds since 1970, as a JSON number or a string of digits")
	case exp >= secondsFloor && exp < msFloor:
		return bad("credentials_expires_seconds", fmt.Sprintf("%s: expiresAt is %.0f, which looks like seconds, not milliseconds (%s as seconds)", q, exp, time.Unix(int64(exp), 0).UTC().Format(time.RFC3339)),
			"Claude Code reads expiresAt as milliseconds since 1970: multiply it by 1000, or log in again")
	case exp < msFloor || exp > msCeiling || math.IsNaN(exp):
		return bad("credentials_expires_range", fmt.Sprintf("%s: expiresAt %s is not a plausible time in milliseconds", q, strconv.FormatFloat(exp, 'g', 6, 64)),
			"log in again with `claude /login`")
	}
	out.ExpiresAt = time.UnixMilli(int64(exp)).UTC()
	if s, ok := o["subscriptionType"]; ok {
		_ = json.Unmarshal(s, &out.Subscription)
	}
	return nil
}

// scopes reads the scopes, which must include user:inference.
func (out *OAuthFile) scopes(q string, o map[string]json.RawMessage) *outcome.Finding {
	rawScopes, ok := o["scopes"]
	if !ok || isNull(rawScopes) {
		// Observed with Claude Code 2.1.332: a login without scopes is "Not
		// logged in · Please run /login", and every message fails.
		return bad("credentials_no_scopes", fmt.Sprintf("%s has no scopes, so Claude Code treats it as not logged in (\"Not logged in · Please run /login\")", q),
			"log in again with `claude /login` in a current Claude Code and copy the new file, or use a token from `claude setup-token`")
	}
	out.HasScopes = true
	if err := json.Unmarshal(rawScopes, &out.Scopes); err != nil {
		return bad("credentials_scopes", fmt.Sprintf("%s: scopes is not a list of strings", q), "log in again with `claude /login`")
	}
	if !contains(out.Scopes, "user:inference") {
		return bad("credentials_scope_inference", fmt.Sprintf("%s: scopes %s lack user:inference, so Claude Code refuses this login", q, strconv.Quote(strings.Join(out.Scopes, " "))),
			"log in again with `claude /login`, or use a token from `claude setup-token`")
	}
	return nil
}

// ExpiryInput is what decides whether an expiring credential stops the start.
type ExpiryInput struct {
	Name      string // what to call the credential in messages
	ExpiresAt time.Time
	Now       time.Time
	Window    time.Duration // warn when this close to expiry
	// Refreshable: Claude Code holds a refresh token and can store the new one.
	Refreshable bool
	// WhyNot explains, when not refreshable, why (read-only mount, no refresh token).
	WhyNot string
	Hint   string // how to get a new credential
}

// CheckExpiry decides on an expiry time: an error with status expired, a
// warning with expiring_soon, or nothing with valid.
func CheckExpiry(in ExpiryInput) (outcome.Findings, Status) {
	var fs outcome.Findings
	left := in.ExpiresAt.Sub(in.Now)
	switch {
	case left <= 0 && in.Refreshable:
		fs.Warn("credential_expired_refreshable", fmt.Sprintf("%s expired %s ago (%s); Claude Code will refresh it at start", in.Name, outcome.Human(-left), in.ExpiresAt.Format(time.RFC3339)),
			"nothing to do unless the refresh fails; if several sleeves share this file, give each its own")
		return fs, StatusExpired
	case left <= 0:
		msg := fmt.Sprintf("%s expired %s ago (%s)", in.Name, outcome.Human(-left), in.ExpiresAt.Format(time.RFC3339))
		if in.WhyNot != "" {
			msg += " and " + in.WhyNot
		}
		fs.Errf(outcome.Rejected, "credential_expired", msg, in.Hint)
		return fs, StatusExpired
	case left < in.Window && in.Refreshable:
		fs.Warn("credential_expiring_soon", fmt.Sprintf("%s expires in %s (%s); Claude Code will refresh it", in.Name, outcome.Human(left), in.ExpiresAt.Format(time.RFC3339)), "")
		return fs, StatusExpiringSoon
	case left < in.Window:
		msg := fmt.Sprintf("%s expires in %s (%s)", in.Name, outcome.Human(left), in.ExpiresAt.Format(time.RFC3339))
		if in.WhyNot != "" {
			msg += " and " + in.WhyNot
		}
		fs.Warn("credential_expiring_soon", msg, in.Hint)
		return fs, StatusExpiringSoon
	}
	return fs, StatusValid
}

type numState int

const (
	numOK numState = iota
	numMissing
	numNotNumber
)

func numberField(o map[string]json.RawMessage, k string) (float64, numState) {
	raw, ok := o[k]
	if !ok || isNull(raw) {
		return 0, numMissing
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		return 0, numNotNumber
	}
	// A string of digits is a number to Claude Code (observed with
	// 2.1.332: "expiresAt":"4102444800000" works); any other string is not.
	if t := bytes.TrimSpace(raw); len(t) > 0 && t[0] == '"' && !allDigits(string(n)) {
		return 0, numNotNumber
	}
	f, err := n.Float64()
	if err != nil {
		// Out of float64 range: a number, but not a time.
		return math.Inf(1), numOK
	}
	return f, numOK
}

// stringField returns the string at k; a missing or null field is "".
// The second result describes a wrong type.
func stringField(o map[string]json.RawMessage, k string) (string, string) {
	raw, ok := o[k]
	if !ok || isNull(raw) {
		return "", ""
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", "is not a string"
	}
	return s, ""
}

func allDigits(s string) bool {
	if s == "" || len(s) > 20 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// unmarshalStrict is json.Unmarshal that also refuses trailing data.
func unmarshalStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("data after the end of the JSON value")
	}
	return nil
}

// jsonErr shortens encoding/json's error text. It never quotes the input,
// only offsets and types, so no secret leaks through it.
func jsonErr(err error) string {
	var se *json.SyntaxError
	if ok := errors.As(err, &se); ok {
		return fmt.Sprintf("%s at byte %d", se.Error(), se.Offset)
	}
	var te *json.UnmarshalTypeError
	if ok := errors.As(err, &te); ok {
		return fmt.Sprintf("expected an object, found a JSON %s", te.Value)
	}
	return err.Error()
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// ReadSeed reads and checks a credentials file that the sleeve's own
// credentials file is to be seeded from (SLEEVE_CHECK_SEED_CREDENTIALS):
// the same rules as the file Claude Code reads, its expiry aside (the
// copy is checked for that as usual). On an error finding nothing may be
// copied.
func ReadSeed(path string) ([]byte, OAuthFile, outcome.Findings) {
	var fs outcome.Findings
	data, ok := readSmallFile(&fs, path, "SLEEVE_CHECK_SEED_CREDENTIALS", "seed_credentials")
	if !ok {
		return nil, OAuthFile{}, fs
	}
	of, pfs := ParseCredentials(path, data)
	fs = append(fs, pfs...)
	if !fs.HasError() {
		fs = append(fs, CheckToken(KindOAuthToken, strconv.Quote(path)+" accessToken", of.AccessToken)...)
	}
	return data, of, fs
}

// CredentialsPath is where Claude Code looks for its /login credentials
// for in, or "" when there is no home and no CLAUDE_CONFIG_DIR.
func CredentialsPath(in Input) string {
	r := &Resolution{}
	if !r.locate(in) {
		return ""
	}
	return r.CredentialsFile
}
