package postgres

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/jmoiron/sqlx"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/seal"
)

// An import's transaction runs on a connection of pgx's database/sql driver rather than lib/pq's:
// the same sqlx code does the batch row, the 人员变动 updates and the counts, and the warning
// rows go as binary COPY on that same connection and transaction. Binary COPY costs the server
// about a fifth less per row than lib/pq's text COPY (no parsing of numbers and timestamps),
// and the importer less too (no database/sql conversion of each value).

// importConn opens a connection of pgx's driver to the store's database, for one import.
func (db *DB) importConn(ctx context.Context) (*sqlx.DB, *sqlx.Conn, error) {
	if db.url == "" {
		return nil, nil, fmt.Errorf("import batch: the store was not opened with a URL")
	}
	cfg, err := pgx.ParseConfig(db.url)
	if err != nil {
		return nil, nil, fmt.Errorf("import batch: database URL: %w", err)
	}
	pool := sqlx.NewDb(stdlib.OpenDB(*cfg), "pgx")
	conn, err := pool.Connx(ctx)
	if err != nil {
		pool.Close()
		return nil, nil, fmt.Errorf("import batch: connect: %w", err)
	}
	return pool, conn, nil
}

// copier sends chunks of rows, already in COPY's binary format, on its own goroutine, so
// that the rules and the next rows are worked on while the server stores the last ones, and
// the server finds the next chunk ready when it has stored one. Each chunk is one COPY
// statement, run in the order sent: the warnings' references are checked when a statement
// ends (migration 00550; the registry's, 00700), so chunks let the server check one part
// while the next is being read. An import's warnings and a registry load use it.
type copier struct {
	chunks chan copyChunk
	free   chan []byte // sent chunks' buffers, for the next chunks
	done   chan struct{}
	err    error // set before done is closed
}

// startCopier starts COPYing on conn, which must be in the import's transaction and must not
// be used by anyone else until wait returns.
func startCopier(ctx context.Context, conn *sqlx.Conn) *copier {
	c := &copier{chunks: make(chan copyChunk, 1), free: make(chan []byte, 2), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		c.err = conn.Raw(func(dc any) error {
			pc := dc.(*stdlib.Conn).Conn().PgConn()
			for chunk := range c.chunks {
				if _, err := pc.CopyFrom(ctx, bytes.NewReader(chunk.data), chunk.stmt); err != nil {
					if chunk.label != "" {
						return fmt.Errorf("%s: %w", chunk.label, err)
					}
					return fmt.Errorf("import batch: copy rows %d–%d: %w", chunk.first, chunk.last, err)
				}
				select {
				case c.free <- chunk.data[:0]:
				default:
				}
			}
			return nil
		})
		for range c.chunks {
			// after a failure: take what is still sent so that send never blocks
		}
	}()
	return c
}

// send hands a chunk to the copier; it fails once the copier has failed.
func (c *copier) send(ctx context.Context, chunk copyChunk) error {
	select {
	case c.chunks <- chunk:
		return nil
	case <-c.done:
		if c.err != nil {
			return c.err
		}
		return fmt.Errorf("import batch: the copy stopped")
	case <-ctx.Done():
		return ctx.Err()
	}
}

// wait ends the copier after the chunks sent and returns its error.
func (c *copier) wait() error {
	close(c.chunks)
	<-c.done
	return c.err
}

// copyChunk is one COPY statement and its data: header, rows and trailer of PostgreSQL's
// binary COPY format, in the statement's columns' order. It is written by hand rather than
// through pgx's CopyFrom, whose per-value type look-ups cost the importer a fifth of its
// time: these are the only types an import sends.
type copyChunk struct {
	stmt        string
	data        []byte
	rows        int
	first, last int    // the file's row numbers, for a warning chunk's errors
	label       string // what a failure says, when not a warning chunk
}

// warningCopy is the statement of an import's warning chunks.
var warningCopy = "COPY warnings (" + strings.Join(warningColumns, ", ") + ") FROM STDIN (FORMAT binary)"

