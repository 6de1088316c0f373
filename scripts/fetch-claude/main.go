// Command fetch-claude downloads one Claude Code release's native binary
// for one architecture from the npm registry, checks the package against
// the pinned sha512 integrity (the npm "dist.integrity" value), and writes
// the binary. Dockerfile.sleeve runs it in its build stage, so that the
// image needs neither npm nor node:
//
//	go run ./scripts/fetch-claude -version 2.1.332 -arch arm64 -integrity sha512-... -o /out/claude
//
// The registry is $NPM_CONFIG_REGISTRY, or, where npm is installed, the
// one npm is configured with (npm config get registry): npm owns that
// default, and no registry's address is written here.
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"time"
)

func main() {
	version := flag.String("version", "", "the Claude Code release, e.g. 2.1.332")
	arch := flag.String("arch", "", "amd64 or arm64 (GOARCH names)")
	integrity := flag.String("integrity", "", "the package's pinned sha512 integrity, sha512-BASE64")
	out := flag.String("o", "claude", "where to write the binary")
	flag.Parse()
	if err := fetch(*version, *arch, *integrity, *out); err != nil {
		fmt.Fprintln(os.Stderr, "fetch-claude:", err)
		os.Exit(1)
	}
}

func fetch(version, arch, integrity, out string) error {
	npmArch := map[string]string{"amd64": "x64", "arm64": "arm64"}[arch]
	switch {
	case version == "":
		return errors.New("-version is required")
	case npmArch == "":
		return fmt.Errorf("-arch %q: want amd64 or arm64", arch)
	case !strings.HasPrefix(integrity, "sha512-"):
		return errors.New("-integrity must be the pinned sha512-... value: a release is never installed unchecked")
	}
	registry, err := npmRegistry()
	if err != nil {
		return err
	}
	pkg := "claude-code-linux-" + npmArch
	url := fmt.Sprintf("%s/@anthropic-ai/%s/-/%s-%s.tgz", registry, pkg, pkg, version)
	body, err := download(url)
	if err != nil {
		return err
	}
	sum := sha512.Sum512(body)
	if got := "sha512-" + base64.StdEncoding.EncodeToString(sum[:]); got != integrity {
		return fmt.Errorf("@anthropic-ai/%s@%s has integrity %s, not the pinned %s", pkg, version, got, integrity)
	}
	return extract(body, "package/claude", out)
}

// npmRegistry is $NPM_CONFIG_REGISTRY, else npm's own setting.
func npmRegistry() (string, error) {
	r := os.Getenv("NPM_CONFIG_REGISTRY")
	if r == "" {
		if out, err := exec.Command("npm", "config", "get", "registry").Output(); err == nil {
			r = strings.TrimSpace(string(out))
		}
	}
	if r == "" {
		return "", errors.New("no npm registry: set NPM_CONFIG_REGISTRY (docker build --build-arg NPM_CONFIG_REGISTRY=\"$(npm config get registry)\"), or install npm")
	}
	return strings.TrimRight(r, "/"), nil
}

func download(url string) ([]byte, error) {
	c := &http.Client{Timeout: 10 * time.Minute}
	resp, err := c.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", url, resp.Status)
	}
	return io.ReadAll(io.LimitReader(resp.Body, 2<<30))
}

// extract writes the tarball's member name to out, mode 0755.
func extract(tgz []byte, name, out string) error {
	zr, err := gzip.NewReader(bytes.NewReader(tgz))
	if err != nil {
		return err
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err != nil {
			return fmt.Errorf("%s not in the package: %v", name, err)
		}
		if h.Name != name {
			continue
		}
		f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
		if err != nil {
			return err
		}
		if _, err := io.Copy(f, tr); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
}
