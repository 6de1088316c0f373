//go:build !linux

package protectorate

import (
	"context"

	"sleeve-check/entrypoint/internal/settings"
	"sleeve-check/internal/outcome"
)

// Keeper is Linux's only (a Protectorate sleeve is a Linux container):
// elsewhere it says so.
func Keeper(_ context.Context, c settings.Call) int {
	c.Log.Error().Msg("sleeve-check keeper runs on Linux only")
	return int(outcome.Config)
}

// Session is Linux's only, as Keeper is.
func Session(ctx context.Context, c settings.Call) int { return Keeper(ctx, c) }
