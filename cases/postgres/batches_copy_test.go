package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/orgfile"
	"github.com/fangpin/fangpin/cases/postgres"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
)

func copyFixture(t *testing.T) *postgres.DB {
	t.Helper()
	db := pgtest.New(t)
	b, err := os.ReadFile("../../examples/org.yaml")
	if err != nil {
		t.Fatal(err)
	}
	org, err := orgfile.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ApplyOrg(context.Background(), org); err != nil {
		t.Fatal(err)
	}
	return db
}

// TestImportBatchCopiesValuesExactly: the hand-written binary COPY stores every column as the
// values given, amounts to the fen (signs, zeros inside and at the ends, many digits).
func TestImportBatchCopiesValuesExactly(t *testing.T) {
	t.Parallel()
	db := copyFixture(t)
	at := time.Date(2026, 11, 3, 10, 4, 5, 123456000, cases.Shanghai)
	db.Now = func() time.Time { return at }
	amounts := []cases.Money{0, 1, 10, 48, 99, 100, 500, 10000, 999999, 1000000, 1000001, 100000000, 123456789012,
		-1, -1250, -100000000, 50000, 480000, 999999999999}
	b := cases.Batch{Department: "医保局", Category: cases.CatMedical, Period: "2026-10", SHA256: fmt.Sprintf("%064d", 1), Source: "file"}
	earlier, err := db.ImportBatch(context.Background(), &b, func(add func(*cases.Warning) error) error {
		for i, a := range amounts {
			a := a
			w := &cases.Warning{Row: i + 2, Category: cases.CatMedical, Period: "2026-10", Rule: "medical.inpatient", Amount: &a,
				IDNumber: fmt.Sprintf("99010119900101%04d", i), Name: "王试一", Township: "城关镇", Village: "示例一村",
				HeadIDNumber: "", Registered: i%2 == 0, Detail: []byte(`{"姓名":"王试一","说明":"\"引号\"与\\u0001"}`)}
			if err := add(w); err != nil {
				return err
			}
		}
		// no amount, no detail
		return add(&cases.Warning{Row: 900, Category: cases.CatMedical, Period: "2026-10", Rule: "x", Township: "青山镇"})
	})
	if err != nil || earlier != nil {
		t.Fatalf("import: %v %v", earlier, err)
	}
	type row struct {
		Row        int     `db:"row_no"`
		Amount     *string `db:"amount"`
		ID         string  `db:"id_number"`
		Sealed     string  `db:"id_sealed"`
		Name       string  `db:"name"`
		Township   string  `db:"township"`
		Village    string  `db:"village"`
		Registered bool    `db:"registered"`
		Detail     string  `db:"detail"`
		Created    time.Time
	}
	var rows []row
	if err := db.Select(&rows, `SELECT row_no, amount::text AS amount, id_number, id_sealed, w.name, t.name AS township, village, registered,
			detail::text AS detail, created_at AS created FROM warnings w JOIN townships t ON t.id = w.township_id
			WHERE batch_id = $1 ORDER BY row_no`, b.ID); err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(amounts)+1 {
		t.Fatalf("%d rows stored, want %d", len(rows), len(amounts)+1)
	}
	// the person's number is stored as its keyed hash, the number itself, the name and the
	// detail sealed (docs/encryption.md)
	for i := range rows {
		r := &rows[i]
		if want := db.Keys.IDHash(pgtest.Open(t, db, r.Sealed)); r.ID != want {
			t.Errorf("row %d: id_number %q, want the hash %q", r.Row, r.ID, want)
		}
		r.ID, r.Name, r.Detail = pgtest.Open(t, db, r.Sealed), pgtest.Open(t, db, r.Name), pgtest.Open(t, db, r.Detail)
	}
	for i, a := range amounts {
		r := rows[i]
		if r.Amount == nil || *r.Amount != a.String() {
			t.Errorf("row %d: amount %v, want %s", r.Row, r.Amount, a)
		}
		if r.Row != i+2 || r.ID != fmt.Sprintf("99010119900101%04d", i) || r.Name != "王试一" || r.Township != "城关镇" ||
			r.Village != "示例一村" || r.Registered != (i%2 == 0) || r.Detail != `{"姓名":"王试一","说明":"\"引号\"与\\u0001"}` ||
			!r.Created.Equal(at) {
			t.Errorf("row %d stored as %+v", i+2, r)
		}
	}
	if last := rows[len(amounts)]; last.Amount != nil || last.Detail != "{}" || last.Township != "青山镇" {
		t.Errorf("row without amount or detail: %+v", last)
	}
	got, err := db.BatchByID(context.Background(), b.ID)
	if err != nil || got.Rows != 0 || got.Warnings != 0 {
		t.Fatalf("batch %+v %v", got, err)
	}
}

