package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/seal"
)

// dispatchLockKey serialises dispatch rounds across processes (pg_advisory_xact_lock).
const dispatchLockKey = 0x66705f6470 // "fp_dp"

var errDryRun = errors.New("dry run")

// Dispatch runs one round (docs/dispatch.md): every warning with a rule that no case holds yet is
// grouped by household; a household with an open case gets the warnings added to it
// (补充预警), any other becomes a new case of kind 新增 or 更新. Everything, messages
// included, is one transaction under an advisory lock, so concurrent or repeated rounds
// never dispatch a warning twice. A dry run does all of it and rolls back.
func (db *DB) Dispatch(ctx context.Context, opt cases.DispatchOptions) (cases.DispatchResult, error) {
	if opt.Date.IsZero() {
		opt.Date = db.Today()
	}
	if opt.Month == "" {
		opt.Month = opt.Date.MonthKey()
	}
	m, err := cases.ParseMonth(opt.Month)
	if err != nil {
		return cases.DispatchResult{}, cases.Errorf(cases.EInvalid, "月份“%s”的格式不对，请写成 YYYY-MM，例如 2026-11。", opt.Month)
	}
	// A round is of the month it is dispatched in, or an earlier one the office catches up
	// on; never of a month to come, whose data cannot have been pushed yet.
	if opt.Month = m.MonthKey(); opt.Month > opt.Date.MonthKey() {
		return cases.DispatchResult{}, cases.Errorf(cases.EInvalid, "批次月份“%s”晚于交办日所在的月份（%s），不能交办。", opt.Month, opt.Date.MonthKey())
	}
	if opt.Actor.UserID == "" {
		opt.Actor = cases.System
	}
	if opt.Source == "" {
		opt.Source = "dispatch:" + cases.Source(opt.Month)
	}
	res := cases.DispatchResult{Round: opt.Month, ByTownship: map[string]int{}, HeldList: []cases.HeldWarning{}, DryRun: opt.DryRun}
	err = db.InTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(dispatchLockKey)); err != nil {
			return fmt.Errorf("dispatch lock: %w", err)
		}
		if err := db.dispatchTx(ctx, tx, opt, &res); err != nil {
			return err
		}
		if opt.DryRun {
			return errDryRun
		}
		return nil
	})
	if err != nil && !errors.Is(err, errDryRun) {
		return cases.DispatchResult{}, fmt.Errorf("dispatch round %s: %w", opt.Month, err)
	}
	return res, nil
}

func (db *DB) dispatchTx(ctx context.Context, tx *sqlx.Tx, opt cases.DispatchOptions, res *cases.DispatchResult) error {
	// one list of the batches to read for the whole round, risk and 人员变动 warnings alike
	batches, err := undispatchedBatches(ctx, tx)
	if err != nil {
		return err
	}
	facts, err := undispatchedWarnings(ctx, tx, db.Keys, batches)
	if err != nil {
		return err
	}
	if err := markOpenCases(ctx, tx, facts); err != nil {
		return err
	}
	if err := EnsureRound(ctx, tx, opt.Month, opt.Date); err != nil {
		return err
	}
	at := db.dispatchedAt(opt.Date)
	rf, err := loadRoundFacts(ctx, tx, db.Keys, cases.GroupWarnings(facts))
	if err != nil {
		return err
	}
	// 人员变动: 信息变更 cases, apart from the risk cases.
	pop, err := undispatchedPopulation(ctx, tx, db.Keys, batches)
	if err != nil {
		return err
	}
	rf.Population = cases.GroupPopulation(pop)
	if rf.OpenInfo, err = openInfoCases(ctx, tx, rf.Population); err != nil {
		return err
	}
	rf.Date, rf.At, rf.Cal = opt.Date, at, db.Cal
	plan := cases.PlanRound(rf)
	outs, err := db.executePlan(ctx, tx, plan, opt, at, res)
	if err != nil {
		return err
	}
	infos, err := db.executePopulation(ctx, tx, plan.Population, opt, at, res)
	if err != nil {
		return err
	}
	if err := markDispatchedBatches(ctx, tx); err != nil {
		return err
	}
	outs = append(outs, infos...)
	for _, n := range cases.GroupNotices(opt.Month, outs) {
		if err := fillNotice(ctx, tx, &n); err != nil {
			return err
		}
		if err := assignResponsible(ctx, tx, &n); err != nil {
			return err
		}
		res.Notices = append(res.Notices, n)
	}
	if opt.Announce != nil && len(res.Notices) > 0 {
		if err := opt.Announce(ctx, unit{tx, db.Keys}, res.Notices); err != nil {
			return fmt.Errorf("queue messages: %w", err)
		}
	}
	return nil
}

