package claudeconfig

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
	"unicode/utf8"

	"sleeve-check/internal/outcome"
	"sleeve-check/internal/safefile"
)

// Edit changes a decoded JSON object in place and describes each change it
// made; no description means nothing changed.
type Edit func(obj map[string]any) []string

// EditResult says what EditJSON did.
type EditResult struct {
	Path    string   // the file written (a symlink's target)
	Changes []string // what changed; empty when nothing was written
	Created bool
	// Backup is where a corrupt file was kept before being replaced.
	Backup string
	// InPlace: rename was impossible (single-file bind mount) and the
	// file was overwritten in place.
	InPlace bool
}

// FileError is a failure to prepare a config file, with what to do about it.
type FileError struct {
	ID, Msg, Hint string
}

func (e *FileError) Error() string { return e.Msg }

// maxConfigSize bounds what is read of a config file. Claude Code's own
// .claude.json grows with project history to tens of MB (reported), and
// Claude Code handles those, so the start must too; this bound only keeps
// a runaway file from exhausting memory.
const maxConfigSize = 1 << 30

// EditOptions tune EditJSON.
type EditOptions struct {
	// Mkdir creates the parent directory (mode 0700) when missing.
	Mkdir bool
	// DryRun computes the changes and writes nothing.
	DryRun bool
	// Now names the copy of a corrupt file.
	Now time.Time
	// LockWait bounds the wait for Claude Code's config lock; 0 means
	// just over the time after which a lock is stale.
	LockWait time.Duration
	// Ctx ends the wait for the lock (a signal); nil means never.
	Ctx context.Context
	// BeforeLock, when set, is called before the lock is taken, that is
	// before anything is written: a run catches its signals then, so that
	// a signal ends the wait and cannot leave the lock behind or a file
	// rewritten in place cut short.
	BeforeLock func()
	// rename replaces the file; nil means os.Rename (tests make it fail).
	rename func(oldpath, newpath string) error
}

// EditJSON reads the JSON object at path, applies edit, and writes it back
// only if something changed: atomically (temp file, fsync, rename) where it
// can, in place where rename is impossible. Unknown keys and number
// precision survive. A corrupt file is kept beside the new one, never
// lost.
func EditJSON(path string, opt EditOptions, edit Edit) (EditResult, error) {
	res := EditResult{Path: path}
	target, err := resolveLink(path)
	if err != nil {
		return res, err
	}
	res.Path = target
	q := strconv.Quote(target)
	if opt.Mkdir && !opt.DryRun {
		if err := os.MkdirAll(filepath.Dir(target), 0o700); err != nil {
			return res, &FileError{"config_dir", fmt.Sprintf("cannot create the directory of %s: %s", q, safefile.ErrText(err)),
				"create it, or fix the ownership of its parent"}
		}
	}
	// First look without the lock: in a sleeve's steady state nothing
	// changes, and nothing is written or locked.
	p, err := planEdit(target, edit)
	if err != nil || (len(p.changes) == 0 && p.corrupt == "") {
		return res, err
	}
	if opt.DryRun {
		res.Created = p.st == nil
		res.Changes = p.changes
		if p.corrupt != "" {
			res.Changes = append([]string{fmt.Sprintf("would replace the corrupt file (%s), keeping a copy", p.corrupt)}, res.Changes...)
		}
		return res, nil
	}
	// Then under Claude Code's own lock, read again and write: a Claude
	// Code (or another sleeve-check) saving at the same moment waits for
	// us, and we for it, so neither loses the other's keys.
	if opt.BeforeLock != nil {
		opt.BeforeLock()
	}
	unlock, err := lockConfig(opt.Ctx, target, opt.LockWait)
	if err != nil {
		return res, err
	}
	defer unlock()
	if p, err = planEdit(target, edit); err != nil {
		return res, err
	}
	res.Created = p.st == nil
	if len(p.changes) == 0 && p.corrupt == "" {
		return res, nil
	}
	err = p.write(target, opt, &res)
	return res, err
}

// write writes the edited object over target, keeping a corrupt file's
// bytes in a copy first, and the file's mode and owner.
func (p editPlan) write(target string, opt EditOptions, res *EditResult) error {
	q := strconv.Quote(target)
	out, err := encode(p.obj)
	if err != nil {
		return &FileError{"config_encode", fmt.Sprintf("cannot encode %s: %v", q, err), "report this as a bug"}
	}
	changes := p.changes
	if p.corrupt != "" {
		res.Backup = fmt.Sprintf("%s.corrupt.%s", target, opt.Now.UTC().Format("20060102T150405.000000000Z"))
		if err := writeNew(res.Backup, p.data); err != nil {
			return &FileError{"config_backup", fmt.Sprintf("%s is corrupt (%s) and a copy could not be kept at %s: %s; nothing was changed", q, p.corrupt, strconv.Quote(res.Backup), safefile.ErrText(err)),
				"fix or move the file by hand"}
		}
		changes = append([]string{fmt.Sprintf("replaced the corrupt file (%s); the old one is kept at %s", p.corrupt, res.Backup)}, changes...)
	}
	mode := fs.FileMode(0o600)
	uid, gid := -1, -1
	if p.st != nil {
		mode = p.st.Mode().Perm()
		if sys, ok := p.st.Sys().(*syscall.Stat_t); ok {
			uid, gid = int(sys.Uid), int(sys.Gid)
		}
	}
	inPlace, err := writeAtomic(target, out, mode, uid, gid, opt.rename)
	if err != nil {
		return err
	}
	res.InPlace, res.Changes = inPlace, changes
	return nil
}

