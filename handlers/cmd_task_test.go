package handlers_test

import (
	"context"
	"fmt"
	"github.com/fangpin/fangpin/announce"
	"strings"
	"testing"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/handlers"
)

// Department tasks by chat: 待办 lists a liaison's tasks, 办理 closes only one's own
// department's task and never repeats the measure, 转办 adds a task and tells the liaisons.
func TestDepartmentTaskCommands(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	g := f.byKey["head:"+f.p.G.ID]  // assurance: a 住建局 task
	c := f.byKey["hh:H0002"]        // employment: a 人社局 task
	fc := f.byKey["head:"+f.p.F.ID] // assistance: no task

	todo := f.say("zjj", "待办", false)
	wants(t, "liaison 待办", todo, "住建局未办理的部门任务 1 项", g.No, "2026-12-08")
	refuses(t, "liaison 待办", todo, c.No)

	wants(t, "another department's task", f.say("zjj", "办理 "+c.No+" 已经安排就业岗位", false), "人社局", "不是您所在的住建局")
	wants(t, "a case without task", f.say("zjj", "办理 "+fc.No+" 已经安排就业岗位", false), "没有交办给住建局的任务")
	wants(t, "no measure", f.say("zjj", "办理 "+g.No, false), "办理 <编号> <措施>")
	wants(t, "cadre 办理", f.say("zhangsan", "办理 "+g.No+" 已修缮房屋", false), "只有部门联络员")

	measure := "已落实危房改造补助，联系人电话13800138000"
	done := f.say("zjj", "办理 "+strings.ToLower(g.No)+" "+measure, true)
	wants(t, "办理 in a group", done, "已记录", g.No, "住建局")
	refuses(t, "办理 in a group", done, measure, "13800138000")
	ts, _ := f.db.TasksOf(ctx, []int64{g.ID})
	if len(ts[g.ID]) != 1 || ts[g.ID][0].Status != cases.TaskDone || ts[g.ID][0].Measure != measure {
		t.Errorf("task after 办理: %+v", ts[g.ID])
	}
	wants(t, "待办 after 办理", f.say("zjj", "待办", false), "没有未办理的部门任务")
	wants(t, "查看 shows tasks", f.say("zhangsan", "查看 "+g.No, false), "部门任务", "住建局：已办理")

	// 转办
	wants(t, "unknown department", f.say("zhaoliu", "转办 "+fc.No+" 房管局 请核实房屋", false), "没有名为“房管局”的部门", "住建局")
	wants(t, "no note", f.say("zhaoliu", "转办 "+fc.No+" 住建局", false), "转办 <编号> <部门> <说明>")
	wants(t, "cadre 转办", f.say("zhangsan", "转办 "+fc.No+" 住建局 请核实", false), "只有县扶贫办")
	f.out.got = nil
	note := "请核实危房情况，户主身份证 " + f.p.F.ID
	ref := f.say("zhaoliu", "转办 "+fc.No+" 住建局 "+note, true)
	wants(t, "转办", ref, "已记录", "已转办给住建局", "2026-12-08", "私信")
	refuses(t, "转办 in a group", ref, f.p.F.ID, "危房")
	if len(f.out.got) != 1 || f.out.got[0].Target != "zjj" || !strings.Contains(string(f.out.got[0].Body), "办理 "+fc.No) {
		t.Errorf("转办 told the liaisons: %+v", f.out.got)
	}
	// the department is no secret: a group reply names it even when the 说明 holds what must
	// not be shown ("已转办给（不在群里显示）" read as if the department were hidden)
	ref2 := f.router.GroupAnswer(ctx, bot.Message{ID: "m-refer-group", UserID: "zhaoliu", ChatType: "group", ChatID: "wrCG0001",
		ResponseURL: "http://resp/x", Text: "转办 " + fc.No + " 民政局 户主" + f.p.F.ID + "患病，建议临时救助3000元"})
	wants(t, "转办 to 民政局 in a group", ref2, "已转办给民政局")
	refuses(t, "转办 to 民政局 in a group", ref2, f.p.F.ID, "3000")
	wants(t, "liaison sees the referred case", f.say("zjj", "查看 "+fc.No, false), fc.No, "部门任务")
	// A liaison reads only the warnings of its department on a case routed elsewhere.
	h1 := f.byKey["hh:H0001"]
	if _, err := f.db.ReferTask(ctx, h1.No, "住建局", "请核实住房情况", actor(t, f, "zhaoliu"), "test"); err != nil {
		t.Fatal(err)
	}
	share := f.say("zjj", "查看 "+h1.No, false)
	wants(t, "liaison's share", share, h1.No, "住建局")
	refuses(t, "liaison's share", share, f.p.Disease, f.p.Amount)
	wants(t, "待办 after 转办", f.say("zjj", "待办", false), fc.No)
	// After the due date the office's 逾期 lists the departments' overdue tasks.
	f.now = cases.MustDate("2026-12-09").At(9, 0)
	wants(t, "逾期 with tasks", f.say("zhaoliu", "逾期", false), "部门任务逾期未办理", "人社局：", c.No, "住建局：", fc.No)
}

