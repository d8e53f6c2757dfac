// Package registry reads the registry of monitored households exported from the national
// system (CSV or XLSX, docs/reference.md), checking every row and keeping the good ones.
package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/sheet"
)

// Columns of the registry file.
const (
	ColHouseholdNo = "户编号"
	ColHeadID      = "户主身份证号"
	ColName        = "成员姓名"
	ColID          = "成员身份证号"
	ColRelation    = "与户主关系"
	ColTownship    = "乡镇"
	ColVillage     = "村"
	ColKind        = "户类型"
	ColRisk        = "风险状态"
)

// Summary is the import's answer (docs/registry.md): the file's counts, then what the
// re-import changed in the registry and the list of changes.
type Summary struct {
	Rows       int              `json:"rows"`
	Accepted   int              `json:"accepted"`
	Rejected   int              `json:"rejected"`
	Households int              `json:"households"`
	Members    int              `json:"members"`
	Errors     []cases.RowError `json:"errors"`

	// UnchangedRefused counts the households left exactly as they were because a row of
	// theirs was refused; RefusedHouseholds lists them with their rows' errors.
	UnchangedRefused  int                `json:"unchanged_refused"`
	RefusedHouseholds []RefusedHousehold `json:"refused_households"`

	BatchID    string                 `json:"batch_id"` // '' when nothing changed
	Added      int                    `json:"added"`
	Changed    int                    `json:"changed"`
	Moved      int                    `json:"moved"`
	Removed    int                    `json:"removed"`
	CasesMoved int                    `json:"cases_moved"`
	Changes    []cases.RegistryChange `json:"changes"`
	// TooManyRemovals: the diff removes more than cases.MaxRemovalShare of the households,
	// which an import refuses without --allow-removals (a dry run reports it here).
	TooManyRemovals bool `json:"too_many_removals,omitempty"`
	// Warnings: villages of the org file and of the registry that do not agree
	// (cases.VillageWarnings), filled by the caller once the import is applied.
	Warnings []string `json:"warnings,omitempty"`
	// Refused says why the whole file was not taken (too many refused rows, too many
	// removals); the counts and errors above still tell what was read.
	Refused string `json:"refused,omitempty"`
}

// RefusedHousehold is a household a refused row held back, with that household's errors
// (at most maxHouseholdErrors).
type RefusedHousehold struct {
	Household string           `json:"household"`
	Errors    []cases.RowError `json:"errors"`
}

// maxHouseholdErrors is how many errors are listed under one refused household.
const maxHouseholdErrors = 5

// Store applies the whole file's accepted rows as one diff (docs/registry.md): the rows go to a
// load in batches, in file order, inside the load's one transaction, and Finish compares
// them with the registry and applies the difference. Nothing of the file stays in memory.
type Store interface {
	BeginRegistryImport(ctx context.Context) (cases.RegistryLoad, error)
}

// BatchSize is how many rows go to the store at once.
const BatchSize = 2000

// Import reads a registry table, validates every row and applies the good ones as a diff
// (households absent from the file are removed). townships maps every township name, alias
// and former name to its canonical name. A file that cannot be read at all (missing column),
// or that would remove too many households, is an error; bad rows are reported in the summary.
func Import(ctx context.Context, r *sheet.Reader, townships map[string]string, store Store) (Summary, error) {
	return ImportWith(ctx, r, townships, store, cases.RegistryImportOptions{})
}

// Preview computes what importing the file would change and applies nothing: the diff,
// its counts and change list, the households refused rows would hold back, and in
// Summary.TooManyRemovals whether the removal guard would refuse it. A file with too many
// refused rows is an error, as its import would be.
func Preview(ctx context.Context, r *sheet.Reader, townships map[string]string, store Store) (Summary, error) {
	return ImportWith(ctx, r, townships, store, cases.RegistryImportOptions{DryRun: true})
}

