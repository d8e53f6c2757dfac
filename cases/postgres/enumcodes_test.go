package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/postgres"
	"github.com/fangpin/fangpin/cases/postgres/dispatchtest"
	"github.com/fangpin/fangpin/cases/synth"
)

// TestEnumCodesMigration: migration 00900 turns the Chinese words rows held before it into
// codes, the store reads them as the same values, and its Down gives back the words exactly.
func TestEnumCodesMigration(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := schemaFixture(t)
	all, err := postgres.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db.DB.DB, all, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.DownTo(ctx, 892); err != nil {
		t.Fatalf("down: %v", err)
	}
	// Rows as the code before 00900 wrote them: every kind, result, source and change word.
	for _, s := range []string{
		`UPDATE cases SET status = 'verified', verified_at = now(), result = '不纳入', reason = '收入稳定' WHERE id = (SELECT min(id) FROM cases WHERE kind = '新增')`,
		`UPDATE cases SET result = '已在监测', source = '农户申报' WHERE id = (SELECT min(id) FROM cases WHERE kind = '新增' AND result = '')`,
		`UPDATE cases SET result = '纳入', source = '干部走访' WHERE id = (SELECT min(id) FROM cases WHERE kind = '新增' AND result = '')`,
		`UPDATE cases SET kind = '信息变更', source = '人员变动' WHERE id = (SELECT min(id) FROM cases WHERE kind = '新增' AND result = '')`,
		`INSERT INTO spot_checks (case_id, month, seed, result) SELECT id, '2026-11', 1, '不合格' FROM cases WHERE result = '纳入'`,
		`INSERT INTO spot_checks (case_id, month, seed, result) SELECT id, '2026-11', 1, '合格' FROM cases WHERE result = '已在监测'`,
		`INSERT INTO spot_checks (case_id, month, seed) SELECT id, '2026-11', 1 FROM cases WHERE result = '不纳入'`,
		`INSERT INTO registry_history (id_number, household_no, change, changed_on, batch_id) VALUES
			('110101198001010011', 'H1', '死亡', '2026-11-01', 'P1'), ('110101198001010012', 'H1', '出生', '2026-11-01', 'P1'),
			('110101198001010013', 'H1', '迁入', '2026-11-01', 'P1'), ('110101198001010014', 'H1', '迁出', '2026-11-01', 'P1'),
			('110101198001010015', 'H2', '新增', '2026-11-02', 'R1'), ('110101198001010016', 'H2', '迁户', '2026-11-02', 'R1'),
			('', 'H3', '退出', '2026-11-02', 'R1'), ('', 'H4', '变更：村、风险状态', '2026-11-02', 'R1'), ('', 'H5', '变更', '2026-11-02', 'R1')`,
		`INSERT INTO registry_history (id_number, household_no, change, changed_on, batch_id) VALUES
			('110101198001010017', 'H6', '变更：姓名', '2026-11-02', 'R1')`,
	} {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	type snapshot struct{ cases, spots, history []string }
	take := func() snapshot {
		t.Helper()
		var s snapshot
		for _, q := range []struct {
			dst *[]string
			sql string
		}{
			{&s.cases, `SELECT id || ' ' || kind || ' ' || result || ' ' || source FROM cases ORDER BY id`},
			{&s.spots, `SELECT case_id || ' ' || result FROM spot_checks ORDER BY case_id`},
			{&s.history, `SELECT household_no || ' ' || id_number || ' ' || change FROM registry_history ORDER BY id`},
		} {
			if err := db.Select(q.dst, q.sql); err != nil {
				t.Fatal(err)
			}
		}
		return s
	}
	before := take()
	if _, err := p.Up(ctx); err != nil {
		t.Fatalf("up: %v", err)
	}
	var words []string
	if err := db.Select(&words, `SELECT DISTINCT x FROM (SELECT kind AS x FROM cases UNION SELECT result FROM cases UNION SELECT source FROM cases
		UNION SELECT result FROM spot_checks UNION SELECT change FROM registry_history) w ORDER BY x`); err != nil {
		t.Fatal(err)
	}
	want := []string{"", "added", "applied", "birth", "changed", "death", "exclude", "fail", "include", "info", "monitored",
		"move_in", "move_out", "moved", "new", "pass", "population", "removed", "screening", "sweep", "update", "visit"}
	if len(words) != len(want) {
		t.Fatalf("values after Up: %q, want %q", words, want)
	}
	for i := range want {
		if words[i] != want[i] {
			t.Fatalf("values after Up: %q, want %q", words, want)
		}
	}
	// The store reads the codes as its values: each case as it was, in codes.
	cs, err := db.ListCases(ctx, cases.CaseFilter{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, c := range cs {
		seen[c.Kind.Label()+"/"+c.Result.Label()+"/"+c.Source.Label()]++
		if _, ok := cases.ParseKind(string(c.Kind)); !ok {
			t.Errorf("case %s of kind %q", c.No, string(c.Kind))
		}
	}
	for _, k := range []string{"新增/不纳入/部门筛查", "新增/已在监测/农户申报", "新增/纳入/干部走访", "信息变更//人员变动", "区域排查//部门筛查"} {
		if seen[k] == 0 {
			t.Errorf("no case %s among %v", k, seen)
		}
	}
	// A 变更 keeps the fields its word named; the member history names them again.
	var fields []string
	if err := db.Select(&fields, `SELECT array_to_string(fields, '/') FROM registry_history WHERE change = 'changed' ORDER BY id`); err != nil ||
		len(fields) != 3 || fields[0] != "村/风险状态" || fields[1] != "" || fields[2] != "姓名" {
		t.Errorf("fields of the old 变更 rows: %q %v", fields, err)
	}
	// A word the code never writes is refused.
	if _, err := db.Exec(`UPDATE cases SET kind = '新增' WHERE id = (SELECT min(id) FROM cases)`); err == nil {
		t.Error("a Chinese kind was stored after Up")
	}
	if _, err := p.DownTo(ctx, 892); err != nil {
		t.Fatalf("down again: %v", err)
	}
	after := take()
	for i, pair := range [][2][]string{{before.cases, after.cases}, {before.spots, after.spots}, {before.history, after.history}} {
		if len(pair[0]) != len(pair[1]) {
			t.Fatalf("table %d: %d rows before, %d after Down", i, len(pair[0]), len(pair[1]))
		}
		for j := range pair[0] {
			if pair[0][j] != pair[1][j] {
				t.Errorf("table %d row %d: %q before Up, %q after Down", i, j, pair[0][j], pair[1][j])
			}
		}
	}
	if _, err := p.Up(ctx); err != nil {
		t.Fatalf("up again: %v", err)
	}
}

// TestMemberHistoryNamesChanges: registry_history keeps codes, and a member's history reads
// them as words — a 变更 with the fields it names, a household's own removal as 全户退出.
func TestMemberHistoryNamesChanges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, p := dispatchtest.New(t)
	db.Now = func() time.Time { return cases.MustDate("2026-11-02").At(9, 0) }
	member := func(no string, head dispatchtest.Person, name, id, rel string) cases.RegistryMember {
		return cases.RegistryMember{HouseholdNo: no, HeadIDNumber: head.ID, Name: name, IDNumber: id, Relation: rel,
			Township: "城关镇", Village: "东村", Kind: cases.HouseholdLifted, RiskStatus: cases.RiskCleared}
	}
	g := synth.New(7)
	k := dispatchtest.Person{Name: "孔繁星", ID: g.IDNumber(1968)}
	v1 := []cases.RegistryMember{member("H0001", p.A, p.A.Name, p.A.ID, "户主"), member("H0001", p.A, p.B.Name, p.B.ID, "之子"),
		member("H0002", p.C, p.C.Name, p.C.ID, "户主"), member("H0003", k, k.Name, k.ID, "户主")}
	v2 := []cases.RegistryMember{v1[0], member("H0001", p.A, "王二", p.B.ID, "之女"), v1[2]}
	// Then C's household moves to another village, and B joins it afterwards.
	c3 := v2[2]
	c3.Village = "西村"
	v3 := []cases.RegistryMember{v2[0], v2[1], c3}
	b4 := member("H0002", p.C, "王二", p.B.ID, "之女")
	b4.Village = "西村"
	v4 := []cases.RegistryMember{v2[0], b4, c3}
	for i, v := range [][]cases.RegistryMember{v1, v2, v3, v4} {
		if _, err := db.ImportRegistry(ctx, v, cases.RegistryImportOptions{AllowRemovals: true}); err != nil {
			t.Fatalf("import %d: %v", i+1, err)
		}
	}
	var codes []string
	if err := db.Select(&codes, `SELECT DISTINCT change FROM registry_history ORDER BY 1`); err != nil {
		t.Fatal(err)
	}
	if strings.Join(codes, " ") != "added changed moved removed" {
		t.Errorf("stored changes %q, want codes", codes)
	}
	last := func(id string) string {
		t.Helper()
		m, err := db.RegistryMember(ctx, id)
		if err != nil || len(m.History) == 0 {
			t.Fatalf("history of %s: %+v %v", id, m, err)
		}
		return m.History[len(m.History)-1].Change
	}
	if got := last(p.B.ID); got != "迁户" {
		t.Errorf("B's last change %q", got)
	}
	// A household's change is its members' too, but not of a member who joined it later.
	if got := last(p.C.ID); got != "全户变更：村" {
		t.Errorf("C's last change %q, want the household's village change", got)
	}
	b, err := db.RegistryMember(ctx, p.B.ID)
	if err != nil {
		t.Fatal(err)
	}
	var words []string
	for _, h := range b.History {
		words = append(words, h.Change)
	}
	if strings.Join(words, " ") != "变更：姓名、与户主关系 迁户" {
		t.Errorf("B's history %q: want its own changes only, not those of the household it joined before it came", words)
	}
	if got := last(k.ID); got != "全户退出" {
		t.Errorf("K's last change %q", got)
	}
}
