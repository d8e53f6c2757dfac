package cases

import (
	"fmt"
	"strings"
)

// The national system's words for 户类型 and 风险状态 are not always the four and two of
// the spec: exports add a note in brackets (脱贫不稳定户（监测对象）), spaces, or use the short
// names county staff use. The registry reads them as department files are read
// (docs/registry.md lists every word): the note and the spaces go, a known synonym maps to
// its word, anything else is a row error naming the accepted words.

// householdKindWords maps each accepted 户类型 word, after RegistryWord, to its kind.
var householdKindWords = map[string]string{
	HouseholdLifted: HouseholdLifted, "脱贫": HouseholdLifted, "已脱贫户": HouseholdLifted, "稳定脱贫户": HouseholdLifted,
	HouseholdUnstable: HouseholdUnstable, "脱贫不稳定": HouseholdUnstable, "不稳定户": HouseholdUnstable,
	HouseholdEdge: HouseholdEdge, "边缘易致贫": HouseholdEdge, "边缘户": HouseholdEdge, "易致贫户": HouseholdEdge,
	"边缘易致贫人口户":      HouseholdEdge,
	HouseholdSudden: HouseholdSudden, "突发严重困难": HouseholdSudden, "严重困难户": HouseholdSudden, "突发困难户": HouseholdSudden,
}

// monitoredWithoutKind are words for "a monitored household" that do not say which of the
// three kinds it is: mapping them to one would change how the county counts the household.
var monitoredWithoutKind = map[string]bool{"监测户": true, "监测对象": true, "防返贫监测对象": true, "监测帮扶对象": true, "防止返贫监测对象": true}

// riskWords maps each accepted 风险状态 word to its state.
var riskWords = map[string]string{
	RiskOpen: RiskOpen, "风险未消除": RiskOpen, "未消除风险": RiskOpen,
	RiskCleared: RiskCleared, "风险已消除": RiskCleared, "已消除风险": RiskCleared, "风险消除": RiskCleared,
}

// RegistryWord is a registry cell as its words are compared: spaces of any width removed,
// and trailing notes in brackets (（…）, (…), 【…】, […], 〔…〕) dropped.
func RegistryWord(s string) string {
	s = strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\n', '\r', '\u00a0', '\u3000', '\ufeff', '\u200b':
			return -1
		}
		return r
	}, s)
	pairs := [][2]string{{"（", "）"}, {"(", ")"}, {"【", "】"}, {"[", "]"}, {"〔", "〕"}, {"(", "）"}, {"（", ")"}}
	for trimmed := true; trimmed; {
		trimmed = false
		for _, p := range pairs {
			if !strings.HasSuffix(s, p[1]) {
				continue
			}
			if i := strings.LastIndex(s, p[0]); i > 0 {
				s, trimmed = s[:i], true
				break
			}
		}
	}
	return s
}

// ParseHouseholdKind reads a 户类型 cell; the error says, in Chinese, which words are accepted.
func ParseHouseholdKind(s string) (string, error) {
	if k, ok := householdKindWords[s]; ok {
		return k, nil // the usual cell, read without copying it
	}
	w := RegistryWord(s)
	if k, ok := householdKindWords[w]; ok {
		return k, nil
	}
	if monitoredWithoutKind[w] {
		return "", fmt.Errorf("户类型“%s”没有说明是哪一类监测对象，请写明脱贫不稳定户、边缘易致贫户或突发严重困难户", s)
	}
	return "", fmt.Errorf("户类型“%s”无法识别，应为脱贫户、脱贫不稳定户、边缘易致贫户或突发严重困难户（也认边缘户、不稳定户、严重困难户等简称，括号内的备注不影响）", s)
}

// ParseRiskStatus reads a 风险状态 cell; the error says which words are accepted.
func ParseRiskStatus(s string) (string, error) {
	if r, ok := riskWords[s]; ok {
		return r, nil
	}
	if r, ok := riskWords[RegistryWord(s)]; ok {
		return r, nil
	}
	return "", fmt.Errorf("风险状态“%s”无法识别，应为“未消除”或“已消除”（也认“风险未消除”“风险已消除”，括号内的备注不影响）", s)
}