// ImportWith is Import with options (--allow-removals, --dry-run).
func ImportWith(ctx context.Context, r *sheet.Reader, townships map[string]string, store Store, opt cases.RegistryImportOptions) (Summary, error) {
	s := Summary{Errors: []cases.RowError{}, Changes: []cases.RegistryChange{}, RefusedHouseholds: []RefusedHousehold{}}
	cols, err := sheet.Columns(r.Header(),
		[]string{ColHouseholdNo, ColHeadID, ColName, ColID, ColTownship, ColKind, ColRisk},
		[]string{ColRelation, ColVillage})
	if err != nil {
		return s, err
	}
	at := columnsAt(cols)
	seen := newSeenRows()
	var refused refusedRows
	out := &memberBatches{store: store, batch: make([]cases.RegistryMember, 0, BatchSize)}
	defer out.abort()
	for {
		rec, row, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if sheet.IsLimit(err) {
				return s, err
			}
			return s, fmt.Errorf("第 %d 行读取失败：%w", row, err)
		}
		s.Rows++
		m, col, msg := parseRow(rec, at, townships)
		if msg == "" {
			col, msg = seen.admit(m, row)
		}
		if msg != "" {
			s.Rejected++
			e := cases.RowError{Row: row, Column: col, Message: sheet.ClipMessage(msg)}
			if len(s.Errors) < sheet.MaxListedErrors {
				s.Errors = append(s.Errors, e)
			}
			refused.add(m, e)
			continue
		}
		s.Accepted++
		if err := out.add(ctx, m); err != nil {
			return s, err
		}
	}
	if err := out.flush(ctx); err != nil {
		return s, err
	}
	s.Households = len(seen.households)
	s.Members = s.Accepted
	if out.load == nil && s.Rejected == 0 {
		return s, nil // an empty file: the registry is left as it is, never emptied
	}
	if out.load == nil { // every row refused: the store still says whether that refuses the file
		if out.load, err = store.BeginRegistryImport(ctx); err != nil {
			return s, err
		}
	}
	opt.Refusals = cases.RegistryRefusals{Rows: s.Rows, Refused: s.Rejected, IDNumbers: refused.ids, First: s.Errors[:min(len(s.Errors), 5)]}
	for h := range refused.houses {
		opt.Refusals.Households = append(opt.Refusals.Households, h)
	}
	res, err := out.load.Finish(ctx, opt)
	out.load = nil // finished: committed, or rolled back by Finish itself
	if err != nil {
		return s, err
	}
	s.applied(res, refused.byHouse)
	return s, nil
}

// applied fills the summary with what the store did: the diff's counts and changes, and
// the households the refused rows held back.
func (s *Summary) applied(res cases.RegistryImportResult, byHouse []RefusedHousehold) {
	d := res.Diff
	s.BatchID, s.Added, s.Changed, s.Moved, s.Removed, s.CasesMoved = res.BatchID, d.Added, d.Changed, d.Moved, d.Removed, res.CasesMoved
	if d.Changes != nil {
		s.Changes = d.Changes
	}
	s.TooManyRemovals = d.TooManyRemovals()
	s.UnchangedRefused = len(d.Unchanged)
	held := make(map[string]bool, len(d.Unchanged))
	for _, h := range d.Unchanged {
		held[h] = true
	}
	for _, h := range byHouse {
		if held[h.Household] {
			s.RefusedHouseholds = append(s.RefusedHouseholds, h)
			delete(held, h.Household)
		}
	}
	// Households held because a refused row names one of their members under another
	// 户编号 (or none): listed too, their errors being under the number the row gave.
	for _, h := range d.Unchanged {
		if held[h] && len(s.RefusedHouseholds) < sheet.MaxListedErrors {
			s.RefusedHouseholds = append(s.RefusedHouseholds, RefusedHousehold{Household: h, Errors: []cases.RowError{}})
		}
	}
}

// seenRows is what is remembered of the rows accepted so far, kept small so that a
// registry at the file limit (docs/limits.md) stays far under the process's 256 MB: an ID
// number by its 17 digits (the check character follows from them), and the township, kind
// and risk, which take a handful of values, by their index in a small table.
type seenRows struct {
	households map[string]seenHousehold
	members    map[uint64]int32
	values     []string
	index      map[string]uint16
}

