package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"testing"

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
