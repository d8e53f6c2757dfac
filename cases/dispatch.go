package cases

import (
	"fmt"
	"sort"
	"strings"
)

// RegistryHousehold is what the registry says about the household a person belongs to.
type RegistryHousehold struct {
	No           string // 户编号
	HeadIDNumber string
	HeadName     string
	Township     string
	Village      string
	Kind         string // 户类型
	Risk         string // 风险状态
}

// WarningFact is one undispatched warning together with what the registry knows of it.
type WarningFact struct {
	ID           int64
	Category     Category
	Rule         string
	Amount       string // as stored, '' when none; never shown in groups
	IDNumber     string // '' for a township-wide alert (区域排查)
	Name         string
	Township     string
	Village      string
	HeadIDNumber string // the row's 户主身份证号
	// IDHash and HeadIDHash are the keyed hashes of the two numbers as the store keeps them
	// (docs/encryption.md): household keys name a person by them. Empty in rules' tests,
	// where keys name the numbers.
	IDHash, HeadIDHash string
	Detail             map[string]string // the row as read (病种, 责任部门, 灾害名称 …)
	Period             string            // the period the pushing department named (YYYY-MM, 学年 for education)
	// Reg is the registry household of the person; HeadReg that of the row's 户主身份证号
	// when the person is not in the registry but the head is.
	Reg, HeadReg *RegistryHousehold
	// OpenCase is the open case that already holds a warning of this person: open cases
	// follow people (docs/registry.md), whatever household the registry now puts them in.
	OpenCase string
}

// Household is one group of a round's warnings that becomes (or joins) one case.
type Household struct {
	Key          string // household_key: hh:<户编号>, head:<hash of 户主身份证号 or of the person's own>, area:<乡镇>:<类别>:<事件>
	HouseholdNo  string
	HeadName     string
	HeadIDNumber string
	Township     string
	Village      string
	Department   string // 责任部门 of assurance warnings
	Monitored    bool   // registry says 监测对象 with risk 未消除 → kind 更新
	Area         bool   // township-wide alert without a person
	Warnings     []WarningFact
	// OtherTownships are the townships its rows named besides Township (docs/registry.md): their
	// groups are told, masked, where the household went.
	OtherTownships []string
}

// Kind is the kind of a new case for this household (docs/dispatch.md).
func (h *Household) Kind() Kind {
	if h.Area {
		return KindSweep
	}
	if h.Monitored {
		return KindUpdate
	}
	return KindNew
}

// WarningIDs lists the household's warning ids.
func (h *Household) WarningIDs() []int64 {
	ids := make([]int64, len(h.Warnings))
	for i, w := range h.Warnings {
		ids[i] = w.ID
	}
	return ids
}

// Categories lists the household's categories without repeats, in the seed's order.
func (h *Household) Categories() []Category {
	seen := map[Category]bool{}
	for _, w := range h.Warnings {
		seen[w.Category] = true
	}
	var out []Category
	for _, c := range Categories {
		if seen[c] {
			out = append(out, c)
		}
	}
	return out
}

// AreaEvent names the event of a township-wide alert (灾害名称 / 事件名称).
func AreaEvent(w WarningFact) string {
	for _, k := range []string{"灾害名称", "事件名称"} {
		if v := strings.TrimSpace(w.Detail[k]); v != "" {
			return v
		}
	}
	return ""
}

// HouseholdKeyOf decides which household a warning belongs to (docs/dispatch.md): the registry
// 户编号 if the person is in the registry, else the household the row's 户主身份证号 heads
// in the registry, else that 户主身份证号, else the person alone. A township-wide alert
// (no person) is keyed by township, category and event, so one disaster in one township is
// one case however many rows announce it.
func HouseholdKeyOf(w WarningFact) string {
	switch {
	case w.IDNumber == "":
		return "area:" + w.Township + ":" + string(w.Category) + ":" + AreaEvent(w)
	case w.OpenCase != "":
		return "case:" + w.OpenCase
	case w.Reg != nil:
		return "hh:" + w.Reg.No
	case w.HeadReg != nil:
		return "hh:" + w.HeadReg.No
	case w.HeadIDNumber != "":
		return "head:" + orID(w.HeadIDHash, w.HeadIDNumber)
	}
	// The person alone: keyed as the head of their own household, so that a later row
	// naming them as 户主 joins the same case.
	return "head:" + orID(w.IDHash, w.IDNumber)
}

// orID is an ID number's hash, or the number where none was made.
func orID(hash, id string) string {
	if hash != "" {
		return hash
	}
	return id
}

