package cases

import (
	"fmt"
	"sort"
	"strings"
	"unicode"
)

// 结果运用 (docs/office.md): what became of a department's warnings in a round, counts only.

// RuleResult is what became of one rule's warnings that a department pushed.
type RuleResult struct {
	Rule        string // the rule's id
	Pushed      int    // warnings taken in the round
	Cases       int    // cases they made or joined
	Held        int    // warnings held as 比对已核
	Included    int    // cases verified 纳入
	Monitored   int    // 已在监测
	NotIncluded int    // 不纳入
	Open        int    // cases not yet verified
}

// DepartmentResults is a department's 结果 for a round.
type DepartmentResults struct {
	Department string
	Round      string // YYYY-MM
	Rules      []RuleResult
	TasksDue   int      // the department's tasks on the round's cases
	TasksDone  int      // of which done
	Reasons    []string // the commonest words of the 不纳入 reasons (ReasonWords)
}

// Total sums the rules.
func (d DepartmentResults) Total() RuleResult {
	var t RuleResult
	for _, r := range d.Rules {
		t.Pushed += r.Pushed
		t.Cases += r.Cases
		t.Held += r.Held
		t.Included += r.Included
		t.Monitored += r.Monitored
		t.NotIncluded += r.NotIncluded
		t.Open += r.Open
	}
	return t
}

// ReasonWords are the n commonest phrases of 不纳入 reasons, for a department tuning its
// screening. A reason is split at punctuation and spaces into phrases; a phrase counts once
// per reason, and only phrases that at least two reasons share and that hold no digit or
// letter (no ID number, phone, amount or case number) are kept: a name or a detail of one
// household is not repeated. Ties go to the shorter, then the smaller phrase.
func ReasonWords(reasons []string, n int) []string {
	count := map[string]int{}
	for _, r := range reasons {
		seen := map[string]bool{}
		for _, p := range strings.FieldsFunc(r, func(c rune) bool {
			return unicode.IsSpace(c) || unicode.IsPunct(c) || unicode.IsSymbol(c)
		}) {
			if seen[p] || len([]rune(p)) < 2 || len([]rune(p)) > 16 || strings.IndexFunc(p, func(c rune) bool {
				return unicode.IsDigit(c) || (c < unicode.MaxASCII && unicode.IsLetter(c)) || strings.ContainsRune("０１２３４５６７８９元万", c)
			}) >= 0 {
				continue
			}
			seen[p] = true
			count[p]++
		}
	}
	var words []string
	for w, c := range count {
		if c >= 2 {
			words = append(words, w)
		}
	}
	sort.Slice(words, func(i, j int) bool {
		a, b := words[i], words[j]
		if count[a] != count[b] {
			return count[a] > count[b]
		}
		if len([]rune(a)) != len([]rune(b)) {
			return len([]rune(a)) < len([]rune(b))
		}
		return a < b
	})
	if len(words) > n {
		words = words[:n]
	}
	return words
}

// ResultsText is one department's 结果: per rule, then the totals, reasons' words and tasks.
// It names no household.
func ResultsText(d DepartmentResults, rules Rules) string {
	if rules == nil {
		rules = DefaultRules()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "【%s预警结果反馈 · %s交办】", d.Department, monthWords(d.Round))
	if len(d.Rules) == 0 {
		b.WriteString("\n本轮交办没有本部门推送的预警。")
	}
	for _, x := range d.Rules {
		name := x.Rule
		if rl, ok := rules.Rule(x.Rule); ok {
			name = rl.Name
		}
		fmt.Fprintf(&b, "\n• %s：预警 %d 条，形成案件 %d 件，比对已核 %d 条；纳入 %d，已在监测 %d，不纳入 %d，尚未核查 %d",
			name, x.Pushed, x.Cases, x.Held, x.Included, x.Monitored, x.NotIncluded, x.Open)
	}
	if len(d.Rules) > 1 {
		t := d.Total()
		fmt.Fprintf(&b, "\n合计：预警 %d 条，案件 %d 件，比对已核 %d 条；纳入 %d，已在监测 %d，不纳入 %d，尚未核查 %d",
			t.Pushed, t.Cases, t.Held, t.Included, t.Monitored, t.NotIncluded, t.Open)
	}
	if len(d.Reasons) > 0 {
		fmt.Fprintf(&b, "\n不纳入的常见理由：%s", strings.Join(d.Reasons, "、"))
	}
	if d.TasksDue > 0 {
		fmt.Fprintf(&b, "\n部门任务：%d 项，已办理 %d 项", d.TasksDue, d.TasksDone)
	}
	b.WriteString("\n（仅统计数字，不含农户信息；供优化筛查条件参考）")
	return b.String()
}

// ResultsTable is the county-wide table for the office: one line a department.
func ResultsTable(round string, all []DepartmentResults) string {
	var b strings.Builder
	fmt.Fprintf(&b, "【各部门预警结果反馈 · %s交办】", monthWords(round))
	for _, d := range all {
		t := d.Total()
		fmt.Fprintf(&b, "\n%s：预警 %d，案件 %d，比对已核 %d，纳入 %d，已在监测 %d，不纳入 %d，未核查 %d，任务 %d/%d",
			d.Department, t.Pushed, t.Cases, t.Held, t.Included, t.Monitored, t.NotIncluded, t.Open, d.TasksDone, d.TasksDue)
		if len(d.Reasons) > 0 {
			fmt.Fprintf(&b, "；不纳入常见理由：%s", strings.Join(d.Reasons, "、"))
		}
	}
	return b.String()
}

// monthWords is YYYY-MM as people read it (2026年11月).
func monthWords(month string) string {
	d, err := ParseMonth(month)
	if err != nil {
		return month
	}
	return fmt.Sprintf("%d年%d月", d.Year, int(d.Month))
}
