package postgres

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/fangpin/fangpin/cases"
)

// TownshipNames maps every township name, alias and former name to the township's name.
func (db *DB) TownshipNames(ctx context.Context) (map[string]string, error) {
	ts, err := db.Townships(ctx)
	if err != nil {
		return nil, err
	}
	m := make(map[string]string, len(ts)*2)
	for _, t := range ts {
		m[t.Name] = t.Name
		for _, a := range t.Formerly {
			if _, taken := m[a]; !taken {
				m[a] = t.Name
			}
		}
		for _, a := range t.Aliases {
			m[a] = t.Name
		}
	}
	return m, nil
}

// UpsertRegistry stores registry rows: households first, then their members, each as one
// statement over arrays so a large registry takes few round trips. Rows that did not change
// are left alone, so importing the same file twice changes nothing. It neither removes what
// the rows leave out nor keeps history: the monthly re-import is ApplyRegistry.
func (db *DB) UpsertRegistry(ctx context.Context, ms []cases.RegistryMember) error {
	return db.InTx(ctx, func(tx *sqlx.Tx) error { return upsertRegistryTx(ctx, tx, newRegistrySealer(db.Keys), ms) })
}

func upsertRegistryTx(ctx context.Context, tx *sqlx.Tx, s *registrySealer, ms []cases.RegistryMember) error {
	n := len(ms)
	hno, head, town, village := make([]string, 0, n), make([]string, 0, n), make([]string, 0, n), make([]string, 0, n)
	kind, risk := make([]string, 0, n), make([]string, 0, n)
	seen := map[string]bool{}
	mid, msealed, mh, mname, mrel := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i, m := range ms {
		if !seen[m.HouseholdNo] {
			seen[m.HouseholdNo] = true
			hno = append(hno, m.HouseholdNo)
			h, _ := s.id(cases.NormalizeIDNumber(m.HeadIDNumber), true)
			head = append(head, h)
			town = append(town, m.Township)
			village = append(village, m.Village)
			kind = append(kind, m.Kind)
			risk = append(risk, m.RiskStatus)
		}
		mid[i], msealed[i] = s.id(cases.NormalizeIDNumber(m.IDNumber), false)
		mh[i], mname[i], mrel[i] = m.HouseholdNo, s.b.Seal(m.Name), m.Relation
	}
	_, err := tx.ExecContext(ctx, `
		INSERT INTO registry_households (household_no, head_id_number, township_id, village, kind, risk_status)
		SELECT h.no, h.head, t.id, h.village, h.kind, h.risk
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
			AS h(no, head, town, village, kind, risk)
		JOIN townships t ON t.name = h.town
		ON CONFLICT (household_no) DO UPDATE SET head_id_number = EXCLUDED.head_id_number,
			township_id = EXCLUDED.township_id, village = EXCLUDED.village, kind = EXCLUDED.kind,
			risk_status = EXCLUDED.risk_status, status = 'active', removed_at = NULL, updated_at = now()
		WHERE (registry_households.head_id_number, registry_households.township_id, registry_households.village,
			registry_households.kind, registry_households.risk_status, registry_households.status)
			IS DISTINCT FROM (EXCLUDED.head_id_number, EXCLUDED.township_id, EXCLUDED.village, EXCLUDED.kind, EXCLUDED.risk_status, 'active')`,
		pq.Array(hno), pq.Array(head), pq.Array(town), pq.Array(village), pq.Array(kind), pq.Array(risk))
	if err != nil {
		return fmt.Errorf("upsert households: %w", err)
	}
	_, err = tx.ExecContext(ctx, `
		INSERT INTO registry_members (id_number, household_no, name, relation, id_sealed)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
		ON CONFLICT (id_number) DO UPDATE SET household_no = EXCLUDED.household_no, id_sealed = EXCLUDED.id_sealed,
			name = EXCLUDED.name, relation = EXCLUDED.relation, removed_at = NULL, updated_at = now()
		WHERE (registry_members.household_no, registry_members.name, registry_members.relation, registry_members.removed_at IS NULL)
			IS DISTINCT FROM (EXCLUDED.household_no, EXCLUDED.name, EXCLUDED.relation, true)`,
		pq.Array(mid), pq.Array(mh), pq.Array(mname), pq.Array(mrel), pq.Array(msealed))
	if err != nil {
		return fmt.Errorf("upsert members: %w", err)
	}
	return nil
}

// RegistryPerson is what the registry knows about a person.
type RegistryPerson struct {
	IDNumber     string `db:"id_number"`
	Name         string `db:"name"`
	HouseholdNo  string `db:"household_no"`
	HeadIDNumber string `db:"head_id_number"`
	Township     string `db:"township"`
	Village      string `db:"village"`
	Kind         string `db:"kind"`
	RiskStatus   string `db:"risk_status"`
}

// RegistryPeople looks up many people at once by ID number (and, for rows naming only a
// 户主身份证号, the household headed by that number: pass it as well).
func (db *DB) RegistryPeople(ctx context.Context, ids []string) (map[string]RegistryPerson, error) {
	var ps []RegistryPerson
	hs, _ := hashIDs(db.Keys, ids)
	err := db.SelectContext(ctx, &ps, `
		SELECT m.id_sealed AS id_number, m.name, h.household_no,
			COALESCE((SELECT hm.id_sealed FROM registry_members hm WHERE hm.id_number = h.head_id_number), '') AS head_id_number, t.name AS township, h.village, h.kind, h.risk_status
		FROM registry_members m JOIN registry_households h ON h.household_no = m.household_no
		JOIN townships t ON t.id = h.township_id
		WHERE m.id_number = ANY($1) AND m.removed_at IS NULL AND h.status = 'active'`, pq.Array(hs))
	if err != nil {
		return nil, fmt.Errorf("look up registry: %w", err)
	}
	out := make(map[string]RegistryPerson, len(ps))
	for _, p := range ps {
		if err := openRegistry(db.Keys, &p.IDNumber, &p.Name, &p.HeadIDNumber); err != nil {
			return nil, err
		}
		out[p.IDNumber] = p
	}
	return out, nil
}
