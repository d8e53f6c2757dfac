package cases

import (
	"reflect"
	"testing"
)

func TestReasonWordsKeepsSharedPhrasesOnly(t *testing.T) {
	reasons := []string{
		"家庭收入稳定，子女已就业。",
		"家庭收入稳定；有低保",
		"张三明家庭收入稳定，子女已就业，月收入3000元",
		"子女已就业，电话13800001111",
		"有低保，医疗费用已报销2万元",
		"张三明外出",
	}
	got := ReasonWords(reasons, 3)
	want := []string{"子女已就业", "有低保", "家庭收入稳定"} // 3 reasons, then 2 (shorter first)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ReasonWords = %v, want %v", got, want)
	}
	for _, w := range ReasonWords(reasons, 10) {
		switch w {
		case "张三明外出", "张三明家庭收入稳定", "月收入3000元", "电话13800001111", "医疗费用已报销2万元":
			t.Errorf("a phrase of one household, a number or an amount was kept: %q", w)
		}
	}
}