type seenHousehold struct {
	row                  int32
	head                 uint64
	township, kind, risk uint16
}

func newSeenRows() *seenRows {
	return &seenRows{households: map[string]seenHousehold{}, members: map[uint64]int32{}, index: map[string]uint16{}}
}

func (t *seenRows) valueOf(v string) uint16 {
	i, ok := t.index[v]
	if !ok {
		i = uint16(len(t.values))
		v = strings.Clone(v)
		t.values, t.index[v] = append(t.values, v), i
	}
	return i
}

func idKey(id string) uint64 {
	k, _ := cases.IDKey(id)
	return k
}

// admit refuses a row that repeats a person or disagrees with an earlier row of its
// household (the column and the message), else remembers it and returns "". One look-up of
// the household and of the person a row: a county's registry is a million map look-ups.
func (t *seenRows) admit(m cases.RegistryMember, row int) (col, msg string) {
	person := idKey(m.IDNumber)
	if prev, ok := t.members[person]; ok {
		return ColID, fmt.Sprintf("与第 %d 行是同一个人，重复了", prev)
	}
	h, ok := t.households[m.HouseholdNo]
	switch {
	case !ok:
		t.households[strings.Clone(m.HouseholdNo)] = seenHousehold{int32(row), idKey(m.HeadIDNumber),
			t.valueOf(m.Township), t.valueOf(m.Kind), t.valueOf(m.RiskStatus)}
	case h.head != idKey(m.HeadIDNumber):
		return ColHeadID, fmt.Sprintf("与第 %d 行同一户编号的户主身份证号不一致", h.row)
	case t.values[h.township] != m.Township:
		return ColTownship, fmt.Sprintf("与第 %d 行同一户的乡镇不一致", h.row)
	case t.values[h.kind] != m.Kind:
		return ColKind, fmt.Sprintf("与第 %d 行同一户的户类型不一致", h.row)
	case t.values[h.risk] != m.RiskStatus:
		return ColRisk, fmt.Sprintf("与第 %d 行同一户的风险状态不一致", h.row)
	}
	t.members[person] = int32(row)
	return "", ""
}

// refusedRows is what the refused rows hold back: every household they name stays as it is.
type refusedRows struct {
	houses  map[string]int // 户编号 → index in byHouse, or -1 once byHouse is full
	byHouse []RefusedHousehold
	ids     []string
}

func (r *refusedRows) add(m cases.RegistryMember, e cases.RowError) {
	if m.HouseholdNo != "" {
		if r.houses == nil {
			r.houses = map[string]int{}
		}
		i, ok := r.houses[m.HouseholdNo]
		if !ok {
			i = -1
			if len(r.byHouse) < sheet.MaxListedErrors {
				i = len(r.byHouse)
				r.byHouse = append(r.byHouse, RefusedHousehold{Household: strings.Clone(m.HouseholdNo)})
			}
			r.houses[strings.Clone(m.HouseholdNo)] = i
		}
		if i >= 0 && len(r.byHouse[i].Errors) < maxHouseholdErrors {
			r.byHouse[i].Errors = append(r.byHouse[i].Errors, e)
		}
	}
	if cases.ValidateIDNumber(m.IDNumber) == nil {
		r.ids = append(r.ids, strings.Clone(m.IDNumber))
	}
}

// memberBatches hands accepted rows to the store BatchSize at a time, beginning the
// store's load with the first batch. The store's Add (hashing, sealing and encoding a batch:
// about as much CPU as reading and checking its rows) runs on a goroutine of its own while
// the next batch is read, one batch at a time and in the file's order, so a county's
// registry is read and sealed on both cores.
type memberBatches struct {
	store    Store
	load     cases.RegistryLoad
	batch    []cases.RegistryMember
	spare    []cases.RegistryMember // the batch in flight, reused once it is stored
	inFlight chan error             // the Add in flight's answer; nil when none is
}

