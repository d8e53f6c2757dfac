package intake_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/intake"
	"github.com/fangpin/fangpin/cases/orgfile"
	"github.com/fangpin/fangpin/cases/postgres"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
	"github.com/fangpin/fangpin/cases/sheet"
	"github.com/fangpin/fangpin/cases/synth"
)

type fixture struct {
	db                 *postgres.DB
	gen                *synth.Gen
	lifted, edge, head cases.RegistryMember // a 脱贫户 member, an 边缘易致贫户 member, a 脱贫户 head
	members            []cases.RegistryMember
}

func setup(t *testing.T) *fixture {
	t.Helper()
	db := pgtest.New(t)
	b, err := os.ReadFile("../../examples/org.yaml")
	if err != nil {
		t.Fatal(err)
	}
	org, err := orgfile.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := db.ApplyOrg(ctx, org); err != nil {
		t.Fatal(err)
	}
	g := synth.New(7)
	f := &fixture{db: db, gen: g}
	for _, kind := range []string{cases.HouseholdLifted, cases.HouseholdEdge} {
		head := g.IDNumber(1960)
		hno := "T" + head[12:]
		for j := 0; j < 3; j++ {
			id := head
			if j > 0 {
				id = g.IDNumber(1990)
			}
			f.members = append(f.members, cases.RegistryMember{HouseholdNo: hno, HeadIDNumber: head, Name: g.Name(), IDNumber: id,
				Relation: "户主", Township: "城关镇", Village: "示例一村", Kind: kind, RiskStatus: cases.RiskOpen})
		}
	}
	f.head, f.lifted, f.edge = f.members[0], f.members[1], f.members[4]
	if err := db.UpsertRegistry(ctx, f.members); err != nil {
		t.Fatal(err)
	}
	pgtest.SealStored(t, db) // the registry as the store keeps it (docs/encryption.md)
	return f
}

func sum(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }

func (f *fixture) importBytes(t *testing.T, dept string, cat cases.Category, b []byte) cases.Batch {
	t.Helper()
	batch, err := f.tryImport(dept, cat, b)
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	return batch
}

func (f *fixture) tryImport(dept string, cat cases.Category, b []byte) (cases.Batch, error) {
	r, err := sheet.New(bytes.NewReader(b))
	if err != nil {
		return cases.Batch{}, err
	}
	defer r.Close()
	return intake.Import(context.Background(), f.db, intake.Request{Department: dept, Category: cat, Period: "2026-10",
		SHA256: sum(b), Today: cases.NewDate(2026, 11, 3)}, r)
}

func csvOf(header string, rows ...string) []byte {
	return []byte(header + "\n" + strings.Join(rows, "\n") + "\n")
}

