package check

import (
	"encoding/json"
	"fmt"
	"syscall"
)

func sprintf(f string, a ...any) string { return fmt.Sprintf(f, a...) }

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

func mkfifo(p string) error { return syscall.Mkfifo(p, 0o600) }
