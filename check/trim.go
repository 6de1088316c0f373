package check

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"sleeve-check/internal/outcome"
)

// Claude Code trims its credential and base-URL variables with
// JavaScript's String.prototype.trim (observed with 2.1.332: a token or API
// key with a trailing newline, CRLF, surrounding spaces or a leading UTF-8
// BOM, and a base URL with a trailing newline or space, all work). So
// sleeve-check trims them the same way, says what it trimmed, and checks
// and probes the trimmed value; what trim leaves (quotes, a "Bearer "
// prefix, whitespace inside) still fails in the CLI and still stops here.

// jsSpace is JavaScript's WhiteSpace and LineTerminator: what trim removes.
func jsSpace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', ' ', 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000, 0xfeff:
		return true
	}
	return r >= 0x2000 && r <= 0x200a
}

// trimJS trims s as JavaScript's trim does and describes what it removed
// ("" when nothing): "a trailing newline", "a UTF-8 byte order mark (BOM)
// at the start", "leading and trailing spaces", ...
func trimJS(s string) (string, string) {
	t := strings.TrimFunc(s, jsSpace)
	if t == s {
		return s, ""
	}
	if t == "" {
		return t, "only whitespace"
	}
	lead := s[:strings.Index(s, t)]
	trail := s[len(lead)+len(t):]
	var parts []string
	if lead != "" {
		parts = append(parts, describeSpace(lead, "at the start"))
	}
	if trail != "" {
		parts = append(parts, describeSpace(trail, "at the end"))
	}
	return t, strings.Join(parts, " and ")
}

func describeSpace(ws, where string) string {
	switch {
	case ws == "\n":
		return "a newline " + where
	case ws == "\r\n":
		return "a CRLF line ending " + where
	case ws == "\r":
		return "a carriage return " + where
	case ws == "\ufeff":
		return "a UTF-8 byte order mark (BOM) " + where
	case strings.Trim(ws, " ") == "":
		if ws == " " {
			return "a space " + where
		}
		return "spaces " + where
	case strings.Trim(ws, "\r\n") == "":
		return "newlines " + where
	}
	what := "whitespace"
	if strings.ContainsRune(ws, 0xfeff) {
		what = "whitespace and a UTF-8 byte order mark (BOM)"
	}
	return what + " (" + strconv.Itoa(utf8.RuneCountInString(ws)) + " characters) " + where
}

// trimmed records a warning when trimJS removed something from the value
// of name, and returns the trimmed value.
func trimmed(fs *outcome.Findings, name, v string) string {
	t, what := trimJS(v)
	if what == "" || t == "" {
		return v
	}
	fs.Warn("value_trimmed", name+" has "+what+"; Claude Code trims it, so sleeve-check checks the trimmed value",
		"remove it where the value is set (printf '%s' instead of echo, a ConfigMap or Secret without the trailing newline)")
	return t
}
