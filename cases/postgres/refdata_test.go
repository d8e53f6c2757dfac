package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/orgfile"
	"github.com/fangpin/fangpin/cases/postgres"
	"github.com/fangpin/fangpin/cases/postgres/dispatchtest"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
	"github.com/fangpin/fangpin/cases/synth"
)

// renamedOrg is dispatchtest.Org after 河口乡 became 河口镇 and its cadre 李四 left for 王五.
var renamedOrg = strings.NewReplacer(
	"  - name: 河口乡\n", "  - name: 河口镇\n    formerly: [河口乡]\n",
	"{userid: lisi, name: 李四, role: cadre, township: 河口乡}", "{userid: wangwu, name: 王五, role: cadre, township: 河口镇}",
).Replace(dispatchtest.Org)

func applyOrg(t *testing.T, db *postgres.DB, text string) error {
	t.Helper()
	org, err := orgfile.Parse([]byte(text))
	if err != nil {
		t.Fatalf("parse org: %v", err)
	}
	_, err = db.ApplyOrg(context.Background(), org)
	return err
}

func TestRenamedTownshipKeepsItsCases(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, p := dispatchtest.New(t)
	db.Now = func() time.Time { return cases.MustDate("2026-11-10").At(9, 30) }
	dispatchtest.Warn(t, db, p)
	if _, err := db.Dispatch(ctx, dispatchOpts(false)); err != nil {
		t.Fatal(err)
	}
	before, err := db.ListCases(ctx, cases.CaseFilter{Township: "河口乡"})
	if err != nil || len(before) == 0 {
		t.Fatalf("河口乡 cases before the rename: %d, %v", len(before), err)
	}
	var oldID int
	if err := db.Get(&oldID, `SELECT id FROM townships WHERE name = '河口乡'`); err != nil {
		t.Fatal(err)
	}

	// A month-end reminder planned for the group under its old name, keyed as planning keys it.
	if _, err := db.Exec(`INSERT INTO reminders (key, kind, township_id, target, due_at)
		VALUES ('month:2026-11:month_end:河口乡:group:河口乡', 'month_end', $1, 'group:河口乡', '2026-11-25 09:00+08')`, oldID); err != nil {
		t.Fatal(err)
	}
	if err := applyOrg(t, db, renamedOrg); err != nil {
		t.Fatalf("apply the renamed org: %v", err)
	}
	var target, key string
	if err := db.QueryRowx(`SELECT target, key FROM reminders WHERE kind = 'month_end'`).Scan(&target, &key); err != nil || target != "group:河口镇" || key != "month:2026-11:month_end:河口镇:group:河口镇" {
		t.Errorf("the pending reminder now goes to %q (key %q, %v), want group:河口镇", target, key, err)
	}
	if err := applyOrg(t, db, renamedOrg); err != nil {
		t.Fatalf("apply the renamed org twice: %v", err)
	}
	var newID, n int
	if err := db.Get(&newID, `SELECT id FROM townships WHERE name = '河口镇'`); err != nil || newID != oldID {
		t.Fatalf("河口镇 has id %d (%v), want the row of 河口乡 (%d)", newID, err, oldID)
	}
	if err := db.Get(&n, `SELECT count(*) FROM townships`); err != nil || n != 2 {
		t.Errorf("%d townships after the rename, want 2", n)
	}
	for _, name := range []string{"河口乡", "河口镇"} {
		got, err := db.ListCases(ctx, cases.CaseFilter{Township: name})
		if err != nil || len(got) != len(before) {
			t.Errorf("--township %s finds %d cases (%v), want %d", name, len(got), err, len(before))
		}
		for _, c := range got {
			if c.Township != "河口镇" {
				t.Errorf("case %s is in %s, want 河口镇", c.No, c.Township)
			}
		}
	}
	names, err := db.TownshipNames(ctx)
	if err != nil || names["河口乡"] != "河口镇" {
		t.Errorf("the 乡镇 column's 河口乡 resolves to %q (%v), want 河口镇", names["河口乡"], err)
	}
	if a, err := db.Actor(ctx, "wangwu"); err != nil || a.Township != "河口镇" {
		t.Errorf("new cadre 王五 = %+v, %v; want a cadre of 河口镇", a, err)
	}
	_, err = db.Actor(ctx, "lisi")
	if cases.ErrorCode(err) != cases.EForbidden || !strings.Contains(cases.ErrorMessage(err), "李四") {
		t.Errorf("the cadre who left gets %v, want a polite refusal naming 李四", err)
	}
	var role, former string
	if err := db.QueryRowx(`SELECT role, former_role FROM users WHERE userid = 'lisi'`).Scan(&role, &former); err != nil || role != "former" || former != "cadre" {
		t.Errorf("李四 is kept as role %q former %q (%v), want former/cadre", role, former, err)
	}
	if ids, _ := db.UsersOf(ctx, cases.RoleCadre, "河口镇", ""); len(ids) != 1 || ids[0] != "wangwu" {
		t.Errorf("cadres of 河口镇 = %v, want [wangwu]", ids)
	}
}

