package check

import (
	"fmt"
	"unicode/utf8"
)

// Secret holds a credential value. Every way Go has of printing a value
// (fmt verbs, JSON, text marshalling, zerolog's Interface) shows only its
// fingerprint; Reveal is the one door to the bytes, used only where the
// value must go: a request header, the child's environment, the last 20
// characters Claude Code stores for an approved API key.
type Secret struct{ v string }

// NewSecret wraps v.
func NewSecret(v string) Secret { return Secret{v: v} }

// Reveal returns the secret value itself.
func (s Secret) Reveal() string { return s.v }

// Len is the length in bytes.
func (s Secret) Len() int { return len(s.v) }

// Last4 is the last four characters, or fewer for a very short value. A
// value shorter than 12 bytes shows none: four of eight would be half of it.
func (s Secret) Last4() string {
	if len(s.v) < 12 || !utf8.ValidString(s.v) {
		return ""
	}
	r := []rune(s.v)
	tail := string(r[len(r)-4:])
	for _, c := range tail {
		if c < 0x21 || c > 0x7e {
			return ""
		}
	}
	return tail
}

// String is the redacted form: length and last four characters.
func (s Secret) String() string {
	if l4 := s.Last4(); l4 != "" {
		return fmt.Sprintf("[redacted len=%d ...%s]", len(s.v), l4)
	}
	return fmt.Sprintf("[redacted len=%d]", len(s.v))
}

// GoString keeps %#v redacted.
func (s Secret) GoString() string { return s.String() }

// Format keeps every verb redacted (%x, %q, %d would otherwise print bytes).
func (s Secret) Format(f fmt.State, verb rune) { fmt.Fprint(f, s.String()) }

// MarshalText keeps JSON and other encoders redacted.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
