// Package testenv lets the tests of other packages share real PostgreSQL
// and Redis servers and still run in parallel: PostgresURL gives each test
// its own empty schema, RedisURL its own key prefix, and both clean up
// after the test.
//
// The servers are named by FLASHSTOCK_TEST_DATABASE_URL and
// FLASHSTOCK_TEST_REDIS_URL, which `make test` sets (through
// internal/devenv/withservices). A package whose TestMain calls Main starts
// throwaway servers itself when they are unset, so `go test ./persist/`
// also works on its own.
//
// Only test code imports testenv. It imports the standard library, pgx,
// go-redis and internal/devenv; it must not import any other flashstock
// package.
package testenv
