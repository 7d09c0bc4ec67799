// Package persist is flashstock's storage adapter: a PostgreSQL store (pgx v5
// pgxpool) for users, products and orders, payment webhook events
// (webhook.go), the transactional outbox of mails (outbox.go), dead letters,
// scheduled task runs and what the tasks read (report.go, alerts.go,
// expiry.go, gauges.go); the runner that applies the embedded SQL
// migrations; a Redis client (go-redis v9) that backs the product-list
// cache; and the cluster's shard leases and node announcements in Redis
// (lease.go, redsync over one server or a Redlock quorum). It also holds
// what only the bench uses: the baselines' order transactions
// (baseline.go), Redis mutexes for the redislock baseline (lock.go,
// redsync) and the post-run audit queries (audit.go).
//
// persist translates at its edge: callers see engine types and engine
// sentinel errors (ErrNotFound, ErrConflict, ErrInvalid, ErrUnavailable),
// never a pgx or go-redis type. Rows are checked against the engine's
// invariants after loading; a broken row is an error, not a panic.
//
// persist imports engine and migrations only (of flashstock); it must not
// import httpd, actors, usecase, bench or cmd. Its method sets match the
// ports that httpd, actors and usecase declare (cmd/flashstock's
// ports_test.go checks the actors' and the use cases' ones), so
// cmd/flashstock can wire them without either side knowing the other.
package persist
