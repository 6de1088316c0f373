// Package environ is the process environment as one value.
//
// sleeve-check reads its environment once, at the edge (cmd/sleeve-check
// passes os.Environ() to entrypoint.Main), and from then on every part of
// it - the settings, the credential resolution, the user switch, the
// *_FILE secrets handed to the child, the probe's proxy and CA bundle, the
// temporary directory, the command's environment - reads this value, so
// that a run is decided by its arguments alone. Nothing outside cmd/ calls
// os.Getenv, os.LookupEnv, os.Environ or http.ProxyFromEnvironment.
//
// An Env keeps the slice it was built from in order and records changes
// beside it: Slice gives the original entries, minus the ones a Set
// replaced, followed by the set ones. That is the environment the command
// gets, with no entry reordered or lost.
package environ

import (
	"sort"
	"strings"
)

// Env is an environment: lookups see the last value of a name, as Go's
// os.Getenv does.
type Env struct {
	base []string          // as given, KEY=VALUE
	vals map[string]string // every name's current value
	set  []string          // names changed by Set, in order
}

// New builds an Env from KEY=VALUE entries; an entry without "=" is kept
// in the slice form but cannot be looked up.
func New(environ []string) Env {
	e := Env{base: append([]string(nil), environ...), vals: make(map[string]string, len(environ))}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			e.vals[k] = v
		}
	}
	return e
}

// FromMap builds an Env from a map, in name order.
func FromMap(m map[string]string) Env {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	kv := make([]string, 0, len(keys))
	for _, k := range keys {
		kv = append(kv, k+"="+m[k])
	}
	return New(kv)
}

// Get is the value of name, "" when unset.
func (e Env) Get(name string) string { return e.vals[name] }

// Lookup is the value of name and whether it is set (set and empty are told apart).
func (e Env) Lookup(name string) (string, bool) {
	v, ok := e.vals[name]
	return v, ok
}

// Names lists the names that are set, sorted.
func (e Env) Names() []string {
	out := make([]string, 0, len(e.vals))
	for k := range e.vals {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Clone is a copy whose changes do not reach e.
func (e Env) Clone() Env {
	c := Env{base: e.base, vals: make(map[string]string, len(e.vals)), set: append([]string(nil), e.set...)}
	for k, v := range e.vals {
		c.vals[k] = v
	}
	return c
}

// With is a copy of e with the variables of add set, in name order (the
// one way a mode lays variables over an environment: the user switch's,
// the *_FILE secrets', the keeper's).
func (e Env) With(add map[string]string) Env {
	out := e.Clone()
	names := make([]string, 0, len(add))
	for k := range add {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		out.Set(k, add[k])
	}
	return out
}

// Set gives name the value v.
func (e *Env) Set(name, v string) {
	if e.vals == nil {
		e.vals = map[string]string{}
	}
	if !e.changed(name) {
		e.set = append(e.set, name)
	}
	e.vals[name] = v
}

// Unset removes name, so that neither a lookup nor the command sees it.
func (e *Env) Unset(name string) {
	if _, ok := e.vals[name]; !ok {
		return
	}
	if !e.changed(name) {
		e.set = append(e.set, name)
	}
	delete(e.vals, name)
}

func (e Env) changed(name string) bool {
	for _, s := range e.set {
		if s == name {
			return true
		}
	}
	return false
}

// Slice is the environment as KEY=VALUE entries, for exec.
func (e Env) Slice() []string {
	if len(e.set) == 0 {
		return e.base
	}
	out := make([]string, 0, len(e.base)+len(e.set))
	for _, kv := range e.base {
		k, _, _ := strings.Cut(kv, "=")
		if !e.changed(k) {
			out = append(out, kv)
		}
	}
	for _, k := range e.set {
		if v, ok := e.vals[k]; ok {
			out = append(out, k+"="+v)
		}
	}
	return out
}

// TempDir is $TMPDIR, or /tmp, as os.TempDir answers on Unix.
func (e Env) TempDir() string {
	if d := e.Get("TMPDIR"); d != "" {
		return d
	}
	return "/tmp"
}

func (e Env) either(upper, lower string) string {
	if v := e.Get(upper); v != "" {
		return v
	}
	return e.Get(lower)
}
