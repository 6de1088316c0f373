package state

import (
	"path/filepath"
	"time"

	"sleeve-check/check"
	"sleeve-check/check/probe"
)

// ProbeCache is the last probe verdict and whom it was about.
type ProbeCache struct {
	CheckedAt  time.Time         `json:"checked_at"`
	Credential check.Fingerprint `json:"credential"`
	// Identity is the credential's keyed hash (credentialID): the
	// fingerprint is for people, this tells two tokens apart.
	Identity string        `json:"identity,omitempty"`
	Means    probe.Means   `json:"means,omitempty"`
	Verdict  probe.Verdict `json:"verdict"`
}

// SameCredential tells whether a cached verdict is about the credential
// in use now.
func SameCredential(a, b check.Fingerprint) bool {
	return a.Kind == b.Kind && a.Source == b.Source && a.Length == b.Length && a.Last4 == b.Last4
}

// Proved is a verdict and how and when it was reached: what probe.json
// records of a credential.
type Proved struct {
	Verdict probe.Verdict
	Means   probe.Means
	At      time.Time
}

// SaveVerdict writes probe.json into dir: the verdict, when it was
// reached, and for which credential (its keyed identity) by which probe.
func SaveVerdict(dir string, cred *check.Credential, v Proved) error {
	pc := ProbeCache{CheckedAt: v.At.UTC(), Credential: cred.Fingerprint(), Identity: credentialID(dir, cred, true), Means: v.Means, Verdict: v.Verdict}
	return writeFile(dir, probeFile, pc)
}

// CachedVerdict is probe.json when it is for this very credential (the
// same keyed identity, not only the same fingerprint), proved by means.
func CachedVerdict(dirs Dirs, cred *check.Credential, means probe.Means) (ProbeCache, bool) {
	var c ProbeCache
	path, err := dirs.read(probeFile, &c)
	ok := err == nil && c.Means == means && c.Identity != "" && SameCredential(c.Credential, cred.Fingerprint()) &&
		credentialID(filepath.Dir(path), cred, false) == c.Identity
	return c, ok
}