// GroupWarnings groups warnings by household. Groups come out ordered by township and then
// by their oldest warning, so case numbers follow the order warnings arrived in.
func GroupWarnings(ws []WarningFact) []Household {
	sorted := append([]WarningFact(nil), ws...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].ID < sorted[j].ID })
	index := map[string]int{}
	var out []Household
	for _, w := range sorted {
		key := HouseholdKeyOf(w)
		i, ok := index[key]
		if !ok {
			i = len(out)
			index[key] = i
			out = append(out, Household{Key: key, Area: w.IDNumber == ""})
		}
		out[i].Warnings = append(out[i].Warnings, w)
	}
	for i := range out {
		out[i].fill()
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Township != out[j].Township {
			return out[i].Township < out[j].Township
		}
		return out[i].Warnings[0].ID < out[j].Warnings[0].ID
	})
	return out
}

// fill derives the household's head, place and routing from its warnings.
func (h *Household) fill() {
	first := h.Warnings[0]
	var reg *RegistryHousehold
	for _, w := range h.Warnings {
		if w.Reg != nil {
			reg = w.Reg
			break
		}
		if w.HeadReg != nil && reg == nil {
			reg = w.HeadReg
		}
	}
	h.Township, h.Village = first.Township, first.Village
	switch {
	case h.Area:
		// no person: the case is the township's area check (区域排查), naming every village
		h.Village = strings.Join(SweepVillages(h.Warnings), "、")
	case reg != nil:
		h.HouseholdNo, h.HeadIDNumber, h.HeadName = reg.No, reg.HeadIDNumber, reg.HeadName
		h.Township, h.Monitored = reg.Township, Monitored(reg.Kind, reg.Risk)
		if reg.Village != "" {
			h.Village = reg.Village
		}
	default:
		h.HeadIDNumber = first.HeadIDNumber
		if h.HeadIDNumber == "" {
			h.HeadIDNumber = first.IDNumber
		}
		// Rows naming different townships: the 户主's own row decides, else the first row.
		for _, w := range h.Warnings {
			if w.IDNumber == h.HeadIDNumber {
				h.Township, h.Village = w.Township, w.Village
				break
			}
		}
	}
	h.OtherTownships = nil
	if !h.Area {
		seen := map[string]bool{h.Township: true}
		for _, w := range h.Warnings {
			if w.Township != "" && !seen[w.Township] {
				seen[w.Township] = true
				h.OtherTownships = append(h.OtherTownships, w.Township)
			}
		}
	}
	if h.HeadName == "" && !h.Area {
		// The head's own row names them; otherwise the first warned member stands for the
		// household until the cadre's visit.
		h.HeadName = first.Name
		for _, w := range h.Warnings {
			if w.IDNumber == h.HeadIDNumber && w.Name != "" {
				h.HeadName = w.Name
				break
			}
		}
	}
	for _, w := range h.Warnings {
		if w.Category == CatAssurance {
			if d := TaskDepartment(w); d != "" {
				h.Department = d
				break
			}
		}
	}
}

// Dispatched is one case a round created, or an open case it added warnings to.
type Dispatched struct {
	Case     Case          // as stored after the round
	Merged   bool          // 补充预警: the warnings joined an open case
	Area     bool          // township-wide alert
	Warnings []WarningFact // this round's warnings of the case
	Tasks    []Task        // department tasks this round added to the case
}

// TownshipNotice is everything one township is told about a round: its group chat, its
// cadres, the liaisons of departments its assurance cases are routed to, and the cases.
type TownshipNotice struct {
	Round      string
	Township   string
	AppChatID  string
	WebhookKey string
	Cadres     []string
	CadreNames []string            // the cadres' names, in Cadres' order: app-created groups cannot @ by userid
	Liaisons   map[string][]string // 责任部门 → liaison userids
	Cases      []Dispatched
	// Elsewhere are households whose rows named this township but that went to another one
	// (registry township, else the 户主's row): the group is told where, masked (docs/registry.md).
	Elsewhere []Dispatched
}

// 比对已核 (docs/held-and-tasks.md): a household whose latest case was verified (纳入, 已在监测 or
// 不纳入) and closed less than HoldMonths before the round comes back with the same problems
// (医保局's figures are cumulative for the year, a department re-sends a corrected file after
// 交办): its warnings are held, not dispatched again, unless something is new or has grown by
// HoldGrowthPercent.
const (
	HoldMonths = 6
	// HoldGrowthPercent: an amount at least this much above the highest verified one is new.
	HoldGrowthPercent = 50
)

// EarlierResult is the household's latest case, as the hold decision needs it.
type EarlierResult struct {
	CaseID   int64
	CaseNo   string
	Result   Result
	ClosedOn *Date         // nil while open
	Verified []WarningFact // the warnings that case verified (not those it held later)
}

