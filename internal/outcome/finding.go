package outcome

import "fmt"

// Severity orders findings: an Error stops the start, a Warning is printed
// and the start goes on, Info appears only with --verbose and in --json.
type Severity int

const (
	Info Severity = iota
	Warning
	Error
)

func (s Severity) String() string {
	switch s {
	case Warning:
		return "warning"
	case Error:
		return "error"
	}
	return "info"
}

// MarshalText gives the JSON report its severity words.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Finding is one thing a check has to say. Message is one plain sentence
// naming the variable or path; Hint says what to do. Neither ever holds a
// secret: callers describe credentials only through Fingerprint.
type Finding struct {
	Severity Severity `json:"severity"`
	// Code is the exit class of an Error finding.
	Code Code `json:"-"`
	// ID is a stable machine-readable name, e.g. "token_quoted".
	ID      string `json:"id"`
	Message string `json:"message"`
	Hint    string `json:"hint,omitempty"`
}

// Findings is an ordered list of findings.
type Findings []Finding

func (fs *Findings) add(sev Severity, code Code, id, msg, hint string) {
	*fs = append(*fs, Finding{Severity: sev, Code: code, ID: id, Message: msg, Hint: hint})
}

// Errf records an error of class code.
func (fs *Findings) Errf(code Code, id, msg, hint string) { fs.add(Error, code, id, msg, hint) }

// Warn records a warning.
func (fs *Findings) Warn(id, msg, hint string) { fs.add(Warning, OK, id, msg, hint) }

// Note records an informational finding.
func (fs *Findings) Note(id, msg string) { fs.add(Info, OK, id, msg, "") }

// FirstError is the error that decides the exit code, or nil.
func (fs Findings) FirstError() *Finding {
	for i := range fs {
		if fs[i].Severity == Error {
			return &fs[i]
		}
	}
	return nil
}

// HasError reports whether any finding stops the start.
func (fs Findings) HasError() bool { return fs.FirstError() != nil }

// UnmarshalText reads the severity words back (state files, reports).
func (s *Severity) UnmarshalText(b []byte) error {
	switch string(b) {
	case "info":
		*s = Info
	case "warning":
		*s = Warning
	case "error":
		*s = Error
	default:
		return fmt.Errorf("unknown severity %q", b)
	}
	return nil
}
