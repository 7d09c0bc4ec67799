// Package devenv starts local PostgreSQL and Redis servers as child
// processes of the calling program: persistent ones (data kept in a directory
// such as the repository's git-ignored .data/) for `make run`, and throwaway
// ones (temporary directory, durability off) for `make test`; and a
// throwaway Prometheus, for the tests of the monitoring files.
//
// A program it needs and does not find (redis-server, prometheus and
// promtool) it installs from Debian's packages with apt-get when running as
// root, and otherwise says what to install.
//
// A server runs in its own process group, so a terminal Ctrl-C reaches only
// the caller, which stops the server itself with Stop; and it carries a
// parent-death signal, so it does not outlive a caller that is killed.
// The parent-death signal is tied to the OS thread that started the child;
// the Go runtime only retires a thread when a goroutine that locked it exits
// still locked, so callers must not start servers from such a goroutine.
//
// When the caller is root, PostgreSQL (which refuses to run as root) is run
// as the unprivileged user "postgres"; its directories are chowned to it and
// every ancestor directory must let it pass (o+x).
//
// devenv is development and test tooling: production code must not import
// it. Its non-test code imports only the standard library and pgx; it must
// not import any other flashstock package.
package devenv
