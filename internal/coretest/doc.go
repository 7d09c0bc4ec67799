// Package coretest tests the inventory core as it runs: the real use cases
// (usecase) over real hollywood SKU actors over the real PostgreSQL store
// (internal/testenv), under concurrency, with failures and panics injected
// between the actors and the store. It has only tests; it lives outside
// actors/ and usecase/ so that each keeps importing engine alone.
package coretest
