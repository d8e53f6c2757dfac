package postgres

import (
	"cmp"
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/fangpin/fangpin/cases"
)

// notSuperseded is the condition of a warning w that no later push has replaced.
const notSuperseded = `NOT EXISTS (SELECT 1 FROM warnings_superseded s WHERE s.warning_id = w.id)`

// problemOf is a stored warning's 问题类型 for assurance (one row per person and 问题类型), else empty.
// It has a column of its own (migration 00930): the detail is sealed.
const problemOf = `w.problem`

// sealedIDOf is warning w's sealed ID number, or the number itself for a row stored before
// sealing (Keyring.Open returns it as it is).
const sealedIDOf = `CASE WHEN w.id_sealed <> '' THEN w.id_sealed ELSE w.id_number END`

// samePush is the condition of the batches b of a department ($1), category ($2) and period
// ($3) other than batch $4.
const samePush = `b.department_id = (SELECT id FROM departments WHERE name = $1) AND b.category = $2 AND b.period = $3 AND b.id <> $4`

// supersede merges push b, just stored in tx, with the earlier pushes of its department,
// category and period that no round has dispatched yet, person by person: each earlier row
// with a warning no case holds, of a person b has an accepted row for, is listed as replaced
// by b, so that no dispatch reads it (the later row wins, whether it warns or not). It returns
// how many rows of b replaced an earlier row.
//
// Once per import: the earlier pushes' prints (migration 00910) tell which of b's people they
// may hold, and only those people's earlier rows are read (none, when the files share nobody);
// an earlier push without prints is read whole. One query brings the rows read and their
// people as arrays (a row each would cost more than the import's reading of them), b.Persons
// picks those b names, and one statement lists their rows. Pushes of the same department,
// category and period take turns here (an advisory lock held to commit), so that of two
// pushes at once the later one sees the earlier's rows and prints.
func supersede(ctx context.Context, tx *sqlx.Tx, b *cases.Batch) (int, error) {
	if b.Persons == nil {
		return 0, nil
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`,
		"push|"+b.Department+"|"+string(b.Category)+"|"+b.Period); err != nil {
		return 0, fmt.Errorf("import batch: wait for earlier pushes: %w", err)
	}
	args := []any{b.Department, string(b.Category), b.Period, b.ID}
	var earlier []earlierPush
	if err := tx.SelectContext(ctx, &earlier, `SELECT b.id, p.batch_id IS NOT NULL AS printed, coalesce(p.prints, '') AS prints
		FROM batches b LEFT JOIN batch_prints p ON p.batch_id = b.id WHERE b.undispatched AND `+samePush, args...); err != nil {
		return 0, fmt.Errorf("import batch: earlier pushes: %w", err)
	}
	plan := planRead(earlier, b.Persons)
	if len(plan.whole) == 0 && plan.ids == "" {
		return 0, nil
	}
	// The rows already replaced are few or none: asked apart, they spare the earlier rows'
	// query a look-up per row.
	var gone pq.Int64Array
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(array_agg(s.warning_id), '{}') FROM warnings_superseded s
		JOIN batches b ON b.id = s.batch_id WHERE `+samePush, args...).Scan(&gone); err != nil {
		return 0, fmt.Errorf("import batch: earlier pushes: %w", err)
	}
	var rows pq.Int64Array
	var ids, problems pq.StringArray // ids: the rows' id_number, the keyed hash
	// 问题类型 only for assurance: for the other categories a million rows' empty strings are
	// not worth their bytes. The pushes are named ($2, $3): a batch's rows are found by its key.
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(array_agg(w.id), '{}'), coalesce(array_agg(w.id_number), '{}'),
			CASE WHEN $1 = 'assurance' THEN coalesce(array_agg(`+problemOf+`), '{}') ELSE '{}' END
		FROM batches b JOIN warnings w ON `+inBatch("w", "b")+`
		WHERE (b.id = ANY($2) OR b.id = ANY($3)) AND (b.id = ANY($2) OR left(w.id_number, 31) = ANY($4::text[]))
			AND w.case_id IS NULL AND w.rule <> '' AND length(w.id_number) = 64`,
		string(b.Category), pq.Array(plan.whole), pq.Array(plan.printed), cmp.Or(plan.ids, "{}")).
		Scan(&rows, &ids, &problems); err != nil {
		return 0, fmt.Errorf("import batch: earlier pushes: %w", err)
	}
	replacedAlready := make(map[int64]bool, len(gone))
	for _, id := range gone {
		replacedAlready[id] = true
	}
	people := map[[2]string]bool{}
	var replaced []int64
	for i, id := range ids {
		if replacedAlready[rows[i]] {
			continue
		}
		p := [2]string{id, ""}
		if i < len(problems) {
			p[1] = problems[i]
		}
		hi, lo, ok := cases.IDHashHalves(id)
		if people[p] || ok && b.Persons.Has(hi, lo, p[1]) {
			people[p] = true
			replaced = append(replaced, rows[i])
		}
	}
	if len(replaced) == 0 {
		return 0, nil
	}
	// The rows by their ids, not by a join with the people: a join's plan, made before the
	// table's statistics know a fresh import, could go row by row.
	if _, err := tx.ExecContext(ctx, `INSERT INTO warnings_superseded (warning_id, batch_id) SELECT unnest($1::bigint[]), $2`,
		pq.Array(replaced), b.ID); err != nil {
		return 0, fmt.Errorf("import batch: supersede earlier rows: %w", err)
	}
	return len(people), nil
}

// earlierPush is an undispatched push of the same department, category and period, with its
// prints when it has them.
type earlierPush struct {
	ID      string `db:"id"`
	Printed bool   `db:"printed"`
	Prints  []byte `db:"prints"`
}

// readPlan is what supersede reads of the earlier pushes: every row of the pushes in whole,
// and of those in printed the rows of the ID numbers in ids (a text[] literal, "" for none).
type readPlan struct {
	whole, printed []string
	ids            string
}

// planRead decides what supersede reads. Each person of persons whose ID number's print an
// earlier push holds is in ids: a row of that push names someone persons holds only if that
// person's print is among the push's, since the push stored a print of each of its warned
// rows' id_number and persons gives back ID numbers as the rows store them. Two ID numbers
// sharing a print only make a row read for nothing. When no person's print is held, the
// printed pushes are not read at all: the files share nobody.
func planRead(earlier []earlierPush, persons cases.PersonSet) readPlan {
	var plan readPlan
	n := 0
	for _, e := range earlier {
		if !e.Printed {
			plan.whole = append(plan.whole, e.ID)
			continue
		}
		plan.printed = append(plan.printed, e.ID)
		n += len(e.Prints) / 8
	}
	if n == 0 {
		return readPlan{whole: plan.whole}
	}
	prints := newPrintSet(n)
	for _, e := range earlier {
		for i := 0; i+8 <= len(e.Prints); i += 8 {
			prints.add(binary.LittleEndian.Uint64(e.Prints[i:]))
		}
	}
	// A text[] literal, not a []string: a push re-sent whole shares every person, and a
	// string each would cost the importer's memory tens of megabytes. A person named twice
	// (two 问题类型) is read once all the same.
	// A person is asked by the first 31 hex digits of their hash (124 bits): for assurance the
	// set keeps the 问题类型 in the last 3 bits of its 128 (parser.Each).
	var ids []byte
	var hexBuf [16]byte
	persons.Each(func(hi, lo uint64, _ string) {
		if prints.has(hi) {
			binary.BigEndian.PutUint64(hexBuf[:8], hi)
			binary.BigEndian.PutUint64(hexBuf[8:], lo)
			ids = append(ids, ',', '"')
			ids = hex.AppendEncode(ids, hexBuf[:])[:len(ids)+31]
			ids = append(ids, '"')
		}
	})
	if ids == nil {
		plan.printed = nil
		return plan
	}
	ids[0] = '{'
	plan.ids = string(append(ids, '}'))
	return plan
}

// hashPrint is a row's print: the first 8 bytes of its person's keyed hash (docs/encryption.md),
// already uniform, so nothing more to mix; the earlier push's prints and the later push's
// people are compared by it. It is stored (batch_prints): never change it without a migration
// that drops the stored prints (00931 dropped those made from plain numbers).
func hashPrint(sum *[32]byte) uint64 { return binary.BigEndian.Uint64(sum[:8]) }

// printSet holds prints for look-ups: open addressing in a table at most half full, a print
// being already a hash (0, the empty slot's mark, is kept apart). A bitmap of 8 bits a print,
// small enough to stay in the processor's cache where the table does not, answers most
// look-ups of prints not held without touching the table.
type printSet struct {
	slots  []uint64
	filter []uint64
	shift  uint // 64 - log2(the filter's bits)
	zero   bool
}

func newPrintSet(n int) printSet {
	size := 16
	for size < 2*n {
		size *= 2
	}
	s := printSet{slots: make([]uint64, size), shift: 64 - 6}
	for 1<<(64-s.shift) < 8*n {
		s.shift--
	}
	s.filter = make([]uint64, 1<<(64-s.shift)/64)
	return s
}

func (s *printSet) add(p uint64) {
	b := p >> s.shift
	s.filter[b/64] |= 1 << (b % 64)
	if p == 0 {
		s.zero = true
		return
	}
	mask := uint64(len(s.slots) - 1)
	for i := p & mask; ; i = (i + 1) & mask {
		if s.slots[i] == 0 || s.slots[i] == p {
			s.slots[i] = p
			return
		}
	}
}

func (s *printSet) has(p uint64) bool {
	if b := p >> s.shift; s.filter[b/64]&(1<<(b%64)) == 0 {
		return false
	}
	if p == 0 {
		return s.zero
	}
	mask := uint64(len(s.slots) - 1)
	for i := p & mask; ; i = (i + 1) & mask {
		switch s.slots[i] {
		case p:
			return true
		case 0:
			return false
		}
	}
}

// appendPrint appends a print as the prints column holds it: 8 bytes, little-endian.
func appendPrint(prints []byte, p uint64) []byte {
	return binary.LittleEndian.AppendUint64(prints, p)
}

// storePrints keeps a push's prints until a round dispatches it, for the later pushes of its
// period: empty when it stored no warned row of a person, so that those read nothing of it.
func storePrints(ctx context.Context, tx *sqlx.Tx, batchID string, prints []byte) error {
	if prints == nil {
		prints = []byte{}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO batch_prints (batch_id, prints) VALUES ($1, $2)`, batchID, prints); err != nil {
		return fmt.Errorf("import batch: prints: %w", err)
	}
	return nil
}
