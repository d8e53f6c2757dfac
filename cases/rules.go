package cases

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Money is an amount in fen (分, 1/100 yuan). Amounts are never floats: 4999.99 must stay
// below 5000 exactly, whatever binary fractions would say.
type Money int64

// ParseMoney reads a plain decimal yuan amount: digits, an optional point and at most two
// decimals, optionally a leading minus ("5000", "4999.99", "-12.5"). Anything friendlier
// (5,000.00元, full-width digits) is the readers' business, see intake.NormalizeAmount.
func ParseMoney(s string) (Money, error) {
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	whole, frac, _ := strings.Cut(s, ".")
	if (whole == "" && frac == "") || !allDigits(whole) || !allDigits(frac) {
		return 0, fmt.Errorf("金额“%s”不是数字", s)
	}
	if len(frac) > 2 {
		return 0, fmt.Errorf("金额“%s”最多保留两位小数", s)
	}
	if len(whole) > 12 {
		return 0, fmt.Errorf("金额“%s”过大", s)
	}
	var y int64
	if whole != "" {
		y, _ = strconv.ParseInt(whole, 10, 64)
	}
	f := frac + strings.Repeat("0", 2-len(frac))
	fen, _ := strconv.ParseInt(f, 10, 64)
	m := Money(y*100 + fen)
	if neg {
		m = -m
	}
	return m, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Yuan builds an amount from whole yuan.
func Yuan(y int64) Money { return Money(y * 100) }

// String writes yuan with two decimals: 5000.00, -0.01.
func (m Money) String() string {
	sign := ""
	v := int64(m)
	if v < 0 {
		sign, v = "-", -v
	}
	return fmt.Sprintf("%s%d.%02d", sign, v/100, v%100)
}

// MarshalText writes the amount as a decimal string, so JSON keeps it exact.
func (m Money) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText reads what ParseMoney reads.
func (m *Money) UnmarshalText(b []byte) error {
	v, err := ParseMoney(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// Figure names the number a rule looks at.
type Figure uint8

const (
	FigureNone       Figure = iota
	FigureInpatient         // 住院自付累计（当年截至上月底）
	FigureOutpatient        // 门诊统筹费用 + 门特费用（当月）
	FigureSelfPaid          // 学费 + 住宿费 + 教科书费 − 补助救助
	FigureLoss              // 损失金额
	figureCount
)

// Label is the figure in Chinese.
func (f Figure) Label() string {
	switch f {
	case FigureInpatient:
		return "住院自付累计"
	case FigureOutpatient:
		return "门诊统筹费用+门特费用"
	case FigureSelfPaid:
		return "学费+住宿费+教科书费−补助救助"
	case FigureLoss:
		return "损失金额"
	}
	return ""
}

// Who says which rows a rule applies to.
type Who uint8

const (
	WhoAnyone       Who = iota
	WhoRegistered       // 建档立卡 people only
	WhoUnregistered     // everyone else
	WhoInRegistry       // person or household named by 户主身份证号 is in the registry at all
)

// Op is how the figure is compared with the threshold.
type Op uint8

const (
	Always   Op = iota // every row is a warning
	AtLeast            // ≥, the seed's 超(含)
	MoreThan           // >, the seed's 超过
	Derived            // raised by the system from another fact, never by a row of the category
)

// Rule is one line of the county's rules table (docs/rules.md).
type Rule struct {
	ID        string
	Category  Category
	Name      string // Chinese, as the office reads it
	Who       Who
	Figure    Figure
	Op        Op
	Threshold Money
}

// Rules is the whole table, in the order rules are tried.
type Rules []Rule

// DefaultRules is the seed's table (实施办法 二、筛查预警).
func DefaultRules() Rules {
	return Rules{
		{ID: "medical.inpatient.registered", Category: CatMedical, Name: "建档立卡脱贫人口住院自付累计超(含)5000元",
			Who: WhoRegistered, Figure: FigureInpatient, Op: AtLeast, Threshold: Yuan(5000)},
		{ID: "medical.inpatient.other", Category: CatMedical, Name: "非建档立卡农户人口住院自付累计超(含)20000元",
			Who: WhoUnregistered, Figure: FigureInpatient, Op: AtLeast, Threshold: Yuan(20000)},
		{ID: "medical.outpatient", Category: CatMedical, Name: "门诊统筹费用和门特费用当月超(含)500元",
			Who: WhoAnyone, Figure: FigureOutpatient, Op: AtLeast, Threshold: Yuan(500)},
		{ID: "serious_illness.new", Category: CatSeriousIllness, Name: "上月新增大病人员", Who: WhoAnyone, Op: Always},
		{ID: "education.self_paid", Category: CatEducation, Name: "学年自付教育费用超过10000元",
			Who: WhoAnyone, Figure: FigureSelfPaid, Op: MoreThan, Threshold: Yuan(10000)},
		{ID: "disaster.affected", Category: CatDisaster, Name: "受灾", Who: WhoAnyone, Op: Always},
		{ID: "epidemic.affected", Category: CatEpidemic, Name: "受重大及以上突发公共卫生事件影响", Who: WhoAnyone, Op: Always},
		{ID: "industry.loss", Category: CatIndustry, Name: "建档立卡户产业失败损失超过10000元",
			Who: WhoRegistered, Figure: FigureLoss, Op: MoreThan, Threshold: Yuan(10000)},
		{ID: "employment.unstable", Category: CatEmployment, Name: "建档立卡贫困户劳动力就业不稳（有意愿有能力未就业或零就业家庭）", Who: WhoRegistered, Op: Always},
		{ID: "assistance.new", Category: CatAssistance, Name: "新增特困或低保对象", Who: WhoAnyone, Op: Always},
		{ID: "assurance.problem", Category: CatAssurance, Name: "两不愁三保障动态新增问题", Who: WhoAnyone, Op: Always},
		{ID: "population.change", Category: CatPopulation, Name: "名册内人员变动（更新名册，信息变更）", Who: WhoInRegistry, Op: Always},
		{ID: RuleOnlyWorkerDied, Category: CatEmployment, Name: "户内唯一劳动年龄（16–60岁）成员死亡", Op: Derived},
	}
}

// Scope is what a category covers at all (docs/rules.md). A row outside its category's scope
// (wrong 学段 or 事件级别, or not 建档立卡 where only 建档立卡 counts) is counted
// out_of_scope: it is neither a warning nor an error, and it is not stored. Scope is
// decided before the rules: a 非建档立卡 industry row is out of scope whatever it lost.
type Scope struct {
	Category   Category
	Text       string   // the seed's own words
	Registered bool     // 建档立卡 persons and households only
	Column     string   // if set, the row's value in this column must be one of Values
	Values     []string // exact values, after the reader's normalisation
}

// Scopes is the seed's table of scopes; categories not listed cover every row.
var Scopes = []Scope{
	{Category: CatEducation, Text: "监测在公办高中、中职就学的非义务教育阶段学生信息",
		Column: "学段", Values: []string{"公办高中", "中职"}},
	{Category: CatEpidemic, Text: "发生农村地区重大突发公共卫生事件及以上事件或疫情时",
		Column: "事件级别", Values: []string{"重大", "特别重大"}},
	{Category: CatIndustry, Text: "监测建档立卡贫困户产业发展情况", Registered: true},
	{Category: CatEmployment, Text: "监测建档立卡贫困户的劳动力就业情况", Registered: true},
}

// ScopeOf returns the category's scope; ok is false when the category covers every row.
func ScopeOf(c Category) (Scope, bool) {
	for _, s := range Scopes {
		if s.Category == c {
			return s, true
		}
	}
	return Scope{}, false
}

// AdmitsValue reports whether a row with this value in the scope's column is in scope
// (always true when the scope names no column).
func (s Scope) AdmitsValue(v string) bool {
	if s.Column == "" {
		return true
	}
	for _, x := range s.Values {
		if x == v {
			return true
		}
	}
	return false
}

// Admits reports whether a row with these facts is in the scope: its scope column's value
// (Facts.ScopeValue) is one of Values and, for 建档立卡-only scopes, the row is 建档立卡.
func (s Scope) Admits(f *Facts) bool {
	return s.AdmitsValue(f.ScopeValue) && (!s.Registered || f.Registered)
}

// InScope reports whether a row of category c with facts f is inside c's scope.
func InScope(c Category, f *Facts) bool {
	s, ok := ScopeOf(c)
	return !ok || s.Admits(f)
}

// With returns a copy of the table with thresholds replaced: overrides maps a rule ID to a
// yuan amount as a decimal string ("6000", "6000.50"). Unknown IDs and rules without a
// threshold are errors, so a typo in the county's configuration cannot pass silently.
func (rs Rules) With(overrides map[string]string) (Rules, error) {
	out := append(Rules(nil), rs...)
	ids := make([]string, 0, len(overrides))
	for id := range overrides {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		i := out.index(id)
		if i < 0 {
			return nil, fmt.Errorf("规则配置：不认识的规则“%s”", id)
		}
		if out[i].Op == Always || out[i].Op == Derived {
			return nil, fmt.Errorf("规则配置：规则“%s”没有金额标准可改", id)
		}
		m, err := ParseMoney(strings.TrimSpace(overrides[id]))
		if err != nil || m < 0 {
			return nil, fmt.Errorf("规则配置：规则“%s”的标准“%s”应为不小于 0 的金额", id, overrides[id])
		}
		out[i].Threshold = m
	}
	return out, nil
}

func (rs Rules) index(id string) int {
	for i, r := range rs {
		if r.ID == id {
			return i
		}
	}
	return -1
}

// Rule returns the rule with the given ID.
func (rs Rules) Rule(id string) (Rule, bool) {
	if i := rs.index(id); i >= 0 {
		return rs[i], true
	}
	return Rule{}, false
}

// Facts is what the rules need to know about one accepted row.
type Facts struct {
	Registered bool   // 建档立卡: registry member of a 脱贫户/脱贫不稳定户, or 人员类别 says so
	InRegistry bool   // the person or the household named by 户主身份证号 is in the registry
	ScopeValue string // the row's value in its category's scope column (学段, 事件级别), see Scope
	figures    [figureCount]Money
	has        [figureCount]bool
}

// Set records a figure of the row.
func (f *Facts) Set(fig Figure, m Money) { f.figures[fig], f.has[fig] = m, true }

// Get returns a figure and whether the row has it.
func (f *Facts) Get(fig Figure) (Money, bool) { return f.figures[fig], f.has[fig] }

// Hit is one rule that fired, with the figure it looked at.
type Hit struct {
	Rule      string `json:"rule"`
	Name      string `json:"name"`
	Amount    Money  `json:"amount"`
	HasAmount bool   `json:"-"`
}

// Evaluate tries every rule of the category against the row and returns those that fire,
// in table order. A row whose figure is missing cannot fire that figure's rule.
func (rs Rules) Evaluate(cat Category, f *Facts) []Hit {
	var hits []Hit
	for i := range rs {
		r := &rs[i]
		if r.Category != cat || r.Op == Derived {
			continue
		}
		switch r.Who {
		case WhoRegistered:
			if !f.Registered {
				continue
			}
		case WhoUnregistered:
			if f.Registered {
				continue
			}
		case WhoInRegistry:
			if !f.InRegistry {
				continue
			}
		}
		h := Hit{Rule: r.ID, Name: r.Name}
		if r.Figure != FigureNone {
			v, ok := f.Get(r.Figure)
			if !ok {
				continue
			}
			h.Amount, h.HasAmount = v, true
		}
		switch r.Op {
		case AtLeast:
			if h.Amount < r.Threshold {
				continue
			}
		case MoreThan:
			if h.Amount <= r.Threshold {
				continue
			}
		}
		if r.Op == Always {
			// Every-row rules still carry the row's own amount if it has one (a disaster's 损失金额).
			for fig := Figure(1); fig < figureCount; fig++ {
				if v, ok := f.Get(fig); ok {
					h.Amount, h.HasAmount = v, true
					break
				}
			}
		}
		hits = append(hits, h)
	}
	return hits
}
