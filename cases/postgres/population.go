package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/seal"
)

// 人员变动 (docs/held-and-tasks.md): a 公安局 push updates the registry in the push's own transaction, with
// history; its rows about 脱贫户 or monitored households become 信息变更 cases at the next
// dispatch round; the death of a household's only working-age member raises a 因就业不稳
// warning for that round.

// populationRow is one stored 人员变动 row of a batch.
type populationRow struct {
	Row          int
	Change       cases.Change
	On           cases.Date
	IDNumber     string
	Name         string
	Township     string
	Village      string
	HeadIDNumber string
}

// memberNow is a registry member as the population rules need them: IDNumber and Head are
// the stored hashes, IDSealed, Name and HeadSealed (the head's member row's id_sealed, empty
// when the head is no member) as stored, opened when needed.
type memberNow struct {
	IDNumber    string `db:"id_number"`
	IDSealed    string `db:"id_sealed"`
	Name        string `db:"name"`
	HouseholdNo string `db:"household_no"`
	Head        string `db:"head_id_number"`
	HeadSealed  string `db:"head_id_sealed"`
	Status      string `db:"status"`
	TownshipID  int    `db:"township_id"`
	Village     string `db:"village"`
	HTownshipID int    `db:"h_township_id"`
	HVillage    string `db:"h_village"`
	Kind        string `db:"kind"`
	Risk        string `db:"risk_status"`
}

const memberNowSelect = `
	SELECT m.id_number, m.id_sealed, m.name, m.household_no, h.head_id_number,
		COALESCE((SELECT hm.id_sealed FROM registry_members hm WHERE hm.id_number = h.head_id_number), '') AS head_id_sealed, m.status,
		COALESCE(m.township_id, h.township_id) AS township_id, COALESCE(m.village, h.village) AS village,
		h.township_id AS h_township_id, h.village AS h_village, h.kind, h.risk_status
	FROM registry_members m JOIN registry_households h ON h.household_no = m.household_no`

// memberByID finds the member whose ID number hashes to hash.
func memberByID(ctx context.Context, tx *sqlx.Tx, hash string) (*memberNow, error) {
	var m memberNow
	err := tx.GetContext(ctx, &m, memberNowSelect+` WHERE m.id_number = $1 FOR UPDATE OF m`, hash)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("registry member: %w", err)
	}
	return &m, nil
}

