package cases

// ColumnMapping is a department's own words for the columns and values of its files, asked
// once of its liaison and used for every later file of the department (docs/intake.md,
// "A department's own words"). Header texts and value words are kept as the file writes them;
// the reader compares them as it compares header cells.
type ColumnMapping struct {
	Department string `json:"department"`
	// Columns maps a header text of the department's files to the column name it stands for
	// (one of the category's columns, docs/intake.md).
	Columns map[string]string `json:"columns"`
	// Values maps, per column name, a value word of the department's files to the value the
	// column expects (e.g. 救助类别: 农村低保 → 低保).
	Values map[string]map[string]string `json:"values"`
}

// Empty reports whether the mapping says nothing.
func (m ColumnMapping) Empty() bool { return len(m.Columns) == 0 && len(m.Values) == 0 }

// Merge adds other's entries to m, other's winning where both say something: a liaison
// answers a column at a time, and the latest answer counts.
func (m *ColumnMapping) Merge(other ColumnMapping) {
	if m.Columns == nil {
		m.Columns = map[string]string{}
	}
	if m.Values == nil {
		m.Values = map[string]map[string]string{}
	}
	for k, v := range other.Columns {
		m.Columns[k] = v
	}
	for col, words := range other.Values {
		if m.Values[col] == nil {
			m.Values[col] = map[string]string{}
		}
		for k, v := range words {
			m.Values[col][k] = v
		}
	}
}
