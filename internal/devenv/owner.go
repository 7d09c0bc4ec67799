package devenv

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// postgresAccount is the user PostgreSQL runs as when we are root, because
// initdb and postgres refuse to run as root.
const postgresAccount = "postgres"

// serverUser is the account a server process runs as.
type serverUser struct {
	name     string
	uid, gid uint32
	cred     *syscall.Credential // nil = run as ourselves
}

// postgresUser returns the account to run PostgreSQL as: ourselves, or the
// user "postgres" (with no supplementary groups) when we are root.
func postgresUser() (*serverUser, error) {
	if os.Geteuid() != 0 {
		return &serverUser{name: "current user", uid: uint32(os.Geteuid()), gid: uint32(os.Getegid())}, nil
	}
	u, err := user.Lookup(postgresAccount)
	if err != nil {
		return nil, fmt.Errorf("devenv: running as root, so PostgreSQL must run as user %q: %w", postgresAccount, err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("devenv: uid of %q: %w", postgresAccount, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("devenv: gid of %q: %w", postgresAccount, err)
	}
	return &serverUser{
		name: postgresAccount,
		uid:  uint32(uid),
		gid:  uint32(gid),
		cred: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}},
	}, nil
}

// ownDir creates dir (mode 0700; missing parents 0755) if needed, hands it
// to u, and checks that u can reach it.
func (u *serverUser) ownDir(dir string) error {
	if err := mkdirPrivate(dir); err != nil {
		return err
	}
	if u.cred == nil {
		return nil
	}
	if err := os.Chown(dir, int(u.uid), int(u.gid)); err != nil {
		return fmt.Errorf("devenv: hand %s to %s: %w", dir, u.name, err)
	}
	return u.checkReachable(filepath.Dir(dir))
}

// checkReachable returns an error naming the first directory from dir up to
// the root that u may not enter.
func (u *serverUser) checkReachable(dir string) error {
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return fmt.Errorf("devenv: %w", err)
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if ok && !u.mayEnter(fi.Mode().Perm(), st) {
			return fmt.Errorf("devenv: user %s (uid %d) cannot enter %s (mode %v, owner uid %d); chmod o+x it or use another directory",
				u.name, u.uid, d, fi.Mode().Perm(), st.Uid)
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}

// mayEnter reports whether u may search a directory with this mode and
// owner. Supplementary groups are ignored: servers run without them.
func (u *serverUser) mayEnter(perm fs.FileMode, st *syscall.Stat_t) bool {
	switch {
	case st.Uid == u.uid:
		return perm&0o100 != 0
	case st.Gid == u.gid:
		return perm&0o010 != 0
	default:
		return perm&0o001 != 0
	}
}

// mkdirPrivate creates dir with mode 0700 if it is missing, and its missing
// parents with mode 0755 so that another user (postgres, when we are root)
// can still pass through a parent shared with its own directory.
func mkdirPrivate(dir string) error {
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return fmt.Errorf("devenv: create parent of %s: %w", dir, err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("devenv: create %s: %w", dir, err)
	}
	return nil
}
