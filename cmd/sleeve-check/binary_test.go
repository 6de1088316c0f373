package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The scripts and the tests that run a built binary can run another
// build instead: SLEEVE_CHECK_TEST_BINARY names it, and
// SLEEVE_CHECK_TEST_EXEC the program that runs it (qemu-aarch64-static for
// the arm64 release, on an amd64 machine without binfmt_misc). The test
// driver itself stays native; only sleeve-check changes architecture.
// make test-arm64 uses this.
var (
	testBinary = os.Getenv("SLEEVE_CHECK_TEST_BINARY")
	testExec   = os.Getenv("SLEEVE_CHECK_TEST_EXEC")
)

// wrapperDir writes, into a new directory under parent, a sleeve-check
// that runs the test binary, and returns the directory ("" when no test
// binary is set).
func wrapperDir(parent string) (string, error) {
	if testBinary == "" {
		return "", nil
	}
	dir := filepath.Join(parent, ".test-bin")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	script := fmt.Sprintf("#!/bin/sh\nexec %s %s \"$@\"\n", strings.TrimSpace(testExec), testBinary)
	return dir, os.WriteFile(filepath.Join(dir, "sleeve-check"), []byte(script), 0o755)
}
