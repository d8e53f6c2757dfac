package pgqueue

import (
	"embed"
	"io/fs"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations are the goose migrations of the bot's tables that touch nothing else. They
// share one version sequence and one goose table with the ledger's (cases/postgres applies
// both in order), so their versions never repeat one of the ledger's. The tables themselves
// were created by the ledger's first migration, and the schema checks' migration (00500)
// also constrains them: those stay with the ledger, as applied databases know them.
func Migrations() fs.FS {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		panic(err) // the embedded directory is there: go:embed checks it at build time
	}
	return sub
}