func (b *memberBatches) add(ctx context.Context, m cases.RegistryMember) error {
	b.batch = append(b.batch, m)
	if len(b.batch) == BatchSize {
		return b.send(ctx)
	}
	return nil
}

// send starts storing the batch read, once the one before it is stored.
func (b *memberBatches) send(ctx context.Context) error {
	if len(b.batch) == 0 {
		return nil
	}
	if b.load == nil {
		var err error
		if b.load, err = b.store.BeginRegistryImport(ctx); err != nil {
			return err
		}
	}
	if err := b.wait(); err != nil {
		return err
	}
	batch, load, done := b.batch, b.load, make(chan error, 1)
	b.batch, b.spare, b.inFlight = b.spare[:0], batch, done
	go func() { done <- load.Add(ctx, batch) }()
	return nil
}

// wait waits for the batch in flight to be stored.
func (b *memberBatches) wait() error {
	if b.inFlight == nil {
		return nil
	}
	err := <-b.inFlight
	b.inFlight = nil
	if err != nil {
		return fmt.Errorf("store registry rows: %w", err)
	}
	return nil
}

// flush stores what is left and waits until every row is stored.
func (b *memberBatches) flush(ctx context.Context) error {
	if err := b.send(ctx); err != nil {
		return err
	}
	return b.wait()
}

// abort rolls back a load not finished (an error on the way), once no Add runs on it.
func (b *memberBatches) abort() {
	b.wait()
	if b.load != nil {
		b.load.Abort()
	}
}

// The file's columns, by their place in columnIndex.
const (
	iHouseholdNo = iota
	iHeadID
	iName
	iID
	iRelation
	iTownship
	iVillage
	iKind
	iRisk
	nColumns
)

// columnIndex is where each column is in the file (-1: absent), looked up once for the file
// rather than by name for every cell of 300,000 rows.
type columnIndex [nColumns]int

func columnsAt(cols map[string]int) columnIndex {
	var at columnIndex
	for i, c := range [nColumns]string{ColHouseholdNo, ColHeadID, ColName, ColID, ColRelation, ColTownship, ColVillage, ColKind, ColRisk} {
		at[i] = sheet.Index(cols, c)
	}
	return at
}

func parseRow(rec []string, at columnIndex, townships map[string]string) (m cases.RegistryMember, col, msg string) {
	cell := func(c int) string { return sheet.CellAt(rec, at[c]) }
	m = cases.RegistryMember{
		HouseholdNo:  cell(iHouseholdNo),
		HeadIDNumber: cases.NormalizeIDNumber(cell(iHeadID)),
		Name:         cell(iName),
		IDNumber:     cases.NormalizeIDNumber(cell(iID)),
		Relation:     cell(iRelation),
		Village:      cell(iVillage),
		Kind:         cell(iKind),
		RiskStatus:   cell(iRisk),
	}
	if m.HouseholdNo == "" {
		return m, ColHouseholdNo, "户编号不能为空"
	}
	if err := cases.ValidateIDNumber(m.HeadIDNumber); err != nil {
		return m, ColHeadID, err.Error()
	}
	if m.Name == "" {
		return m, ColName, "成员姓名不能为空"
	}
	if err := cases.ValidateIDNumber(m.IDNumber); err != nil {
		return m, ColID, err.Error()
	}
	t := cell(iTownship)
	name, ok := townships[t]
	if !ok {
		name, ok = townships[cases.RegistryWord(t)]
	}
	if !ok {
		return m, ColTownship, fmt.Sprintf("乡镇“%s”不在组织文件中，请核对名称或先在组织文件中添加", t)
	}
	m.Township = name
	var err error
	if m.Kind, err = cases.ParseHouseholdKind(m.Kind); err != nil {
		return m, ColKind, err.Error()
	}
	if m.RiskStatus, err = cases.ParseRiskStatus(m.RiskStatus); err != nil {
		return m, ColRisk, err.Error()
	}
	return m, "", ""
}
