package postgres

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/fangpin/fangpin/cases"
)

// A registry load sends the file's rows by binary COPY on its pgx connection
// (copywarnings.go's copier): the importer writes each row into a chunk's buffer rather
// than through lib/pq's one Exec per row (about 0.28 s of its CPU for 300,000 rows), and
// a goroutine sends a chunk while the next rows are read.

const (
	// registryCopyRows is how many rows one COPY statement carries at most (copyBytes too):
	// each statement costs the server some fixed work (a first import's 300,000 rows 0.46 s
	// of its CPU in chunks of 5,000, 0.38 s in 10,000, 0.35 s in 20,000), and the chunks in
	// flight (one filling, one queued, one sent, two spare) are the importer's memory (20,000
	// rows: its peak RSS 96 -> 133 MB).
	registryCopyRows = 10000
	// registryChunkBytes is a new chunk's buffer: small loads (a township's test file) take
	// little memory, a county's grows its few buffers to copyBytes once.
	registryChunkBytes = 64 << 10
)

// registryFileCopy is the statement of a re-import's rows, into its temporary table.
const registryFileCopy = `COPY registry_file (household_no, id_number, id_sealed, name, relation) FROM STDIN (FORMAT binary)`

// rowCopy is a load's COPY of rows, from its first row to its end.
type rowCopy struct {
	copier  *copier
	cancel  context.CancelFunc
	chunk   copyChunk
	limit   int       // rows of the chunk being filled
	started traceMark // the first row's
	what    string    // for the trace: what is copied ("" the rows)
}

// start begins the COPY on conn at the first rows (the copier runs on ctx until end or
// abort) and returns it.
func (c *rowCopy) start(ctx context.Context, conn *sqlx.Conn) *rowCopy {
	if c.copier == nil {
		copyCtx, cancel := context.WithCancel(ctx)
		c.copier, c.cancel, c.started = startCopier(copyCtx, conn), cancel, traceStart()
		// The first statement is small, so that the server starts storing while the importer
		// reads on.
		c.chunk, c.limit = c.copier.next("", registryChunkBytes), firstCopyRows
	}
	return c
}

// full says whether the chunk being filled is to be sent.
func (c *rowCopy) full() bool {
	return c.chunk.rows >= c.limit || len(c.chunk.data) >= copyBytes
}

// send sends the chunk being filled as a statement of stmt and starts the next.
func (c *rowCopy) send(ctx context.Context, stmt string) error {
	chunk := c.chunk
	chunk.stmt, chunk.label = stmt, "registry rows"
	chunk.end()
	c.chunk, c.limit = c.copier.next("", registryChunkBytes), registryCopyRows
	return c.copier.send(ctx, chunk)
}

// end sends what is left and waits for the server to have stored every row; after it, the
// load's connection is free for its other statements.
func (c *rowCopy) end(ctx context.Context, stmt string) error {
	if c.copier == nil {
		return nil
	}
	start := traceStart()
	var err error
	if c.chunk.rows > 0 {
		err = c.send(ctx, stmt)
	}
	if err != nil {
		c.abort()
		return err
	}
	err = c.copier.wait()
	c.copier = nil
	c.cancel()
	what := c.what
	if what == "" {
		what = "rows'"
	}
	traceStep("end of the "+what+" COPY", start)
	traceStep("the "+what+" COPY, from the first row", c.started)
	return err
}

// abort stops the COPY at once (a failed load).
func (c *rowCopy) abort() {
	if c.copier != nil {
		c.cancel()
		c.copier.wait()
		c.copier = nil
	}
}

// appendFileRow writes a member of the file for registryFileCopy, hashed and sealed (sr); its
// household goes to registry_fh (registryhouses.go).
func appendFileRow(b []byte, m *cases.RegistryMember, sr sealedRow) []byte {
	b = binary.BigEndian.AppendUint16(b, 5)
	b = appendText(b, m.HouseholdNo)
	b = appendText(b, sr.id)
	b = appendText(b, sr.idSealed)
	b = appendText(b, sr.name)
	return appendText(b, m.Relation)
}

// errUnknownTownship is a row naming a township the store does not know.
func errUnknownTownship(town string) error {
	return fmt.Errorf("registry rows: unknown township %q", town)
}
