package handlers_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/fangpin/fangpin/bot/pgqueue"
	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/intake"
	"github.com/fangpin/fangpin/cases/orgfile"
	"github.com/fangpin/fangpin/cases/postgres"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
	"github.com/fangpin/fangpin/cases/sheet"
	"github.com/fangpin/fangpin/cases/synth"
	"github.com/fangpin/fangpin/handlers"
)

func setupPushes(t *testing.T) (*postgres.DB, *handlers.Router) {
	t.Helper()
	db := pgtest.New(t)
	b, err := os.ReadFile("../examples/org.yaml")
	if err != nil {
		t.Fatal(err)
	}
	org, err := orgfile.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ApplyOrg(context.Background(), org); err != nil {
		t.Fatal(err)
	}
	db.Now = func() time.Time { return time.Date(2026, 12, 3, 10, 0, 0, 0, cases.Shanghai) }
	out := &pgqueue.Outbox{DB: db}
	r := handlers.NewRouter(db, out, nil)
	r.Register((&handlers.Pushes{Store: db, Out: out}).Commands()...)
	return db, r
}

func pushMedical(t *testing.T, db *postgres.DB, period string, rows ...string) cases.Batch {
	t.Helper()
	file := []byte("姓名,身份证号,乡镇,住院自付累计,门诊统筹费用,门特费用\n" + strings.Join(rows, "\n") + "\n")
	r, err := sheet.New(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	h := sha256.Sum256(file)
	b, err := intake.Import(context.Background(), db, intake.Request{Department: "医保局", Category: cases.CatMedical,
		Period: period, SHA256: hex.EncodeToString(h[:]), Today: db.Today()}, r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func surviving(t *testing.T, db *postgres.DB) string {
	t.Helper()
	var rows []struct {
		Name   string `db:"name"`
		Period string `db:"period"`
	}
	if err := db.Select(&rows, `SELECT w.name, w.period FROM warnings w
		WHERE w.case_id IS NULL AND w.rule <> '' AND NOT EXISTS (SELECT 1 FROM warnings_superseded s WHERE s.warning_id = w.id)`); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rows {
		out = append(out, pgtest.Open(t, db, r.Name)+"@"+r.Period) // names are sealed (docs/encryption.md)
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

// 期间 re-files an undispatched push of one's own department under another period, checked
// as a push's period is; the rows merge person by person in the new period.
func TestRefileMovesAnUndispatchedPush(t *testing.T) {
	t.Parallel()
	db, r := setupPushes(t)
	g := synth.New(3)
	a, b := g.IDNumber(1970), g.IDNumber(1971)
	first := pushMedical(t, db, "2026-11", "甲,"+a+",城关镇,30000,0,0", "乙,"+b+",城关镇,30000,0,0")
	pushMedical(t, db, "2026-10", "甲十,"+a+",城关镇,30000,0,0")
	later := pushMedical(t, db, "2026-11", "甲二,"+a+",城关镇,40000,0,0")
	if later.Replaced != 1 || surviving(t, db) != "乙@2026-11 甲二@2026-11 甲十@2026-10" {
		t.Fatalf("before: replaced %d, surviving %s", later.Replaced, surviving(t, db))
	}
	for _, tc := range []struct{ user, text, want string }{
		{"liaison_wjw", "期间 " + later.ID + " 2026-10", "是医保局的推送"},
		{"wangwu", "期间 " + later.ID + " 2026-11x", "请写成 YYYY-MM"},
		{"wangwu", "期间 " + later.ID + " 2099-01", "晚于本月"},
		{"wangwu", "期间 B20990101-000000000000 2026-10", "没有找到批次"},
		{"wangwu", "期间 " + later.ID, "请这样写"},
		{"zhangsan", "期间 " + later.ID + " 2026-10", "只有"},
	} {
		if got := say(t, db, r, "m-"+tc.user+tc.text, tc.user, tc.text); !strings.Contains(got, tc.want) {
			t.Errorf("%s %q: %s, want %q", tc.user, tc.text, got, tc.want)
		}
	}
	if got := surviving(t, db); got != "乙@2026-11 甲二@2026-11 甲十@2026-10" {
		t.Fatalf("a refused 期间 changed the rows: %s", got)
	}
	got := say(t, db, r, "m1", "wangwu", "期间 "+strings.ToLower(later.ID)+" 2026-10")
	if !strings.Contains(got, "从 2026-11 期改为 2026-10 期") || !strings.Contains(got, "1 行") {
		t.Fatalf("期间 reply: %s", got)
	}
	// November's 甲 comes back, October's earlier 甲 is replaced by the re-filed push
	if got := surviving(t, db); got != "乙@2026-11 甲@2026-11 甲二@2026-10" {
		t.Fatalf("after 期间: %s", got)
	}
	if b, err := db.BatchByID(context.Background(), later.ID); err != nil || b.Period != "2026-10" {
		t.Fatalf("batch after 期间: %+v (%v)", b, err)
	}
	if _, err := db.Dispatch(context.Background(), cases.DispatchOptions{Month: "2026-12", Date: cases.NewDate(2026, 12, 3)}); err != nil {
		t.Fatal(err)
	}
	if got := say(t, db, r, "m2", "zhaoliu", "期间 "+first.ID+" 2026-09"); !strings.Contains(got, "已经集中交办") {
		t.Errorf("期间 after dispatch: %s", got)
	}
}

// 模板 sends each of the liaison's categories' templates as a file message, privately; 帮助
// lists it for liaisons.
func TestTemplateCommandSendsTheDepartmentsTemplates(t *testing.T) {
	t.Parallel()
	db, r := setupPushes(t)
	got := say(t, db, r, "m1", "wangwu", "模板")
	if !strings.Contains(got, "2 个推送模板") {
		t.Fatalf("模板 reply: %s", got)
	}
	box := outbox(t, db)
	for _, c := range []cases.Category{cases.CatMedical, cases.CatAssurance} {
		f, ok := box["template:m1:"+string(c)]
		if !ok || f.Target != "wangwu" || f.MsgType != "file" || !strings.Contains(f.Body["filename"].(string), string(c)) {
			t.Fatalf("%s template message: %+v", c, f)
		}
		var stored []byte
		if err := db.Get(&stored, `SELECT attachment FROM outbox WHERE idem_key = $1`, "template:m1:"+string(c)); err != nil {
			t.Fatal(err)
		}
		x, err := excelize.OpenReader(bytes.NewReader(stored))
		if err != nil {
			t.Fatal(err)
		}
		rows, _ := x.GetRows(x.GetSheetName(0))
		x.Close()
		if len(rows) != 2 || strings.Join(rows[0], ",") != strings.Join(intake.ColumnsOf(c), ",") {
			t.Errorf("%s template rows %v", c, rows)
		}
	}
	if got := say(t, db, r, "m2", "wangwu", "帮助"); !strings.Contains(got, "模板") || !strings.Contains(got, "期间 <批次号> YYYY-MM") {
		t.Errorf("帮助 for a liaison lacks 模板/期间: %s", got)
	}
	if got := say(t, db, r, "m3", "zhangsan", "模板"); !strings.Contains(got, "只有") {
		t.Errorf("a cadre's 模板: %s", got)
	}
}

// The push API takes the same bytes for another period as a new push, refuses a period that
// is not YYYY-MM or lies ahead with 400, and answers "replaced" for a later push of a period.
func TestBatchAPIPushIdentityAndPeriods(t *testing.T) {
	t.Parallel()
	srv, db := batchServer(t, &handlers.BatchAPI{})
	g := synth.New(5)
	file := []byte("姓名,身份证号,乡镇,住院自付累计,门诊统筹费用,门特费用\n甲," + g.IDNumber(1970) + ",城关镇,20000,0,0\n")
	push := func(period string, file []byte) answer {
		body, ct := multipartBody(t, map[string]string{"category": "medical", "period": period}, file)
		return pushBatch(t, srv.URL, "demo-token-ybj", ct, body)
	}
	for _, p := range []string{"2026-11x", "2099-01", "2026-13"} {
		if a := push(p, file); a.status != http.StatusBadRequest || !strings.Contains(a.err.Error, p) {
			t.Errorf("period %s: %+v", p, a)
		}
	}
	oct, sep := push("2026-10", file), push("2026-09", file)
	if oct.status != http.StatusCreated || sep.status != http.StatusCreated || sep.batch.DuplicateOf != nil || sep.batch.ID == oct.batch.ID {
		t.Fatalf("the same bytes for October and September: %+v / %+v", oct, sep)
	}
	later := push("2026-10", append(file, []byte("乙,"+g.IDNumber(1971)+",城关镇,20000,0,0\n")...))
	if later.status != http.StatusCreated || later.batch.Replaced != 1 {
		t.Fatalf("a later October push: %+v", later)
	}
	var n int
	if err := db.Get(&n, `SELECT count(*) FROM batches`); err != nil || n != 3 {
		t.Fatalf("%d batches (%v), want 3", n, err)
	}
}

// Re-filing the middle one of three pushes of a period: the first push's row it had replaced
// is replaced by the third, as if the middle push had never been there.
func TestRefileTheMiddlePush(t *testing.T) {
	t.Parallel()
	db, r := setupPushes(t)
	a := synth.New(4).IDNumber(1970)
	clock := time.Date(2026, 12, 3, 10, 0, 0, 0, cases.Shanghai)
	push := func(name string) cases.Batch {
		clock = clock.Add(time.Minute)
		db.Now = func() time.Time { return clock }
		return pushMedical(t, db, "2026-11", name+","+a+",城关镇,30000,0,0")
	}
	push("甲一")
	middle := push("甲二")
	push("甲三")
	if got := say(t, db, r, "m1", "wangwu", "期间 "+middle.ID+" 2026-10"); !strings.Contains(got, "改为 2026-10 期") {
		t.Fatalf("期间: %s", got)
	}
	if got := surviving(t, db); got != "甲三@2026-11 甲二@2026-10" {
		t.Fatalf("after re-filing the middle push: %s, want 甲三 for November and 甲二 for October", got)
	}
}
