package main

import (
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"

	"sleeve-check/check/anthropictest"
)

// BenchmarkProcess measures whole sleeve-check processes, as an
// entrypoint pays for them: fork, exec, checks, probe over loopback, exec
// of the command. It reports the median wall time. Peak memory is left to
// make bench (GNU time): a child forked from the test binary inherits the
// test binary's high-water RSS in its rusage, so Maxrss here would report
// the parent's memory, not sleeve-check's.
//
//	go test ./cmd/sleeve-check -run '^$' -bench BenchmarkProcess -benchtime 200x
func BenchmarkProcess(b *testing.B) {
	bin := buildBinaryB(b)
	srv := anthropictest.NewServer()
	defer srv.Close()
	srv.Set(fakeOAuth, anthropictest.Behavior{Kind: anthropictest.Valid})
	for _, c := range []struct {
		name string
		args []string
	}{
		{"probe=http", []string{"--probe=http", "--", "true"}},
		{"probe=off", []string{"--probe=off", "--", "true"}},
		{"report-only", []string{"--probe=off"}},
		{"health-cached", []string{"health"}},
	} {
		b.Run(c.name, func(b *testing.B) {
			home := b.TempDir()
			env := []string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "CLAUDE_CODE_OAUTH_TOKEN=" + fakeOAuth, "ANTHROPIC_BASE_URL=" + srv.URL, "SLEEVE_CHECK_STATE_DIR=" + home + "/state"}
			// A start first: health then finds the state and a fresh verdict.
			start := exec.Command(bin, "--", "true")
			start.Env = env
			if out, err := start.CombinedOutput(); err != nil {
				b.Fatalf("%v\n%s", err, out)
			}
			before := len(srv.Requests())
			walls := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				cmd := exec.Command(bin, c.args...)
				cmd.Env = env
				start := time.Now()
				if out, err := cmd.CombinedOutput(); err != nil {
					b.Fatalf("%v\n%s", err, out)
				}
				walls = append(walls, time.Since(start))
			}
			b.StopTimer()
			if c.name == "health-cached" && len(srv.Requests()) != before {
				b.Fatalf("health called the API %d times with a fresh verdict", len(srv.Requests())-before)
			}
			slices.Sort(walls)
			b.ReportMetric(float64(walls[len(walls)/2].Microseconds())/1000, "median-ms")
		})
	}
}

// BenchmarkTrue is the floor: the same fork and exec of true alone.
func BenchmarkTrue(b *testing.B) {
	walls := make([]time.Duration, 0, b.N)
	for i := 0; i < b.N; i++ {
		start := time.Now()
		if err := exec.Command("true").Run(); err != nil {
			b.Fatal(err)
		}
		walls = append(walls, time.Since(start))
	}
	slices.Sort(walls)
	b.ReportMetric(float64(walls[len(walls)/2].Microseconds())/1000, "median-ms")
}

func buildBinaryB(b *testing.B) string {
	b.Helper()
	dir := b.TempDir()
	bin := dir + "/sleeve-check"
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}
