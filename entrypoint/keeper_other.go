//go:build !linux

package entrypoint

import (
	"context"
	"fmt"
	"os"

	"sleeve-check/internal/outcome"
)

func keeper(context.Context, call) int {
	fmt.Fprintln(os.Stderr, "sleeve-check: error: keeper runs on Linux only")
	return int(outcome.Config)
}

func session(ctx context.Context, c call) int { return keeper(ctx, c) }
