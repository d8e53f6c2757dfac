package cases

import (
	"sort"
	"strings"
)

// Registry changes a monthly re-import can make (spec §4a). Each is one line of the
// import's change list and counts once under its word.
const (
	RegAdded   = "added"   // a household new to the registry (with its members), or a new member of a known household
	RegChanged = "changed" // a household's 户类型, 风险状态, 乡镇, 村 or 户主 changed, or a member's 姓名 or 与户主关系
	RegMoved   = "moved"   // a member now listed in another household
	RegRemoved = "removed" // a household absent from the file (退出), or a member absent from their household
)

// MaxRemovalShare is the share of households a re-import may remove without --allow-removals:
// a partial export must not empty the registry.
const MaxRemovalShare = 0.20

// RegistryHouseholdState is what the registry holds about a household.
type RegistryHouseholdState struct {
	Head, Township, Village, Kind, Risk string
	Removed                             bool
}

// RegistryMemberState is what the registry holds about a member.
type RegistryMemberState struct {
	Household, Name, Relation string
	Removed                   bool
}

// RegistrySnapshot is the registry before a re-import.
type RegistrySnapshot struct {
	Households map[string]RegistryHouseholdState
	Members    map[string]RegistryMemberState
}

// RegistryChange is one change a re-import makes.
type RegistryChange struct {
	Change    string   `json:"change"`
	Household string   `json:"household"`           // 户编号 (after the change)
	IDNumber  string   `json:"id_number,omitempty"` // the member; '' for a household change
	Fields    []string `json:"fields,omitempty"`    // what changed (乡镇, 户类型 …)
	From      string   `json:"from,omitempty"`      // the household (moved) or township (乡镇 changed) before
	To        string   `json:"to,omitempty"`
}

// RegistryDiff is what a re-import changes.
type RegistryDiff struct {
	Added, Changed, Moved, Removed int
	Changes                        []RegistryChange
	ActiveBefore                   int // households in the registry (not removed) before
	RemovedHouseholds              int
}

// Empty reports whether the file changes nothing.
func (d RegistryDiff) Empty() bool { return len(d.Changes) == 0 }

// TooManyRemovals reports whether the diff removes more than MaxRemovalShare of households.
func (d RegistryDiff) TooManyRemovals() bool {
	return d.ActiveBefore > 0 && float64(d.RemovedHouseholds) > MaxRemovalShare*float64(d.ActiveBefore)
}

// DiffRegistry compares the registry with a whole exported file (its accepted rows).
func DiffRegistry(before RegistrySnapshot, file []RegistryMember) RegistryDiff {
	var d RegistryDiff
	add := func(c RegistryChange) {
		d.Changes = append(d.Changes, c)
		switch c.Change {
		case RegAdded:
			d.Added++
		case RegChanged:
			d.Changed++
		case RegMoved:
			d.Moved++
		case RegRemoved:
			d.Removed++
		}
	}
	for _, h := range before.Households {
		if !h.Removed {
			d.ActiveBefore++
		}
	}
	inFile := map[string]bool{}
	memberInFile := map[string]bool{}
	for _, m := range file {
		memberInFile[m.IDNumber] = true
		if inFile[m.HouseholdNo] {
			continue
		}
		inFile[m.HouseholdNo] = true
		old, known := before.Households[m.HouseholdNo]
		if !known || old.Removed {
			add(RegistryChange{Change: RegAdded, Household: m.HouseholdNo})
			continue
		}
		var fields []string
		c := RegistryChange{Change: RegChanged, Household: m.HouseholdNo}
		if old.Township != m.Township {
			fields = append(fields, "乡镇")
			c.From, c.To = old.Township, m.Township
		}
		if old.Village != m.Village {
			fields = append(fields, "村")
		}
		if old.Kind != m.Kind {
			fields = append(fields, "户类型")
		}
		if old.Risk != m.RiskStatus {
			fields = append(fields, "风险状态")
		}
		if old.Head != m.HeadIDNumber {
			fields = append(fields, "户主")
		}
		if len(fields) > 0 {
			c.Fields = fields
			add(c)
		}
	}
	newHousehold := map[string]bool{}
	for _, c := range d.Changes {
		if c.Change == RegAdded {
			newHousehold[c.Household] = true
		}
	}
	for _, m := range file {
		old, known := before.Members[m.IDNumber]
		switch {
		case known && old.Household != m.HouseholdNo:
			add(RegistryChange{Change: RegMoved, Household: m.HouseholdNo, IDNumber: m.IDNumber, From: old.Household, To: m.HouseholdNo})
		case !known || old.Removed:
			if !newHousehold[m.HouseholdNo] { // a new household brings its members with it
				add(RegistryChange{Change: RegAdded, Household: m.HouseholdNo, IDNumber: m.IDNumber})
			}
		case old.Name != m.Name || old.Relation != m.Relation:
			var fields []string
			if old.Name != m.Name {
				fields = append(fields, "姓名")
			}
			if old.Relation != m.Relation {
				fields = append(fields, "与户主关系")
			}
			add(RegistryChange{Change: RegChanged, Household: m.HouseholdNo, IDNumber: m.IDNumber, Fields: fields})
		}
	}
	var gone []string
	for no, h := range before.Households {
		if !h.Removed && !inFile[no] {
			gone = append(gone, no)
		}
	}
	sort.Strings(gone)
	for _, no := range gone {
		add(RegistryChange{Change: RegRemoved, Household: no})
		d.RemovedHouseholds++
	}
	var left []string
	for id, m := range before.Members {
		if !m.Removed && !memberInFile[id] && inFile[m.Household] {
			left = append(left, id)
		}
	}
	sort.Strings(left)
	for _, id := range left {
		add(RegistryChange{Change: RegRemoved, Household: before.Members[id].Household, IDNumber: id})
	}
	return d
}

// HistoryWord is the registry history's word for a change (registry_history.change).
func (c RegistryChange) HistoryWord() string {
	switch c.Change {
	case RegAdded:
		return "新增"
	case RegMoved:
		return "迁户"
	case RegRemoved:
		return "退出"
	}
	if len(c.Fields) > 0 {
		return "变更：" + strings.Join(c.Fields, "、")
	}
	return "变更"
}

// CaseMove is an open case that moved with its household to another township when a
// re-import changed the household's 乡镇 (spec §4a). Its due date stays.
type CaseMove struct {
	Case     Case // after the move
	From, To string
	Cadres   map[string][]string  // township → its cadres' userids (From and To)
	Chats    map[string][2]string // township → {appchat, webhook key}
	Warnings []WarningFact        // for the new township's cadres, privately
}

// RegistryImportOptions configures a registry re-import.
type RegistryImportOptions struct {
	AllowRemovals bool // take a file that removes more than MaxRemovalShare of households
	Filename      string
}

// RegistryImportResult is what a re-import changed.
type RegistryImportResult struct {
	BatchID    string // '' when the file changed nothing
	Diff       RegistryDiff
	CasesMoved int // open cases moved with their households to another township
}
