package cases

import "strings"

// 人员变动 (docs/held-and-tasks.md): 公安局's monthly rows are not risk warnings. Each updates the registry,
// with history; a change in a 脱贫户 or monitored household gives its township a case of kind
// 信息变更 (update the national system); the death of a household's only working-age member
// raises a 因就业不稳 warning for the next round.

// KindInfo is the kind of a case that asks the township to update the national system after a
// 人员变动: closed by 录入, no 核查.
const KindInfo Kind = "info"

// Member statuses in the registry.
const (
	MemberActive   = "active"
	MemberDeceased = "deceased"
	MemberMovedOut = "moved_out"
	// MemberRemoved: the member, or their whole household, left the registry in a re-import
	// (退出): kept, never monitored again.
	MemberRemoved = "removed"
)

// Change is the 变动类型 of a 人员变动 row, or a registry re-import's change of a member or
// household (cases.RegistryChange), as registry_history stores it: an English code; people
// read Label().
type Change string

const (
	ChangeDeath   Change = "death"    // 死亡
	ChangeBirth   Change = "birth"    // 出生
	ChangeMoveIn  Change = "move_in"  // 迁入
	ChangeMoveOut Change = "move_out" // 迁出
)

// A registry re-import's changes as registry_history keeps them (the codes of RegistryChange).
const (
	ChangeAdded   Change = RegAdded   // 新增
	ChangeMoved   Change = RegMoved   // 迁户
	ChangeRemoved Change = RegRemoved // 退出
	ChangeChanged Change = RegChanged // 变更 (RegistryChange.HistoryWord names the fields)
)

// PopulationChanges are the 变动类型 a 人员变动 row may give.
var PopulationChanges = []Change{ChangeDeath, ChangeBirth, ChangeMoveIn, ChangeMoveOut}

// PopulationChangeWords are the 变动类型 words a 人员变动 file may give, space-separated (the
// intake's check).
func PopulationChangeWords() string {
	ws := make([]string, len(PopulationChanges))
	for i, c := range PopulationChanges {
		ws[i] = c.Label()
	}
	return strings.Join(ws, " ")
}

// Label is the change as people read it.
func (c Change) Label() string {
	switch c {
	case ChangeDeath:
		return "死亡"
	case ChangeBirth:
		return "出生"
	case ChangeMoveIn:
		return "迁入"
	case ChangeMoveOut:
		return "迁出"
	case ChangeAdded:
		return "新增"
	case ChangeMoved:
		return "迁户"
	case ChangeRemoved:
		return "退出"
	case ChangeChanged:
		return "变更"
	}
	return string(c)
}

// ParsePopulationChange accepts a 人员变动 row's 变动类型 as written, or its code.
func ParsePopulationChange(s string) (Change, bool) {
	for _, c := range PopulationChanges {
		if s == string(c) || s == c.Label() {
			return c, true
		}
	}
	return "", false
}

// RuleOnlyWorkerDied is the rule a derived 因就业不稳 warning records (see DefaultRules).
const RuleOnlyWorkerDied = "employment.only_worker_died"

// Working age (劳动年龄) for the only-worker rule: 16 to 60 years, both included.
const (
	WorkingAgeMin = 16
	WorkingAgeMax = 60
)

// BirthDateOf reads the birth date of an 18-character ID number; ok is false if it has none.
func BirthDateOf(id string) (Date, bool) {
	if len(id) != 18 {
		return Date{}, false
	}
	d, err := ParseDate(id[6:10] + "-" + id[10:12] + "-" + id[12:14])
	if err != nil {
		return Date{}, false
	}
	return d, true
}

// AgeOn is the age in full years on day of a person born on birth.
func AgeOn(birth, day Date) int {
	age := day.Year - birth.Year
	if day.Month < birth.Month || (day.Month == birth.Month && day.Day < birth.Day) {
		age--
	}
	return age
}

// WorkingAgeOn reports whether the person of ID number id is 16–60 years old on day.
func WorkingAgeOn(id string, day Date) bool {
	b, ok := BirthDateOf(id)
	if !ok {
		return false
	}
	a := AgeOn(b, day)
	return a >= WorkingAgeMin && a <= WorkingAgeMax
}

// OnlyWorkerDied reports whether the death on day of deceased leaves the household without a
// working-age member: deceased was of working age, and none of the other members still
// active (others, ID numbers) is.
func OnlyWorkerDied(deceased string, others []string, day Date) bool {
	if !WorkingAgeOn(deceased, day) {
		return false
	}
	for _, o := range others {
		if o != deceased && WorkingAgeOn(o, day) {
			return false
		}
	}
	return true
}

// InfoCaseDue is the due date of a 信息变更 case dispatched on day: the end of the month after.
func InfoCaseDue(dispatched Date) Date {
	return NewDate(dispatched.Year, dispatched.Month+2, 0)
}

// InfoCaseFor reports whether a change in a household of this kind and risk gives its
// township a 信息变更 case: a 脱贫户, or a monitored household (docs/held-and-tasks.md).
func InfoCaseFor(kind, risk string) bool {
	return kind == HouseholdLifted || Monitored(kind, risk)
}

// MemberChange is one entry of a registry member's history.
type MemberChange struct {
	Change  string `json:"change" db:"change"`
	Date    Date   `json:"date" db:"date"`
	BatchID string `json:"batch_id" db:"batch_id"`
}

// MemberRecord is what `fangpin registry member` prints (docs/registry.md).
type MemberRecord struct {
	IDNumber  string         `json:"id_number"`
	Household string         `json:"household"`
	Township  string         `json:"township"`
	Village   string         `json:"village"`
	Status    string         `json:"status"`
	RemovedOn *Date          `json:"removed_on,omitempty"` // when status is removed
	History   []MemberChange `json:"history"`
}

// ParseChange accepts any change registry_history keeps, by label or code (a 变更 by its
// word alone, without the fields).
func ParseChange(s string) (Change, bool) {
	if c, ok := ParsePopulationChange(s); ok {
		return c, true
	}
	for _, c := range []Change{ChangeAdded, ChangeMoved, ChangeRemoved, ChangeChanged} {
		if s == string(c) || s == c.Label() {
			return c, true
		}
	}
	return "", false
}
