package intake

import (
	"context"
	"fmt"

	"github.com/fangpin/fangpin/cases"
)

// MappingSource is what a Store may also offer: each department's stored column and value
// mapping (docs/intake.md). *postgres.DB does.
type MappingSource interface {
	DepartmentMapping(ctx context.Context, dept string) (cases.ColumnMapping, error)
}

// withMapping gives req the department's stored mapping as its Aliases and ValueAliases, when
// the caller gave neither and store keeps mappings: every way a file comes (CLI, push API,
// chat, upload page) reads it by the department's own words without asking for them.
func withMapping(ctx context.Context, store Store, req Request) (Request, error) {
	if req.Aliases != nil || req.ValueAliases != nil {
		return req, nil
	}
	ms, ok := store.(MappingSource)
	if !ok {
		return req, nil
	}
	m, err := ms.DepartmentMapping(ctx, req.Department)
	if err != nil {
		return req, fmt.Errorf("import: %w", err)
	}
	req.Aliases = Aliases(m.Columns)
	req.ValueAliases = m.Values
	if req.Aliases == nil {
		req.Aliases = Aliases{} // asked: an empty mapping is not asked again
	}
	return req, nil
}
