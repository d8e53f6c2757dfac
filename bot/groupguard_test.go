package bot

import (
	"strings"
	"testing"
)

func TestGroupSafe(t *testing.T) {
	t.Parallel()
	words := GroupWords{Hide: []string{"肺癌", "肺癌晚期", "尿毒症"}, Names: map[string]string{"王大明": "王*明", "李四": "李*"}}
	for _, c := range []struct {
		in, want string
	}{
		{"王大明 997777197001010016 肺癌晚期 自付5.2万元", "王*明 997777********0016 （不公开） 自付***"},
		{"身份证 11010519491231002x 已核", "身份证 110105********002x 已核"},
		{"联系电话13812345678。", "联系电话138****5678。"},
		{"座机 0571-88886666 或 ¥300", "座机 *** 或 ***"},
		{"银行卡 6222021234567890123", "银行卡 ***"},
		{"李四 尿毒症，月花费 3000 元", "李* （不公开），月花费 ***"},
		// What a group may read stays as it is.
		{"【防返贫预警交办】2026-11 批次 城关镇：新交办 3 户，请于 2026-12-08 前办结。\nYJ202611-0001 王*明（东关村）｜因病｜新增",
			"【防返贫预警交办】2026-11 批次 城关镇：新交办 3 户，请于 2026-12-08 前办结。\nYJ202611-0001 王*明（东关村）｜因病｜新增"},
		// A link keeps its query (a signature may hold any digits).
		{"清单：http://h/tasks/?township=%E5%9F%8E&s=13812345678901234567abc 王大明",
			"清单：http://h/tasks/?township=%E5%9F%8E&s=13812345678901234567abc 王*明"},
	} {
		if got := GroupSafe(c.in, words); got != c.want {
			t.Errorf("GroupSafe(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
	}
}

func TestGroupSafeFieldsKeepsAddresses(t *testing.T) {
	t.Parallel()
	body := map[string]any{"content": "王大明 13812345678", "mentioned_list": []any{"13812345678"},
		"card": map[string]any{"title": "肺癌", "url": "http://x/?p=13812345678"}}
	out := groupSafeFields(body, GroupWords{Hide: []string{"肺癌"}, Names: map[string]string{"王大明": "王*明"}}).(map[string]any)
	if got := out["content"]; got != "王*明 138****5678" {
		t.Errorf("content %q", got)
	}
	if got := out["mentioned_list"].([]any)[0]; got != "13812345678" {
		t.Errorf("mentioned_list changed: %v", got)
	}
	card := out["card"].(map[string]any)
	if card["title"] != HiddenNote || !strings.Contains(card["url"].(string), "13812345678") {
		t.Errorf("card %v", card)
	}
}
