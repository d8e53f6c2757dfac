// Package monthtest builds a synthetic month by hand on a fresh test database: an org, the
// departments' batches with chosen arrival times, cases with chosen due dates, and what the
// cadres and supervisors did to them on chosen days (through the store's real transitions).
// Tests compute what the reports should say from Plan themselves and compare.
package monthtest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/orgfile"
	"github.com/fangpin/fangpin/cases/postgres"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
)

// Org is the test county.
const Org = `
county: 测试县
townships:
  - name: 城关镇
    aliases: [城关]
    chat: {appchat: wrCG0001}
  - name: 河口乡
    chat: {webhook_key: hekou-key}
  - name: 青山镇
    chat: {appchat: wrQS0003}
departments:
  - name: 医保局
    categories: [medical, assurance]
  - name: 卫健委
    categories: [serious_illness, epidemic]
  - name: 教体局
    categories: [education]
  - name: 人社局
    categories: [employment]
  - name: 民政局
    categories: [assistance]
  - name: 公安局
    categories: [population]
  - name: 应急管理局
    categories: [disaster]
users:
  - {userid: zhangsan, name: 张三, role: cadre, township: 城关镇}
  - {userid: lisi, name: 李四, role: cadre, township: 河口乡}
  - {userid: qian, name: 钱八, role: cadre, township: 青山镇}
  - {userid: zhaoliu, name: 赵六, role: office}
  - {userid: sunqi, name: 孙七, role: supervisor}
  - {userid: zhoujiu, name: 周九, role: supervisor}
`

// Cadres maps townships to their cadre's userid.
var Cadres = map[string]string{"城关镇": "zhangsan", "河口乡": "lisi", "青山镇": "qian"}

// Supervisor is the supervisor who records findings.
const Supervisor = "sunqi"

// Month is the fixture's round; AsOf is when the reports are read.
var (
	Month    = "2026-11"
	Dispatch = cases.MustDate("2026-11-10")
	AsOf     = cases.MustDate("2026-12-10").At(10, 0)
)

// Batch is one department push.
type Batch struct {
	Department string
	Category   cases.Category
	Period     string
	Received   time.Time
}

// Batches of the fixture: 医保局 on time (and once more later), 卫健委 late, 人社局 never,
// 民政局 and 公安局 on the deadline day, 应急管理局 (not scored) whenever.
var Batches = []Batch{
	{"医保局", cases.CatMedical, "2026-10", cases.MustDate("2026-11-04").At(16, 0)},
	{"医保局", cases.CatMedical, "2026-10", cases.MustDate("2026-11-09").At(9, 0)}, // a correction, after the deadline
	{"医保局", cases.CatAssurance, "2026-10", cases.MustDate("2026-11-02").At(9, 0)},
	{"卫健委", cases.CatSeriousIllness, "2026-10", cases.MustDate("2026-11-06").At(8, 30)},
	{"民政局", cases.CatAssistance, "2026-10", cases.MustDate("2026-11-05").At(23, 30)},
	{"公安局", cases.CatPopulation, "2026-10", cases.MustDate("2026-11-05").At(10, 0)},
	{"应急管理局", cases.CatDisaster, "2026-11", cases.MustDate("2026-11-03").At(10, 0)},
	{"人社局", cases.CatEmployment, "2026-09", cases.MustDate("2026-10-05").At(10, 0)}, // last month's push only
}

// Step is something done to a case on a day (10:00 Shanghai).
type Step struct {
	On     string // YYYY-MM-DD
	Action cases.Action
	Result cases.Result // ActVerify
	Note   string       // reason / 说明
	Date   string       // ActEnter: the 录入 date typed (default On)
}

// Case is one planned case.
type Case struct {
	Round      string
	Township   string
	Village    string
	Head       string
	HeadID     string
	Categories []cases.Category
	DueOn      string
	Steps      []Step
	Picked     bool // drawn for a spot check, not yet decided
}

