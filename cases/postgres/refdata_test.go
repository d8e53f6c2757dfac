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
	ctx := context.Background()
	db, p := dispatchtest.New(t)
	db.Now = func() time.Time { return cases.MustDate("2026-11-10").At(9, 30) }
	dispatchtest.Warn(t, db, p)
	if _, err := db.Dispatch(ctx, dispatchOpts(false)); err != nil {
		t.Fatal(err)
	}
	before, err := db.ListCases(ctx, postgres.CaseFilter{Township: "河口乡"})
	if err != nil || len(before) == 0 {
		t.Fatalf("河口乡 cases before the rename: %d, %v", len(before), err)
	}
	var oldID int
	if err := db.Get(&oldID, `SELECT id FROM townships WHERE name = '河口乡'`); err != nil {
		t.Fatal(err)
	}

	if err := applyOrg(t, db, renamedOrg); err != nil {
		t.Fatalf("apply the renamed org: %v", err)
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
		got, err := db.ListCases(ctx, postgres.CaseFilter{Township: name})
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
	open, _ := db.ListCases(ctx, postgres.CaseFilter{Township: "河口乡", OpenOnly: true})
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
	twice := strings.Replace(renamedOrg, "    aliases: [城关]\n", "    aliases: [城关]\n    formerly: [河口乡]\n", 1)
	_, err := orgfile.Parse([]byte(twice))
	if err == nil || !strings.Contains(err.Error(), "河口乡") || !strings.Contains(err.Error(), "只能属于一个乡镇") {
		t.Errorf("a former name claimed by two townships: %v", err)
	}
}

func TestMergedTownshipsBecomeOne(t *testing.T) {
	ctx := context.Background()
	db, p := dispatchtest.New(t)
	db.Now = func() time.Time { return cases.MustDate("2026-11-10").At(9, 30) }
	dispatchtest.Warn(t, db, p)
	if _, err := db.Dispatch(ctx, dispatchOpts(false)); err != nil {
		t.Fatal(err)
	}
	all, _ := db.ListCases(ctx, postgres.CaseFilter{})
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
	for _, name := range []string{"城关镇", "河口乡", "城河镇", "城关"} {
		got, err := db.ListCases(ctx, postgres.CaseFilter{Township: name})
		if err != nil || len(got) != len(all) {
			t.Errorf("--township %s finds %d cases (%v), want all %d", name, len(got), err, len(all))
		}
	}
}
