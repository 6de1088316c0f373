// Package fleet is the contract between a credential gateway
// (entrypoint/gateway) and the sleeves behind it: the per-sleeve keys, the
// route a sleeve asks for the fleet credential's verdict and its JSON, the
// sleeve's ask, and the environment a sleeve gives claude - the gateway as
// ANTHROPIC_BASE_URL and the sleeve's key in place of a credential.
//
// A key is derived from the gateway's secret and the sleeve's name, so it
// needs no database: "scgw1." NAME "." and 40 hex digits of
// HMAC-SHA256(secret, label NAME). Its shape is its own: no secret scanner
// takes it for an Anthropic credential (sk-ant-...), and its name is
// readable, so a key found in a log says which sleeve leaked it.
package fleet

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"sleeve-check/check"
	"sleeve-check/internal/environ"
	"sleeve-check/internal/outcome"
	"sleeve-check/internal/safefile"
)

// KeyPrefix begins every key.
const KeyPrefix = check.GatewayKeyPrefix

// macLen is the hex digits of the HMAC a key keeps: 160 bits.
const macLen = 40

// label separates this use of the secret from any other.
const label = "sleeve-check gateway key v1\n"

// MinSecret is the shortest gateway secret taken, in bytes.
const MinSecret = 32

// The variables of the gateway's secret and of a sleeve's key, each with a
// *_FILE twin (the Docker and Kubernetes secrets convention).
const (
	SecretVar = "SLEEVE_CHECK_GATEWAY_SECRET"
	KeyVar    = "SLEEVE_CHECK_GATEWAY_KEY"
)

// ValidName says what is wrong with a sleeve name, or nil: 1 to 63
// lower-case letters, digits, '-' and '_', beginning with a letter or a
// digit (a container or service name fits).
func ValidName(name string) error {
	if name == "" || len(name) > 63 {
		return fmt.Errorf("a sleeve name has 1 to 63 characters, and %q has %d", name, len(name))
	}
	for i, c := range name {
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || i > 0 && (c == '-' || c == '_')
		if !ok {
			return fmt.Errorf("%q is not a sleeve name: use lower-case letters, digits, '-' and '_', beginning with a letter or a digit", name)
		}
	}
	return nil
}

// Key is name's key under secret.
func Key(secret []byte, name string) (string, error) {
	if err := ValidName(name); err != nil {
		return "", err
	}
	return KeyPrefix + name + "." + mac(secret, name), nil
}

func mac(secret []byte, name string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(label + name))
	return hex.EncodeToString(m.Sum(nil))[:macLen]
}

// Errors of Verify.
var (
	ErrNoKey   = errors.New("no key was sent")
	ErrNotAKey = errors.New("what was sent is not a gateway key")
	ErrForeign = errors.New("the key was not made by this gateway's secret")
)

// NameOf is the sleeve name a key carries, whether or not it verifies.
func NameOf(key string) (string, error) {
	if key == "" {
		return "", ErrNoKey
	}
	rest, ok := strings.CutPrefix(key, KeyPrefix)
	i := strings.LastIndexByte(rest, '.')
	if !ok || i < 0 || ValidName(rest[:i]) != nil || len(rest)-i-1 != macLen {
		return "", ErrNotAKey
	}
	return rest[:i], nil
}

// Verify returns the sleeve name of a key made by secret.
func Verify(secret []byte, key string) (string, error) {
	name, err := NameOf(key)
	if err != nil {
		return "", err
	}
	if !hmac.Equal([]byte(key[len(key)-macLen:]), []byte(mac(secret, name))) {
		return name, ErrForeign
	}
	return name, nil
}

// Fingerprint is all that is ever shown of a key: its name and last four.
func Fingerprint(key string) string {
	name, err := NameOf(key)
	if err != nil {
		if len(key) >= 12 {
			return fmt.Sprintf("a value of length %d ending ...%s", len(key), key[len(key)-4:])
		}
		return fmt.Sprintf("a value of length %d", len(key))
	}
	return fmt.Sprintf("%s ...%s", name, key[len(key)-4:])
}

// maxSecretFile bounds a secret or key file.
const maxSecretFile = 64 << 10

// Secret reads the gateway's secret: SLEEVE_CHECK_GATEWAY_SECRET or the
// file SLEEVE_CHECK_GATEWAY_SECRET_FILE names (one trailing newline is
// the file's), at least MinSecret bytes.
func Secret(env environ.Env) ([]byte, outcome.Findings) {
	v, src, fs := either(env, SecretVar)
	if fs.HasError() {
		return nil, fs
	}
	switch {
	case v == "":
		fs.Errf(outcome.Config, "gateway_secret_missing", "the gateway has no secret to derive the sleeves' keys from: "+absent(env, SecretVar, src),
			"make one with `head -c 32 /dev/urandom | base64 > gateway-secret` and give it as "+SecretVar+"_FILE")
	case len(v) < MinSecret:
		fs.Errf(outcome.Config, "gateway_secret_short", fmt.Sprintf("%s holds %d bytes; a gateway secret needs at least %d", src, len(v), MinSecret),
			"make one with `head -c 32 /dev/urandom | base64`")
	}
	return []byte(v), fs
}

// LoadKey reads a sleeve's key: SLEEVE_CHECK_GATEWAY_KEY or the file
// SLEEVE_CHECK_GATEWAY_KEY_FILE names. It is read before the user switch,
// like every *_FILE secret; source names where it came from.
func LoadKey(env environ.Env) (key, source string, fs outcome.Findings) {
	key, source, fs = either(env, KeyVar)
	if fs.HasError() {
		return "", source, fs
	}
	if key == "" {
		fs.Errf(outcome.NoCredential, "gateway_key_missing", "SLEEVE_CHECK_GATEWAY is set, but the sleeve has no key for it: "+absent(env, KeyVar, source),
			"print the sleeve's key on the gateway with `sleeve-check gateway key NAME` and give it as "+KeyVar+"_FILE")
		return "", source, fs
	}
	if _, err := NameOf(key); err != nil {
		fs.Errf(outcome.Malformed, "gateway_key_shape", fmt.Sprintf("%s is not a gateway key (%s): a key begins %q", source, Fingerprint(key), KeyPrefix),
			"give the line `sleeve-check gateway key NAME` prints, not a Claude Code credential")
	}
	return key, source, fs
}

// absent says why name gave no value, telling unset from empty: an
// operator who set the _FILE must not read that it is unset.
func absent(env environ.Env, name, source string) string {
	switch {
	case source != name:
		return source + " is empty"
	case env.Get(name) != "":
		return name + " holds only whitespace"
	}
	return name + " and " + name + "_FILE are unset"
}

// either reads name or name_FILE, but not both.
func either(env environ.Env, name string) (value, source string, fs outcome.Findings) {
	path := env.Get(name + "_FILE")
	if path == "" {
		return strings.TrimSpace(env.Get(name)), name, nil
	}
	source = fmt.Sprintf("%s_FILE (%s)", name, path)
	if env.Get(name) != "" {
		fs.Errf(outcome.Config, "secret_file_conflict", fmt.Sprintf("%s and %s_FILE are both set", name, name), "set only one")
		return "", source, fs
	}
	b, _, err := safefile.Read(path, maxSecretFile, safefile.Options{})
	if err != nil {
		fs.Errf(outcome.Config, "secret_file_unreadable", fmt.Sprintf("%s cannot be read: %s", source, safefile.ErrText(err)), "mount the secret at that path, readable by the user sleeve-check starts as")
		return "", source, fs
	}
	return strings.TrimSpace(string(b)), source, nil
}
