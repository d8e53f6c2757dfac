package handlers_test

import (
	"strings"
	"testing"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/handlers"
)

// A 信息变更 case (人员变动) asks for 录入, not 核查: its private message says so and no result
// card is sent.
func TestInfoCaseAnnouncedWithoutVerification(t *testing.T) {
	c := cases.Case{No: "YJ202611-0007", Kind: cases.KindInfo, Township: "城关镇", HeadName: "张三", HeadIDNumber: "110101199003071234",
		Status: cases.StatusDispatched, DueOn: cases.MustDate("2026-12-31")}
	n := cases.TownshipNotice{Round: "2026-11", Township: "城关镇", AppChatID: "wrCG0001", Cadres: []string{"zhangsan"},
		CadreNames: []string{"张三丰"}, Liaisons: map[string][]string{},
		Cases: []cases.Dispatched{{Case: c, Warnings: []cases.WarningFact{{Category: cases.CatPopulation, Name: "张四", IDNumber: "110101199003071234",
			Detail: map[string]string{"变动类型": "死亡", "变动日期": "2026-10-12"}}}}}}
	var private string
	for _, m := range (&handlers.Announcer{}).Messages([]cases.TownshipNotice{n}) {
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
