// Package coretest tests the inventory core as it runs: real hollywood SKU
// actors over the real PostgreSQL store (internal/testenv), under
// concurrency, with failures and panics injected between the actors and
// the store. It has only tests; it lives outside actors/ so that actors
// keeps importing engine alone.
package coretest