// dispatchedAt is the time a round of day is recorded at: now when the round is today's,
// else that day at the current time of day.
func (db *DB) dispatchedAt(day cases.Date) time.Time {
	now := db.Now()
	if day == cases.DateOf(now) {
		return now
	}
	return day.At(now.In(cases.Shanghai).Hour(), now.In(cases.Shanghai).Minute())
}

// addTasks gives a case a task of each department (one per department; an open one is kept).
func (db *DB) addTasks(ctx context.Context, tx *sqlx.Tx, caseID int64, depts []string, opt cases.DispatchOptions, at time.Time) ([]cases.Task, error) {
	var out []cases.Task
	seen := map[string]bool{}
	for _, dept := range depts {
		if seen[dept] {
			continue
		}
		seen[dept] = true
		t, added, err := db.addTask(ctx, tx, cases.NewTask(caseID, dept, opt.Date, db.Cal, cases.TaskFromDispatch, ""), at, opt.Actor, opt.Source)
		if err != nil {
			return nil, err
		}
		if added {
			out = append(out, t)
		}
	}
	return out, nil
}

// earlierResult loads the household's latest case with the warnings it verified.
func earlierResult(ctx context.Context, tx *sqlx.Tx, k *seal.Keyring, key string) (cases.EarlierResult, error) {
	var e cases.EarlierResult
	var r struct {
		ID       int64      `db:"id"`
		No       string     `db:"case_no"`
		Result   string     `db:"result"`
		ClosedAt *time.Time `db:"closed_at"`
	}
	err := tx.GetContext(ctx, &r, `SELECT id, case_no, result, closed_at FROM cases WHERE household_key = $1
		ORDER BY dispatched_at DESC, id DESC LIMIT 1`, key)
	if errors.Is(err, sql.ErrNoRows) {
		return e, nil
	}
	if err != nil {
		return e, fmt.Errorf("latest case of %s: %w", key, err)
	}
	e.CaseID, e.CaseNo, e.Result = r.ID, r.No, cases.Result(r.Result)
	if r.ClosedAt != nil {
		d := cases.DateOf(*r.ClosedAt)
		e.ClosedOn = &d
	}
	if e.ClosedOn == nil || e.Result == "" {
		return e, nil // still open or closed without a result: nothing to compare with
	}
	var rows []warningRow
	if err := tx.SelectContext(ctx, &rows, warningSelect+` WHERE w.case_id = $1 AND w.held_round = '' ORDER BY w.id`, r.ID); err != nil {
		return e, fmt.Errorf("verified warnings of %s: %w", r.No, err)
	}
	if e.Verified, err = facts(k, rows); err != nil {
		return e, fmt.Errorf("verified warnings of %s: %w", r.No, err)
	}
	return e, nil
}

func caseID(ctx context.Context, q sqlx.QueryerContext, no string) (int64, error) {
	var id int64
	if err := sqlx.GetContext(ctx, q, &id, `SELECT id FROM cases WHERE case_no = $1`, no); err != nil {
		return 0, fmt.Errorf("case %s: %w", no, err)
	}
	return id, nil
}