func TestOrgApplyRefusesStrandedCases(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, p := dispatchtest.New(t)
	db.Now = func() time.Time { return cases.MustDate("2026-11-10").At(9, 30) }
	dispatchtest.Warn(t, db, p)
	if _, err := db.Dispatch(ctx, dispatchOpts(false)); err != nil {
		t.Fatal(err)
	}
	// Renamed without `formerly`: 河口乡 keeps its open cases but loses its only cadre.
	noFormer := strings.Replace(renamedOrg, "    formerly: [河口乡]\n", "", 1)
	err := applyOrg(t, db, noFormer)
	if err == nil {
		t.Fatal("an org that strands 河口乡's open cases was applied")
	}
	msg := cases.ErrorMessage(err)
	open, _ := db.ListCases(ctx, cases.CaseFilter{Township: "河口乡", OpenOnly: true})
	if !strings.Contains(msg, "河口乡") || len(open) == 0 || !strings.Contains(msg, open[0].No) || !strings.Contains(msg, "formerly") {
		t.Errorf("refusal = %q, want 河口乡, its open case numbers and the formerly hint", msg)
	}
	var n int
	if err := db.Get(&n, `SELECT count(*) FROM townships WHERE name = '河口镇'`); err != nil || n != 0 {
		t.Errorf("the refused apply left 河口镇 behind (%d, %v)", n, err)
	}
	if _, err := db.Actor(ctx, "lisi"); err != nil {
		t.Errorf("the refused apply deactivated 李四: %v", err)
	}
}

func TestOrgRefusesANameClaimedTwice(t *testing.T) {
	t.Parallel()
	twice := strings.Replace(renamedOrg, "    aliases: [城关]\n", "    aliases: [城关]\n    formerly: [河口乡]\n", 1)
	_, err := orgfile.Parse([]byte(twice))
	if err == nil || !strings.Contains(err.Error(), "河口乡") || !strings.Contains(err.Error(), "只能属于一个乡镇") {
		t.Errorf("a former name claimed by two townships: %v", err)
	}
}

