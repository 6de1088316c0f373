// Package buildinfo is what the build stamps into the binary: the version
// and the commit, set with -ldflags "-X
// sleeve-check/entrypoint/internal/buildinfo.Version=... -X
// sleeve-check/entrypoint/internal/buildinfo.Commit=...". --version, the
// report and the HTTP probe's user agent read them.
package buildinfo

import (
	"fmt"
	"runtime"
)

var (
	Version = "dev"
	Commit  = "unknown"
)

// Line is what --version prints: the version, the commit, the Go release
// and the platform the binary was built for.
func Line() string {
	return fmt.Sprintf("sleeve-check %s (commit %s, %s, %s/%s)\n", Version, Commit, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