// fillNotice adds the township's chat, its cadres and the liaisons of routed departments.
func fillNotice(ctx context.Context, tx *sqlx.Tx, n *cases.TownshipNotice) error {
	err := tx.QueryRowxContext(ctx, `SELECT appchat_id, webhook_key FROM townships WHERE name = $1`, n.Township).
		Scan(&n.AppChatID, &n.WebhookKey)
	if err != nil {
		return fmt.Errorf("township %s: %w", n.Township, err)
	}
	cadres, err := townshipCadres(ctx, tx, n.Township)
	if err != nil {
		return err
	}
	n.Cadres, n.CadreNames = nil, nil
	for _, c := range cadres {
		n.Cadres = append(n.Cadres, c.UserID)
		n.CadreNames = append(n.CadreNames, c.Name)
	}
	var depts []string
	for _, d := range n.Cases {
		depts = append(depts, d.Case.Department)
		for _, t := range d.Tasks {
			depts = append(depts, t.Department)
		}
	}
	for _, dept := range depts {
		if dept == "" || n.Liaisons[dept] != nil {
			continue
		}
		var ids []string
		err := tx.SelectContext(ctx, &ids, `
			SELECT u.userid FROM users u JOIN departments d ON d.id = u.department_id
			WHERE u.role = 'liaison' AND d.name = $1 ORDER BY u.userid`, dept)
		if err != nil {
			return fmt.Errorf("liaisons of %s: %w", dept, err)
		}
		n.Liaisons[dept] = append([]string{}, ids...)
	}
	return nil
}

type warningRow struct {
	ID       int64  `db:"id"`
	Category string `db:"category"`
	Rule     string `db:"rule"`
	Amount   string `db:"amount"`
	IDHash   string `db:"id_number"` // the keyed hash (a plain number before sealing)
	IDSealed string `db:"id_sealed"`
	Name     string `db:"name"`
	Township string `db:"township"`
	Village  string `db:"village"`
	HeadHash string `db:"head_id_number"`
	Detail   []byte `db:"detail"`
	Period   string `db:"period"`
}

// fact opens the row's person (docs/encryption.md).
func (r warningRow) fact(k *seal.Keyring) (cases.WarningFact, error) {
	id, err := openID(k, r.IDSealed, r.IDHash)
	if err != nil {
		return cases.WarningFact{}, err
	}
	name, err := k.Open(r.Name)
	if err != nil {
		return cases.WarningFact{}, openErr("姓名", err)
	}
	detail, err := k.OpenBytes(r.Detail)
	if err != nil {
		return cases.WarningFact{}, openErr("预警明细", err)
	}
	f := cases.WarningFact{ID: r.ID, Category: cases.Category(r.Category), Rule: r.Rule, Amount: r.Amount,
		IDNumber: id, Name: name, Township: r.Township, Village: r.Village, Period: r.Period,
		Detail: map[string]string{}}
	var raw map[string]any
	if json.Unmarshal(detail, &raw) == nil {
		for k, v := range raw {
			switch v := v.(type) {
			case string:
				f.Detail[k] = v
			case nil:
			default:
				b, _ := json.Marshal(v)
				f.Detail[k] = string(b)
			}
		}
	}
	// The 户主身份证号 travels in the sealed detail (its column holds the hash); a row stored
	// before sealing has it in its column.
	f.HeadIDNumber = f.Detail[headKey]
	if f.HeadIDNumber == "" && !isIDHash(r.HeadHash) {
		f.HeadIDNumber = r.HeadHash
	}
	f.IDHash, f.HeadIDHash = storedHash(k, r.IDHash), storedHash(k, r.HeadHash)
	if f.HeadIDHash == "" && f.HeadIDNumber != "" {
		f.HeadIDHash = k.IDHash(f.HeadIDNumber)
	}
	// An import no longer repeats the columns of its own in detail; rows stored before
	// that keep theirs, as read.
	for _, kv := range [...][2]string{{"姓名", f.Name}, {"身份证号", f.IDNumber}, {"乡镇", r.Township}, {"村", r.Village}, {headKey, f.HeadIDNumber}} {
		if _, ok := f.Detail[kv[0]]; !ok && kv[1] != "" {
			f.Detail[kv[0]] = kv[1]
		}
	}
	return f, nil
}

// facts opens rows.
func facts(k *seal.Keyring, rows []warningRow) ([]cases.WarningFact, error) {
	out := make([]cases.WarningFact, len(rows))
	for i, r := range rows {
		f, err := r.fact(k)
		if err != nil {
			return nil, err
		}
		out[i] = f
	}
	return out, nil
}

