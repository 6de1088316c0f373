package state

import (
	"encoding/json"
	"path/filepath"
	"time"

	"sleeve-check/check"
	"sleeve-check/check/probe"
	"sleeve-check/internal/safefile"
)

// keeperVerdictFile is the keeper's last verdict, in its directory.
const keeperVerdictFile = "verdict.json"

// KeeperVerdict is the last check the keeper ran: what health and the
// session show. It holds no secret.
type KeeperVerdict struct {
	OK      bool   `json:"ok"`
	Code    int    `json:"exit_code"`
	Message string `json:"message,omitempty"`
	Hint    string `json:"hint,omitempty"`
	// Lines are what the session shows: the check's errors, warnings and
	// hints as console lines, made from its report.
	Lines     []string  `json:"lines"`
	CheckedAt time.Time `json:"checked_at"`
	// Exit names Code; Status, Credential and Usage are the report's
	// (fingerprints only), for Envoy's dashboard.
	Exit       string             `json:"exit,omitempty"`
	Status     check.Status       `json:"status,omitempty"`
	Credential *check.Fingerprint `json:"credential,omitempty"`
	Usage      *probe.Usage       `json:"usage,omitempty"`
}

// WriteKeeperVerdict leaves v in the keeper's directory dir (root's).
func WriteKeeperVerdict(dir string, v KeeperVerdict) error {
	return writeFile(dir, keeperVerdictFile, v)
}

// ReadKeeperVerdict is the keeper's last verdict, when a keeper (root)
// left one in dir.
func ReadKeeperVerdict(dir string) *KeeperVerdict {
	var v KeeperVerdict
	b, st, err := safefile.Read(filepath.Join(dir, keeperVerdictFile), maxStateSize, safefile.Options{NoFollow: true, Swapped: true})
	if err != nil || OwnerOf(st) != 0 || json.Unmarshal(b, &v) != nil {
		return nil
	}
	return &v
}
