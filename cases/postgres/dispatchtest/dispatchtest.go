// Package dispatchtest sets up a small county with a registry and a month of warnings, for
// tests of dispatch, the case commands and the mini-forms. The data is fictional.
package dispatchtest

import (
	"context"
	"testing"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/orgfile"
	"github.com/fangpin/fangpin/cases/postgres"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
	"github.com/fangpin/fangpin/cases/synth"
)

// Org: 城关镇 posts to an appchat, 河口乡 to a group robot.
const Org = `
county: 测试县
townships:
  - name: 城关镇
    aliases: [城关]
    chat: {appchat: wrCG0001}
  - name: 河口乡
    chat: {webhook_key: hekou-key}
departments:
  - {name: 医保局, categories: [medical, assurance]}
  - {name: 卫健委, categories: [serious_illness, epidemic, assurance]}
  - {name: 民政局, categories: [assistance]}
  - {name: 住建局, categories: [assurance]}
  - {name: 人社局, categories: [employment]}
  - {name: 应急管理局, categories: [disaster]}
users:
  - {userid: zhangsan, name: 张三, role: cadre, township: 城关镇}
  - {userid: lisi, name: 李四, role: cadre, township: 河口乡}
  - {userid: zjj, name: 住小建, role: liaison, department: 住建局}
  - {userid: zhaoliu, name: 赵六, role: office}
  - {userid: sunqi, name: 孙七, role: supervisor}
`

// Person is one fictional person of the scenario.
type Person struct{ Name, ID string }

// People are the scenario's persons.
type People struct {
	// H1 (城关镇东村, 脱贫户, risk cleared: not monitored): head A, member B.
	A, B Person
	// H2 (河口乡西村, 边缘易致贫户 未消除: monitored): head C.
	C Person
	// Not in the registry: D names E as 户主; E is warned too; F alone; G has an assurance issue.
	D, E, F, G Person
	Disease    string // 病种 of A's serious illness: must never reach a group
	Amount     string // A medical amount of B: must never reach a group
}

// New returns a migrated database with org and registry applied and no warnings.
func New(t testing.TB) (*postgres.DB, People) {
	t.Helper()
	db := pgtest.New(t)
	return db, Setup(t, db)
}

// Setup applies the org and the registry to a migrated database.
func Setup(t testing.TB, db *postgres.DB) People {
	t.Helper()
	ctx := context.Background()
	ApplyOrg(t, db)
	g := synth.New(7)
	p := People{
		A: Person{"王建国", g.IDNumber(1965)}, B: Person{"王小明", g.IDNumber(1990)},
		C: Person{"陈立", g.IDNumber(1970)},
		D: Person{"刘思远", g.IDNumber(2001)}, E: Person{"刘大海", g.IDNumber(1975)},
		F: Person{"周芳", g.IDNumber(1982)}, G: Person{"吴永强", g.IDNumber(1958)},
		Disease: "肺恶性肿瘤", Amount: "23456.78",
	}
	err := db.UpsertRegistry(ctx, []cases.RegistryMember{
		{HouseholdNo: "H0001", HeadIDNumber: p.A.ID, Name: p.A.Name, IDNumber: p.A.ID, Relation: "户主", Township: "城关镇", Village: "东村", Kind: cases.HouseholdLifted, RiskStatus: "已消除"},
		{HouseholdNo: "H0001", HeadIDNumber: p.A.ID, Name: p.B.Name, IDNumber: p.B.ID, Relation: "之子", Township: "城关镇", Village: "东村", Kind: cases.HouseholdLifted, RiskStatus: "已消除"},
		{HouseholdNo: "H0002", HeadIDNumber: p.C.ID, Name: p.C.Name, IDNumber: p.C.ID, Relation: "户主", Township: "河口乡", Village: "西村", Kind: cases.HouseholdEdge, RiskStatus: cases.RiskOpen},
	})
	if err != nil {
		t.Fatal(err)
	}
	// the registry as the store keeps it: numbers hashed, names sealed (docs/encryption.md)
	pgtest.SealStored(t, db)
	return p
}

// ApplyOrg applies Org, the test county's org file, to a migrated database.
func ApplyOrg(t testing.TB, db *postgres.DB) {
	t.Helper()
	org, err := orgfile.Parse([]byte(Org))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ApplyOrg(context.Background(), org); err != nil {
		t.Fatal(err)
	}
}

// Warn inserts the month's warnings: H1 by three departments, H2 (row names the wrong
// township), D and E by 户主身份证号, F alone, G's assurance issue for 住建局, and a
// township-wide disaster in 河口乡 announced twice.
func Warn(t testing.TB, db *postgres.DB, p People) {
	t.Helper()
	w := func(x pgtest.Warning) { pgtest.InsertWarning(t, db, x) }
	w(pgtest.Warning{Department: "医保局", Category: "medical", Rule: "inpatient_other", Amount: p.Amount, IDNumber: p.B.ID, Name: p.B.Name, Township: "城关镇", Village: "东村",
		Detail: map[string]any{"住院自付累计": p.Amount}})
	w(pgtest.Warning{Department: "卫健委", Category: "serious_illness", Rule: "every_row", IDNumber: p.A.ID, Name: p.A.Name, Township: "城关镇", Village: "东村",
		Detail: map[string]any{"病种": p.Disease, "确诊日期": "2026-10-12"}})
	w(pgtest.Warning{Department: "民政局", Category: "assistance", Rule: "every_row", IDNumber: p.B.ID, Name: p.B.Name, Township: "城关镇", Village: "东村",
		Detail: map[string]any{"救助类别": "低保"}})
	w(pgtest.Warning{Department: "人社局", Category: "employment", Rule: "every_row", IDNumber: p.C.ID, Name: p.C.Name, Township: "城关镇", Village: "西村",
		Detail: map[string]any{"类型": "零就业家庭"}})
	w(pgtest.Warning{Department: "医保局", Category: "medical", Rule: "outpatient", Amount: "812.50", IDNumber: p.D.ID, Name: p.D.Name, HeadIDNumber: p.E.ID, Township: "城关镇", Village: "南村"})
	w(pgtest.Warning{Department: "人社局", Category: "employment", Rule: "every_row", IDNumber: p.E.ID, Name: p.E.Name, HeadIDNumber: p.E.ID, Township: "城关镇", Village: "南村"})
	w(pgtest.Warning{Department: "民政局", Category: "assistance", Rule: "every_row", IDNumber: p.F.ID, Name: p.F.Name, Township: "城关镇", Village: "北村"})
	w(pgtest.Warning{Department: "住建局", Category: "assurance", Rule: "every_row", IDNumber: p.G.ID, Name: p.G.Name, Township: "城关镇", Village: "北村",
		Detail: map[string]any{"问题类型": "住房安全", "问题描述": "房屋墙体开裂", "责任部门": "住建局"}})
	for i := 0; i < 2; i++ {
		w(pgtest.Warning{Department: "应急管理局", Category: "disaster", Rule: "every_row", Township: "河口乡", Village: "",
			Detail: map[string]any{"灾害名称": "2026年10月河口洪涝", "受灾情况": "农田受淹"}})
	}
	// a row that raised no warning is never dispatched
	w(pgtest.Warning{Department: "医保局", Category: "medical", Rule: "-", IDNumber: p.G.ID, Name: p.G.Name, Township: "城关镇"})
	if _, err := db.ExecContext(context.Background(), `UPDATE warnings SET rule = '' WHERE rule = '-'`); err != nil {
		t.Fatal(err)
	}
}