// warnings returns rule per row of a batch.
func (f *fixture) warnings(t *testing.T, batch string) map[int]string {
	t.Helper()
	out := map[int]string{}
	err := f.db.BatchWarnings(context.Background(), batch, func(w postgres.BatchWarning) error {
		out[w.Row] = w.Rule
		if w.Amount != nil {
			out[w.Row] += "@" + string(*w.Amount)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestMedicalEdges(t *testing.T) {
	t.Parallel()
	f := setup(t)
	g := f.gen
	id := func() string { return g.IDNumber(1970) }
	b := f.importBytes(t, "医保局", cases.CatMedical, csvOf("姓名,身份证号,乡镇,村,户主身份证号,人员类别,住院自付累计,门诊统筹费用,门特费用",
		"王试一,"+f.lifted.IDNumber+",城关镇,示例一村,,,4999.99,0,0",   // 2 registered (registry), just under
		"王试二,"+f.head.IDNumber+",城关镇,示例一村,,,5000,0,0",        // 3 registered head, at the edge
		"王试三,"+id()+",河口乡,,,脱贫人口,5000.00,,",                  // 4 registered by 人员类别
		"王试四,"+id()+",河口乡,,,非建档立卡,5000,0,0",                  // 5 not registered: no warning at 5000
		"王试五,"+id()+",河口乡,,,,19999.99,0,0",                   // 6
		"王试六,"+id()+",河口乡,,,,20000,0,0",                      // 7
		"王试七,"+f.edge.IDNumber+",城关镇,,,,19999.99,300,199.99", // 8 边缘户 is not 建档立卡; 499.99
		"王试八,"+id()+",河口乡,,,,0,300,200",                      // 9 outpatient 500
		`王试九,`+id()+`,河口乡,,,,"20,000.00元",１００,４００`,           // 10 both rules, normalised
	))
	if b.Rows != 9 || b.Accepted != 9 || b.Rejected != 0 || b.Warnings != 5 || b.Period != "2026-10" {
		t.Fatalf("batch = %+v", b)
	}
	want := map[int]string{3: "medical.inpatient.registered@5000.00", 4: "medical.inpatient.registered@5000.00",
		7: "medical.inpatient.other@20000.00", 9: "medical.outpatient@500.00", 10: "medical.inpatient.other@20000.00"}
	got := f.warnings(t, b.ID)
	if len(got) != len(want) {
		t.Fatalf("warnings %v, want %v", got, want)
	}
	for row, w := range want {
		if got[row] != w {
			t.Errorf("row %d: %q, want %q", row, got[row], w)
		}
	}
	var detail string
	if err := f.db.Get(&detail, `SELECT detail::text FROM warnings WHERE batch_id = $1 AND row_no = 10`, b.ID); err != nil {
		t.Fatal(err)
	}
	if detail = pgtest.Open(t, f.db, detail); !strings.Contains(detail, `"_rules"`) || !strings.Contains(detail, "medical.outpatient") {
		t.Errorf("row 10 detail should list both rules: %s", detail)
	}
}

func TestEducationAndIndustryEdges(t *testing.T) {
	t.Parallel()
	f := setup(t)
	g := f.gen
	b := f.importBytes(t, "教体局", cases.CatEducation, csvOf("姓名,身份证号,乡镇,学校,学段,学年,学费,住宿费,教科书费,补助救助",
		"李试一,"+g.IDNumber(2008)+",城关,一中,公办高中,2026-2027,8000,2000,1000,1000",    // 10000: no
		"李试二,"+g.IDNumber(2008)+",城关,一中,公办高中,2026-2027,8000,2000,1000.01,1000", // 10000.01
	))
	if got := f.warnings(t, b.ID); len(got) != 1 || got[3] != "education.self_paid@10000.01" {
		t.Fatalf("education warnings %v (batch %+v)", got, b)
	}
	b = f.importBytes(t, "农业农村局", cases.CatIndustry, csvOf("姓名,身份证号,乡镇,户主身份证号,人员类别,产业项目,损失金额",
		"张试一,"+f.lifted.IDNumber+",城关镇,,,养猪,10000",                      // registered, 10000: no
		"张试二,"+g.IDNumber(1970)+",城关镇,"+f.head.IDNumber+",,养猪,10000.01", // household head registered: yes
		"张试三,"+g.IDNumber(1970)+",城关镇,,一般农户,养猪,50000",                   // not registered: never
	))
	if got := f.warnings(t, b.ID); len(got) != 1 || got[3] != "industry.loss@10000.01" {
		t.Fatalf("industry warnings %v (batch %+v)", got, b)
	}
	if b.OutOfScope != 1 || b.Accepted != 3 || len(b.Errors) != 0 {
		t.Fatalf("industry: the 非建档立卡 row is out of scope, not an error: %+v", b)
	}
}

// docs/rules.md: 教体局 only 公办高中 and 中职, 卫健委's epidemic only 重大 and 特别重大, 人社局
// only 建档立卡. Rows outside are counted out_of_scope, are not errors and are not stored.
func TestOutOfScopeRows(t *testing.T) {
	t.Parallel()
	f := setup(t)
	g := f.gen
	b := f.importBytes(t, "教体局", cases.CatEducation, csvOf("姓名,身份证号,乡镇,学校,学段,学年,学费,住宿费,教科书费,补助救助",
		"李试一,"+g.IDNumber(2008)+",城关,一中,公办高中,2026-2027,20000,0,0,0",
		"李试二,"+g.IDNumber(2008)+",城关,二中,中职,2026-2027,20000,0,0,0",
		"李试三,"+g.IDNumber(2012)+",城关,三小,义务教育,2026-2027,20000,0,0,0",
		"李试四,"+g.IDNumber(2008)+",城关,民办中学,民办高中,2026-2027,20000,0,0,0",
	))
	if b.Accepted != 4 || b.Warnings != 2 || b.OutOfScope != 2 || len(b.Errors) != 0 || len(f.warnings(t, b.ID)) != 2 {
		t.Fatalf("education: %+v", b)
	}
	b = f.importBytes(t, "卫健委", cases.CatEpidemic, csvOf("姓名,身份证号,乡镇,事件名称,事件级别,发生日期,影响情况",
		"王试一,"+g.IDNumber(1970)+",城关,疫情,重大,2026-11-01,隔离",
		"王试二,"+g.IDNumber(1970)+",城关,疫情,特别重大,2026-11-01,隔离",
		"王试三,"+g.IDNumber(1970)+",城关,疫情,较大,2026-11-01,隔离",
		",,城关,疫情,一般,2026-11-01,全镇排查",
	))
	if b.Accepted != 4 || b.Warnings != 2 || b.OutOfScope != 2 || len(b.Errors) != 0 {
		t.Fatalf("epidemic: %+v", b)
	}
	b = f.importBytes(t, "人社局", cases.CatEmployment, csvOf("姓名,身份证号,乡镇,户主身份证号,类型",
		"赵试一,"+f.lifted.IDNumber+",城关,,零就业家庭",
		"赵试二,"+g.IDNumber(1990)+",城关,"+f.head.IDNumber+",有意愿有能力未就业",
		"赵试三,"+g.IDNumber(1990)+",城关,,有意愿有能力未就业",
	))
	if b.Accepted != 3 || b.Warnings != 2 || b.OutOfScope != 1 || len(b.Errors) != 0 {
		t.Fatalf("employment: %+v", b)
	}
	var n int
	if err := f.db.Get(&n, `SELECT out_of_scope FROM batches WHERE id = $1`, b.ID); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("stored out_of_scope = %d", n)
	}
}

func TestBadRowsReportedGoodRowsKept(t *testing.T) {
	t.Parallel()
	f := setup(t)
	g := f.gen
	good := g.IDNumber(1970)
	bad := good[:17] + string("0123456789"[(strings.IndexByte("0123456789X", good[17])+1)%10])
	lower := g.IDNumber(1970)
	for lower[17] != 'X' {
		lower = g.IDNumber(1970)
	}
	b := f.importBytes(t, "医保局", cases.CatMedical, csvOf("姓名,身份证号,乡镇,住院自付累计,门诊统筹费用,门特费用,备注",
		"甲,"+good+",城关镇,30000,0,0,extra kept",         // 2 ok
		"乙,"+bad+",城关镇,30000,0,0,",                    // 3 check digit
		"丙,"+g.IDNumber(1970)+",城关镇,-5,0,0,",          // 4 negative
		"丁,"+g.IDNumber(1970)+",不存在镇,100,0,0,",        // 5 township
		"戊,"+good+",城关镇,100,0,0,",                     // 6 duplicate of row 2
		"己,"+strings.ToLower(lower)+",城关镇,abc,0,0,",   // 7 not a number
		"庚,"+strings.ToLower(lower)+",城关镇,25000,0,0,", // 8 lower-case x accepted
	))
	if b.Rows != 7 || b.Accepted != 2 || b.Rejected != 5 || b.Warnings != 2 {
		t.Fatalf("batch = %+v", b)
	}
	want := map[int]string{3: "身份证号", 4: "住院自付累计", 5: "乡镇", 6: "身份证号", 7: "住院自付累计"}
	for _, e := range b.Errors {
		if want[e.Row] != e.Column {
			t.Errorf("error %+v, want column %q", e, want[e.Row])
		}
		delete(want, e.Row)
		if strings.Contains(e.Message, bad) {
			t.Errorf("error message repeats the full ID number: %s", e.Message)
		}
	}
	if len(want) != 0 {
		t.Errorf("rows not reported: %v (errors %+v)", want, b.Errors)
	}
	var detail, id string
	if err := f.db.QueryRow(`SELECT detail::text FROM warnings WHERE batch_id = $1 AND row_no = 2`, b.ID).Scan(&detail); err != nil {
		t.Fatal(err)
	}
	if detail = pgtest.Open(t, f.db, detail); !strings.Contains(detail, "extra kept") {
		t.Errorf("extra column not kept in detail: %s", detail)
	}
	if err := f.db.QueryRow(`SELECT id_sealed FROM warnings WHERE batch_id = $1 AND row_no = 8`, b.ID).Scan(&id); err != nil {
		t.Fatal(err)
	}
	id = pgtest.Open(t, f.db, id)
	if id != lower {
		t.Errorf("row 8 id %q, want %q", id, lower)
	}
}

// A row that raises no warning is counted but its figures are not kept (data minimisation).
func TestQuietRowsAreCountedNotStored(t *testing.T) {
	t.Parallel()
	f := setup(t)
	b := f.importBytes(t, "医保局", cases.CatMedical, csvOf("姓名,身份证号,乡镇,住院自付累计,门诊统筹费用,门特费用",
		"甲,"+f.gen.IDNumber(1970)+",城关镇,30000,0,0",
		"乙,"+f.gen.IDNumber(1970)+",城关镇,100,0,0",
	))
	var stored int
	stored = pgtest.Count(t, f.db, `SELECT count(*) FROM warnings WHERE batch_id = $1`, b.ID)
	if b.Accepted != 2 || b.Warnings != 1 || stored != 1 {
		t.Fatalf("accepted %d, warnings %d, stored rows %d; want 2, 1, 1", b.Accepted, b.Warnings, stored)
	}
}

func TestSameFileTwiceChangesNothing(t *testing.T) {
	t.Parallel()
	f := setup(t)
	file := csvOf("姓名,身份证号,乡镇,住院自付累计,门诊统筹费用,门特费用", "甲,"+f.gen.IDNumber(1970)+",城关镇,30000,0,0")
	first := f.importBytes(t, "医保局", cases.CatMedical, file)
	second := f.importBytes(t, "医保局", cases.CatMedical, file)
	if first.DuplicateOf != nil || second.DuplicateOf == nil || *second.DuplicateOf != first.ID || second.ID != first.ID ||
		second.Warnings != first.Warnings || second.Rows != first.Rows {
		t.Fatalf("first %+v second %+v", first, second)
	}
	var n int
	n = pgtest.Count(t, f.db, `SELECT count(*) FROM warnings`)
	if n != 1 {
		t.Fatalf("%d warnings stored, want 1", n)
	}
}

func TestFileRefused(t *testing.T) {
	t.Parallel()
	f := setup(t)
	_, err := f.tryImport("医保局", cases.CatMedical, csvOf("姓名,身份证号,乡镇,住院自付累计,门特费用", "甲,x,城关镇,1,1"))
	if cases.ErrorCode(err) != cases.EInvalid || !strings.Contains(cases.ErrorMessage(err), "门诊统筹费用") {
		t.Fatalf("missing column: %v", err)
	}
	_, err = f.tryImport("医保局", cases.CatEducation, csvOf("姓名,身份证号,乡镇", "甲,x,城关镇"))
	if cases.ErrorCode(err) != cases.EForbidden {
		t.Fatalf("another department's category: %v", err)
	}
	_, err = f.tryImport("不存在局", cases.CatMedical, csvOf("姓名,身份证号,乡镇", "甲,x,城关镇"))
	if cases.ErrorCode(err) != cases.ENotFound {
		t.Fatalf("unknown department: %v", err)
	}
	var n int
	n = pgtest.Count(t, f.db, `SELECT count(*) FROM batches`)
	if n != 0 {
		t.Fatalf("%d batches stored for refused files", n)
	}
}

func TestAlertsPopulationAndDates(t *testing.T) {
	t.Parallel()
	f := setup(t)
	g := f.gen
	b := f.importBytes(t, "应急管理局", cases.CatDisaster, csvOf("姓名,身份证号,乡镇,灾害名称,灾害结束日期,受灾情况,损失金额",
		",,青山镇,暴雨,2026/10/5,道路冲毁,",                         // township-wide alert
		"甲,"+g.IDNumber(1970)+",青山镇,暴雨,20261005,房屋受损,3000", // compact date
		"乙,,青山镇,暴雨,46300,房屋受损,",                            // name without ID
		"丙,"+g.IDNumber(1970)+",青山镇,暴雨,2026-02-30,房屋受损,",   // no such date
	))
	if b.Accepted != 2 || b.Warnings != 2 || len(b.Errors) != 2 || b.Errors[0].Row != 4 || b.Errors[1].Column != "灾害结束日期" {
		t.Fatalf("disaster batch %+v", b)
	}
	b = f.importBytes(t, "公安局", cases.CatPopulation, csvOf("姓名,身份证号,乡镇,户主身份证号,变动类型,变动日期",
		"甲,"+f.edge.IDNumber+",城关镇,,死亡,2026-10-03",
		"乙,"+g.IDNumber(2026)+",城关镇,"+f.head.IDNumber+",出生,2026-10-04",
		"丙,"+g.IDNumber(1970)+",城关镇,,迁入,2026-10-05",
		"丁,"+g.IDNumber(1970)+",城关镇,,失踪,2026-10-05",
	))
	got := f.warnings(t, b.ID)
	if b.Accepted != 3 || len(got) != 2 || got[2] == "" || got[3] == "" || b.Errors[0].Column != "变动类型" {
		t.Fatalf("population %+v warnings %v", b, got)
	}
}

func TestRecordsAndOverrides(t *testing.T) {
	t.Parallel()
	f := setup(t)
	rules, err := cases.DefaultRules().With(map[string]string{"medical.inpatient.other": "30000"})
	if err != nil {
		t.Fatal(err)
	}
	rows := intake.Records([]map[string]any{
		{"姓名": "甲", "身份证号": f.gen.IDNumber(1970), "乡镇": "城关镇", "住院自付累计": "25000", "门诊统筹费用": 0, "门特费用": nil},
		{"姓名": "乙", "身份证号": f.gen.IDNumber(1970), "乡镇": "城关镇", "住院自付累计": "30000", "门诊统筹费用": "0", "门特费用": "0"},
	})
	b, err := intake.Import(context.Background(), f.db, intake.Request{Department: "医保局", Category: cases.CatMedical,
		SHA256: sum([]byte("records")), Source: "api", Rules: rules, Today: cases.NewDate(2026, 11, 3)}, rows)
	if err != nil {
		t.Fatal(err)
	}
	if b.Period != "2026-10" || b.Warnings != 1 || f.warnings(t, b.ID)[2] != "medical.inpatient.other@30000.00" {
		t.Fatalf("records batch %+v %v", b, f.warnings(t, b.ID))
	}
}

func TestLoadRules(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := dir + "/rules.yaml"
	os.WriteFile(p, []byte("medical.inpatient.registered: \"6000\"\neducation.self_paid: 12000.50\n"), 0o644)
	rs, err := intake.LoadRules(p)
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := rs.Rule("education.self_paid"); r.Threshold != 1200050 {
		t.Fatalf("education threshold %v", r.Threshold)
	}
	os.WriteFile(p, []byte(`{"medical.outpatient": "abc"}`), 0o644)
	if _, err := intake.LoadRules(p); err == nil {
		t.Fatal("bad threshold accepted")
	}
}

// The fast paths of the normalisers must agree with the general ones.
func TestNormaliseFastPaths(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"0", "5000", "4999.99", "4999.9", "5.", "000012.30", "123456789012", "1234567890123",
		"12.345", "-1", "1,000", ".5", "", "５０００", " 5000 ", "5000元"} {
		got, gotErr := intake.NormalizeAmount(s)
		want, wantErr := cases.ParseMoney(strings.TrimSuffix(strings.TrimSpace(s), "元"))
		if s == "５０００" {
			want, wantErr = cases.Yuan(5000), nil
		}
		if s == "1,000" {
			want, wantErr = cases.Yuan(1000), nil
		}
		if strings.HasPrefix(s, "-") {
			wantErr = errors.New("negative")
		}
		if (gotErr == nil) != (wantErr == nil) || (gotErr == nil && got != want) {
			t.Errorf("NormalizeAmount(%q) = %v, %v; want %v, %v", s, got, gotErr, want, wantErr)
		}
	}
	for _, s := range []string{"11010519491231002X", "11010519491231002x", " 110105194912310021", "１１０１０５"} {
		want := cases.NormalizeIDNumber(strings.TrimSpace(s))
		if got := intake.NormalizeID(s); got != want {
			t.Errorf("NormalizeID(%q) = %q, want %q", s, got, want)
		}
	}
	for _, s := range []string{"20240229", "20230229", "20261131", "20261301", "20260001", "20261200", "18991231", "+2026111"} {
		_, err := cases.ParseDate(s)
		valid := s == "20240229"
		if (err == nil) != valid {
			t.Errorf("ParseDate(%q) error %v", s, err)
		}
	}
}

// TestEducationBySchoolYear: the push of April 2027 is the 学年 2026-2027; a row of another
// 学年 is a row error and does not make the right row a duplicate (docs/rules.md and docs/intake.md).
func TestEducationBySchoolYear(t *testing.T) {
	t.Parallel()
	f := setup(t)
	g := f.gen
	kid := g.IDNumber(2010)
	b, err := f.importPeriod("2026-2027", csvOf("姓名,身份证号,乡镇,学校,学段,学年,学费,住宿费,教科书费,补助救助",
		"李试一,"+kid+",城关,一中,公办高中,2019-2020,9000,2000,1000,0",              // 2: another 学年
		"李试一,"+kid+",城关,一中,公办高中,2026—2027学年,9000,2000,1000,0",            // 3: the right row of the same person
		"李试二,"+g.IDNumber(2010)+",城关,一中,公办高中,2026-2027,9000,2000,1000,0", // 4
		"李试二,"+g.IDNumber(2010)+",城关,一中,公办高中,2026-27,9000,2000,1000,0",   // 5: unreadable 学年
	))
	if err != nil {
		t.Fatal(err)
	}
	if b.Period != "2027-04" || b.Accepted != 2 || b.Rejected != 2 {
		t.Fatalf("batch = %+v, want period 2027-04 (学年 2026-2027), 2 accepted, 2 rejected", b)
	}
	errs := map[int]string{}
	for _, e := range b.Errors {
		errs[e.Row] = e.Column + " " + e.Message
	}
	if !strings.Contains(errs[2], "2019-2020") || !strings.Contains(errs[2], "2026-2027") || !strings.Contains(errs[5], "学年") || errs[3] != "" {
		t.Errorf("row errors = %v, want rows 2 (another 学年) and 5 (unreadable), none for row 3", errs)
	}
	if got := f.warnings(t, b.ID); got[3] == "" {
		t.Errorf("the right row of the person was not taken: %v", got)
	}
	// The same person twice in one 学年 is a duplicate.
	b, err = f.importPeriod("2027-04", csvOf("姓名,身份证号,乡镇,学校,学段,学年,学费,住宿费,教科书费,补助救助",
		"李试三,"+kid+",城关,一中,公办高中,2026-2027,9000,2000,1000,0",
		"李试三,"+kid+",城关,一中,公办高中,2026-2027,9000,2000,1000,500",
	))
	if err != nil || b.Rejected != 1 || len(b.Errors) != 1 || !strings.Contains(b.Errors[0].Message, "同一学年") {
		t.Errorf("a person twice in one 学年: %+v, %v", b, err)
	}
}

func (f *fixture) importPeriod(period string, b []byte) (cases.Batch, error) {
	r, err := sheet.New(bytes.NewReader(b))
	if err != nil {
		return cases.Batch{}, err
	}
	defer r.Close()
	return intake.Import(context.Background(), f.db, intake.Request{Department: "教体局", Category: cases.CatEducation, Period: period,
		SHA256: sum(b), Today: cases.NewDate(2027, 4, 20)}, r)
}

// A date a person reads is YYYY-MM-DD whatever the cell held: an Excel date serial (46308, as
// XLSX stores date cells) or a text date in another form is stored normalised in the detail
// that 查看, the private message and the form show.
func TestDatesAreStoredAsDates(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a, b := f.members[0], f.members[1]
	csv := "姓名,身份证号,乡镇,村,病种,确诊日期\n" +
		a.Name + "," + a.IDNumber + ",城关镇,示例一村,肺结核,46308\n" +
		b.Name + "," + b.IDNumber + ",城关镇,示例一村,肺结核,2026/9/5\n"
	batch := f.importBytes(t, "卫健委", cases.CatSeriousIllness, []byte(csv))
	if batch.Warnings != 2 {
		t.Fatalf("warnings %d, errors %v", batch.Warnings, batch.Errors)
	}
	var details []string
	if err := f.db.Select(&details, `SELECT detail FROM warnings WHERE batch_id = $1 ORDER BY row_no`, batch.ID); err != nil {
		t.Fatal(err)
	}
	for i, d := range details {
		var m map[string]string
		json.Unmarshal([]byte(pgtest.Open(t, f.db, d)), &m)
		details[i] = m["确诊日期"]
	}
	want, _ := intake.NormalizeDate("46308")
	if len(details) != 2 || details[0] != want.String() || details[1] != "2026-09-05" {
		t.Errorf("stored dates %q, want [%s 2026-09-05]", details, want)
	}
}

// Two 问题类型 of one person in one file are two problems, both kept; the same 问题类型 twice is
// a duplicate. A blank 责任部门 is accepted (the 问题类型 names the department); an unknown
// one is an error.
func TestAssuranceProblemsOfOnePerson(t *testing.T) {
	t.Parallel()
	f := setup(t)
	id := f.gen.IDNumber(1970)
	b := f.importBytes(t, "住建局", cases.CatAssurance, csvOf("姓名,身份证号,乡镇,问题类型,问题描述,责任部门",
		"甲,"+id+",城关镇,住房安全,墙体开裂,住建局",                  // 2
		"甲,"+id+",城关镇,饮水安全,水质不达标,",                    // 3 another problem, blank department
		"甲,"+id+",城关镇,住房安全,屋顶漏雨,住建局",                  // 4 duplicate of row 2
		"乙,"+f.gen.IDNumber(1970)+",城关镇,吃穿,缺衣少食,不存在局", // 5 unknown department
	))
	if b.Accepted != 2 || b.Warnings != 2 || b.Rejected != 2 {
		t.Fatalf("batch %+v, want 2 accepted and warned, 2 rejected", b)
	}
	want := map[int]string{4: "身份证号", 5: "责任部门"}
	for _, e := range b.Errors {
		if want[e.Row] != e.Column {
			t.Errorf("error %+v, want column %q", e, want[e.Row])
		}
		delete(want, e.Row)
	}
	if len(want) != 0 {
		t.Errorf("rows not reported: %v (errors %+v)", want, b.Errors)
	}
}

// 于3日内推送: an epidemic push more than 3 days after its event is accepted and marked late.
func TestEpidemicPushLate(t *testing.T) {
	t.Parallel()
	f := setup(t) // pushes arrive on 2026-11-03
	g := f.gen
	b := f.importBytes(t, "卫健委", cases.CatEpidemic, csvOf("姓名,身份证号,乡镇,事件名称,事件级别,发生日期,影响情况",
		"王试一,"+g.IDNumber(1970)+",城关,疫情,重大,2026-10-31,隔离"))
	if b.Late || b.Warnings != 1 {
		t.Fatalf("event 10-31 pushed 11-03 (3 days): %+v", b)
	}
	b = f.importBytes(t, "卫健委", cases.CatEpidemic, csvOf("姓名,身份证号,乡镇,事件名称,事件级别,发生日期,影响情况",
		"王试二,"+g.IDNumber(1970)+",城关,疫情,重大,2026-10-30,隔离"))
	if !b.Late || b.Warnings != 1 {
		t.Fatalf("event 10-30 pushed 11-03 (4 days) must be accepted and late: %+v", b)
	}
	js, _ := json.Marshal(b)
	if !strings.Contains(string(js), `"late":true`) || !strings.Contains(string(js), `"out_of_scope":0`) {
		t.Fatalf("import JSON: %s", js)
	}
	var late bool
	if err := f.db.Get(&late, `SELECT late FROM batches WHERE id = $1`, b.ID); err != nil {
		t.Fatal(err)
	}
	if !late {
		t.Fatal("late not stored")
	}
	// Out of scope (较大) rows never make a push late.
	b = f.importBytes(t, "卫健委", cases.CatEpidemic, csvOf("姓名,身份证号,乡镇,事件名称,事件级别,发生日期,影响情况",
		"王试三,"+g.IDNumber(1970)+",城关,疫情,较大,2026-09-30,隔离"))
	if b.Late || b.OutOfScope != 1 {
		t.Fatalf("out-of-scope old event: %+v", b)
	}
}

// A monthly push after its deadline (the 5th on the official calendar) is accepted and late.
func TestMonthlyPushAfterDeadlineIsLate(t *testing.T) {
	t.Parallel()
	f := setup(t)
	g := f.gen
	for _, tc := range []struct {
		arrived string
		late    bool
	}{{"2026-11-05", false}, {"2026-11-06", true}} {
		f.db.Now = func() time.Time { return cases.MustDate(tc.arrived).At(16, 0) }
		b := f.importBytes(t, "卫健委", cases.CatSeriousIllness, csvOf("姓名,身份证号,乡镇,病种,确诊日期",
			"陈试一,"+g.IDNumber(1970)+",城关,尿毒症,2026-10-12"))
		if b.Late != tc.late || b.Warnings != 1 {
			t.Errorf("October's data arriving %s: late %v, want %v (%+v)", tc.arrived, b.Late, tc.late, b)
		}
	}
}

// A warning's detail leaves out the cells that have columns of their own (姓名, 身份证号, 乡镇,
// 村, 户主身份证号), and what dispatch reads back puts them in again from those columns, so the
// cadre's view keeps them.
func TestDetailLeavesOutOwnColumns(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	person := f.gen.IDNumber(1971)
	b := f.importBytes(t, "医保局", cases.CatMedical, csvOf("姓名,身份证号,乡镇,村,户主身份证号,人员类别,住院自付累计,门诊统筹费用,门特费用,备注",
		"王详一,"+person+",城关镇,示例一村,"+f.head.IDNumber+",脱贫人口,6000,0,0,extra kept"))
	if b.Warnings != 1 {
		t.Fatalf("batch = %+v", b)
	}
	var raw string
	if err := f.db.Get(&raw, `SELECT detail::text FROM warnings WHERE batch_id = $1`, b.ID); err != nil {
		t.Fatal(err)
	}
	raw = pgtest.Open(t, f.db, raw)
	var detail map[string]string
	if err := json.Unmarshal([]byte(raw), &detail); err != nil {
		t.Fatalf("detail %s: %v", raw, err)
	}
	for _, k := range []string{"姓名", "身份证号", "乡镇", "村"} {
		if _, ok := detail[k]; ok {
			t.Errorf("detail repeats %s: %s", k, raw)
		}
	}
	// The 户主身份证号 column holds the number's hash: the number itself is kept in the
	// sealed detail (docs/encryption.md).
	if detail["户主身份证号"] != f.head.IDNumber {
		t.Errorf("detail lacks the head's number: %s", raw)
	}
	if detail["住院自付累计"] != "6000" || detail["备注"] != "extra kept" || detail["人员类别"] != "脱贫人口" {
		t.Errorf("detail lost the row's own cells: %s", raw)
	}
	if _, err := f.db.Dispatch(ctx, cases.DispatchOptions{Month: "2026-11", Date: cases.MustDate("2026-11-10")}); err != nil {
		t.Fatal(err)
	}
	var caseID int64
	if err := f.db.Get(&caseID, `SELECT case_id FROM warnings WHERE batch_id = $1`, b.ID); err != nil {
		t.Fatal(err)
	}
	ws, err := f.db.CaseWarnings(ctx, caseID)
	if err != nil || len(ws) != 1 {
		t.Fatalf("case warnings %+v, %v", ws, err)
	}
	want := map[string]string{"姓名": "王详一", "身份证号": person, "乡镇": "城关镇", "村": "示例一村",
		"户主身份证号": f.head.IDNumber, "住院自付累计": "6000", "备注": "extra kept"}
	for k, v := range want {
		if ws[0].Detail[k] != v {
			t.Errorf("dispatched detail %s = %q, want %q", k, ws[0].Detail[k], v)
		}
	}
}

// Once ChunkSize rows have been looked up, an import asks the registry only about people it
// may hold (RegistryIDKeys): registry people and people whose 户主身份证号 is a registry head,
// in later chunks, are still found, and the others are still not.
func TestRegistryFoundInLaterChunks(t *testing.T) {
	t.Parallel()
	f := setup(t)
	n := 2*intake.ChunkSize + 2000
	at := map[int]string{7000: f.lifted.IDNumber, 11000: f.head.IDNumber}
	rows := make([]string, 0, n)
	for i := 0; i < n; i++ {
		id, head := f.gen.IDNumber(1980), ""
		if v, ok := at[i]; ok {
			id = v
		}
		if i == 11500 {
			head = f.head.IDNumber // not in the registry, but of a registry household
		}
		// 5000 yuan 住院 warns only a 建档立卡 person: the registry decides
		rows = append(rows, "李试"+strconv.Itoa(i)+","+id+",城关镇,示例一村,"+head+",,5000,0,0")
	}
	b := f.importBytes(t, "医保局", cases.CatMedical, csvOf("姓名,身份证号,乡镇,村,户主身份证号,人员类别,住院自付累计,门诊统筹费用,门特费用", rows...))
	got := f.warnings(t, b.ID)
	want := map[int]string{7002: "medical.inpatient.registered@5000.00", 11002: "medical.inpatient.registered@5000.00",
		11502: "medical.inpatient.registered@5000.00"}
	if b.Rows != n || b.Warnings != len(want) || !reflect.DeepEqual(got, want) {
		t.Errorf("%d rows, %d warnings %v; want %d rows and %v", b.Rows, b.Warnings, got, n, want)
	}
}
