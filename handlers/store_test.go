package handlers_test

import (
	"github.com/fangpin/fangpin/cases/postgres"
	"github.com/fangpin/fangpin/handlers"
)

// The store implements every interface handlers declares for it.
var (
	_ handlers.Ledger       = (*postgres.DB)(nil)
	_ handlers.LedgerStore  = (*postgres.DB)(nil)
	_ handlers.SweepStore   = (*postgres.DB)(nil)
	_ handlers.BatchStore   = (*postgres.DB)(nil)
	_ handlers.FailureStore = (*postgres.DB)(nil)
	_ handlers.SpotDrawer   = (*postgres.DB)(nil)
	_ handlers.Directory    = (*postgres.DB)(nil)
)
