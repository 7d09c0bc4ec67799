//go:build stack

// Package stack pins the rest of flashstock's chosen stack in go.mod before
// the code that uses it lands (hollywood must be fetched by exact version:
// the module proxy does not list its versions). The build tag keeps it out of
// every build; `go mod tidy` still sees the imports. Delete a line once a
// real package imports that module.
package stack

import (
	_ "github.com/anthdm/hollywood/actor"
	_ "github.com/go-redsync/redsync/v4"
	_ "github.com/prometheus/client_golang/prometheus"
)