// next starts a chunk of stmt, in the buffer of a chunk sent if there is one, else in a new
// one of size bytes (it grows if need be).
func (c *copier) next(stmt string, size int) copyChunk {
	var b []byte
	select {
	case b = <-c.free:
	default:
		b = make([]byte, 0, size)
	}
	b = append(b, "PGCOPY\n\377\r\n\000"...)
	b = binary.BigEndian.AppendUint32(b, 0) // flags
	b = binary.BigEndian.AppendUint32(b, 0) // header extension
	return copyChunk{stmt: stmt, data: b}
}

// add appends one warning row; createdAt is microseconds since 2000-01-01 00:00 UTC. The
// person's data goes sealed and their numbers as keyed hashes (docs/encryption.md), written
// straight into the chunk by s so that a million rows cost no strings. Nothing compares a
// warning's sealed values, so they are sealed under counted nonces (AppendSealFresh), which
// spares the HMAC a value-derived nonce costs: a third of the sealing.
func (c *copyChunk) add(id int64, batchID string, w *cases.Warning, township int32, createdAt int64, rs *rowSealer) {
	s := rs.s
	b := binary.BigEndian.AppendUint16(c.data, uint16(len(warningColumns)))
	b = binary.BigEndian.AppendUint32(b, 8)
	b = binary.BigEndian.AppendUint64(b, uint64(id))
	b = appendText(b, batchID)
	b = appendInt4(b, int32(w.Row))
	b = appendText(b, string(w.Category))
	b = appendText(b, w.Period)
	b = appendText(b, w.Rule)
	if w.Amount != nil {
		b = appendNumericCents(b, int64(*w.Amount))
	} else {
		b = binary.BigEndian.AppendUint32(b, 0xffffffff) // NULL
	}
	b = appendHash(b, w.Hashed, &w.IDSum, w.IDNumber, s)
	at := len(b)
	b = s.AppendSealFreshString(binary.BigEndian.AppendUint32(b, 0), w.Name)
	binary.BigEndian.PutUint32(b[at:], uint32(len(b)-at-4))
	b = appendInt4(b, township)
	b = appendText(b, w.Village)
	b = appendHash(b, w.Hashed, &w.HeadSum, w.HeadIDNumber, s)
	b = binary.BigEndian.AppendUint32(b, 1)
	if w.Registered {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	at = len(b)
	b = s.AppendSealFresh(binary.BigEndian.AppendUint32(b, 0), rs.detail(w))
	binary.BigEndian.PutUint32(b[at:], uint32(len(b)-at-4))
	b = binary.BigEndian.AppendUint32(b, 8)
	b = binary.BigEndian.AppendUint64(b, uint64(createdAt))
	at = len(b)
	b = s.AppendSealFreshString(binary.BigEndian.AppendUint32(b, 0), w.IDNumber)
	binary.BigEndian.PutUint32(b[at:], uint32(len(b)-at-4))
	c.data = appendText(b, warningProblem(w.Category, w.Detail))
	if c.rows == 0 {
		c.first = w.Row
	}
	c.rows++
	c.last = w.Row
}

// importIDs hands out the ids of an import's warning rows. A nextval of warnings_id_seq
// reserves as many ids as the sequence's increment (1,024, migration 00991): the import asks
// for blocks a few at a time, on the store's pool (the import's own connection is busy with
// the COPY), and numbers its rows from them in order, rather than the server calling nextval
// for every row. Ids reserved and not used (the last block's rest, a failed import's) are
// never used; nothing needs ids without gaps.
type importIDs struct {
	db          *sqlx.DB
	step        int64   // the sequence's increment: ids in a block
	next, end   int64   // the block being used: next up to end (exclusive)
	blocks      []int64 // blocks reserved and not started: their first ids
	first, last int64   // the ids taken: the batch's range (migration 00992); 0 before the first
}

// idBlocksAsked is how many blocks one round trip reserves.
const idBlocksAsked = 16

// take returns the next id.
func (w *importIDs) take(ctx context.Context) (int64, error) {
	if w.next == w.end {
		if len(w.blocks) == 0 {
			if err := w.reserve(ctx); err != nil {
				return 0, err
			}
		}
		w.next, w.blocks = w.blocks[0], w.blocks[1:]
		w.end = w.next + w.step
	}
	id := w.next
	w.next++
	if w.first == 0 {
		w.first = id
	}
	w.last = id
	return id, nil
}

func (w *importIDs) reserve(ctx context.Context) error {
	if w.step == 0 {
		err := w.db.GetContext(ctx, &w.step, `SELECT increment_by FROM pg_sequences
			WHERE schemaname = current_schema() AND sequencename = 'warnings_id_seq'`)
		if err != nil {
			return fmt.Errorf("import batch: warning ids: %w", err)
		}
		if w.step < 1 {
			return fmt.Errorf("import batch: warnings_id_seq counts by %d", w.step)
		}
	}
	err := w.db.SelectContext(ctx, &w.blocks, `SELECT nextval('warnings_id_seq') FROM generate_series(1, $1) ORDER BY 1`, idBlocksAsked)
	if err != nil {
		return fmt.Errorf("import batch: warning ids: %w", err)
	}
	return nil
}

// rowSealer seals an import's rows on the goroutine that encodes them.
type rowSealer struct {
	s       *seal.Sealer
	scratch []byte
}

// detail is the row's detail as stored: the row as read, with the 户主身份证号 (its column
// holds only the hash) for whoever opens it.
func (rs *rowSealer) detail(w *cases.Warning) []byte {
	d := w.Detail
	if len(d) < 2 {
		d = emptyDetail
	}
	if w.HeadIDNumber == "" {
		return d
	}
	rs.scratch = withHead(rs.scratch[:0], d, w.HeadIDNumber)
	return rs.scratch
}

// appendHash writes an ID number's keyed hash: the one the importer made when it looked the
// person up, else made here.
func appendHash(b []byte, hashed bool, sum *[32]byte, id string, s *seal.Sealer) []byte {
	if id == "" {
		return appendText(b, "")
	}
	if !hashed {
		s.SumID(sum, id)
	}
	b = binary.BigEndian.AppendUint32(b, 64)
	return hex.AppendEncode(b, sum[:])
}

// end appends the trailer.
func (c *copyChunk) end() {
	c.data = binary.BigEndian.AppendUint16(c.data, 0xffff)
}

// copyTime is t as binary timestamptz: microseconds since 2000-01-01 00:00 UTC.
func copyTime(t time.Time) int64 {
	return t.UnixMicro() - 946684800_000000
}

func appendText(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

func appendInt4(b []byte, v int32) []byte {
	b = binary.BigEndian.AppendUint32(b, 4)
	return binary.BigEndian.AppendUint32(b, uint32(v))
}

// appendNumericCents writes v/100 as numeric with two decimals: base-10000 digits after a
// header of digit count, weight of the first digit, sign and display scale, without leading
// or trailing zero digits (as PostgreSQL itself stores it).
func appendNumericCents(b []byte, v int64) []byte {
	sign := uint16(0)
	u := uint64(v)
	if v < 0 {
		sign, u = 0x4000, uint64(-v)
	}
	var digits [8]uint16 // 2^64 has 20 decimal digits: 5 integer groups and one for the cents
	n := 0
	for ip := u / 100; ip > 0; ip /= 10000 {
		digits[n] = uint16(ip % 10000)
		n++
	}
	weight := n - 1
	for i, j := 0, n-1; i < j; i, j = i+1, j-1 {
		digits[i], digits[j] = digits[j], digits[i]
	}
	if cents := u % 100; cents != 0 {
		digits[n] = uint16(cents * 100)
		n++
	}
	for n > 0 && digits[n-1] == 0 {
		n--
	}
	if n == 0 {
		weight = 0
	}
	b = binary.BigEndian.AppendUint32(b, uint32(8+2*n))
	b = binary.BigEndian.AppendUint16(b, uint16(n))
	b = binary.BigEndian.AppendUint16(b, uint16(int16(weight)))
	b = binary.BigEndian.AppendUint16(b, sign)
	b = binary.BigEndian.AppendUint16(b, 2) // display scale
	for _, d := range digits[:n] {
		b = binary.BigEndian.AppendUint16(b, d)
	}
	return b
}