const warningSelect = `
	SELECT w.id, w.category, w.rule, COALESCE(w.amount::text, '') AS amount, w.id_number, w.id_sealed, w.name,
		t.name AS township, w.village, w.head_id_number, w.detail, w.period
	FROM warnings w JOIN townships t ON t.id = w.township_id`

// inBatch is the condition that the warnings of alias w belong to a batch, given as a
// parameter ("$1", its id) or as the batches row of an alias ("b"): their id in the range of
// warning ids the batch's rows took (first_warning to last_warning), which the primary key
// finds, and their batch_id the batch's, for rows of other batches a concurrent import
// numbered within that range (migration 00992).
func inBatch(w, batch string) string {
	if strings.HasPrefix(batch, "$") {
		return w + ".id BETWEEN (SELECT first_warning FROM batches WHERE id = " + batch + ") AND (SELECT last_warning FROM batches WHERE id = " +
			batch + ") AND " + w + ".batch_id = " + batch
	}
	return w + ".id BETWEEN " + batch + ".first_warning AND " + batch + ".last_warning AND " + w + ".batch_id = " + batch + ".id"
}

// undispatched is the condition of a warning with a rule that no case holds yet, for
// warnings w. No index covers all such warnings, since every imported row would pay for its
// entry (migration 00600): they are found through the batches that may still hold some, by
// the primary key over the span of those batches' warning ids ($1 to $2, their ids $3:
// undispatchedBatches), and through the partial index of the few warnings of no batch
// (申报/走访). markDispatchedBatches keeps the batches' flag. The span is passed as values so
// that the plan is made for them (a sub-select would leave the planner guessing, and it would
// read the whole table). A row superseded by a later push of the same department, category
// and period (supersede) is never dispatched.
const undispatched = `((w.id BETWEEN $1 AND $2 AND w.batch_id = ANY ($3)) OR w.batch_id IS NULL) AND w.case_id IS NULL AND w.rule <> ''
	AND ` + notSuperseded

// undispatchedSet is what undispatched's $1, $2 and $3 are: the span of the warning ids of
// the batches that may still hold warnings no case holds, and those batches.
type undispatchedSet struct {
	Lo  sql.NullInt64  `db:"lo"`
	Hi  sql.NullInt64  `db:"hi"`
	IDs pq.StringArray `db:"ids"`
}

// args are undispatched's parameters.
func (u undispatchedSet) args() []any { return []any{u.Lo, u.Hi, u.IDs} }

// undispatchedBatches finds the batches that may still hold warnings no case holds.
func undispatchedBatches(ctx context.Context, tx *sqlx.Tx) (undispatchedSet, error) {
	var u undispatchedSet
	if err := tx.GetContext(ctx, &u, `SELECT min(first_warning) AS lo, max(last_warning) AS hi, coalesce(array_agg(id ORDER BY id), '{}') AS ids
		FROM batches WHERE undispatched`); err != nil {
		return u, fmt.Errorf("undispatched batches: %w", err)
	}
	return u, nil
}

// markDispatchedBatches clears the flag of the batches whose every warning a case now holds.
func markDispatchedBatches(ctx context.Context, tx *sqlx.Tx) error {
	if _, err := tx.ExecContext(ctx, `
		UPDATE batches b SET undispatched = false WHERE b.undispatched
		AND NOT EXISTS (SELECT 1 FROM warnings w WHERE `+inBatch("w", "b")+`
			AND w.case_id IS NULL AND w.rule <> '' AND `+notSuperseded+`)`); err != nil {
		return fmt.Errorf("mark dispatched batches: %w", err)
	}
	// A dispatched push is no later push's earlier one (supersede): its prints served their turn.
	if _, err := tx.ExecContext(ctx, `DELETE FROM batch_prints p USING batches b WHERE b.id = p.batch_id AND NOT b.undispatched`); err != nil {
		return fmt.Errorf("mark dispatched batches: prints: %w", err)
	}
	return nil
}

