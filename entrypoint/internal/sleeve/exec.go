package sleeve

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"sleeve-check/internal/safefile"
)

// LookError says why a command cannot be run; NotFound tells 127 from 126.
type LookError struct {
	NotFound bool
	Msg      string
	Hint     string
}

func (e *LookError) Error() string { return e.Msg }

// LookPath finds name the way a shell does: a name with a slash is used as
// it is; otherwise each PATH entry is tried and the first executable
// regular file wins. Found but not executable is told apart from not
// found, as sh does with 126 and 127.
func LookPath(name, path string) (string, error) {
	if name == "" {
		return "", &LookError{NotFound: true, Msg: "the command after -- is empty", Hint: "give the command to run, e.g. -- claude"}
	}
	if strings.Contains(name, "/") {
		return name, executable(name)
	}
	var firstBad error
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		err := executable(p)
		if err == nil {
			return p, nil
		}
		var le *LookError
		if errors.As(err, &le) && !le.NotFound && firstBad == nil {
			firstBad = err
		}
	}
	if firstBad != nil {
		return "", firstBad
	}
	return "", &LookError{NotFound: true, Msg: fmt.Sprintf("command %s not found in PATH (%s)", strconv.Quote(name), path),
		Hint: "install it in the image, or give its full path after --"}
}

func executable(p string) error {
	q := strconv.Quote(p)
	st, err := os.Stat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return &LookError{NotFound: true, Msg: fmt.Sprintf("command %s does not exist", q), Hint: "install it in the image, or fix the path"}
	case err != nil:
		return &LookError{Msg: fmt.Sprintf("command %s cannot be run: %s", q, safefile.ErrText(err)), Hint: "fix the permissions of the path to it"}
	case st.IsDir():
		return &LookError{Msg: fmt.Sprintf("command %s is a directory", q), Hint: "name the program inside it"}
	case !st.Mode().IsRegular():
		return &LookError{Msg: fmt.Sprintf("command %s is not a regular file", q), Hint: "name a program"}
	}
	if err := syscall.Access(p, 1 /* X_OK */); err != nil || st.Mode().Perm()&0o111 == 0 {
		return &LookError{Msg: fmt.Sprintf("command %s is not executable (mode %s)", q, st.Mode().Perm()), Hint: "chmod +x it in the image"}
	}
	return nil
}

// Exec replaces the process with argv[0] at path. The signals caught for
// the checks, if they were, are given back first (caught.Close), so the
// command starts with the dispositions sleeve-check was started with, as
// if it had been the entrypoint itself. It returns only on failure.
func Exec(path string, argv []string, env []string, caught *Catcher) error {
	caught.Close()
	err := syscall.Exec(path, argv, env)
	q := strconv.Quote(path)
	switch {
	case errors.Is(err, syscall.ENOENT):
		return &LookError{NotFound: true, Msg: fmt.Sprintf("command %s could not be started: its interpreter or loader does not exist", q),
			Hint: "check its #! line, or that the image has the C library it was built for"}
	case errors.Is(err, syscall.ENOEXEC):
		return &LookError{Msg: fmt.Sprintf("command %s is not a program this system can run (no #! line, or another architecture)", q), Hint: "rebuild it for this platform"}
	}
	return &LookError{Msg: fmt.Sprintf("command %s could not be started: %s", q, err), Hint: "check the file and its permissions"}
}
