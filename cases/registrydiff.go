package cases

import (
	"context"
	"fmt"
	"strings"
)

// Registry changes a monthly re-import can make (docs/registry.md). Each is one line of the
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

// MaxRefusedShare is the share of a file's rows that may be refused once a registry is
// loaded: above it the export is taken to be broken and nothing of it is applied, so that a
// bad export never half-applies.
const MaxRefusedShare = 0.01

// RegistryRefusals is what the file's refused rows hold back (docs/registry.md): every
// household they name by 户编号, and the household a refused row's person belongs to now,
// stays exactly as it is: not changed, not removed.
type RegistryRefusals struct {
	Rows, Refused int        // the file's rows and refused rows
	Households    []string   // 户编号 of the refused rows
	IDNumbers     []string   // valid ID numbers of the refused rows
	First         []RowError // the first errors, for the refusal's message
}

// TooMany reports whether more than MaxRefusedShare of the file's rows were refused.
func (r RegistryRefusals) TooMany() bool {
	return r.Rows > 0 && float64(r.Refused) > MaxRefusedShare*float64(r.Rows)
}

// Refusal is the error that refuses the whole file for too many refused rows.
func (r RegistryRefusals) Refusal() error {
	var b strings.Builder
	for i, e := range r.First {
		if i == 5 {
			break
		}
		fmt.Fprintf(&b, "\n第 %d 行，列“%s”：%s", e.Row, e.Column, e.Message)
	}
	return Errorf(EConflict, "名册没有导入：文件的 %d 行中有 %d 行（%.1f%%）有错误，超过 %.0f%%。名册已有数据时，为免只导入一部分，整份文件都不导入，现有名册没有任何变动。"+
		"请核对导出文件，修正后重新导入。前几处错误：%s",
		r.Rows, r.Refused, 100*float64(r.Refused)/float64(r.Rows), 100*MaxRefusedShare, b.String())
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
	// Unchanged are the households left exactly as they were because a row of theirs was
	// refused (sorted); none on a first import, which stores every good row.
	Unchanged []string
}

// Empty reports whether the file changes nothing.
func (d RegistryDiff) Empty() bool { return len(d.Changes) == 0 }

// TooManyRemovals reports whether the diff removes more than MaxRemovalShare of households.
func (d RegistryDiff) TooManyRemovals() bool {
	return d.ActiveBefore > 0 && float64(d.RemovedHouseholds) > MaxRemovalShare*float64(d.ActiveBefore)
}

// HistoryFieldSep separates the fields a history word names (变更：村、风险状态).
const HistoryFieldSep = "、"

// HistoryWord is how the member history names a change (registry_history keeps its code,
// Change, and the fields in its detail).
func (c RegistryChange) HistoryWord() string {
	if c.Change == RegChanged && len(c.Fields) > 0 {
		return ChangeChanged.Label() + "：" + strings.Join(c.Fields, HistoryFieldSep)
	}
	return Change(c.Change).Label()
}

// CaseMove is an open case that moved with its household to another township when a
// re-import changed the household's 乡镇 (docs/registry.md). Its due date stays.
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
	Refusals      RegistryRefusals
	// DryRun computes the diff and applies nothing (the guards still answer: too many
	// refused rows is an error, too many removals shows in Diff.TooManyRemovals).
	DryRun bool
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
