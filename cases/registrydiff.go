package cases

import (
	"context"
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

// RegistryLoad is one registry re-import in progress: Add takes the file's accepted rows in
// batches, Finish compares the whole file with the registry and applies the difference
// (all in one transaction), Abort drops it. After Finish, Abort does nothing.
type RegistryLoad interface {
	Add(ctx context.Context, members []RegistryMember) error
	Finish(ctx context.Context, opt RegistryImportOptions) (RegistryImportResult, error)
	Abort()
}
