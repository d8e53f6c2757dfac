package cases

import (
	"strings"
	"testing"
)

func TestGroupVillage(t *testing.T) {
	for in, want := range map[string]string{
		"东关村":    "东关村",
		"城南社区":   "城南社区",
		"红旗居委会":  "红旗居委会",
		"上湾村第三组": "上湾村第三组",
		"":       "",
		"王大明 997777197001010016 肺癌晚期 自付5.2万元": VillagePending,
		"东关村3组":     VillagePending, // a digit
		"村":         VillagePending,
		"东关":        VillagePending, // no village ending
		"王大明肺癌晚期":   VillagePending,
		"Dongguan村": VillagePending,
		"很长很长很长很长很长很长的村": VillagePending,
	} {
		if got := GroupVillage(in); got != want {
			t.Errorf("GroupVillage(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestOrgAIBotChatBelongsToOneTownship(t *testing.T) {
	var o Org
	o.Townships = []OrgTownship{{Name: "城关镇"}, {Name: "河口乡"}, {Name: "青山镇"}}
	o.Townships[0].Chat.AIBotChat = "aiCG1"
	o.Townships[1].Chat.AIBotChat = "aiCG1"
	o.Townships[2].Chat.AIBotChat = "群 1"
	var dup, bad bool
	for _, p := range o.Validate() {
		dup = dup || strings.Contains(p, "已属于城关镇")
		bad = bad || strings.Contains(p, "aibot_chat “群 1”")
	}
	if !dup || !bad {
		t.Errorf("problems %q: want the shared chat and the malformed one named", o.Validate())
	}
}
