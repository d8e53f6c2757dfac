package announce_test

import (
	"strings"
	"testing"

	"github.com/fangpin/fangpin/announce"
	"github.com/fangpin/fangpin/cases"
)

// A 信息变更 case (人员变动) asks for 录入, not 核查: its private message says so and no result
// card is sent.
func TestInfoCaseAnnouncedWithoutVerification(t *testing.T) {
	t.Parallel()
	c := cases.Case{No: "YJ202611-0007", Kind: cases.KindInfo, Township: "城关镇", HeadName: "张三", HeadIDNumber: "110101199003071234",
		Status: cases.StatusDispatched, DueOn: cases.MustDate("2026-12-31")}
	n := cases.TownshipNotice{Round: "2026-11", Township: "城关镇", AppChatID: "wrCG0001", Cadres: []string{"zhangsan"},
		CadreNames: []string{"张三丰"}, Liaisons: map[string][]string{},
		Cases: []cases.Dispatched{{Case: c, Warnings: []cases.WarningFact{{Category: cases.CatPopulation, Name: "张四", IDNumber: "110101199003071234",
			Detail: map[string]string{"变动类型": "死亡", "变动日期": "2026-10-12"}}}}}}
	var private string
	for _, m := range (&announce.Announcer{}).Messages([]cases.TownshipNotice{n}) {
		if m.MsgType == "template_card" {
			t.Errorf("a result card was sent for a 信息变更 case: %s", m.Body)
		}
		if m.Target == "zhangsan" {
			private += string(m.Body)
		}
	}
	if !strings.Contains(private, "录入 YJ202611-0007") || strings.Contains(private, "核查 YJ202611-0007") {
		t.Errorf("private message: %s", private)
	}
}

// A round with several due dates says which households are due when: a 信息变更 case due at the
// end of next month beside risk cases due in 20 working days (the round once announced the
// 信息变更 date, 2027-01-31, as every household's deadline).
func TestRoundNoticeStatesEachCasesDueDate(t *testing.T) {
	t.Parallel()
	risk := func(no, name string) cases.Case {
		return cases.Case{No: no, Kind: cases.KindNew, Township: "城关镇", Village: "东村", HeadName: name, Responsible: "zhangsan",
			Status: cases.StatusDispatched, DueOn: cases.MustDate("2027-01-05"), Categories: []cases.Category{cases.CatMedical}}
	}
	info := cases.Case{No: "YJ202612-0003", Kind: cases.KindInfo, Township: "城关镇", Village: "东村", HeadName: "张三", Responsible: "zhangsan",
		Status: cases.StatusDispatched, DueOn: cases.MustDate("2027-01-31"), Categories: []cases.Category{cases.CatPopulation}}
	n := cases.TownshipNotice{Round: "2026-12", Township: "城关镇", AppChatID: "wrCG0001", Cadres: []string{"zhangsan"},
		CadreNames: []string{"张三丰"}, Liaisons: map[string][]string{},
		Cases: []cases.Dispatched{{Case: risk("YJ202612-0001", "王建国")}, {Case: risk("YJ202612-0002", "李四")}, {Case: info}}}
	var group, private string
	for _, m := range (&announce.Announcer{}).Messages([]cases.TownshipNotice{n}) {
		switch {
		case m.Target == "wrCG0001":
			group += string(m.Body)
		case m.Target == "zhangsan" && strings.HasPrefix(m.Key, "round:private"):
			private += string(m.Body)
		}
	}
	for what, text := range map[string]string{"group": group, "private": private} {
		if !strings.Contains(text, "2027-01-05 前") || !strings.Contains(text, "2 件：YJ202612-0001、YJ202612-0002") ||
			!strings.Contains(text, "2027-01-31 前在全国系统中更新（人员变动） 1 件：YJ202612-0003") || strings.Contains(text, "请于 2027-01-31") {
			t.Errorf("%s summary does not say which households are due when:\n%s", what, text)
		}
	}
	// One date for all: said once.
	n.Cases = n.Cases[:2]
	for _, m := range (&announce.Announcer{}).Messages([]cases.TownshipNotice{n}) {
		if m.Target == "wrCG0001" && !strings.Contains(string(m.Body), "请于 2027-01-05 前办结") {
			t.Errorf("one due date: %s", m.Body)
		}
	}
}

// A township's group hears a 区域排查 counted apart from households, and a household it found
// itself (申报/走访) as found, not as a 交办 of the office (docs/held-and-tasks.md).
func TestRoundNoticeCountsTasksApartAndSelfFoundAsFound(t *testing.T) {
	t.Parallel()
	c := func(no string, src cases.CaseSource, area bool) cases.Dispatched {
		k := cases.KindNew
		if area {
			k = cases.KindSweep
		}
		return cases.Dispatched{Area: area, Case: cases.Case{No: no, Kind: k, Township: "青山镇", Village: "东村", HeadName: "王建国",
			Status: cases.StatusDispatched, DueOn: cases.MustDate("2027-01-05"), Categories: []cases.Category{cases.CatDisaster}, Source: src}}
	}
	group := func(ds ...cases.Dispatched) string {
		n := cases.TownshipNotice{Round: "2026-12", Township: "青山镇", AppChatID: "wrQS0001", Liaisons: map[string][]string{}, Cases: ds}
		for _, m := range (&announce.Announcer{}).Messages([]cases.TownshipNotice{n}) {
			if m.Target == "wrQS0001" {
				return string(m.Body)
			}
		}
		t.Fatal("no group message")
		return ""
	}
	if got := group(c("YJ202612-0001", cases.SourceScreening, false), c("YJ202612-0002", cases.SourceScreening, true)); !strings.Contains(got, "新交办 1 户，区域排查 1 项") {
		t.Errorf("a household and a 区域排查: %s", got)
	}
	if got := group(c("YJ202612-0003", cases.SourceVisit, false)); !strings.Contains(got, "【乡镇自行发现】青山镇：新登记 1 户") || strings.Contains(got, "交办") {
		t.Errorf("a household found on a visit: %s", got)
	}
}