var (
	include = func(on string) Step {
		return Step{On: on, Action: cases.ActVerify, Result: cases.ResultInclude, Note: "符合监测条件"}
	}
	monitored = func(on string) Step {
		return Step{On: on, Action: cases.ActVerify, Result: cases.ResultMonitored, Note: "已在监测，调整帮扶措施"}
	}
	exclude = func(on string) Step {
		return Step{On: on, Action: cases.ActVerify, Result: cases.ResultExclude, Note: "家庭年人均收入高于监测标准"}
	}
	enter    = func(on string) Step { return Step{On: on, Action: cases.ActEnter} }
	spotPass = func(on string) Step { return Step{On: on, Action: cases.ActSpotPass, Note: "入户核实无误"} }
	spotFail = func(on string) Step { return Step{On: on, Action: cases.ActSpotFail, Note: "未实际入户核查"} }
)

// Plan is the synthetic month: the case numbers follow the order (YJ202611-0001…), the
// October case is YJ202610-0001.
var Plan = []Case{
	{Month, "城关镇", "东街村", "王试一", "990101199001011234", []cases.Category{cases.CatMedical}, "2026-12-08",
		[]Step{include("2026-11-15"), enter("2026-11-20"), spotPass("2026-12-01")}, false},
	{Month, "城关镇", "东街村", "李试二", "990101198502021234", []cases.Category{cases.CatMedical, cases.CatAssurance}, "2026-12-08",
		[]Step{exclude("2026-11-16"), spotFail("2026-12-02")}, false},
	{Month, "城关镇", "西街村", "张试三", "990101197003031234", []cases.Category{cases.CatSeriousIllness}, "2026-11-20",
		[]Step{include("2026-11-18"), enter("2026-11-25")}, false},
	{Month, "城关镇", "西街村", "赵试四", "990101196004041234", []cases.Category{cases.CatEmployment}, "2026-11-20", nil, false},
	{Month, "城关镇", "南关村", "钱试五", "990101199505051234", []cases.Category{cases.CatEmployment}, "2026-12-20",
		[]Step{monitored("2026-12-01")}, false},
	{Month, "河口乡", "河东村", "孙试六", "990101198806061234", []cases.Category{cases.CatMedical}, "2026-12-08",
		[]Step{exclude("2026-11-12"), spotFail("2026-11-20"), exclude("2026-12-05")}, false},
	{Month, "河口乡", "河东村", "周试七", "990101197707071234", []cases.Category{cases.CatAssistance}, "2026-12-08",
		[]Step{include("2026-11-20"), enter("2026-12-09")}, false},
	{Month, "河口乡", "河西村", "吴试八", "990101196608081234", []cases.Category{cases.CatPopulation}, "2026-12-20", nil, false},
	{Month, "河口乡", "河西村", "郑试九", "990101195509091234", []cases.Category{cases.CatDisaster}, "2026-12-08",
		[]Step{exclude("2026-11-11")}, true},
	{Month, "河口乡", "河西村", "冯试十", "990101194410101234", []cases.Category{cases.CatAssistance, cases.CatMedical}, "2026-12-08",
		[]Step{monitored("2026-11-13"), enter("2026-11-14")}, false},
	{"2026-10", "城关镇", "东街村", "陈试甲", "990101193311111234", []cases.Category{cases.CatMedical}, "2026-11-06",
		[]Step{exclude("2026-10-20")}, false},
}

// Setup returns a migrated store with the org applied, the batches and the plan played,
// and the clock left at AsOf. It returns the case numbers in plan order.
func Setup(t testing.TB) (*postgres.DB, []string) {
	t.Helper()
	db, nos, _ := SetupURL(t)
	return db, nos
}

// SetupURL is Setup that also returns the database's URL (for running the CLI on it).
func SetupURL(t testing.TB) (*postgres.DB, []string, string) {
	t.Helper()
	return SetupWith(t, Plan, Dispatch)
}

