package cases

import (
	"encoding/json"
	"strconv"
)

// Batch is one department push (docs/intake.md): a file or an API call, what was taken and
// what was refused. DuplicateOf is set when the same content (same SHA-256) had already
// been pushed: the earlier batch is returned and nothing changes.
type Batch struct {
	ID          string   `json:"batch_id"`
	Department  string   `json:"department"`
	Category    Category `json:"category"`
	Period      string   `json:"period"` // YYYY-MM
	Rows        int      `json:"rows"`
	Accepted    int      `json:"accepted"`
	Rejected    int      `json:"rejected"`
	Warnings    int      `json:"warnings"`
	OutOfScope  int      `json:"out_of_scope"` // valid rows outside the category's scope (docs/rules.md), not stored
	DuplicateOf *string  `json:"duplicate_of"`
	// Replaced is how many of this push's rows replaced an earlier push's row of the same
	// person, department, category and period that no round had dispatched yet.
	Replaced int        `json:"replaced"`
	Errors   []RowError `json:"errors"`
	// Late is set when the push came after its deadline (docs/reminders.md): a monthly or the
	// education push after its deadline, an epidemic push more than 3 days after its event.
	Late bool `json:"late,omitempty"`
	// A 人员变动 push (docs/held-and-tasks.md) adds how many registry members it updated and how many of its
	// rows named nobody in the registry (nil for other categories).
	RegistryUpdates *int `json:"registry_updates,omitempty"`
	NotInRegistry   *int `json:"not_in_registry,omitempty"`
	// Skipped counts the rows that are not data: 合计/总计/小计 rows and footer lines (制表人、
	// 注：…) after the data (docs/intake.md). They are neither rows nor errors.
	Skipped int `json:"skipped"`
	// Sheet is the workbook sheet read (XLSX, XLS); PassedOver the sheets before it whose
	// header did not match, for the Chinese answer.
	Sheet      string   `json:"sheet,omitempty"`
	PassedOver []string `json:"-"`

	SHA256   string `json:"-"`
	Filename string `json:"-"`
	Source   string `json:"-"` // file, api
	// Persons, set by the reader, answers which people the push has an accepted row for, so
	// that the store can supersede an earlier push's rows of the same people (docs/intake.md).
	// Nil names nobody.
	Persons PersonSet `json:"-"`
}

// PersonSet answers whether a push has an accepted row for a person: the keyed hash of
// their ID number, as its first 16 bytes (IDHashHalves; the store compares stored rows by
// hash, docs/encryption.md) and, for assurance, whose rows are one per person and 问题类型,
// the 问题类型 ("" for other categories).
type PersonSet interface {
	Has(hi, lo uint64, problemType string) bool
	// Each calls f once for every person (and 问题类型) the set holds, in no order.
	Each(f func(hi, lo uint64, problemType string))
}

// IDHashHalves is the first 16 bytes of a keyed hash (IDHash's hex) as two numbers, the
// key a PersonSet is asked by; ok is false for what is not a hash.
func IDHashHalves(hash string) (hi, lo uint64, ok bool) {
	if len(hash) != 64 {
		return 0, 0, false
	}
	hi, err1 := strconv.ParseUint(hash[:16], 16, 64)
	lo, err2 := strconv.ParseUint(hash[16:32], 16, 64)
	return hi, lo, err1 == nil && err2 == nil
}

// Warning is one accepted row of a batch. Rule is empty when the row raised no warning
// (it is kept all the same: a later rule change or a cadre's question may need it);
// otherwise it is the first rule that fired and Amount its figure. Hits lists every rule
// that fired.
type Warning struct {
	Row          int
	Category     Category
	Period       string
	Rule         string
	Amount       *Money
	IDNumber     string // "" for a township-wide alert (区域排查)
	Name         string
	Township     string // canonical name
	Village      string
	HeadIDNumber string
	// Hashed says IDSum and HeadSum hold the keyed hashes of IDNumber and HeadIDNumber
	// (docs/encryption.md), made once by the importer for the look-up and the stored row;
	// the store makes them when not. IDHash and HeadIDHash are their hex, set only for
	// people the registry may hold (looked up by it), so most rows allocate no string.
	Hashed             bool
	IDSum, HeadSum     [32]byte
	IDHash, HeadIDHash string
	Registered         bool // 建档立卡
	// 人员变动 rows: 变动类型 and 变动日期 (the registry is updated from them, docs/held-and-tasks.md).
	Change    string
	ChangedOn Date
	Hits      []Hit
	// Detail is the row as read, a JSON object of column name → value, shown only to the
	// responsible cadre. It is built once by the reader so a million rows cost no maps.
	Detail []byte
}

// MarshalJSON names an education batch's period by its 学年 ("2026-2027", docs/intake.md), as the
// department does; it is stored as the month of its deadline (2027-04) so that pushes,
// reminders and the assessment share one kind of period.
func (b Batch) MarshalJSON() ([]byte, error) {
	type plain Batch
	p := plain(b)
	if b.Category == CatEducation {
		if d, err := ParseMonth(b.Period); err == nil {
			p.Period = SchoolYearOf(d)
		}
	}
	return json.Marshal(p)
}