// householdOfHead finds the household headed by id (as 户主身份证号, or the household of the
// member with that number).
func householdOfHead(ctx context.Context, tx *sqlx.Tx, k *seal.Keyring, id string) (*memberNow, error) {
	var m memberNow
	err := tx.GetContext(ctx, &m, `
		SELECT '' AS id_number, '' AS id_sealed, '' AS name, h.household_no, h.head_id_number,
			COALESCE((SELECT hm.id_sealed FROM registry_members hm WHERE hm.id_number = h.head_id_number), '') AS head_id_sealed, 'active' AS status,
			h.township_id, h.village, h.township_id AS h_township_id, h.village AS h_village, h.kind, h.risk_status
		FROM registry_households h
		WHERE h.head_id_number = $1 OR h.household_no = (SELECT household_no FROM registry_members WHERE id_number = $1)
		ORDER BY (h.head_id_number = $1) DESC LIMIT 1`, k.IDHash(id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("registry household of %s: %w", cases.MaskIDNumber(id), err)
	}
	return &m, nil
}

// applyPopulation applies a 人员变动 batch's rows to the registry, in order of 变动日期 and row:
// it records each change in registry_history, marks the rows that give no 信息变更 case
// (household neither 脱贫户 nor monitored, or nobody to change) as quiet, raises the
// only-worker warnings and sets the batch's counts.
func applyPopulation(ctx context.Context, tx *sqlx.Tx, k *seal.Keyring, b *cases.Batch, rows []populationRow, townIDs map[string]int, now time.Time) error {
	sort.SliceStable(rows, func(i, j int) bool {
		if rows[i].On != rows[j].On {
			return rows[i].On.Before(rows[j].On)
		}
		return rows[i].Row < rows[j].Row
	})
	updates, notIn, cases_ := 0, 0, 0
	for _, r := range rows {
		changed, infoCase, err := applyChange(ctx, tx, k, b, r, townIDs, now)
		if err != nil {
			return fmt.Errorf("人员变动 row %d: %w", r.Row, err)
		}
		switch {
		case changed == nil:
			notIn++
		case *changed:
			updates++
		}
		if infoCase {
			cases_++
			continue
		}
		if _, err := tx.ExecContext(ctx, `UPDATE warnings SET rule = ''
			WHERE `+inBatch("warnings", "$1")+` AND row_no = $2 AND category = 'population'`, b.ID, r.Row); err != nil {
			return fmt.Errorf("人员变动 row %d: %w", r.Row, err)
		}
	}
	if b.NotInRegistry == nil {
		b.NotInRegistry = new(int)
	}
	*b.NotInRegistry += notIn
	b.RegistryUpdates = &updates
	b.Warnings = cases_
	return nil
}

// applyChange applies one row. changed is nil when the row names nobody in the registry;
// infoCase says whether the row stays a 信息变更 warning for the next round.
func applyChange(ctx context.Context, tx *sqlx.Tx, k *seal.Keyring, b *cases.Batch, r populationRow, townIDs map[string]int, now time.Time) (changed *bool, infoCase bool, err error) {
	hash := k.IDHash(r.IDNumber)
	m, err := memberByID(ctx, tx, hash)
	if err != nil {
		return nil, false, err
	}
	yes, no := true, false
	if m == nil {
		// Only a birth or someone moving in joins the household of the row's 户主身份证号.
		if r.HeadIDNumber == "" || (r.Change != cases.ChangeBirth && r.Change != cases.ChangeMoveIn) {
			return nil, false, nil
		}
		h, err := householdOfHead(ctx, tx, k, r.HeadIDNumber)
		if err != nil || h == nil {
			return nil, false, err
		}
		var town any
		var village any
		if r.Change == cases.ChangeMoveIn {
			if id, ok := townIDs[r.Township]; ok && id != h.HTownshipID {
				town = id
			}
			if r.Village != "" && r.Village != h.HVillage {
				village = r.Village
			}
		}
		relation := "新生儿"
		if r.Change == cases.ChangeMoveIn {
			relation = ""
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO registry_members (id_number, id_sealed, household_no, name, relation, status, township_id, village)
			VALUES ($1, $2, $3, $4, $5, 'active', $6, $7)`, hash, k.Seal(r.IDNumber), h.HouseholdNo, k.Seal(r.Name), relation, town, village); err != nil {
			return nil, false, fmt.Errorf("add member: %w", err)
		}
		if err := history(ctx, tx, b, r, hash, h.HouseholdNo, cases.MemberActive); err != nil {
			return nil, false, err
		}
		return &yes, cases.InfoCaseFor(h.Kind, h.Risk), nil
	}
	info := cases.InfoCaseFor(m.Kind, m.Risk)
	status := m.Status
	switch r.Change {
	case cases.ChangeDeath:
		if m.Status == cases.MemberDeceased {
			return &no, false, nil // already recorded
		}
		status = cases.MemberDeceased
		if m.Status == cases.MemberActive {
			if err := onlyWorker(ctx, tx, k, b, r, m, now); err != nil {
				return nil, false, err
			}
		}
	case cases.ChangeBirth:
		return &no, false, nil // already in the registry
	case cases.ChangeMoveIn:
		status = cases.MemberActive
		id, ok := townIDs[r.Township]
		if !ok {
			id = m.TownshipID
		}
		village := r.Village
		if village == "" {
			village = m.Village
		}
		if status == m.Status && id == m.TownshipID && village == m.Village {
			return &no, false, nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE registry_members SET township_id = $2, village = $3 WHERE id_number = $1`, m.IDNumber, id, village); err != nil {
			return nil, false, fmt.Errorf("move member: %w", err)
		}
		if m.IDNumber == m.Head {
			// The household moves with its head.
			if _, err := tx.ExecContext(ctx, `UPDATE registry_households SET township_id = $2, village = $3, updated_at = now() WHERE household_no = $1`,
				m.HouseholdNo, id, village); err != nil {
				return nil, false, fmt.Errorf("move household: %w", err)
			}
		}
	case cases.ChangeMoveOut:
		// 迁出 names where the member left; without a 迁入 (in the same or a later push) they
		// have left the county.
		if m.Status == cases.MemberMovedOut {
			return &no, false, nil
		}
		status = cases.MemberMovedOut
	default:
		return nil, false, fmt.Errorf("unknown 变动类型 %q", r.Change)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE registry_members SET status = $2, updated_at = now() WHERE id_number = $1`, m.IDNumber, status); err != nil {
		return nil, false, fmt.Errorf("member status: %w", err)
	}
	if err := history(ctx, tx, b, r, hash, m.HouseholdNo, status); err != nil {
		return nil, false, err
	}
	return &yes, info, nil
}

// history records the row's change of the member whose ID number hashes to hash.
func history(ctx context.Context, tx *sqlx.Tx, b *cases.Batch, r populationRow, hash, householdNo, status string) error {
	_, err := tx.ExecContext(ctx, `
		INSERT INTO registry_history (id_number, household_no, change, changed_on, batch_id, row_no, status, township_id, village)
		SELECT m.id_number, $2, $3, $4, $5, $6, $7, COALESCE(m.township_id, h.township_id), COALESCE(m.village, h.village)
		FROM registry_members m JOIN registry_households h ON h.household_no = m.household_no WHERE m.id_number = $1`,
		hash, householdNo, r.Change, r.On, b.ID, r.Row, status)
	if err != nil {
		return fmt.Errorf("registry history: %w", err)
	}
	return nil
}

// onlyWorker raises a 因就业不稳 warning for the next round when the death of m leaves its
// household without a working-age member (docs/held-and-tasks.md). The warning names a surviving member
// (the head if alive), so the round places it in the household.
func onlyWorker(ctx context.Context, tx *sqlx.Tx, k *seal.Keyring, b *cases.Batch, r populationRow, m *memberNow, now time.Time) error {
	var others []memberNow
	if err := tx.SelectContext(ctx, &others, memberNowSelect+` WHERE m.household_no = $1 AND m.status = 'active' AND m.id_number <> $2`,
		m.HouseholdNo, m.IDNumber); err != nil {
		return fmt.Errorf("household of the deceased: %w", err)
	}
	for i := range others {
		o := &others[i]
		if err := openRegistry(k, &o.IDSealed, &o.Name); err != nil {
			return err
		}
	}
	// The head first, then by ID number.
	sort.Slice(others, func(i, j int) bool {
		if hi, hj := others[i].IDNumber == others[i].Head, others[j].IDNumber == others[j].Head; hi != hj {
			return hi
		}
		return others[i].IDSealed < others[j].IDSealed
	})
	ids := make([]string, len(others))
	for i, o := range others {
		ids[i] = o.IDSealed
	}
	if len(others) == 0 || !cases.OnlyWorkerDied(r.IDNumber, ids, r.On) {
		return nil
	}
	who := others[0]
	headID := m.HeadSealed
	if err := openRegistry(k, &headID); err != nil {
		return err
	}
	detail, _ := json.Marshal(map[string]string{"类型": "零就业家庭", "说明": "户内唯一劳动年龄（16–60岁）成员死亡",
		"死亡日期": r.On.String()})
	sw := SealWarning(k, cases.CatEmployment, who.IDSealed, who.Name, headID, detail)
	_, err := tx.ExecContext(ctx, `
		INSERT INTO warnings (batch_id, row_no, category, period, rule, id_number, id_sealed, name, township_id, village,
			head_id_number, registered, detail, created_at)
		VALUES ($1, $2, 'employment', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		b.ID, r.Row, b.Period, cases.RuleOnlyWorkerDied, sw.IDHash, sw.IDSealed, sw.Name, m.HTownshipID, m.HVillage, sw.HeadHash,
		cases.Registered(m.Kind), sw.Detail, now)
	if err != nil {
		return fmt.Errorf("only-worker warning: %w", err)
	}
	return nil
}

// undispatchedPopulation loads the undispatched 人员变动 warnings, each with the registry
// household of its person (cases.GroupPopulation makes one 信息变更 case of each household).
// batches is undispatchedBatches' list.
func undispatchedPopulation(ctx context.Context, tx *sqlx.Tx, k *seal.Keyring, batches undispatchedSet) ([]cases.WarningFact, error) {
	var rows []struct {
		warningRow
		HouseholdNo string `db:"household_no"`
		HeadID      string `db:"h_head"`
		HeadName    string `db:"h_head_name"`
		HTownship   string `db:"h_township"`
		HVillage    string `db:"h_village"`
	}
	err := tx.SelectContext(ctx, &rows, `
		SELECT w.id, w.category, w.rule, COALESCE(w.amount::text, '') AS amount, w.id_number, w.id_sealed, w.name,
			t.name AS township, w.village, w.head_id_number, w.detail, h.household_no,
			COALESCE(NULLIF(hm.id_sealed, ''), CASE WHEN length(h.head_id_number) = 64 THEN '' ELSE h.head_id_number END) AS h_head,
			COALESCE(hm.name, '') AS h_head_name, ht.name AS h_township, h.village AS h_village
		FROM warnings w JOIN townships t ON t.id = w.township_id
		JOIN registry_members m ON m.id_number = w.id_number
		JOIN registry_households h ON h.household_no = m.household_no
		JOIN townships ht ON ht.id = h.township_id
		LEFT JOIN registry_members hm ON hm.id_number = h.head_id_number
		WHERE `+undispatched+` AND w.category = 'population'
		ORDER BY w.id FOR UPDATE OF w`, batches.args()...)
	if err != nil {
		return nil, fmt.Errorf("人员变动 warnings: %w", err)
	}
	out := make([]cases.WarningFact, len(rows))
	for i, r := range rows {
		if out[i], err = r.warningRow.fact(k); err != nil {
			return nil, fmt.Errorf("人员变动 warnings: %w", err)
		}
		// the head's number as their member row keeps it sealed (registryHouseholds)
		if err := k.OpenAll(&r.HeadID, &r.HeadName); err != nil {
			return nil, openErr("名册中的户主", err)
		}
		out[i].Reg = &cases.RegistryHousehold{No: r.HouseholdNo, HeadIDNumber: r.HeadID, HeadName: r.HeadName,
			Township: r.HTownship, Village: r.HVillage}
	}
	return out, nil
}

// openInfoCases finds the open 信息变更 case of each household that has one (a later change
// joins it rather than open a second).
func openInfoCases(ctx context.Context, tx *sqlx.Tx, hs []cases.Household) (map[string]cases.OpenCase, error) {
	out := map[string]cases.OpenCase{}
	if len(hs) == 0 {
		return out, nil
	}
	keys := make([]string, len(hs))
	for i, h := range hs {
		keys[i] = h.Key
	}
	var rows []struct {
		Key string `db:"household_key"`
		ID  int64  `db:"id"`
		No  string `db:"case_no"`
	}
	if err := tx.SelectContext(ctx, &rows, `SELECT household_key, id, case_no FROM cases WHERE household_key = ANY($1) AND status <> 'closed'`,
		pq.Array(keys)); err != nil {
		return nil, fmt.Errorf("open 信息变更 cases: %w", err)
	}
	for _, r := range rows {
		out[r.Key] = cases.OpenCase{ID: r.ID, No: r.No}
	}
	return out, nil
}

// executePopulation carries out the 信息变更 part of a round's plan (kind 信息变更, source 人员变动,
// due by the end of the month after dispatch, no 核查; docs/rules.md).
func (db *DB) executePopulation(ctx context.Context, tx *sqlx.Tx, planned []cases.PlannedHousehold, opt cases.DispatchOptions, at time.Time, res *cases.DispatchResult) ([]cases.Outcome, error) {
	var outs []cases.Outcome
	for _, ph := range planned {
		h := ph.Household
		if ph.Action == cases.PlanMerge {
			d, err := db.mergeInto(ctx, tx, ph, opt, at)
			if err != nil {
				return nil, err
			}
			res.Merged++
			outs = append(outs, cases.Outcome{Dispatched: d})
			continue
		}
		_, no, err := InsertCase(ctx, tx, db.Keys, NewCase{Round: opt.Month, Kind: ph.Kind, HouseholdKey: h.Key,
			HouseholdNo: h.HouseholdNo, HeadName: h.HeadName, HeadIDNumber: h.HeadIDNumber, Village: h.Village, Township: h.Township,
			DispatchedAt: at, DueOn: ph.DueOn, WarningIDs: h.WarningIDs(), Source: ph.Source}, opt.Actor, opt.Source)
		if err != nil {
			return nil, err
		}
		d := cases.Dispatched{Warnings: h.Warnings}
		if d.Case, err = caseByNo(ctx, tx, db.Keys, no, false); err != nil {
			return nil, err
		}
		if err := db.runCreated(ctx, tx, d.Case); err != nil {
			return nil, err
		}
		res.CasesCreated++
		res.ByTownship[h.Township]++
		outs = append(outs, cases.Outcome{Dispatched: d})
	}
	return outs, nil
}

// RegistryMember is `fangpin registry member`: a member with their household, place, status and
// history of 人员变动 (docs/held-and-tasks.md). ENotFound when the registry does not know the number.
func (db *DB) RegistryMember(ctx context.Context, id string) (cases.MemberRecord, error) {
	var r struct {
		IDNumber  string     `db:"id_number"`
		Household string     `db:"household_no"`
		Township  string     `db:"township"`
		Village   string     `db:"village"`
		Status    string     `db:"status"`
		RemovedAt *time.Time `db:"removed_at"`
	}
	// A 死亡/迁出 says more than 退出; otherwise a member who left their household, or whose
	// household left the registry, is removed as of that re-import.
	hash := db.Keys.IDHash(id)
	err := db.GetContext(ctx, &r, `
		SELECT m.id_sealed AS id_number, m.household_no, t.name AS township, COALESCE(m.village, h.village) AS village,
			CASE WHEN m.status <> 'active' THEN m.status
				WHEN m.removed_at IS NOT NULL OR h.status = 'removed' THEN 'removed' ELSE m.status END AS status,
			CASE WHEN m.status = 'active' THEN COALESCE(m.removed_at, CASE WHEN h.status = 'removed' THEN h.removed_at END) END AS removed_at
		FROM registry_members m JOIN registry_households h ON h.household_no = m.household_no
		JOIN townships t ON t.id = COALESCE(m.township_id, h.township_id)
		WHERE m.id_number = $1`, hash)
	if errors.Is(err, sql.ErrNoRows) {
		return cases.MemberRecord{}, cases.Errorf(cases.ENotFound, "名册中没有身份证号为 %s 的成员，请核对号码", cases.MaskIDNumber(id))
	}
	if err != nil {
		return cases.MemberRecord{}, fmt.Errorf("registry member: %w", err)
	}
	if err := openRegistry(db.Keys, &r.IDNumber); err != nil {
		return cases.MemberRecord{}, err
	}
	rec := cases.MemberRecord{IDNumber: r.IDNumber, Household: r.Household, Township: r.Township, Village: r.Village,
		Status: r.Status, History: []cases.MemberChange{}}
	if r.Status == cases.MemberRemoved && r.RemovedAt != nil {
		d := cases.DateOf(*r.RemovedAt)
		rec.RemovedOn = &d
	}
	// The household's own removal (a row without an ID number) is the member's too, and so is
	// its coming back to the registry after a removal (a household absent from one month's
	// export and listed again the next): without it, an active member's history would end in
	// 全户退出. So are the household's changes (乡镇, 村, 户类型, 风险状态, 户主) since the member
	// joined it: they change the member's own record. A household's first addition is not
	// listed: every member has one.
	var hs []struct {
		Change    string         `db:"change"`
		Fields    pq.StringArray `db:"fields"`
		Household bool           `db:"household"`
		Date      cases.Date     `db:"date"`
		BatchID   string         `db:"batch_id"`
	}
	err = db.SelectContext(ctx, &hs, `SELECT change, fields, id_number = '' AS household, changed_on AS date, batch_id FROM registry_history h
		WHERE id_number = $1 OR (id_number = '' AND household_no = $2 AND (change = $3 OR (change = $4 AND EXISTS (
			SELECT 1 FROM registry_history r WHERE r.id_number = '' AND r.household_no = $2 AND r.change = $3 AND r.id < h.id))
			OR (change = $5 AND NOT EXISTS (SELECT 1 FROM registry_history j WHERE j.id_number = $1 AND j.household_no = $2
				AND j.change = ANY($6) AND j.id > h.id))))
		ORDER BY changed_on, id`, hash, r.Household, cases.ChangeRemoved, cases.ChangeAdded, cases.ChangeChanged,
		pq.Array([]string{string(cases.ChangeAdded), string(cases.ChangeMoved), string(cases.ChangeBirth)}))
	if err != nil {
		return rec, fmt.Errorf("registry member history: %w", err)
	}
	for _, h := range hs {
		rec.History = append(rec.History, cases.MemberChange{Change: historyWord(h.Change, h.Fields, h.Household), Date: h.Date, BatchID: h.BatchID})
	}
	return rec, nil
}

// historyWord is how a member's history names a stored change (a household's own change
// as 全户…).
func historyWord(change string, fields []string, household bool) string {
	w := cases.RegistryChange{Change: change, Fields: fields}.HistoryWord()
	if household {
		return "全户" + w
	}
	return w
}

// populationChange is the code of a row's 变动类型 (intake checked the word); an unknown word
// is kept so that applyChange names it.
func populationChange(word string) cases.Change {
	if c, ok := cases.ParsePopulationChange(word); ok {
		return c
	}
	return cases.Change(word)
}