// SetupWith is SetupURL with another plan, whose round Month is dispatched on dispatch
// (other rounds on their 10th).
func SetupWith(t testing.TB, plan []Case, dispatch cases.Date) (*postgres.DB, []string, string) {
	t.Helper()
	ctx := context.Background()
	url := pgtest.MigratedURL(t)
	db, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	org, err := orgfile.Parse([]byte(Org))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ApplyOrg(ctx, org); err != nil {
		t.Fatal(err)
	}
	batchIDs := insertBatches(ctx, t, db)
	var nos []string
	for i, p := range plan {
		on := dispatch
		if p.Round != Month {
			on = cases.MustDate(p.Round + "-10")
		}
		no, err := insertCase(ctx, db, i, p, on, batchIDs)
		if err != nil {
			t.Fatal(err)
		}
		nos = append(nos, no)
		playSteps(ctx, t, db, i, no, p)
		if p.Picked {
			if _, err := db.ExecContext(ctx, `INSERT INTO spot_checks (case_id, month, seed, sampled)
				SELECT id, round, 7, true FROM cases WHERE case_no = $1`, no); err != nil {
				t.Fatal(err)
			}
		}
	}
	db.Now = func() time.Time { return AsOf }
	return db, nos, url
}

// insertBatches stores Batches (B01, B02, ...) and returns, per category, the first batch of it.
func insertBatches(ctx context.Context, t testing.TB, db *postgres.DB) map[string]string {
	t.Helper()
	batchIDs := map[string]string{}
	for i, b := range Batches {
		id := fmt.Sprintf("B%02d", i+1)
		sum := sha256.Sum256([]byte(id))
		_, err := db.ExecContext(ctx, `
			INSERT INTO batches (id, department_id, category, period, sha256, received_at)
			VALUES ($1, (SELECT id FROM departments WHERE name = $2), $3, $4, $5, $6)`,
			id, b.Department, string(b.Category), b.Period, hex.EncodeToString(sum[:]), b.Received)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := batchIDs[string(b.Category)]; !ok {
			batchIDs[string(b.Category)] = id
		}
	}
	return batchIDs
}

// insertCase dispatches the plan's i-th case on dispatch, with one warning per category, and
// returns its number.
func insertCase(ctx context.Context, db *postgres.DB, i int, p Case, dispatch cases.Date, batchIDs map[string]string) (string, error) {
	due := cases.MustDate(p.DueOn)
	var no string
	err := db.InTx(ctx, func(tx *sqlx.Tx) error {
		if err := postgres.EnsureRound(ctx, tx, p.Round, dispatch); err != nil {
			return err
		}
		var wids []int64
		for j, c := range p.Categories {
			bid, ok := batchIDs[string(c)]
			if !ok {
				return fmt.Errorf("no batch for %s", c)
			}
			var wid int64
			sw := postgres.SealWarning(db.Keys, c, p.HeadID, p.Head, "", nil)
			err := tx.QueryRowxContext(ctx, `
				INSERT INTO warnings (batch_id, row_no, category, period, rule, id_number, id_sealed, name, township_id, village, detail)
				VALUES ($1, $2, $3, '2026-10', 'every_row', $4, $5, $6, (SELECT id FROM townships WHERE name = $7), $8, $9)
				RETURNING id`, bid, i*10+j+2, string(c), sw.IDHash, sw.IDSealed, sw.Name, p.Township, p.Village, sw.Detail).Scan(&wid)
			if err != nil {
				return err
			}
			wids = append(wids, wid)
		}
		var err error
		_, no, err = postgres.InsertCase(ctx, tx, db.Keys, postgres.NewCase{
			Round: p.Round, Kind: cases.KindNew, HouseholdKey: fmt.Sprintf("H%02d", i+1), HeadName: p.Head,
			HeadIDNumber: p.HeadID, Village: p.Village, Township: p.Township,
			DispatchedAt: dispatch.At(10, 0), DueOn: due, WarningIDs: wids,
		}, cases.System, "test")
		return err
	})
	return no, err
}

