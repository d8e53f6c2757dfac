package cases

import (
	"encoding/json"
	"fmt"
	"testing"
)

// TestEnumCodesAndLabels: every enum value is an ASCII code whose Label is the Chinese word,
// the parser takes the word and the code back to the value, and %s and JSON show the word.
func TestEnumCodesAndLabels(t *testing.T) {
	type value struct {
		v     fmt.Stringer
		code  string
		label string
		parse func(string) (string, bool)
	}
	var vs []value
	add := func(code, label string, v fmt.Stringer, parse func(string) (string, bool)) {
		vs = append(vs, value{v, code, label, parse})
	}
	pr := func(s string) (string, bool) { r, ok := ParseResult(s); return string(r), ok }
	pk := func(s string) (string, bool) { k, ok := ParseKind(s); return string(k), ok }
	ps := func(s string) (string, bool) { c, ok := ParseCaseSource(s); return string(c), ok }
	psp := func(s string) (string, bool) { r, ok := ParseSpotResult(s); return string(r), ok }
	pc := func(s string) (string, bool) { c, ok := ParseChange(s); return string(c), ok }
	add("include", "纳入", ResultInclude, pr)
	add("monitored", "已在监测", ResultMonitored, pr)
	add("exclude", "不纳入", ResultExclude, pr)
	add("new", "新增", KindNew, pk)
	add("update", "更新", KindUpdate, pk)
	add("info", "信息变更", KindInfo, pk)
	add("sweep", "区域排查", KindSweep, pk)
	add("screening", "部门筛查", SourceScreening, ps)
	add("applied", "农户申报", SourceApplied, ps)
	add("visit", "干部走访", SourceVisit, ps)
	add("population", "人员变动", SourcePopulation, ps)
	add("pass", "合格", SpotPass, psp)
	add("fail", "不合格", SpotFail, psp)
	add("death", "死亡", ChangeDeath, pc)
	add("birth", "出生", ChangeBirth, pc)
	add("move_in", "迁入", ChangeMoveIn, pc)
	add("move_out", "迁出", ChangeMoveOut, pc)
	add("added", "新增", ChangeAdded, pc)
	add("moved", "迁户", ChangeMoved, pc)
	add("removed", "退出", ChangeRemoved, pc)
	add("changed", "变更", ChangeChanged, pc)
	for _, x := range vs {
		if got := fmt.Sprintf("%s", x.v); got != x.label {
			t.Errorf("%s: %%s gives %q, want %q", x.code, got, x.label)
		}
		if got := fmt.Sprintf("%v", x.v); got != x.label {
			t.Errorf("%s: %%v gives %q", x.code, got)
		}
		for _, in := range []string{x.code, x.label} {
			if got, ok := x.parse(in); !ok || got != x.code {
				t.Errorf("parse %q = %q %v, want %q", in, got, ok, x.code)
			}
		}
		b, err := json.Marshal(x.v)
		if err != nil || string(b) != `"`+x.label+`"` {
			t.Errorf("%s: JSON %s %v, want the label", x.code, b, err)
		}
	}
	if _, ok := ParseResult("合格"); ok {
		t.Error("ParseResult took a spot-check word")
	}
	if r, ok := ParseResult("不予纳入"); !ok || r != ResultExclude {
		t.Errorf("不予纳入 = %q %v", r, ok)
	}
	if c, ok := ParsePopulationChange("退出"); ok {
		t.Errorf("a 人员变动 row cannot be 退出: %q", c)
	}
}

// TestEnumJSONRoundTrip: a struct written as JSON shows labels and reads back the same codes,
// whether the JSON holds labels or codes; an empty value stays empty, an unknown word fails.
func TestEnumJSONRoundTrip(t *testing.T) {
	type rec struct {
		Kind   Kind       `json:"kind"`
		Result Result     `json:"result"`
		Source CaseSource `json:"source"`
		Spot   SpotResult `json:"spot"`
		Change Change     `json:"change"`
	}
	in := rec{KindSweep, ResultMonitored, SourceVisit, SpotFail, ChangeMoveOut}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"kind":"区域排查","result":"已在监测","source":"干部走访","spot":"不合格","change":"迁出"}`; string(b) != want {
		t.Errorf("JSON %s, want %s", b, want)
	}
	for _, j := range []string{string(b), `{"kind":"sweep","result":"monitored","source":"visit","spot":"fail","change":"move_out"}`} {
		var out rec
		if err := json.Unmarshal([]byte(j), &out); err != nil || out != in {
			t.Errorf("read %s: %+v %v", j, out, err)
		}
	}
	var empty rec
	if err := json.Unmarshal([]byte(`{"result":""}`), &empty); err != nil || empty.Result != ResultNone {
		t.Errorf("empty result: %+v %v", empty, err)
	}
	if err := json.Unmarshal([]byte(`{"result":"也许"}`), &empty); err == nil {
		t.Error("an unknown result was read")
	}
}

// TestHistoryWord: a re-import's change is named by its label, a 变更 with its fields.
func TestHistoryWord(t *testing.T) {
	for _, tc := range []struct {
		c    RegistryChange
		want string
	}{
		{RegistryChange{Change: RegAdded}, "新增"},
		{RegistryChange{Change: RegMoved}, "迁户"},
		{RegistryChange{Change: RegRemoved}, "退出"},
		{RegistryChange{Change: RegChanged}, "变更"},
		{RegistryChange{Change: RegChanged, Fields: []string{"村", "风险状态"}}, "变更：村、风险状态"},
		{RegistryChange{Change: string(ChangeDeath)}, "死亡"},
	} {
		if got := tc.c.HistoryWord(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.c, got, tc.want)
		}
	}
}

func TestPopulationChangeWords(t *testing.T) {
	if got := PopulationChangeWords(); got != "死亡 出生 迁入 迁出" {
		t.Errorf("%q", got)
	}
}