// undispatchedWarnings loads every warning with a rule that no case holds yet, with the
// registry households of its person and of its 户主身份证号. FOR UPDATE keeps an import
// running at the same time from being half-seen. batches is undispatchedBatches' list.
func undispatchedWarnings(ctx context.Context, tx *sqlx.Tx, k *seal.Keyring, batches undispatchedSet) ([]cases.WarningFact, error) {
	var rows []warningRow
	if err := tx.SelectContext(ctx, &rows, warningSelect+` WHERE `+undispatched+` AND w.category <> 'population' ORDER BY w.id FOR UPDATE OF w`, batches.args()...); err != nil {
		return nil, fmt.Errorf("undispatched warnings: %w", err)
	}
	facts, err := facts(k, rows)
	if err != nil {
		return nil, fmt.Errorf("undispatched warnings: %w", err)
	}
	var ids []string
	for _, f := range facts {
		if f.IDHash != "" {
			ids = append(ids, f.IDHash)
		}
		if f.HeadIDHash != "" {
			ids = append(ids, f.HeadIDHash)
		}
	}
	reg, err := registryHouseholds(ctx, tx, k, ids)
	if err != nil {
		return nil, err
	}
	for i := range facts {
		f := &facts[i]
		if h, ok := reg[f.IDHash]; ok && f.IDHash != "" {
			f.Reg = h
		} else if h, ok := reg[f.HeadIDHash]; ok && f.HeadIDHash != "" {
			f.HeadReg = h
		}
	}
	return facts, nil
}

// storedHash is an ID key column's hash: itself, or the hash of a number stored before
// sealing.
func storedHash(k *seal.Keyring, key string) string {
	if key == "" || isIDHash(key) {
		return key
	}
	return k.IDHash(key)
}

// registryHouseholds maps ID hashes to the registry household they belong to, with its
// head's number and name opened.
func registryHouseholds(ctx context.Context, q sqlx.QueryerContext, k *seal.Keyring, ids []string) (map[string]*cases.RegistryHousehold, error) {
	var rs []struct {
		IDNumber string `db:"id_number"`
		No       string `db:"household_no"`
		Head     string `db:"head_id_sealed"`
		HeadName string `db:"head_name"`
		Township string `db:"township"`
		Village  string `db:"village"`
		Kind     string `db:"kind"`
		Risk     string `db:"risk_status"`
	}
	// The head's sealed number is their member row's id_sealed (docs/encryption.md); a
	// registry not sealed yet keeps the number itself in head_id_number.
	err := sqlx.SelectContext(ctx, q, &rs, `
		SELECT m.id_number, h.household_no,
			COALESCE(NULLIF(hm.id_sealed, ''), CASE WHEN length(h.head_id_number) = 64 THEN '' ELSE h.head_id_number END) AS head_id_sealed,
			COALESCE(hm.name, '') AS head_name, t.name AS township, h.village, h.kind, h.risk_status
		FROM registry_members m JOIN registry_households h ON h.household_no = m.household_no
		JOIN townships t ON t.id = h.township_id
		LEFT JOIN registry_members hm ON hm.id_number = h.head_id_number
		WHERE m.id_number = ANY($1) AND m.status = 'active' AND m.removed_at IS NULL AND h.status = 'active'`, pq.Array(ids))
	if err != nil {
		return nil, fmt.Errorf("registry households: %w", err)
	}
	out := make(map[string]*cases.RegistryHousehold, len(rs))
	for _, r := range rs {
		if err := k.OpenAll(&r.Head, &r.HeadName); err != nil {
			return nil, openErr("名册中的户主", err)
		}
		out[r.IDNumber] = &cases.RegistryHousehold{No: r.No, HeadIDNumber: r.Head, HeadName: r.HeadName,
			Township: r.Township, Village: r.Village, Kind: r.Kind, Risk: r.Risk}
	}
	return out, nil
}

// CaseWarnings returns the warnings a case holds, oldest first, for private views.
func (db *DB) CaseWarnings(ctx context.Context, caseID int64) ([]cases.WarningFact, error) {
	var rows []warningRow
	if err := db.SelectContext(ctx, &rows, warningSelect+` WHERE w.case_id = $1 ORDER BY w.id`, caseID); err != nil {
		return nil, fmt.Errorf("warnings of case %d: %w", caseID, err)
	}
	return facts(db.Keys, rows)
}
