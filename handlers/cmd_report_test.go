package handlers_test

import (
	"strings"
	"testing"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
	"github.com/fangpin/fangpin/cases/synth"
)

// 申报 / 走访: a cadre's own finding becomes a case of the township at once, or joins the
// household's open case; bad input says how to write it and stores nothing; the group sees
// a masked notice, never the typed 情况.
func TestSelfFoundCases(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	count := func() (n int) {
		n = pgtest.Count(t, f.db, `SELECT count(*) FROM warnings`)
		return
	}
	before := count()
	id := synth.New(99).IDNumber(1972)
	bad := id[:17] + string("0123456789"[(strings.IndexByte("0123456789X", id[17])+1)%10])
	situation := "房屋墙体开裂，雨季漏雨严重"

	wants(t, "in a group", f.say("zhangsan", "走访 "+id+" 孟繁星 住房 "+situation, true), "私聊", "未登记")
	wants(t, "check digit", f.say("zhangsan", "走访 "+bad+" 孟繁星 住房 "+situation, false), "校验位", "走访 <身份证号> <姓名> <类别> <情况>")
	wants(t, "unknown word", f.say("zhangsan", "走访 "+id+" 孟繁星 房子 "+situation, false), "不认识的类别", "住房、饮水")
	wants(t, "too short", f.say("zhangsan", "申报 "+id+" 孟繁星", false), "申报 <身份证号> <姓名> <类别> <情况>")
	wants(t, "liaison", f.say("zjj", "走访 "+id+" 孟繁星 住房 "+situation, false), "只有乡村干部")
	wants(t, "another township's household", f.say("zhangsan", "申报 "+f.p.C.ID+" "+f.p.C.Name+" 因病 住院花费较大", false), "属于河口乡")
	if n := count(); n != before {
		t.Fatalf("refused reports stored %d warnings", n-before)
	}

	reply := f.say("zhangsan", "走访 "+strings.ToLower(id)+" 孟繁星 住房 "+situation, false)
	wants(t, "走访", reply, "已记录", "干部走访", "新增", "2026-12-08", "住建局")
	refuses(t, "走访 reply", reply, id, "孟繁星", "墙体")
	cs, _ := f.db.ListCases(t.Context(), postgresFilterTownship("城关镇"))
	var found cases.Case
	for _, c := range cs {
		if c.HeadIDNumber == id {
			found = c
		}
	}
	if found.Source != cases.SourceVisit || found.Kind != cases.KindNew || found.DueOn != cases.MustDate("2026-12-08") ||
		found.Round != "2026-11" || len(found.TaskDepartments) != 1 || found.Responsible != "zhangsan" {
		t.Fatalf("走访 case: %+v", found)
	}
	// No village (the registry does not know the person, chat has no field): its township
	// shows, never "孟繁星（）"; overdue is counted in working days everywhere.
	todo := f.say("zhangsan", "待办", false)
	wants(t, "待办 of a case without village", todo, found.No+" 孟繁星（城关镇）")
	refuses(t, "待办 of a case without village", todo, "（）")
	saved := f.now
	f.now = cases.MustDate("2026-12-14").At(9, 0) // due Tue 12-08: Wed, Thu, Fri, Mon past
	for what, text := range map[string]string{"待办": f.say("zhangsan", "待办", false), "查看": f.say("zhangsan", "查看 "+found.No, false),
		"逾期": f.say("zhaoliu", "逾期", false)} {
		wants(t, what+" overdue", text, "已逾期 4 个工作日")
		refuses(t, what+" overdue", text, "天", "（）")
	}
	f.now = saved
	// its trail says the township found it, not that it was a 交办
	view := f.say("zhangsan", "查看 "+found.No, false)
	wants(t, "查看 of the 走访 case", view, "登记（乡镇自行发现，无交办）")
	refuses(t, "查看 of the 走访 case", strings.SplitN(view, "办理记录：", 2)[1], "交办\n", "交办 →")
	var group string
	pgtest.OpenOutbox(t, f.db) // bodies are sealed (docs/encryption.md)
	if err := f.db.Get(&group, `SELECT payload::text FROM outbox WHERE channel = 'appchat' AND payload::text LIKE '%'||$1||'%'`, found.No); err != nil {
		t.Fatal(err)
	}
	if group == "" || strings.Contains(group, "墙体") || strings.Contains(group, id) || strings.Contains(group, "孟繁星") {
		t.Errorf("group notice of the 走访 case: %q", group)
	}
	var dispatched bool
	if err := f.db.Get(&dispatched, `SELECT dispatched FROM rounds WHERE month = '2026-11'`); err != nil {
		t.Fatal(err)
	}
	if !dispatched {
		t.Errorf("the November round lost its dispatched mark")
	}

	// A household with an open case: 补充预警, the case keeps its source and (a repeat) its due date.
	h1 := f.byKey["hh:H0001"]
	merged := f.say("zhangsan", "申报 "+f.p.B.ID+" "+f.p.B.Name+" 因病 门诊费用持续增加", false)
	wants(t, "申报 to an open case", merged, "已记录", h1.No, "补充预警")
	after, _ := f.db.CaseByNo(t.Context(), h1.No)
	if after.Source != cases.SourceScreening || after.DueOn != h1.DueOn {
		t.Errorf("merged 申报 changed the case: source %s due %s", after.Source, after.DueOn)
	}
}

func postgresFilterTownship(t string) cases.CaseFilter { return cases.CaseFilter{Township: t} }