// HoldWindowOpen reports whether e was verified and closed less than HoldMonths before day.
// A case verified but not closed (纳入 awaiting 录入) is still open: warnings merge into it.
func (e EarlierResult) HoldWindowOpen(day Date) bool {
	if e.CaseNo == "" || e.ClosedOn == nil {
		return false
	}
	switch e.Result {
	case ResultInclude, ResultMonitored, ResultExclude:
	default:
		return false
	}
	limit := NewDate(day.Year, day.Month-HoldMonths, day.Day)
	return e.ClosedOn.After(limit)
}

// HoldVerdict is the hold decision for one household: Hold, and when not, which rule let the
// warnings through (for tests and logs; people read HeldWarning's reason).
type HoldVerdict struct {
	Hold bool
	Why  string // "no earlier case", "window", "new problem", "grown", "new amount"
}

// Hold decides whether a household's warnings are held as 比对已核 against e: every warning is
// of a category (and 问题类型) e verified, and none has an amount at least HoldGrowthPercent
// above the highest amount e verified for it. The round's plan calls it once per household
// that has no open case.
func Hold(e EarlierResult, ws []WarningFact, day Date) HoldVerdict {
	if len(ws) == 0 || e.CaseNo == "" {
		return HoldVerdict{Why: "no earlier case"}
	}
	if !e.HoldWindowOpen(day) {
		return HoldVerdict{Why: "window"}
	}
	verified := map[string]bool{}
	highest := map[string]int64{}
	for _, v := range e.Verified {
		k := ProblemKey(v)
		verified[k] = true
		if c, ok := cents(v.Amount); ok && c > highest[k] {
			highest[k] = c
		}
	}
	for _, w := range ws {
		k := ProblemKey(w)
		if w.IDNumber == "" || !verified[k] {
			return HoldVerdict{Why: "new problem"}
		}
		c, ok := cents(w.Amount)
		if !ok {
			continue
		}
		if h, had := highest[k]; had && c*100 >= h*(100+HoldGrowthPercent) {
			return HoldVerdict{Why: "grown"}
		} else if !had && c > 0 {
			// verified without an amount: an amount now is something the visit did not see
			return HoldVerdict{Why: "new amount"}
		}
	}
	return HoldVerdict{Hold: true}
}

// HeldReason says, for the office, why a warning was held against e: which case verified what
// and when it closed.
func HeldReason(e EarlierResult) string {
	closed := ""
	if e.ClosedOn != nil {
		closed = "，" + e.ClosedOn.String() + " 办结"
	}
	return fmt.Sprintf("原案件 %s 核查结论“%s”%s；同类问题，金额增幅不足 %d%%，未再交办", e.CaseNo, e.Result, closed, HoldGrowthPercent)
}

// cents reads a stored amount ("5000.00") as fen; false when there is none.
func cents(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false
	}
	whole, frac, _ := strings.Cut(s, ".")
	frac = (frac + "00")[:2]
	var n int64
	for _, r := range whole + frac {
		if r < '0' || r > '9' {
			return 0, false
		}
		n = n*10 + int64(r-'0')
	}
	return n, true
}

// NewProblems lists the problem keys (ProblemKey) of ws that known does not have yet.
func NewProblems(known []string, ws []WarningFact) []string {
	have := map[string]bool{}
	for _, k := range known {
		have[k] = true
	}
	var out []string
	for _, w := range ws {
		if k := ProblemKey(w); !have[k] {
			have[k] = true
			out = append(out, k)
		}
	}
	return out
}

// WarningKey is what makes two warnings one (docs/dispatch.md): the same person, category,
// 问题类型 and period. A township-wide alert, which names no person, has none.
func WarningKey(w WarningFact) string {
	id := orID(w.IDHash, w.IDNumber)
	if id == "" {
		return ""
	}
	return id + "|" + ProblemKey(w) + "|" + w.Period
}

// SplitDuplicates parts ws into those whose WarningKey is not among known and those whose
// is: a department's re-sent file after the round (another format, a correction) repeats
// warnings the open case already holds, and they are no 补充预警.
func SplitDuplicates(known []string, ws []WarningFact) (fresh, dups []WarningFact) {
	have := map[string]bool{}
	for _, k := range known {
		have[k] = true
	}
	for _, w := range ws {
		if k := WarningKey(w); k != "" && have[k] {
			dups = append(dups, w)
			continue
		}
		fresh = append(fresh, w)
	}
	return fresh, dups
}

// TaskDepartments lists the departments ws give tasks to, without repeats, in order.
func TaskDepartments(ws []WarningFact) []string {
	seen := map[string]bool{}
	var out []string
	for _, w := range ws {
		if d := TaskDepartment(w); d != "" && !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	return out
}
