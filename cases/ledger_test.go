package cases_test

import (
	"fmt"
	"testing"

	"github.com/fangpin/fangpin/cases"
)

// TestSumTownshipsFollowsTheTownshipsRule: 汇总's 合计 adds the townships' counts and takes
// its rates by their own rule. While the month is in progress no township has a feedback
// rate (—), so the county has none either; an on-time rate counts the decided cases only;
// the county has no score.
func TestSumTownshipsFollowsTheTownshipsRule(t *testing.T) {
	town := func(name string, dispatched, onTime, overdue, fedBack int, due bool) cases.TownshipScore {
		ts := cases.TownshipScore{Name: name, Dispatched: dispatched, OnTime: onTime, Overdue: overdue, Closed: onTime,
			FedBack: fedBack, FeedbackDue: due}
		ts.Fill()
		return ts
	}
	rate := func(r *float64) string {
		if r == nil {
			return "—"
		}
		return fmt.Sprintf("%.1f", *r)
	}
	for _, c := range []struct {
		name           string
		ts             []cases.TownshipScore
		onTime, fedBck string
	}{
		{"in progress", []cases.TownshipScore{town("城关镇", 10, 4, 1, 9, false), town("河口乡", 11, 0, 0, 1, false)}, "0.8", "—"},
		{"over", []cases.TownshipScore{town("城关镇", 10, 4, 1, 9, true), town("河口乡", 10, 0, 5, 1, true)}, "0.4", "0.5"},
		{"nothing decided", []cases.TownshipScore{town("城关镇", 3, 0, 0, 0, false), town("青山镇", 0, 0, 0, 0, false)}, "—", "—"},
	} {
		total := cases.SumTownships(c.ts)
		for _, ts := range c.ts {
			if c.fedBck == "—" && ts.FeedbackRate != nil {
				t.Fatalf("%s: township %s has a feedback rate", c.name, ts.Name)
			}
		}
		if got := rate(total.OnTimeRate); got != c.onTime {
			t.Errorf("%s: 合计 on-time rate %s, want %s", c.name, got, c.onTime)
		}
		if got := rate(total.FeedbackRate); got != c.fedBck {
			t.Errorf("%s: 合计 feedback rate %s, want %s", c.name, got, c.fedBck)
		}
		if total.Name != "合计" || total.Score != nil || total.Dispatched != c.ts[0].Dispatched+c.ts[1].Dispatched {
			t.Errorf("%s: 合计 %+v", c.name, total)
		}
	}
}