// editPlan is a read file and the edit applied to it.
type editPlan struct {
	data    []byte
	st      fs.FileInfo
	obj     map[string]any
	changes []string
	corrupt string // why the file could not be used, or ""
}

func planEdit(target string, edit Edit) (editPlan, error) {
	var p editPlan
	var err error
	p.data, p.st, err = readRegular(target)
	if err != nil {
		return p, err
	}
	p.obj = map[string]any{}
	if p.st != nil && len(bytes.TrimSpace(p.data)) > 0 {
		// An empty file (touch) holds nothing to lose; anything else that
		// is not an object is corrupt.
		if reason := decodeObject(p.data, &p.obj); reason != "" {
			p.corrupt = reason
			p.obj = map[string]any{}
		}
	}
	p.changes = edit(p.obj)
	return p, nil
}

// lockStale is when a lock is abandoned: proper-lockfile's default, which
// Claude Code uses for <config>.lock (a holder refreshes it every 5 s).
const lockStale = 10 * time.Second

// lockConfig takes the lock Claude Code takes before it saves its config:
// the directory <file>.lock, made with mkdir (seen with strace on 2.1.332).
// A lock older than lockStale is taken over, as proper-lockfile does; one
// that cannot be removed (someone else's sticky directory, a read-only
// parent, a non-empty lock directory) is reported at once. The wait
// sleeps, ends with ctx (a signal), and is bounded by wait. Where no lock
// can be made at all (a read-only directory around a single-file mount),
// it goes on without one, as Claude Code does.
func lockConfig(ctx context.Context, target string, wait time.Duration) (func(), error) {
	if wait <= 0 {
		wait = lockStale + 2*time.Second
	}
	if ctx == nil {
		ctx = context.Background()
	}
	lock := target + ".lock"
	q := strconv.Quote(lock)
	deadline := time.Now().Add(wait)
	for {
		err := os.Mkdir(lock, 0o777)
		if err == nil {
			return func() { os.Remove(lock) }, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return func() {}, nil
		}
		if st, err := os.Lstat(lock); err == nil && time.Since(st.ModTime()) > lockStale {
			if err := os.Remove(lock); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, &FileError{"config_lock_stale", fmt.Sprintf("%s is a stale lock (untouched for %s) that cannot be removed: %s, so %s cannot be saved safely",
					q, outcome.Human(time.Since(st.ModTime())), safefile.ErrText(err), strconv.Quote(target)),
					fmt.Sprintf("no Claude Code holds it: remove it by hand (rm -r %s), or fix the ownership of its directory", q)}
			}
			continue
		}
		if time.Now().After(deadline) {
			return nil, &FileError{"config_locked", fmt.Sprintf("%s has been locked by another process for over %s (%s exists)", strconv.Quote(target), wait, q),
				"another Claude Code or sleeve-check is saving it; if none is running, remove the stale lock directory"}
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Duration(5+rand.IntN(20)) * time.Millisecond):
		}
	}
}

// resolveLink follows symlinks at path so that a link to a persistent
// volume stays a link; a dangling link is followed to the file it names.
func resolveLink(path string) (string, error) {
	p := path
	for i := 0; i < 16; i++ {
		fi, err := os.Lstat(p)
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			return p, nil
		}
		l, err := os.Readlink(p)
		if err != nil {
			return p, &FileError{"config_link", fmt.Sprintf("cannot read the symlink %s: %s", strconv.Quote(p), safefile.ErrText(err)), "replace it with a file"}
		}
		if !filepath.IsAbs(l) {
			l = filepath.Join(filepath.Dir(p), l)
		}
		p = l
	}
	return p, &FileError{"config_link", fmt.Sprintf("%s is a loop of symlinks", strconv.Quote(path)), "replace it with a file"}
}

// readRegular reads path if it is a regular file; a missing file gives
// nil, nil, nil.
func readRegular(path string) ([]byte, fs.FileInfo, error) {
	data, st, err := safefile.Read(path, maxConfigSize, safefile.Options{})
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	return data, st, readErr(path, err)
}

// openRegular opens path for reading if it is a regular file; a missing
// file gives nil, nil, nil.
func openRegular(path string) (*os.File, error) {
	f, _, err := safefile.Open(path, safefile.Options{})
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return f, readErr(path, err)
}