// The office's 交办 reply lists held warnings (比对已核) with the earlier case, never a full ID.
func TestDispatchSummaryListsHeld(t *testing.T) {
	t.Parallel()
	id := "110101196501011234"
	res := cases.DispatchResult{Round: "2026-12", Held: 1, ByTownship: map[string]int{}, HeldList: []cases.HeldWarning{
		{IDNumber: id, Category: cases.CatMedical, EarlierCase: "YJ202611-0001", Name: "王建国", Township: "城关镇"}}}
	s := handlers.DispatchSummary(res)
	wants(t, "held", s, "比对已核 1 条", "YJ202611-0001", cases.MaskIDNumber(id), "因病", "王建国")
	refuses(t, "held", s, id, "没有待交办")
}

// A department's liaisons hear of a round's tasks one by one when there are few, and in one
// summary when there are many (WeCom's 30 messages a minute per member).
func TestTaskNoticesStayWithinLimits(t *testing.T) {
	t.Parallel()
	notice := func(n int) []cases.TownshipNotice {
		tn := cases.TownshipNotice{Round: "2026-11", Township: "城关镇", Liaisons: map[string][]string{"人社局": {"rsj1", "rsj2"}}}
		for i := 0; i < n; i++ {
			c := cases.Case{No: fmt.Sprintf("YJ202611-%04d", i+1), Township: "城关镇", HeadName: "王建国"}
			tn.Cases = append(tn.Cases, cases.Dispatched{Case: c, Tasks: []cases.Task{{ID: int64(i + 1), Department: "人社局",
				DueOn: cases.MustDate("2026-12-08")}}})
		}
		return []cases.TownshipNotice{tn}
	}
	count := func(msgs []bot.Outgoing, user string) (n int, text string) {
		for _, m := range msgs {
			if m.Target == user && strings.HasPrefix(m.Key, "task") {
				n++
				text += string(m.Body)
			}
		}
		return
	}
	a := &announce.Announcer{}
	if n, text := count(a.Messages(notice(3)), "rsj1"); n != 3 || !strings.Contains(text, "办理 YJ202611-0003") {
		t.Errorf("3 tasks: %d messages to a liaison: %s", n, text)
	}
	n, text := count(a.Messages(notice(150)), "rsj2")
	if n == 0 || n > 5 || !strings.Contains(text, "任务 150 项") || !strings.Contains(text, "YJ202611-0150") {
		t.Errorf("150 tasks: %d messages to a liaison: %.300s", n, text)
	}
}

func actor(t *testing.T, f *fixture, userid string) cases.Actor {
	t.Helper()
	a, err := f.db.Actor(context.Background(), userid)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// A reason typed in chat reaches the ledger as typed: colons, full stops and URLs kept (it
// once became "经核实 家庭收入稳定" and "https //…").
func TestChatReasonsStoredAsTyped(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	e, fc := f.byKey["head:"+f.p.E.ID], f.byKey["head:"+f.p.F.ID]
	for _, x := range []struct {
		no, text, want string
	}{
		{e.No, "核查 " + e.No + " 不纳入 经核实：家庭收入稳定。", "经核实：家庭收入稳定。"},
		{fc.No, "核查" + fc.No + "纳入：已安排医疗救助，见 https://fp.example/x 。", "已安排医疗救助，见 https://fp.example/x 。"},
	} {
		wants(t, x.text, f.say("zhangsan", x.text, false), "已登记")
		if c, _ := f.db.CaseByNo(ctx, x.no); c.Reason != x.want {
			t.Errorf("%s: stored reason %q, want %q", x.text, c.Reason, x.want)
		}
	}
	g := f.byKey["head:"+f.p.G.ID]
	wants(t, "办理", f.say("zjj", "办理 "+g.No+" 已落实改造资金：2万元。详见 https://fp.example/y", false), "已记录")
	ts, err := f.db.TasksOf(ctx, []int64{g.ID})
	if err != nil || len(ts[g.ID]) == 0 || ts[g.ID][0].Measure != "已落实改造资金：2万元。详见 https://fp.example/y" {
		t.Errorf("stored measure: %+v %v", ts[g.ID], err)
	}
}
