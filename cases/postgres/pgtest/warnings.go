package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"testing"

	"github.com/lib/pq"

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
	var id int64
	err = db.QueryRowxContext(ctx, `
		INSERT INTO warnings (batch_id, row_no, category, period, rule, amount, id_number, name, township_id,
			village, head_id_number, detail)
		VALUES ($1, 2, $2, $3, $4, $5, $6, $7, (SELECT id FROM townships WHERE name = $8), $9, $10, $11)
		RETURNING id`,
		batch, w.Category, w.Period, w.Rule, amount, w.IDNumber, w.Name, w.Township, w.Village,
		w.HeadIDNumber, detail).Scan(&id)
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
	var ids, names, towns, villages, heads, rules []string
	for _, w := range ws {
		rule := w.Rule
		if rule == "" {
			rule = "test"
		}
		ids, names, towns, villages, heads, rules = append(ids, w.IDNumber), append(names, w.Name),
			append(towns, w.Township), append(villages, w.Village), append(heads, w.HeadIDNumber), append(rules, rule)
	}
	_, err = db.ExecContext(ctx, `
		INSERT INTO warnings (batch_id, row_no, category, period, rule, id_number, name, township_id, village, head_id_number, detail)
		SELECT $1, x.n + 1, $2, '2026-10', x.rule, x.id, x.name, t.id, x.village, x.head, '{}'
		FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[]) WITH ORDINALITY
			AS x(id, name, town, village, head, rule, n)
		JOIN townships t ON t.name = x.town`,
		batch, category, pq.Array(ids), pq.Array(names), pq.Array(towns), pq.Array(villages), pq.Array(heads), pq.Array(rules))
	if err != nil {
		t.Fatalf("pgtest: %d warnings: %v", len(ws), err)
	}
}