func TestMergedTownshipsBecomeOne(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, p := dispatchtest.New(t)
	db.Now = func() time.Time { return cases.MustDate("2026-11-10").At(9, 30) }
	dispatchtest.Warn(t, db, p)
	if _, err := db.Dispatch(ctx, dispatchOpts(false)); err != nil {
		t.Fatal(err)
	}
	all, _ := db.ListCases(ctx, cases.CaseFilter{})
	// 河口乡 has registry history of its own (a member who moved in): it goes along.
	_, err := db.Exec(`WITH t AS (SELECT id FROM townships WHERE name = '河口乡')
		INSERT INTO registry_history (id_number, household_no, change, changed_on, batch_id, township_id)
		SELECT $1, 'H0002', 'move_in', '2026-10-12', 'B-test', t.id FROM t`, p.B.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE registry_members SET township_id = (SELECT id FROM townships WHERE name = '河口乡') WHERE id_number = $1`, p.B.ID); err != nil {
		t.Fatal(err)
	}
	merged := `
county: 测试县
townships:
  - name: 城河镇
    formerly: [城关镇, 河口乡]
    aliases: [城关]
    chat: {appchat: wrCG0001}
departments:
  - {name: 医保局, categories: [medical, assurance]}
users:
  - {userid: zhangsan, name: 张三, role: cadre, township: 城河镇}
  - {userid: zhaoliu, name: 赵六, role: office}
`
	if err := applyOrg(t, db, merged); err != nil {
		t.Fatalf("merge: %v", err)
	}
	var history int
	if err := db.Get(&history, `SELECT count(*) FROM registry_history h JOIN townships t ON t.id = h.township_id WHERE t.name = '城河镇'`); err != nil || history != 1 {
		t.Errorf("registry history in the merged township: %d (%v), want 1", history, err)
	}
	// The history is still append-only in every other way.
	if _, err := db.Exec(`UPDATE registry_history SET change = 'death'`); err == nil {
		t.Error("registry history was rewritten")
	}
	for _, name := range []string{"城关镇", "河口乡", "城河镇", "城关"} {
		got, err := db.ListCases(ctx, cases.CaseFilter{Township: name})
		if err != nil || len(got) != len(all) {
			t.Errorf("--township %s finds %d cases (%v), want all %d", name, len(got), err, len(all))
		}
	}
}

func TestAreaAlertsBecomeOneSweepPerTownshipAndEvent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, p := dispatchtest.New(t)
	db.Now = func() time.Time { return cases.MustDate("2026-11-10").At(9, 30) }
	dispatchtest.Warn(t, db, p)
	flood := map[string]any{"灾害名称": "2026年10月河口洪涝", "受灾情况": "农田受淹"}
	for _, v := range []string{"西村", "东村", "西村"} {
		pgtest.InsertWarning(t, db, pgtest.Warning{Department: "应急管理局", Category: "disaster", Rule: "every_row", Township: "河口乡", Village: v, Detail: flood})
	}
	pgtest.InsertWarning(t, db, pgtest.Warning{Department: "卫健委", Category: "epidemic", Rule: "every_row", Township: "河口乡", Village: "南村",
		Detail: map[string]any{"事件名称": "河口乡流感聚集", "事件级别": "重大"}})
	res, err := db.Dispatch(ctx, dispatchOpts(false))
	if err != nil {
		t.Fatal(err)
	}
	all, _ := db.ListCases(ctx, cases.CaseFilter{Township: "河口乡"})
	var sweeps []cases.Case
	for _, c := range all {
		if c.Kind == cases.KindSweep {
			sweeps = append(sweeps, c)
		}
	}
	if len(sweeps) != 2 {
		t.Fatalf("河口乡 has %d 区域排查 tasks, want 2 (one per event): %+v", len(sweeps), all)
	}
	var flood1 cases.Case
	for _, c := range sweeps {
		if len(c.Categories) == 1 && c.Categories[0] == cases.CatDisaster {
			flood1 = c
		}
	}
	if flood1.Village != "西村、东村" || flood1.HeadName != "" || flood1.DueOn != cases.MustDate("2026-12-08") {
		t.Errorf("flood task = village %q head %q due %s; want every village named once, no head, due 2026-12-08", flood1.Village, flood1.HeadName, flood1.DueOn)
	}
	if res.ByTownship["河口乡"] != 3 {
		t.Errorf("by_township 河口乡 = %d, want 3 (one household, two tasks)", res.ByTownship["河口乡"])
	}

	lisi, _ := db.Actor(ctx, "lisi")
	zhangsan, _ := db.Actor(ctx, "zhangsan")
	if _, err := db.Transition(ctx, flood1.No, lisi, cases.Command{Action: cases.ActVerify, Result: cases.ResultInclude, Reason: "已核实"}, "test"); cases.ErrorCode(err) != cases.EInvalid || !strings.Contains(cases.ErrorMessage(err), "排查 "+flood1.No+" 完成") {
		t.Errorf("核查 … 纳入 on a 区域排查: %v, want a refusal pointing at 排查 … 完成", err)
	}

	// A household the sweep found, reported with 走访: linked to the task.
	db.Now = func() time.Time { return cases.MustDate("2026-11-16").At(10, 0) }
	found := dispatchtest.Person{Name: "何水生", ID: synth.New(99).IDNumber(1979)}
	if _, err := db.ReportSelfFound(ctx, cases.SelfFound{Source: cases.SourceVisit, IDNumber: found.ID, Name: found.Name,
		Category: cases.CatDisaster, Situation: "房屋进水，家庭收入受损", Actor: lisi, Src: "test"}); err != nil {
		t.Fatal(err)
	}

	if _, err := db.CompleteSweep(ctx, flood1.No, zhangsan, cases.SweepDone{Found: 1, Note: "已逐村排查"}, "test"); cases.ErrorCode(err) != cases.EForbidden {
		t.Errorf("a cadre of another township completed the task: %v", err)
	}
	sw, err := db.CompleteSweep(ctx, flood1.No, lisi, cases.SweepDone{Found: 1, Note: "已逐村排查受灾农户"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	if sw.Case.Status != cases.StatusClosed || sw.Case.Result != "" || *sw.Found != 1 || len(sw.Linked) != 1 || !strings.Contains(strings.Join(sw.Villages, ","), "东村") {
		t.Errorf("completed sweep = %+v, want closed without a 纳入, 1 found, 1 linked", sw)
	}
	if _, err := db.CompleteSweep(ctx, flood1.No, lisi, cases.SweepDone{Found: 1, Note: "已逐村排查受灾农户"}, "test"); cases.ErrorCode(err) != cases.EIllegal {
		t.Errorf("a second 完成: %v", err)
	}

	a, err := db.Assess(ctx, "2026-11")
	if err != nil {
		t.Fatal(err)
	}
	hk, _ := a.Township("河口乡")
	if hk.Dispatched != 2 || a.Total.Include != 0 {
		t.Errorf("河口乡 households dispatched = %d (total 纳入 %d), want 2: the tasks are counted apart", hk.Dispatched, a.Total.Include)
	}
	if len(a.AreaSweeps) != 1 || a.AreaSweeps[0].Tasks != 2 || a.AreaSweeps[0].Done != 1 || a.AreaSweeps[0].Found != 1 || a.AreaSweeps[0].Linked != 1 {
		t.Errorf("area sweeps = %+v, want 河口乡 2 tasks, 1 done, 1 found, 1 linked", a.AreaSweeps)
	}
}

func TestMonthEndListsEarlierMonthsCasesOverdueFirst(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, p := dispatchtest.New(t)
	db.Now = func() time.Time { return cases.MustDate("2026-11-10").At(9, 30) }
	dispatchtest.Warn(t, db, p)
	if _, err := db.Dispatch(ctx, dispatchOpts(false)); err != nil {
		t.Fatal(err)
	}
	nov, _ := db.ListCases(ctx, cases.CaseFilter{Round: "2026-11"})
	byKey := map[string]cases.Case{}
	for _, c := range nov {
		byKey[c.HouseholdKey] = c
	}
	h1, h2 := byKey["hh:H0001"], byKey["hh:H0002"]
	zhangsan, _ := db.Actor(ctx, "zhangsan")
	lisi, _ := db.Actor(ctx, "lisi")
	// H1 has its result in November; H2 is closed.
	if _, err := db.Transition(ctx, h1.No, zhangsan, cases.Command{Action: cases.ActVerify, Result: cases.ResultInclude, Reason: "符合监测条件"}, "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Transition(ctx, h2.No, lisi, cases.Command{Action: cases.ActVerify, Result: cases.ResultExclude, Reason: "家庭收入稳定，无返贫风险"}, "test"); err != nil {
		t.Fatal(err)
	}
	// December: H1 takes a 补充预警 of a new category; nothing new for anyone else.
	db.Now = func() time.Time { return cases.MustDate("2026-12-10").At(9, 30) }
	pgtest.InsertWarning(t, db, pgtest.Warning{Department: "人社局", Category: "employment", Rule: "every_row", IDNumber: p.A.ID, Name: p.A.Name, Township: "城关镇", Village: "东村", Period: "2026-11"})
	if _, err := db.Dispatch(ctx, cases.DispatchOptions{Month: "2026-12", Date: cases.MustDate("2026-12-10")}); err != nil {
		t.Fatal(err)
	}
	today := cases.MustDate("2026-12-28")
	db.Now = func() time.Time { return today.At(9, 0) }
	got, err := postgres.CarryOver(ctx, db, db.Keys, "2026-12", "城关镇", today)
	if err != nil {
		t.Fatal(err)
	}
	var nos []string
	for _, c := range got {
		nos = append(nos, c.No)
	}
	// November's three open 城关镇 households without a result (overdue: due 12-08) and H1,
	// which has a result but took a 补充预警 in December; overdue ones first.
	if len(got) != 4 {
		t.Fatalf("城关镇 month-end list = %v, want 4 cases", nos)
	}
	for i, c := range got {
		if c.No == h1.No && !c.Supplemented {
			t.Errorf("%s is not marked as having taken a 补充预警 this month", h1.No)
		}
		if c.No != h1.No && (!c.Overdue || !c.NoResult()) {
			t.Errorf("%s: overdue %v, no result %v; want an overdue case without a result", c.No, c.Overdue, c.NoResult())
		}
		if i > 0 && c.Overdue && !got[i-1].Overdue {
			t.Errorf("overdue %s listed after %s, which is not overdue", c.No, got[i-1].No)
		}
	}
	if !strings.Contains(strings.Join(nos, ","), h1.No) {
		t.Errorf("the older case with a 补充预警 this month (%s) is missing: %v", h1.No, nos)
	}
	text := cases.CarryOverText("城关镇", "2026-12", today.LastOfMonth(), today, db.Cal, got)
	// 12-08 to 12-28: 3 + 5 + 5 + 1 working days
	for _, want := range []string{"已逾期 14 个工作日（时限 2026-12-08）", "本月有补充预警", h1.No, "王*国"} {
		if !strings.Contains(text, want) {
			t.Errorf("month-end reminder lacks %q:\n%s", want, text)
		}
	}
	for _, secret := range []string{p.A.ID, p.A.Name, p.Disease, p.Amount} {
		if strings.Contains(text, secret) {
			t.Errorf("month-end reminder (a group text) shows %q", secret)
		}
	}
	// 河口乡's only open case is November's 区域排查: it still gets its reminder.
	hk, err := postgres.CarryOver(ctx, db, db.Keys, "2026-12", "河口乡", today)
	if err != nil || len(hk) != 1 || hk[0].Kind != string(cases.KindSweep) {
		t.Errorf("河口乡 month-end list = %+v (%v), want its November 区域排查", hk, err)
	}
	// The office's last-working-day summary carries the same earlier cases.
	sum, err := db.MonthEndSummary(ctx, "2026-12")
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.CarriedOver) != 5 || !strings.Contains(sum.Text(), "往月交办仍未办完 5 户") {
		t.Errorf("office summary carries %d earlier cases:\n%s", len(sum.CarriedOver), sum.Text())
	}
}

func TestOtherTownshipIsToldWhereTheHouseholdWent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, p := dispatchtest.New(t)
	db.Now = func() time.Time { return cases.MustDate("2026-11-10").At(9, 30) }
	dispatchtest.Warn(t, db, p)
	if _, err := db.Dispatch(ctx, dispatchOpts(false)); err != nil {
		t.Fatal(err)
	}
	h2, _ := db.ListCases(ctx, cases.CaseFilter{Township: "河口乡"})
	var no string
	for _, c := range h2 {
		if c.HouseholdNo == "H0002" {
			no = c.No
		}
	}
	// C's row named 城关镇, the registry says 河口乡: the case is 河口乡's, 城关镇's group is told.
	var texts []string
	pgtest.OpenOutbox(t, db) // bodies are sealed (docs/encryption.md)
	if err := db.Select(&texts, `SELECT payload->'body'->>'content' FROM outbox WHERE idem_key LIKE 'dispatch:elsewhere:城关镇:%' AND channel = 'appchat'`); err != nil {
		t.Fatal(err)
	}
	if no == "" || len(texts) != 1 || !strings.Contains(texts[0], no) || !strings.Contains(texts[0], "陈*") || !strings.Contains(texts[0], "河口乡") {
		t.Fatalf("城关镇 group told %q, want %s, 陈* and 河口乡", texts, no)
	}
	if strings.Contains(texts[0], p.C.ID) || strings.Contains(texts[0], p.C.Name) {
		t.Errorf("the other township's message is not masked: %s", texts[0])
	}
}

// A person with an open case as a non-registry person, now in a registry household, gets no
// second case when a cadre reports them (走访): the report joins their case.
func TestVisitJoinsThePersonsOpenCase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, p := dispatchtest.New(t)
	db.Now = func() time.Time { return cases.MustDate("2026-11-10").At(9, 30) }
	dispatchtest.Warn(t, db, p)
	if _, err := db.Dispatch(ctx, dispatchOpts(false)); err != nil {
		t.Fatal(err)
	}
	caseF, err := db.ListCases(ctx, cases.CaseFilter{Township: "城关镇"})
	if err != nil {
		t.Fatal(err)
	}
	var fNo string
	for _, c := range caseF {
		if c.HouseholdKey == "head:"+db.Keys.IDHash(p.F.ID) {
			fNo = c.No
		}
	}
	if err := db.UpsertRegistry(ctx, []cases.RegistryMember{{HouseholdNo: "H0006", HeadIDNumber: p.F.ID, Name: p.F.Name, IDNumber: p.F.ID,
		Relation: "户主", Township: "城关镇", Village: "北村", Kind: cases.HouseholdEdge, RiskStatus: cases.RiskOpen}}); err != nil {
		t.Fatal(err)
	}
	pgtest.SealStored(t, db)
	zhangsan, _ := db.Actor(ctx, "zhangsan")
	db.Now = func() time.Time { return cases.MustDate("2026-11-12").At(10, 0) }
	res, err := db.ReportSelfFound(ctx, cases.SelfFound{Source: cases.SourceVisit, IDNumber: p.F.ID, Name: p.F.Name,
		Category: cases.CatEmployment, Situation: "家中主要劳动力失业", Actor: zhangsan, Src: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Merged || res.Case.No != fNo {
		t.Errorf("走访 of F opened %s (merged %v), want it joined F's open case %s", res.Case.No, res.Merged, fNo)
	}
}
