package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/postgres"
	"github.com/fangpin/fangpin/cases/postgres/dispatchtest"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
)

// Issue 27: a case closed more than FANGPIN_RETENTION_YEARS ago loses its names, ID numbers
// and typed text with `retention --apply`; the month's assessment gives the same numbers;
// a recently closed case is untouched; a second run changes nothing.
func TestRetentionAnonymizesOldClosedCasesAndKeepsTheCounts(t *testing.T) {
	ctx := context.Background()
	url := pgtest.MigratedURL(t)
	db, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	p := dispatchtest.Setup(t, db)
	dispatchtest.Warn(t, db, p)
	t.Setenv("DATABASE_URL", url)
	t.Setenv("FANGPIN_HASH_KEY", "")
	if code, out := run(t, "dispatch", "--date", "2026-11-10", "--json"); code != 0 {
		t.Fatalf("dispatch: %d %s", code, out)
	}
	caseOf := func(id string) string {
		t.Helper()
		_, out := run(t, "cases", "--json")
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			var c struct {
				No      string   `json:"case_no"`
				Members []string `json:"members"`
			}
			json.Unmarshal([]byte(line), &c)
			for _, m := range c.Members {
				if m == id {
					return c.No
				}
			}
		}
		t.Fatalf("no case holds %s", cases.MaskIDNumber(id))
		return ""
	}
	oldCase, recentCase := caseOf(p.A.ID), caseOf(p.F.ID)
	cadre, err := db.Actor(ctx, "zhangsan")
	if err != nil {
		t.Fatal(err)
	}
	reason := "王建国家中已有稳定务工收入，暂不纳入"
	for no, why := range map[string]string{oldCase: reason, recentCase: "家庭收入稳定，经核实暂不纳入"} {
		if _, err := db.Transition(ctx, no, cadre, cases.Command{Action: cases.ActVerify, Result: cases.ResultExclude, Reason: why}, cases.Source("form:"+no)); err != nil {
			t.Fatal(err)
		}
	}
	pgtest.BackdateClosed(t, db, oldCase, time.Now().AddDate(-6, 0, 0))

	// a row out of scope, pushed six years ago: no case will ever hold it, and its person's data
	// was kept for ever
	strayName := "欧阳旧数"
	stray := pgtest.InsertWarning(t, db, pgtest.Warning{Department: "医保局", Category: "medical", IDNumber: p.G.ID, Name: strayName, Township: "城关镇"})
	if _, err := db.Exec(`UPDATE warnings SET rule = '', created_at = now() - interval '6 years' WHERE id = $1`, stray); err != nil {
		t.Fatal(err)
	}
	_, reportBefore := run(t, "report", "--month", "2026-11", "--json")
	_, casesBefore := run(t, "cases", "--json")
	sensitive := []string{p.A.Name, p.A.ID, p.B.Name, p.B.ID, p.Disease, p.Amount, reason, strayName}

	// Without --apply: the list, and nothing changes.
	code, out := run(t, "retention", "--json")
	var res struct {
		Apply      bool     `json:"apply"`
		Years      int      `json:"retention_years"`
		Cases      int      `json:"cases"`
		Warnings   int      `json:"warnings"`
		Anonymized int      `json:"anonymized"`
		CaseNos    []string `json:"case_nos"`
		Stray      int      `json:"stray_warnings"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil || res.Apply || res.Years != 5 || res.Cases != 1 ||
		len(res.CaseNos) != 1 || res.CaseNos[0] != oldCase || res.Warnings != 3 || res.Anonymized != 0 || res.Stray != 1 {
		t.Fatalf("retention (dry): %d %s", code, out)
	}
	if _, again := run(t, "cases", "--json"); again != casesBefore {
		t.Fatal("retention without --apply changed cases")
	}

	_, auditBefore := run(t, "audit", "--json", "--user", "zhangsan")
	if !strings.Contains(auditBefore, `"channel":"h5"`) {
		t.Fatalf("the 核查 by form is not in the access log as h5: %s", auditBefore)
	}
	code, out = run(t, "retention", "--apply", "--json")
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil || !res.Apply || res.Anonymized != 1 || res.CaseNos[0] != oldCase {
		t.Fatalf("retention --apply: %d %s", code, out)
	}
	var strayLeft string
	if err := db.Get(&strayLeft, `SELECT name || id_sealed || detail::text FROM warnings WHERE id = $1`, stray); err != nil || strayLeft != "{}" {
		t.Errorf("the out-of-scope row of six years ago still holds %q (%v), want its person cleared", strayLeft, err)
	}
	// who confirmed what, and through which channel, is kept (it read "cli" once the message
	// id was cleared)
	if _, auditAfter := run(t, "audit", "--json", "--user", "zhangsan"); strings.Count(auditAfter, `"channel":"h5"`) != strings.Count(auditBefore, `"channel":"h5"`) {
		t.Errorf("the access log's channels changed with retention:\nbefore %s\nafter  %s", auditBefore, auditAfter)
	}
	if _, reportAfter := run(t, "report", "--month", "2026-11", "--json"); reportAfter != reportBefore {
		t.Errorf("the month's assessment changed:\nbefore %s\nafter  %s", reportBefore, reportAfter)
	}
	dump := pgtest.TablesText(t, db, "cases", "warnings", "case_events", "department_tasks", "spot_checks", "reminders")
	for _, s := range sensitive {
		for _, line := range strings.Split(dump, "\n") {
			if strings.Contains(line, s) {
				t.Errorf("after retention the ledger still holds %s in %s", bot.MaskIDNumbers(s), bot.MaskIDNumbers(line))
			}
		}
	}
	// The recently closed case and the open ones are as they were; the old case keeps its
	// counts, with keyed hashes for its members.
	_, casesAfter := run(t, "cases", "--json")
	before, after := strings.Split(casesBefore, "\n"), strings.Split(casesAfter, "\n")
	if len(before) != len(after) {
		t.Fatalf("cases: %d lines before, %d after", len(before), len(after))
	}
	for i := range before {
		if strings.Contains(before[i], `"`+oldCase+`"`) {
			want := strings.NewReplacer(p.A.ID, cases.IDHash(cases.DemoHashKey, p.A.ID), p.B.ID, cases.IDHash(cases.DemoHashKey, p.B.ID)).Replace(before[i])
			if after[i] != want {
				t.Errorf("the anonymized case:\nbefore %s\nafter  %s\nwant   %s", before[i], after[i], want)
			}
			continue
		}
		if after[i] != before[i] {
			t.Errorf("a case retention should not touch changed:\nbefore %s\nafter  %s", before[i], after[i])
		}
	}
	if caseOf(p.F.ID) != recentCase { // its number is sealed in the table (docs/encryption.md)
		t.Error("the recently closed case lost its data")
	}

	// Idempotent.
	code, out = run(t, "retention", "--apply", "--json")
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil || res.Cases != 0 || res.Anonymized != 0 {
		t.Fatalf("second retention --apply: %d %s", code, out)
	}
	if _, again := run(t, "cases", "--json"); again != casesAfter {
		t.Error("a second retention run changed cases")
	}
}
