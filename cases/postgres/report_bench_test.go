package postgres_test

import (
	"context"
	"github.com/fangpin/fangpin/cases"
	"testing"

	"github.com/fangpin/fangpin/cases/postgres"
	"github.com/fangpin/fangpin/cases/postgres/monthtest"
)

// benchMonth adds a month (2027-01) of 3000 cases with two warnings each.
func benchMonth(b *testing.B) *postgres.DB {
	db, _ := monthtest.Setup(b)
	_, err := db.Exec(`
		INSERT INTO rounds (month, dispatched_on) VALUES ('2027-01', '2027-01-11');
		INSERT INTO cases (case_no, round, kind, household_key, head_name, township_id, status, result, reason,
			dispatched_at, due_on, closed_at)
		SELECT 'YJ202701-' || lpad(i::text, 4, '0'), '2027-01', 'new', 'BH' || i, '王试', 1 + i % 3,
			CASE WHEN i % 2 = 0 THEN 'closed' ELSE 'dispatched' END,
			CASE WHEN i % 2 = 0 THEN 'exclude' ELSE '' END, CASE WHEN i % 2 = 0 THEN '收入稳定无风险' ELSE '' END,
			'2027-01-11 10:00+08', '2027-02-14', CASE WHEN i % 2 = 0 THEN timestamptz '2027-02-01 10:00+08' END
		FROM generate_series(1, 3000) i;
		INSERT INTO warnings (batch_id, row_no, category, period, rule, township_id, case_id)
		SELECT 'B01', 100000 + row_number() OVER (), CASE WHEN j = 0 THEN 'medical' ELSE 'assurance' END, '2026-12', 'x', c.township_id, c.id
		FROM cases c, generate_series(0, 1) j WHERE c.round = '2027-01';
		ANALYZE;`)
	if err != nil {
		b.Fatal(err)
	}
	return db
}

// BenchmarkAssess reads the 3000-case month through the assessment query;
// BenchmarkAssessBaselineListCases reads the same cases through ListCases, the foundation's
// plain case query, as the baseline of the same run.
func BenchmarkAssess(b *testing.B) {
	db := benchMonth(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		a, err := db.Assess(context.Background(), "2027-01")
		if err != nil || len(a.Cases) != 3000 {
			b.Fatal(err, len(a.Cases))
		}
	}
}

func BenchmarkAssessBaselineListCases(b *testing.B) {
	db := benchMonth(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cs, err := db.ListCases(context.Background(), cases.CaseFilter{Round: "2027-01"})
		if err != nil || len(cs) != 3000 {
			b.Fatal(err, len(cs))
		}
	}
}
