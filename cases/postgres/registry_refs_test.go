package postgres_test

import (
	"context"
	"errors"
	"testing"

	"github.com/lib/pq"

	"github.com/fangpin/fangpin/cases/postgres"
	"github.com/fangpin/fangpin/cases/postgres/dispatchtest"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
	"github.com/fangpin/fangpin/cases/synth"
)

// TestRegistryReferencesCheckedPerStatement: the registry's member → household and
// household → township references (migration 00700), and a member's and a history row's own
// township (00920), are checked once a statement instead of by per-row foreign keys, and
// refuse what the foreign keys refused.
func TestRegistryReferencesCheckedPerStatement(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	dispatchtest.ApplyOrg(t, db)
	if _, err := db.ApplyRegistry(ctx, synth.New(5).Registry(20, []string{"城关镇"}), postgres.RegistryOptions{}); err != nil {
		t.Fatal(err)
	}
	const usedHousehold = `(SELECT household_no FROM registry_members ORDER BY id_number LIMIT 1)`
	const usedTownship = `(SELECT township_id FROM registry_households ORDER BY household_no LIMIT 1)`
	const freeTownship = `(SELECT id FROM townships WHERE id NOT IN (SELECT township_id FROM registry_households) ORDER BY id LIMIT 1)`
	member := func(household string) string {
		return `INSERT INTO registry_members (id_number, household_no, name)
			SELECT 'X' || g, ` + household + `, '某' FROM generate_series(1, 500) g`
	}
	household := func(township string) string {
		return `INSERT INTO registry_households (household_no, head_id_number, township_id, kind, risk_status)
			SELECT 'HX' || g, 'X', ` + township + `, '脱贫户', '已消除' FROM generate_series(1, 500) g`
	}
	history := func(township string) string {
		return `INSERT INTO registry_history (id_number, household_no, change, changed_on, batch_id, status, township_id)
			SELECT 'X' || g, 'HX', 'move_in', '2026-12-01', 'B-test', 'active', ` + township + ` FROM generate_series(1, 500) g`
	}
	for _, tc := range []struct {
		name      string
		bad, good []string
	}{
		{"members of an unknown household", []string{member(usedHousehold), `INSERT INTO registry_members (id_number, household_no, name) VALUES ('Y', 'H-none', '某')`},
			[]string{member(usedHousehold)}},
		{"a member moved to an unknown household", []string{`UPDATE registry_members SET household_no = 'H-none' WHERE id_number = (SELECT min(id_number) FROM registry_members)`},
			[]string{`UPDATE registry_members SET name = name`}},
		{"households of an unknown township", []string{household("-7")}, []string{household(usedTownship)}},
		{"a household moved to an unknown township", []string{`UPDATE registry_households SET township_id = -7 WHERE household_no = ` + usedHousehold},
			[]string{`UPDATE registry_households SET township_id = ` + freeTownship + ` WHERE household_no = ` + usedHousehold}},
		{"delete a household with members", []string{`DELETE FROM registry_households WHERE household_no = ` + usedHousehold},
			[]string{household(usedTownship), `DELETE FROM registry_households WHERE household_no LIKE 'HX%'`}},
		{"renumber a household with members", []string{`UPDATE registry_households SET household_no = 'H-new' WHERE household_no = ` + usedHousehold},
			[]string{`UPDATE registry_households SET status = 'removed' WHERE household_no = ` + usedHousehold}},
		{"delete a township with households", []string{`DELETE FROM townships WHERE id = ` + usedTownship},
			[]string{`INSERT INTO townships (name) VALUES ('测试乡')`, `DELETE FROM townships WHERE name = '测试乡'`}},
		// 00920: a member's and a history row's own township (人员变动).
		{"a member in an unknown township", []string{`UPDATE registry_members SET township_id = -7 WHERE id_number = (SELECT min(id_number) FROM registry_members)`},
			[]string{`UPDATE registry_members SET township_id = ` + usedTownship + ` WHERE id_number = (SELECT min(id_number) FROM registry_members)`,
				`INSERT INTO registry_members (id_number, household_no, name) SELECT 'Z' || g, ` + usedHousehold + `, '某' FROM generate_series(1, 500) g`}},
		{"members added in an unknown township", []string{`INSERT INTO registry_members (id_number, household_no, name, township_id)
			SELECT 'Z' || g, ` + usedHousehold + `, '某', CASE WHEN g = 500 THEN -7 END FROM generate_series(1, 500) g`},
			[]string{`INSERT INTO registry_members (id_number, household_no, name, township_id)
			SELECT 'Z' || g, ` + usedHousehold + `, '某', CASE WHEN g = 500 THEN ` + freeTownship + ` END FROM generate_series(1, 500) g`}},
		{"history in an unknown township", []string{history("-7")}, []string{history(freeTownship), history("NULL")}},
		{"history moved to an unknown township", []string{history(usedTownship), `UPDATE registry_history SET township_id = -7 WHERE batch_id = 'B-test'`},
			[]string{history(usedTownship), `UPDATE registry_history SET township_id = ` + freeTownship + ` WHERE batch_id = 'B-test'`}},
		{"delete a township a member lives in", []string{
			`INSERT INTO townships (name) VALUES ('测试乡')`,
			`UPDATE registry_members SET township_id = (SELECT id FROM townships WHERE name = '测试乡') WHERE id_number = (SELECT min(id_number) FROM registry_members)`,
			`DELETE FROM townships WHERE name = '测试乡'`},
			[]string{`INSERT INTO townships (name) VALUES ('测试乡')`,
				`UPDATE registry_members SET township_id = (SELECT id FROM townships WHERE name = '测试乡') WHERE id_number = (SELECT min(id_number) FROM registry_members)`,
				`UPDATE registry_members SET township_id = NULL WHERE township_id = (SELECT id FROM townships WHERE name = '测试乡')`,
				`DELETE FROM townships WHERE name = '测试乡'`}},
		{"delete a township of history", []string{
			`INSERT INTO townships (name) VALUES ('测试乡')`, history(`(SELECT id FROM townships WHERE name = '测试乡')`),
			`DELETE FROM townships WHERE name = '测试乡'`},
			[]string{`INSERT INTO townships (name) VALUES ('测试乡')`, history(`(SELECT id FROM townships WHERE name = '测试乡')`),
				`INSERT INTO townships (name) VALUES ('测试二乡')`,
				`UPDATE registry_history SET township_id = (SELECT id FROM townships WHERE name = '测试二乡') WHERE batch_id = 'B-test'`,
				`DELETE FROM townships WHERE name = '测试乡'`}},
	} {
		err := inTx(t, db, tc.bad...)
		var pe *pq.Error
		if !errors.As(err, &pe) || pe.Code != "23503" {
			t.Errorf("%s: got %v, want a foreign_key_violation", tc.name, err)
		}
		if err := inTx(t, db, tc.good...); err != nil {
			t.Errorf("%s: the legitimate neighbour failed: %v", tc.name, err)
		}
	}
}
