package protectorate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"time"

	"sleeve-check/entrypoint/internal/report"
	"sleeve-check/entrypoint/internal/state"
	"sleeve-check/internal/environ"
	"sleeve-check/internal/outcome"
)

// runStart runs the start's checks (self --json -- true) with env, its
// console lines going to stderr as they come, and returns the verdict of
// its JSON report.
func runStart(self string, env environ.Env, stderr io.Writer) state.KeeperVerdict {
	cmd := exec.Command(self, "--json", "--", "true")
	cmd.Env = env.Slice()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, stderr
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		return verdictOf(failure(outcome.Internal, "the start's checks could not be run: "+err.Error()), int(outcome.Internal))
	}
	var rep report.Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		if code == 0 {
			code = int(outcome.Internal)
		}
		return verdictOf(failure(outcome.Code(code), fmt.Sprintf("the start's checks ended (exit %d) without a report: %v", code, err)), code)
	}
	var v state.KeeperVerdict
	if code != rep.ExitCode {
		// The process's status is the truth; the report said otherwise.
		v = verdictOf(append(rep.Findings, failure(outcome.Code(code), fmt.Sprintf("the start's checks exited %d, but their report says %d", code, rep.ExitCode))...), code)
	} else {
		v = verdictOf(rep.Findings, code)
	}
	v.Status, v.Credential, v.Usage = rep.Status, rep.Credential, rep.Usage
	return v
}

func failure(code outcome.Code, msg string) outcome.Findings {
	var fs outcome.Findings
	fs.Errf(code, "keeper_check", msg, "run sleeve-check --verbose -- true in the sleeve as root to see why")
	return fs
}

// verdictOf is the keeper's verdict of a check that said fs and exited
// code: the first error's sentence and hint, and the errors and warnings
// as the console lines the session shows.
func verdictOf(fs outcome.Findings, code int) state.KeeperVerdict {
	v := state.KeeperVerdict{OK: code == 0, Code: code, Exit: outcome.Code(code).Name(), CheckedAt: time.Now().UTC(), Lines: []string{}}
	if f := fs.FirstError(); f != nil {
		v.Message, v.Hint = f.Message, f.Hint
	}
	for _, f := range fs {
		if f.Severity == outcome.Info {
			continue
		}
		v.Lines = append(v.Lines, "sleeve-check: "+f.Severity.String()+": "+f.Message)
		if f.Hint != "" {
			v.Lines = append(v.Lines, "sleeve-check: hint: "+f.Hint)
		}
	}
	return v
}
