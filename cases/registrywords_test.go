package cases

import (
	"strings"
	"testing"
)

func TestRegistryWords(t *testing.T) {
	kinds := []struct{ in, want, errHas string }{
		{"脱贫户", HouseholdLifted, ""},
		{"脱贫不稳定户（监测对象）", HouseholdUnstable, ""},
		{" 脱贫不稳定户 (监测对象) ", HouseholdUnstable, ""},
		{"边缘　户", HouseholdEdge, ""},
		{"边缘易致贫户【2025年认定】（监测）", HouseholdEdge, ""},
		{"严重困难户", HouseholdSudden, ""},
		{"突发严重困难户(）", HouseholdSudden, ""},
		{"监测户", "", "哪一类监测对象"},
		{"监测对象（2026）", "", "哪一类监测对象"},
		{"小康户", "", "脱贫户、脱贫不稳定户、边缘易致贫户或突发严重困难户"},
		{"（脱贫户）", "", "无法识别"},
		{"", "", "无法识别"},
	}
	for _, c := range kinds {
		got, err := ParseHouseholdKind(c.in)
		if got != c.want || (c.errHas == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.errHas)) {
			t.Errorf("ParseHouseholdKind(%q) = %q, %v; want %q, error with %q", c.in, got, err, c.want, c.errHas)
		}
	}
	risks := []struct{ in, want string }{
		{"未消除", RiskOpen}, {"风险未消除", RiskOpen}, {"未消除（2026年11月）", RiskOpen},
		{"已消除", RiskCleared}, {"风险消除", RiskCleared}, {" 已消除 ", RiskCleared},
		{"消除中", ""}, {"是", ""},
	}
	for _, c := range risks {
		got, err := ParseRiskStatus(c.in)
		if got != c.want || (c.want == "") != (err != nil) {
			t.Errorf("ParseRiskStatus(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}