// readErr words a failure to read a config file.
func readErr(path string, err error) error {
	q := strconv.Quote(path)
	var nr *safefile.NotRegularError
	var tl *safefile.TooLargeError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &nr) && nr.IsDir():
		return &FileError{"config_is_directory", fmt.Sprintf("%s is a directory, not a file: docker -v creates one when the host file does not exist", q),
			"remove the directory, or create the file on the host before mounting it (or do not mount it: sleeve-check creates it)"}
	case errors.As(err, &nr):
		return &FileError{"config_not_regular", fmt.Sprintf("%s is not a regular file (%s)", q, nr.Mode.Type()), "replace it with a regular file"}
	case errors.As(err, &tl):
		return &FileError{"config_too_large", fmt.Sprintf("%s is larger than %d MiB; refusing to rewrite it", q, maxConfigSize>>20), "move it aside and let Claude Code make a new one"}
	}
	return &FileError{"config_unreadable", fmt.Sprintf("cannot read %s: %s", q, safefile.ErrText(err)), "fix the permissions of the file and its directory"}
}

// decodeObject decodes a JSON object with numbers kept as written. It
// returns why data is not a usable object, or "".
// ReadJSON reads the JSON object at path; a missing file is an empty object.
func ReadJSON(path string) (map[string]any, error) {
	target, err := resolveLink(path)
	if err != nil {
		return nil, err
	}
	data, st, err := readRegular(target)
	obj := map[string]any{}
	if err != nil || st == nil || len(bytes.TrimSpace(data)) == 0 {
		return obj, err
	}
	if reason := decodeObject(data, &obj); reason != "" {
		return map[string]any{}, &FileError{"config_corrupt", fmt.Sprintf("%s is corrupt: %s", strconv.Quote(target), reason), ""}
	}
	return obj, nil
}

func decodeObject(data []byte, obj *map[string]any) string {
	if !utf8.Valid(data) {
		return "not valid UTF-8"
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return fmt.Sprintf("invalid JSON at byte %d", se.Offset)
		}
		return "invalid JSON"
	}
	if _, err := dec.Token(); err != io.EOF {
		return "data after the JSON object"
	}
	m, ok := v.(map[string]any)
	if !ok {
		return "not a JSON object"
	}
	*obj = m
	return ""
}

func encode(obj map[string]any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(obj); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// writeAtomic replaces path with data (safefile.WriteAtomic, synced). It
// keeps mode and, when it may, the owner. When rename cannot replace the
// file (a single-file bind mount gives EBUSY, some overlays EXDEV) or the
// directory refuses a temp file, it overwrites the file in place instead.
func writeAtomic(path string, data []byte, mode fs.FileMode, uid, gid int, rename func(string, string) error) (inPlace bool, err error) {
	// Synced: .claude.json and settings.json are a person's (history,
	// projects, approvals) as well as ours, and a crash after the rename
	// must leave either the old file or the new one, whole. A steady-state
	// start changes nothing, so it writes and syncs nothing.
	err = safefile.WriteAtomic(path, data, safefile.WriteOptions{Mode: mode, UID: uid, GID: gid, Sync: true, Rename: rename})
	var we *safefile.WriteError
	if err == nil || !errors.As(err, &we) {
		return false, writeErr(path, err)
	}
	switch {
	case we.Op == "create" && uid >= 0 && (errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS)):
		return true, writeInPlace(path, data)
	case we.Op == "rename" && (errors.Is(err, syscall.EBUSY) || errors.Is(err, syscall.EXDEV)):
		return true, writeInPlace(path, data)
	case we.Op == "rename":
		return false, &FileError{"config_write", fmt.Sprintf("cannot replace %s: %s", strconv.Quote(path), safefile.ErrText(err)), "fix the permissions of its directory"}
	}
	return false, writeErr(path, err)
}

func writeInPlace(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return writeErr(path, err)
	}
	if st, serr := f.Stat(); serr != nil || !st.Mode().IsRegular() {
		f.Close()
		return &FileError{"config_not_regular", fmt.Sprintf("%s is not a regular file", strconv.Quote(path)), "replace it with a regular file"}
	}
	// Write first, then cut: a crash leaves the new content followed by a
	// tail of the old, and never an empty file.
	_, err = f.WriteAt(data, 0)
	if err == nil {
		err = f.Truncate(int64(len(data)))
	}
	if err == nil {
		err = f.Sync() // the same file a person's settings live in: see writeAtomic
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return writeErr(path, err)
	}
	return nil
}

func writeErr(path string, err error) error {
	q := strconv.Quote(path)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, syscall.EROFS):
		return &FileError{"config_read_only", fmt.Sprintf("cannot write %s: the file system is read-only", q),
			"mount the config read-write, or point CLAUDE_CONFIG_DIR at a writable directory"}
	case errors.Is(err, fs.ErrPermission):
		return &FileError{"config_permission", fmt.Sprintf("cannot write %s: permission denied (running as uid %d)", q, os.Geteuid()),
			"make the file and its directory writable by the sleeve user"}
	case errors.Is(err, syscall.ENOSPC):
		return &FileError{"config_no_space", fmt.Sprintf("cannot write %s: no space left on device", q), "free space on that volume"}
	}
	return &FileError{"config_write", fmt.Sprintf("cannot write %s: %s", q, safefile.ErrText(err)), "check the file system"}
}

// writeNew creates a new file with mode 0600 and data; it never replaces one.
func writeNew(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		// The copy of a corrupt file is the only one left of it once the
		// fresh file replaces the original: it must outlive a crash.
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
