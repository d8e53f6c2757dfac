package intake

import (
	"context"
	"fmt"

	"github.com/fangpin/fangpin/cases"
)

// A department's own words (cases.ColumnMapping) are applied here and only here: the header
// is renamed before the columns are matched, and value words are replaced before a cell is
// checked. When the reader gains extra header aliases, mapHeader is what becomes them.

// MappingOf is the department's mapping for req: req.Mapping, else the one store keeps for
// req.Department if store is a MappingSource, else nil. A reader that finds the header by
// its names should be given its Columns as extra names, since the department's own header
// would not be found by the built-in ones.
func MappingOf(ctx context.Context, store Store, req Request) (*cases.ColumnMapping, error) {
	if req.Mapping != nil {
		return req.Mapping, nil
	}
	ms, ok := store.(MappingSource)
	if !ok {
		return nil, nil
	}
	m, err := ms.DepartmentMapping(ctx, req.Department)
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	return &m, nil
}

// mappedRows is rows with its header renamed by a department's mapping.
type mappedRows struct {
	Rows
	header []string
}

func (m mappedRows) Header() []string { return m.header }

// mapHeader renames the header cells that the department's mapping names, compared as
// header cells are (NormalizeText); the others are kept as they are.
func mapHeader(header []string, columns map[string]string) []string {
	norm := make(map[string]string, len(columns))
	for k, v := range columns {
		norm[NormalizeText(k)] = v
	}
	out := make([]string, len(header))
	for i, h := range header {
		out[i] = h
		if c, ok := norm[NormalizeText(h)]; ok {
			out[i] = c
		}
	}
	return out
}

// mapValues gives each column its value words (column name → word → value).
func (p *parser) mapValues(values map[string]map[string]string) {
	for i := range p.fields {
		words := values[p.fields[i].Name]
		if len(words) == 0 {
			continue
		}
		p.fields[i].words = make(map[string]string, len(words))
		for k, v := range words {
			p.fields[i].words[NormalizeText(k)] = v
		}
	}
}
