package health

import "strings"

// maxLine keeps the line far under Docker's 4096-byte limit.
const maxLine = 1000

// line is the health line: healthy, with or without a warning, or not;
// prefix, when set, replaces the one those make ("starting: ").
type line struct {
	healthy, warning bool
	prefix, text     string
}

// String is the line: no colour, no control characters, bounded.
func (l line) String() string {
	prefix := l.prefix
	switch {
	case prefix != "":
	case l.healthy && l.warning:
		prefix = "healthy (warning): "
	case l.healthy:
		prefix = "healthy: "
	default:
		prefix = "unhealthy: "
	}
	msg := strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, l.text)
	s := prefix + msg
	if len(s) > maxLine {
		s = strings.ToValidUTF8(s[:maxLine-3], "") + "..."
	}
	return s
}

// Unhealthy is the line of an unhealthy sleeve that says why.
func Unhealthy(why string) string { return line{text: why}.String() }
