package health

import (
	"strings"

	"sleeve-check/entrypoint/internal/settings"
	"sleeve-check/entrypoint/internal/state"
	"sleeve-check/internal/environ"
)

// Adopt finds the state the start left and gives a health check the
// settings the start ran with (its ENTRYPOINT flags: --user, --probe,
// --state-dir, ...), below the health check's own flags and environment.
// It returns the state (nil when there is none), and the invocation and
// environment to run with.
func Adopt(args []string, inv *settings.Invocation, env environ.Env) (*state.LastStart, *settings.Invocation, environ.Env) {
	st := state.ReadStart(state.NewDirs(inv.Settings, env))
	if st == nil {
		return nil, inv, env
	}
	adopted := map[string]string{}
	for k, v := range st.Start.Settings {
		if env.Get(k) == "" {
			adopted[k] = v
		}
	}
	if len(adopted) == 0 {
		return st, inv, env
	}
	adoptedInv, err := settings.Parse(args, env.With(adopted))
	if err != nil {
		return st, inv, env
	}
	if _, ok := adopted[settings.EnvPrefix+"USER"]; ok && st.Start.Home != "" {
		// The start's home, which the user switch replaces with the
		// passwd one where the user has an entry (as at the start).
		env = env.With(map[string]string{"HOME": st.Start.Home})
	}
	for k := range adopted {
		if f := settings.FieldByEnv(k); f != nil && !strings.HasPrefix(adoptedInv.Sources[f.Name], "flag") {
			adoptedInv.Sources[f.Name] = "the start's state"
		}
	}
	return st, adoptedInv, env
}
