// Package migrations embeds flashstock's numbered, forward-only SQL
// migrations. File names are NNNN_name.sql; persist applies them in order,
// each in its own transaction, and records each applied version.
//
// migrations holds data only and imports nothing of flashstock.
package migrations

import "embed"

// FS holds every migration file.
//
//go:embed *.sql
var FS embed.FS
