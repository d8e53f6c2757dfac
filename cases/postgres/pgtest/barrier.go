package pgtest

import (
	"testing"
	"time"
)

// WaitQueuesEmpty waits until neither the inbox nor the outbox holds a pending row: every
// callback received has been handled and every message queued has been delivered to the
// simulator (or given up on). It is the barrier before asserting that nothing more
// happened: after it, a message that was going to be sent has been sent. Rows waiting out a
// long back-off count as pending, so a test that leaves such rows must not use it.
func WaitQueuesEmpty(t testing.TB, db Querier, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		n := Count(t, db, `SELECT (SELECT count(*) FROM inbox WHERE state = 'pending') +
			(SELECT count(*) FROM outbox WHERE state = 'pending')`)
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("pgtest: %d inbox and outbox rows still pending after %s", n, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