// TestImportBatchFailureLeavesNothing: an import that fails after several COPY statements
// (its reader failing, or its context cancelled) leaves no batch and no warning, and the
// same file imports afterwards as if it never came.
func TestImportBatchFailureLeavesNothing(t *testing.T) {
	t.Parallel()
	db := copyFixture(t)
	ctx := context.Background()
	const n = 9000 // more than four COPY statements
	fill := func(stop int, fail func() error) func(add func(*cases.Warning) error) error {
		return func(add func(*cases.Warning) error) error {
			for i := 0; i < n; i++ {
				if i == stop {
					return fail()
				}
				if err := add(&cases.Warning{Row: i + 2, Category: cases.CatMedical, Period: "2026-10", Rule: "medical.outpatient",
					IDNumber: "990101199001010000", Township: "城关镇", Detail: []byte(`{"a":"b"}`)}); err != nil {
					return err
				}
			}
			return nil
		}
	}
	sha := fmt.Sprintf("%064d", 2)
	bad := errors.New("第 7001 行读取失败")
	b := cases.Batch{Department: "医保局", Category: cases.CatMedical, Period: "2026-10", SHA256: sha}
	if _, err := db.ImportBatch(ctx, &b, fill(7000, func() error { return bad })); !errors.Is(err, bad) {
		t.Fatalf("import with a failing reader: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	b = cases.Batch{Department: "医保局", Category: cases.CatMedical, Period: "2026-10", SHA256: sha}
	if _, err := db.ImportBatch(cctx, &b, fill(5000, func() error { cancel(); return cctx.Err() })); err == nil {
		t.Fatal("a cancelled import succeeded")
	}
	var batches, warnings int
	batches = pgtest.Count(t, db, `SELECT count(*) FROM batches`)
	warnings = pgtest.Count(t, db, `SELECT count(*) FROM warnings`)
	if batches != 0 || warnings != 0 {
		t.Fatalf("after two failed imports: %d batches, %d warnings; want none", batches, warnings)
	}
	b = cases.Batch{Department: "医保局", Category: cases.CatMedical, Period: "2026-10", SHA256: sha}
	if earlier, err := db.ImportBatch(ctx, &b, fill(-1, nil)); err != nil || earlier != nil {
		t.Fatalf("the same file after the failures: %v %v", earlier, err)
	}
	warnings = pgtest.Count(t, db, `SELECT count(*) FROM warnings WHERE batch_id = $1`, b.ID)
	if warnings != n {
		t.Fatalf("%d warnings stored, want %d", warnings, n)
	}
}

// TestImportBatchWideRows: rows of a third of a megabyte each end their COPY statement early
// (the statement's data stays about two megabytes) and are all stored whole.
func TestImportBatchWideRows(t *testing.T) {
	t.Parallel()
	db := copyFixture(t)
	wide := `{"附注":"` + strings.Repeat("长", 100000) + `"}`
	const n = 25
	b := cases.Batch{Department: "医保局", Category: cases.CatMedical, Period: "2026-10", SHA256: fmt.Sprintf("%064d", 3)}
	_, err := db.ImportBatch(context.Background(), &b, func(add func(*cases.Warning) error) error {
		for i := 0; i < n; i++ {
			if err := add(&cases.Warning{Row: i + 2, Category: cases.CatMedical, Period: "2026-10", Rule: "medical.inpatient",
				Township: "城关镇", Detail: []byte(wide)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var details []string
	if err := db.Select(&details, `SELECT detail FROM warnings WHERE batch_id = $1`, b.ID); err != nil {
		t.Fatal(err)
	}
	stored, whole := len(details), 0
	for _, d := range details {
		if pgtest.Open(t, db, d) == wide {
			whole++
		}
	}
	if stored != n || whole != n {
		t.Fatalf("%d rows stored, %d of them whole; want %d", stored, whole, n)
	}
}

// TestImportBatchRefusesATownshipDeletedMeanwhile: the import's COPY is not checked row by
// row against the townships (migration 00990); the import locks them itself. A township
// deleted after the import read the list, while it waits for that lock, makes the import
// fail with nothing stored, and a township deleted before is never named by a warning.
func TestImportBatchRefusesATownshipDeletedMeanwhile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := copyFixture(t)
	if _, err := db.Exec(`INSERT INTO townships (name) VALUES ('临时乡')`); err != nil {
		t.Fatal(err)
	}
	b := cases.Batch{Department: "医保局", Category: cases.CatMedical, Period: "2026-10", SHA256: fmt.Sprintf("%064d", 7), Source: "file"}
	err := whileTownshipDeleted(t, db, "临时乡", func() error {
		_, err := db.ImportBatch(ctx, &b, func(add func(*cases.Warning) error) error {
			a := cases.Money(600000)
			return add(&cases.Warning{Row: 2, Category: cases.CatMedical, Period: "2026-10", Rule: "medical.inpatient", Amount: &a,
				IDNumber: "990101199001010000", Name: "王试一", Township: "临时乡", Village: "一村", Detail: []byte(`{}`)})
		})
		return err
	})
	if cases.ErrorCode(err) != cases.EConflict || !strings.Contains(err.Error(), "临时乡") {
		t.Fatalf("import after its township was deleted: %v, want a conflict naming 临时乡", err)
	}
	if n := pgtest.Count(t, db, `SELECT count(*) FROM warnings w LEFT JOIN townships t ON t.id = w.township_id WHERE t.id IS NULL`); n != 0 {
		t.Fatalf("%d warnings name a township that does not exist", n)
	}
	if n := pgtest.Count(t, db, `SELECT count(*) FROM batches`); n != 0 {
		t.Fatalf("%d batches stored by a failed import", n)
	}
}

// whileTownshipDeleted deletes the township name in a transaction held open and runs load,
// which reads the township list (still holding it) and then waits for its lock on the
// deleted row; once some session waits for a lock, the deletion commits. It returns load's
// error.
func whileTownshipDeleted(t *testing.T, db *postgres.DB, name string, load func() error) error {
	t.Helper()
	del, err := db.Beginx()
	if err != nil {
		t.Fatal(err)
	}
	defer del.Rollback()
	if _, err := del.Exec(`DELETE FROM townships WHERE name = $1`, name); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- load() }()
	waitForLockWait(t, db)
	if err := del.Commit(); err != nil {
		t.Fatal(err)
	}
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the load did not end after the deletion committed")
	}
	return err
}

// waitForLockWait returns once some session of db's database waits for a lock.
func waitForLockWait(t *testing.T, db *postgres.DB) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if pgtest.Count(t, db, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`) > 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("nobody waited for a lock")
}

// TestImportBatchNumbersItsRowsByBlocks: an import numbers its rows from blocks of ids it
// reserves (migration 00991): in the file's order, never an id another insert took, before,
// during or after it, and an insert after it gets a larger id.
func TestImportBatchNumbersItsRowsByBlocks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := copyFixture(t)
	other := func() int64 {
		var id int64
		if err := db.Get(&id, `INSERT INTO warnings (batch_id, row_no, category, period, rule, township_id)
			VALUES (NULL, 0, 'medical', '2026-10', 'x', (SELECT min(id) FROM townships)) RETURNING id`); err != nil {
			t.Fatal(err)
		}
		return id
	}
	before := other()
	const rows = 40000 // more than one round of blocks
	var during int64
	b := cases.Batch{Department: "医保局", Category: cases.CatMedical, Period: "2026-10", SHA256: fmt.Sprintf("%064d", 9), Source: "file"}
	_, err := db.ImportBatch(ctx, &b, func(add func(*cases.Warning) error) error {
		for i := 0; i < rows; i++ {
			if i == rows/2 {
				during = other() // another writer, mid-import, on its own connection
			}
			a := cases.Money(600000)
			if err := add(&cases.Warning{Row: i + 2, Category: cases.CatMedical, Period: "2026-10", Rule: "medical.inpatient", Amount: &a,
				IDNumber: fmt.Sprintf("99010119900101%04d", i%10000), Name: "王试一", Township: "城关镇", Village: "一村"}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	after := other()
	var ids []int64
	if err := db.Select(&ids, `SELECT id FROM warnings WHERE batch_id = $1 ORDER BY row_no`, b.ID); err != nil {
		t.Fatal(err)
	}
	if len(ids) != rows {
		t.Fatalf("%d rows stored, want %d", len(ids), rows)
	}
	for i, id := range ids {
		if i > 0 && id <= ids[i-1] {
			t.Fatalf("row %d has id %d after %d: not in the file's order", i+2, id, ids[i-1])
		}
		if id == before || id == during || id == after {
			t.Fatalf("row %d has id %d, another insert's", i+2, id)
		}
	}
	if ids[0] <= before {
		t.Errorf("the import's first id %d is not after the earlier insert's %d", ids[0], before)
	}
	if after <= ids[len(ids)-1] {
		t.Errorf("an insert after the import got id %d, not after the import's last %d", after, ids[len(ids)-1])
	}
}

// TestInterleavedBatchesFoundApart: a batch's rows are found by the range of ids they took
// (migration 00992). An import made while another is under way takes ids inside the first's
// range; each batch's warnings are still exactly its own, and withdrawing one leaves the
// other whole.
func TestInterleavedBatchesFoundApart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := copyFixture(t)
	row := func(i int, period string) *cases.Warning {
		a := cases.Money(600000)
		return &cases.Warning{Row: i + 2, Category: cases.CatMedical, Period: period, Rule: "medical.inpatient", Amount: &a,
			IDNumber: fmt.Sprintf("99010119900101%04d", i%10000), Name: "王试一", Township: "城关镇", Village: "一村"}
	}
	const outer, inner = 40000, 300 // the outer import takes more than one round of blocks
	inBatch := cases.Batch{Department: "医保局", Category: cases.CatMedical, Period: "2026-09", SHA256: fmt.Sprintf("%064d", 11), Source: "file"}
	outBatch := cases.Batch{Department: "医保局", Category: cases.CatMedical, Period: "2026-10", SHA256: fmt.Sprintf("%064d", 12), Source: "file"}
	_, err := db.ImportBatch(ctx, &outBatch, func(add func(*cases.Warning) error) error {
		for i := 0; i < outer; i++ {
			if i == outer/2 {
				if _, err := db.ImportBatch(ctx, &inBatch, func(add func(*cases.Warning) error) error {
					for j := 0; j < inner; j++ {
						if err := add(row(j, "2026-09")); err != nil {
							return err
						}
					}
					return nil
				}); err != nil {
					return err
				}
			}
			if err := add(row(i, "2026-10")); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var inside int
	if err := db.Get(&inside, `SELECT count(*) FROM warnings w JOIN batches o ON o.id = $1
		WHERE w.batch_id = $2 AND w.id BETWEEN o.first_warning AND o.last_warning`, outBatch.ID, inBatch.ID); err != nil {
		t.Fatal(err)
	}
	if inside != inner {
		t.Fatalf("%d of the inner batch's rows lie in the outer's range, want all %d: the batches did not interleave", inside, inner)
	}
	count := func(id string) (n int, periods map[string]bool) {
		periods = map[string]bool{}
		err := db.BatchWarnings(ctx, id, func(w postgres.BatchWarning) error {
			n++
			periods[w.Period] = true
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return n, periods
	}
	if n, ps := count(outBatch.ID); n != outer || len(ps) != 1 || !ps["2026-10"] {
		t.Fatalf("outer batch: %d warnings of periods %v, want %d of 2026-10", n, ps, outer)
	}
	if n, ps := count(inBatch.ID); n != inner || len(ps) != 1 || !ps["2026-09"] {
		t.Fatalf("inner batch: %d warnings of periods %v, want %d of 2026-09", n, ps, inner)
	}
	if _, err := db.WithdrawBatch(ctx, inBatch.ID, cases.Actor{UserID: "office", Role: cases.RoleOffice},
		cases.AccessEvent{User: "office", Action: cases.AccessWithdraw, Channel: cases.ChannelChat}); err != nil {
		t.Fatal(err)
	}
	if n, _ := count(outBatch.ID); n != outer {
		t.Fatalf("outer batch after the inner was withdrawn: %d warnings, want %d", n, outer)
	}
	if n := pgtest.Count(t, db, `SELECT count(*) FROM warnings`); n != outer {
		t.Fatalf("%d warnings stored after the withdrawal, want the outer batch's %d", n, outer)
	}
}

// TestImportBatchRefusesARowTwice: a batch's row gives at most one warning of each category.
// The import's COPY is not checked by the table (migration 00992), so the import refuses a
// row given twice itself, and stores nothing.
func TestImportBatchRefusesARowTwice(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := copyFixture(t)
	for _, rows := range [][]int{{2, 3, 3}, {2, 4, 3}} {
		b := cases.Batch{Department: "医保局", Category: cases.CatMedical, Period: "2026-10", SHA256: fmt.Sprintf("%064d", rows[1]), Source: "file"}
		_, err := db.ImportBatch(ctx, &b, func(add func(*cases.Warning) error) error {
			for _, r := range rows {
				a := cases.Money(600000)
				if err := add(&cases.Warning{Row: r, Category: cases.CatMedical, Period: "2026-10", Rule: "medical.inpatient", Amount: &a,
					IDNumber: fmt.Sprintf("9901011990010100%02d", r), Name: "王试一", Township: "城关镇", Village: "一村"}); err != nil {
					return err
				}
			}
			return nil
		})
		if err == nil {
			t.Fatalf("rows %v: imported, want a refusal", rows)
		}
		if n := pgtest.Count(t, db, `SELECT count(*) FROM warnings`); n != 0 {
			t.Fatalf("rows %v: %d warnings stored by a refused import", rows, n)
		}
	}
}
