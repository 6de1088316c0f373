// Package leaktest finds a secret in output; tests use it to assert that no
// output of sleeve-check carries a credential, whole or in part.
package leaktest

import "strings"

// publicText is what messages may quote: the published token prefixes.
const publicText = "sk-ant-oat01- sk-ant-ort01- sk-ant-api03- sk-ant-admin01-"

// LeakedWindow returns the first 12-byte piece of secret found in out, or
// "". The well-known prefix (sk-ant-xxx01-) and windows of the published
// prefixes are skipped: messages may name them. Tests use it to assert that no output carries a credential.
func LeakedWindow(secret, out string) string {
	body := secret
	if strings.HasPrefix(body, "sk-ant-") {
		if i := strings.IndexByte(body[7:], '-'); i >= 0 {
			body = body[7+i+1:]
		}
	}
	const w = 12
	if len(body) < w {
		// Too little after the prefix to tell from ordinary text (found by
		// fuzzing: a body of "0"); only the whole value counts then.
		if len(secret) >= w && strings.Contains(out, secret) {
			return secret
		}
		return ""
	}
	for i := 0; i+w <= len(body); i++ {
		if strings.Contains(publicText, body[i:i+w]) {
			continue
		}
		if strings.Contains(out, body[i:i+w]) {
			return body[i : i+w]
		}
	}
	return ""
}
