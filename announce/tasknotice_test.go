package announce_test

import (
	"strings"
	"testing"

	"github.com/fangpin/fangpin/announce"
	"github.com/fangpin/fangpin/cases"
)

// A department's task notice is pushed unasked: it names the problem and the person, and
// points to 查看 for the row's details, which go out only on request (docs/privacy.md). It
// used to carry the row's 问题描述 verbatim.
func TestTaskNoticeKeepsTheRowsDescriptionForRequest(t *testing.T) {
	c := cases.Case{No: "YJ202612-0007", Township: "城关镇", Village: "东关村", HeadName: "何试五"}
	task := cases.Task{Department: "住建局", DueOn: cases.MustDate("2027-01-06")}
	ws := []cases.WarningFact{
		{Category: cases.CatAssurance, Name: "何试五", Detail: map[string]string{"问题类型": "住房安全", "问题描述": "房屋C级危房"}},
		{Category: cases.CatAssurance, Name: "何试五", Detail: map[string]string{"问题类型": "饮水安全", "问题描述": "水源枯竭"}},
	}
	got := announce.TaskNotice(c, task, ws)
	for _, want := range []string{"YJ202612-0007", "交办给住建局", "2027-01-06", "两不愁三保障·住房安全 何试五", "查看 YJ202612-0007", "办理 YJ202612-0007"} {
		if !strings.Contains(got, want) {
			t.Errorf("task notice lacks %q:\n%s", want, got)
		}
	}
	for _, never := range []string{"房屋C级危房", "水源枯竭", "饮水安全"} {
		if strings.Contains(got, never) {
			t.Errorf("task notice carries %q:\n%s", never, got)
		}
	}
}

// The office's 转办 说明 is typed freely and pushed unasked: an ID number in it goes out
// masked (it went out whole), the rest as typed.
func TestTaskNoticeMasksAnIDNumberInTheOfficesNote(t *testing.T) {
	c := cases.Case{No: "YJ202612-0019", Township: "城关镇", Village: "东关村", HeadName: "何试五"}
	id := "990708198512146738"
	task := cases.Task{Department: "民政局", DueOn: cases.MustDate("2027-01-06"), Note: "户主" + id + "患病，建议临时救助"}
	got := announce.TaskNotice(c, task, nil)
	if strings.Contains(got, id) || !strings.Contains(got, "户主"+cases.MaskIDNumber(id)+"患病，建议临时救助") {
		t.Errorf("task notice:\n%s\nwant the note with %s masked", got, id)
	}
}