// playSteps does the plan case's steps to case no through the store's real transitions, each
// on its day: the township's cadre verifies and enters, the supervisor spot-checks.
func playSteps(ctx context.Context, t testing.TB, db *postgres.DB, i int, no string, p Case) {
	t.Helper()
	cadre, _ := db.Actor(ctx, Cadres[p.Township])
	sup, _ := db.Actor(ctx, Supervisor)
	for _, s := range p.Steps {
		on := cases.MustDate(s.On)
		db.Now = func() time.Time { return on.At(10, 0) }
		var err error
		switch s.Action {
		case cases.ActSpotPass, cases.ActSpotFail:
			_, err = db.SpotCheck(ctx, no, sup, s.Action == cases.ActSpotPass, s.Note, "test", nil)
		case cases.ActEnter:
			typed := on
			if s.Date != "" {
				typed = cases.MustDate(s.Date)
			}
			_, err = db.Transition(ctx, no, cadre, cases.Command{Action: cases.ActEnter, Date: typed}, "test")
		default:
			_, err = db.Transition(ctx, no, cadre, cases.Command{Action: s.Action, Result: s.Result, Reason: s.Note}, "test")
		}
		if err != nil {
			t.Fatalf("plan case %d (%s) step %+v: %v", i+1, no, s, err)
		}
	}
}

// AssessDispatch is the day AssessPlan's round was dispatched: the 12th, two days after the
// office's deadline.
var AssessDispatch = cases.MustDate("2026-11-12")

// AssessPlan is a second hand-made month for the assessment's rules (docs/dispatch.md and docs/assessment.md), read at
// AsOf (2026-12-10). Play it with SetupWith(t, AssessPlan, AssessDispatch).
//
//	YJ202611-0001 城关镇  纳入, 录入 typed on 12-09 dated 11-27, due 11-30: on time by the date typed; spot check 合格
//	YJ202611-0002 城关镇  不纳入 recorded 12-02, due 12-01: late by the day of the result
//	YJ202611-0003 城关镇  untouched, due 12-20: open, not judged
//	YJ202611-0004 城关镇  纳入 on 11-25, not yet entered, due 12-20: open, fed back
//	YJ202611-0005 城关镇  不纳入 on 11-28, due 12-08: on time
//	YJ202611-0006 河口乡  closed 11-16, returned by a spot check on 11-20 (new due 12-04,
//	                      original 12-08), redone and entered 12-03: on time by the new date
//	YJ202611-0007 河口乡  untouched, found 不合格 while open on 11-25: due stays 12-08, overdue
//	YJ202611-0008 河口乡  区域排查 (no person), untouched, due 12-20
//	青山镇 has nothing.
var AssessPlan = []Case{
	{Month, "城关镇", "东街村", "王考一", "990101199001011234", []cases.Category{cases.CatMedical}, "2026-11-30",
		[]Step{include("2026-11-20"), {On: "2026-12-09", Action: cases.ActEnter, Date: "2026-11-27"}, spotPass("2026-12-09")}, false},
	{Month, "城关镇", "东街村", "李考二", "990101198502021234", []cases.Category{cases.CatMedical}, "2026-12-01",
		[]Step{exclude("2026-12-02")}, false},
	{Month, "城关镇", "西街村", "张考三", "990101197003031234", []cases.Category{cases.CatSeriousIllness}, "2026-12-20", nil, false},
	{Month, "城关镇", "西街村", "赵考四", "990101196004041234", []cases.Category{cases.CatAssistance}, "2026-12-20",
		[]Step{include("2026-11-25")}, false},
	{Month, "城关镇", "南关村", "钱考五", "990101199505051234", []cases.Category{cases.CatMedical}, "2026-12-08",
		[]Step{exclude("2026-11-28")}, false},
	{Month, "河口乡", "河东村", "孙考六", "990101198806061234", []cases.Category{cases.CatMedical, cases.CatAssurance}, "2026-12-08",
		[]Step{include("2026-11-15"), enter("2026-11-16"), spotFail("2026-11-20"), include("2026-12-01"), enter("2026-12-03")}, false},
	{Month, "河口乡", "河东村", "周考七", "990101197707071234", []cases.Category{cases.CatAssistance}, "2026-12-08",
		[]Step{spotFail("2026-11-25")}, false},
	{Month, "河口乡", "河西村", "", "", []cases.Category{cases.CatDisaster}, "2026-12-20", nil, false},
}
