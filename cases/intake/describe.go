package intake

import (
	"strings"

	"github.com/fangpin/fangpin/cases"
)

// ColumnSpec describes one column of a category's file, for templates and docs: read from the
// one column definition (layouts), never a list of its own.
type ColumnSpec struct {
	Name     string
	Required bool     // the header must have it
	Empty    bool     // a row may leave it empty
	Kind     string   // "money", "date" or "text"
	Choices  []string // the values it accepts, if a list
}

// ColumnSpecs lists a category's columns in ColumnsOf's order.
func ColumnSpecs(cat cases.Category) []ColumnSpec {
	alerts := alertsAllowed(cat)
	out := []ColumnSpec{
		{Name: ColName, Required: true, Empty: alerts, Kind: "text"},
		{Name: ColID, Required: true, Empty: alerts, Kind: "text"},
		{Name: ColTownship, Required: true, Kind: "text"},
		{Name: ColVillage, Empty: true, Kind: "text"},
		{Name: ColHeadID, Empty: true, Kind: "text"},
	}
	for _, c := range layouts[cat] {
		s := ColumnSpec{Name: c.Name, Required: c.Required, Empty: c.Empty || !c.Required, Kind: ColumnKind(cat, c.Name)}
		if c.Oneof != "" {
			s.Choices = strings.Fields(c.Oneof)
		}
		out = append(out, s)
	}
	return out
}
