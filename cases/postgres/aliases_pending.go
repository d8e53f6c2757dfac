package postgres

import "github.com/fangpin/fangpin/cases"

// These names remain only for dispatch.go, dispatchbulk.go, selffound.go and tasks.go,
// which another branch rewrites at the same time; they go once that work is merged.
type Source = cases.Source

const ActDispatch = cases.ActDispatch

func NormalizeCaseNo(no string) string { return cases.NormalizeCaseNo(no) }
