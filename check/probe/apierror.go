package probe

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"
)

// APIError is the part of an Anthropic error body sleeve-check shows:
// {"type":"error","error":{"type":"...","message":"..."},"request_id":"..."}.
type APIError struct {
	Type      string
	Message   string
	RequestID string
	// Anthropic is false when the body was not Anthropic's JSON (a proxy's
	// HTML page, say).
	Anthropic bool
}

// maxShownMessage bounds the API message quoted in a finding.
const maxShownMessage = 300

// ParseAPIError reads an error body. It never fails: a body that is not
// Anthropic's JSON gives Anthropic=false and a printable excerpt.
func ParseAPIError(body []byte) APIError {
	var e struct {
		Type  string `json:"type"`
		Error *struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"error"`
		RequestID string `json:"request_id"`
	}
	if err := json.Unmarshal(body, &e); err == nil && e.Error != nil && e.Error.Type != "" {
		return APIError{Type: clean(e.Error.Type, 64), Message: clean(e.Error.Message, maxShownMessage), RequestID: clean(e.RequestID, 128), Anthropic: true}
	}
	return APIError{Message: excerpt(body)}
}

// excerpt turns an arbitrary body into a short printable line: the title
// of an HTML page, or the first characters of anything else.
func excerpt(body []byte) string {
	s := string(body)
	// ASCII-only lowering keeps byte offsets equal in s and lower;
	// strings.ToLower does not on invalid UTF-8 (found by fuzzing).
	lower := asciiLower(s)
	if i := strings.Index(lower, "<title>"); i >= 0 {
		if j := strings.Index(lower[i+7:], "</title>"); j >= 0 {
			return "HTML page titled " + strconv.Quote(clean(s[i+7:i+7+j], 100))
		}
	}
	if t := strings.TrimSpace(lower); strings.HasPrefix(t, "<!doctype html") || strings.HasPrefix(t, "<html") {
		return "an HTML page"
	}
	if strings.TrimSpace(s) == "" {
		return "an empty body"
	}
	return strconv.Quote(clean(s, 120))
}

// clean makes s safe for one log line: valid UTF-8, no control characters,
// at most n bytes. It also blanks anything that looks like a credential,
// since a misbehaving gateway may echo the request back.
func clean(s string, n int) string {
	s = strings.ToValidUTF8(s, "?")
	var b strings.Builder
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			r = ' '
		}
		if b.Len()+utf8.RuneLen(r) > n {
			b.WriteString("...")
			break
		}
		b.WriteRune(r)
	}
	return redactTokens(b.String())
}

// redactTokens replaces anything shaped like an Anthropic credential.
func redactTokens(s string) string {
	for {
		i := strings.Index(s, "sk-ant-")
		if i < 0 {
			return s
		}
		j := i + 7
		for j < len(s) && (s[j] == '-' || s[j] == '_' || s[j] >= '0' && s[j] <= '9' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z') {
			j++
		}
		s = s[:i] + "[redacted]" + s[j:]
	}
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
