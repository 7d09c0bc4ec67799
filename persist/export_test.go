package persist

import "io/fs"

// MigrationNames exposes readMigrations to the external tests: the file
// names of fsys in the order Migrate would apply them.
func MigrationNames(fsys fs.FS) ([]string, error) {
	all, err := readMigrations(fsys)
	names := make([]string, len(all))
	for i, m := range all {
		names[i] = m.name
	}
	return names, err
}
