package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"testing"

	"github.com/lib/pq"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/postgres"
)

// Warning is one warnings row for tests that need warnings without running an import.
type Warning struct {
	Department   string // must exist in departments
	Category     string
	Period       string // default 2026-10
	Rule         string // default "test"
	Amount       string // '' for none
	IDNumber     string
	Name         string
	Township     string // a township name (not an alias)
	Village      string
	HeadIDNumber string
	Detail       map[string]any
}

// InsertWarning writes w in a batch of its own and returns the warning's id.
func InsertWarning(t testing.TB, db *postgres.DB, w Warning) int64 {
	t.Helper()
	ctx := context.Background()
	if w.Period == "" {
		w.Period = "2026-10"
	}
	if w.Rule == "" {
		w.Rule = "test"
	}
	detail, err := json.Marshal(w.Detail)
	if err != nil || w.Detail == nil {
		detail = []byte("{}")
	}
	b := make([]byte, 8)
	rand.Read(b)
	batch := "test-" + hex.EncodeToString(b)
	_, err = db.ExecContext(ctx, `
		INSERT INTO batches (id, department_id, category, period, sha256, rows, accepted, warnings)
		VALUES ($1, (SELECT id FROM departments WHERE name = $2), $3, $4, $1, 1, 1, 1)`,
		batch, w.Department, w.Category, w.Period)
	if err != nil {
		t.Fatalf("pgtest: batch for %s/%s: %v", w.Department, w.Category, err)
	}
	var amount any
	if w.Amount != "" {
		amount = w.Amount
	}
	// sealed and hashed as the store writes rows (docs/encryption.md)
	sw := postgres.SealWarning(db.Keys, cases.Category(w.Category), w.IDNumber, w.Name, w.HeadIDNumber, detail)
	var id int64
	err = db.QueryRowxContext(ctx, `
		INSERT INTO warnings (batch_id, row_no, category, period, rule, amount, id_number, id_sealed, name, township_id,
			village, head_id_number, detail, problem)
		VALUES ($1, 2, $2, $3, $4, $5, $6, $7, $8, (SELECT id FROM townships WHERE name = $9), $10, $11, $12, $13)
		RETURNING id`,
		batch, w.Category, w.Period, w.Rule, amount, sw.IDHash, sw.IDSealed, sw.Name, w.Township, w.Village,
		sw.HeadHash, sw.Detail, sw.Problem).Scan(&id)
	if err != nil {
		t.Fatalf("pgtest: warning %+v: %v", w, err)
	}
	return id
}

// InsertWarnings writes many warnings of one department and category in one batch and one
// statement (county-scale tests); Amount and HeadIDNumber may be empty, Detail is ignored.
func InsertWarnings(t testing.TB, db *postgres.DB, dept, category string, ws []Warning) {
	t.Helper()
	ctx := context.Background()
	b := make([]byte, 8)
	rand.Read(b)
	batch := "test-" + hex.EncodeToString(b)
	_, err := db.ExecContext(ctx, `
		INSERT INTO batches (id, department_id, category, period, sha256, rows, accepted, warnings)
		VALUES ($1, (SELECT id FROM departments WHERE name = $2), $3, '2026-10', $1, $4, $4, $4)`,
		batch, dept, category, len(ws))
	if err != nil {
		t.Fatalf("pgtest: batch for %s/%s: %v", dept, category, err)
	}
	var ids, sealedIDs, names, towns, villages, heads, rules, details []string
	for _, w := range ws {
		rule := w.Rule
		if rule == "" {
			rule = "test"
		}
		sw := postgres.SealWarning(db.Keys, cases.Category(category), w.IDNumber, w.Name, w.HeadIDNumber, nil)
		ids, sealedIDs, names, towns, villages, heads, rules = append(ids, sw.IDHash), append(sealedIDs, sw.IDSealed),
			append(names, sw.Name), append(towns, w.Township), append(villages, w.Village), append(heads, sw.HeadHash), append(rules, rule)
		details = append(details, sw.Detail)
	}
	_, err = db.ExecContext(ctx, `
		INSERT INTO warnings (batch_id, row_no, category, period, rule, id_number, id_sealed, name, township_id, village, head_id_number, detail)
		SELECT $1, x.n + 1, $2, '2026-10', x.rule, x.id, x.sealed, x.name, t.id, x.village, x.head, x.detail
		FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[]) WITH ORDINALITY
			AS x(id, name, town, village, head, rule, sealed, detail, n)
		JOIN townships t ON t.name = x.town`,
		batch, category, pq.Array(ids), pq.Array(names), pq.Array(towns), pq.Array(villages), pq.Array(heads), pq.Array(rules),
		pq.Array(sealedIDs), pq.Array(details))
	if err != nil {
		t.Fatalf("pgtest: %d warnings: %v", len(ws), err)
	}
}
