package postgres_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"github.com/fangpin/fangpin/announce"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/postgres"
	"github.com/fangpin/fangpin/cases/postgres/dispatchtest"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
	"github.com/fangpin/fangpin/cases/synth"
	"github.com/fangpin/fangpin/handlers"
)

func counts(t *testing.T, db *postgres.DB) (casesN, outbox, rounds, linked int) {
	t.Helper()
	err := db.QueryRowx(`SELECT (SELECT count(*) FROM cases), (SELECT count(*) FROM outbox), (SELECT count(*) FROM rounds),
		(SELECT count(*) FROM warnings WHERE case_id IS NOT NULL)`).Scan(&casesN, &outbox, &rounds, &linked)
	if err != nil {
		t.Fatal(err)
	}
	return
}

func dispatchOpts(dry bool) cases.DispatchOptions {
	links := &handlers.FormLinks{Secret: []byte("test-secret"), BaseURL: "https://fp.example"}
	return cases.DispatchOptions{Month: "2026-11", Date: cases.MustDate("2026-11-10"), DryRun: dry,
		Announce: (&announce.Announcer{Links: links}).Announce}
}

func TestDispatchGroupsByHousehold(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, p := dispatchtest.New(t)
	db.Now = func() time.Time { return cases.MustDate("2026-11-10").At(9, 30) }
	var hooked []cases.Case
	db.AddHooks(postgres.Hooks{Case: []cases.CaseHook{func(ctx context.Context, tx cases.Tx, before, after cases.Case) error {
		if before.ID == 0 {
			hooked = append(hooked, after) // a creation
		} else if before.ID != after.ID {
			t.Errorf("hook got before %s and after %s", before.No, after.No)
		}
		return nil
	}}})
	dispatchtest.Warn(t, db, p)

	dry, err := db.Dispatch(ctx, dispatchOpts(true))
	if err != nil {
		t.Fatal(err)
	}
	if dry.CasesCreated != 6 || dry.ByTownship["城关镇"] != 4 || dry.ByTownship["河口乡"] != 2 {
		t.Fatalf("dry run plan = %+v, want 6 cases (城关镇 4, 河口乡 2)", dry)
	}
	if c, o, r, l := counts(t, db); c+o+r+l != 0 {
		t.Fatalf("dry run changed the ledger: cases %d outbox %d rounds %d linked %d", c, o, r, l)
	}
	hooked = nil

	res, err := db.Dispatch(ctx, dispatchOpts(false))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(res)
	if string(b) != `{"round":"2026-11","cases_created":6,"merged":0,"held":0,"department_tasks":3,"by_township":{"城关镇":4,"河口乡":2},"held_list":[]}` {
		t.Errorf("result JSON = %s", b)
	}
	if len(hooked) != 6 {
		t.Errorf("creation hooks ran %d times, want 6", len(hooked))
	}
	all, err := db.ListCases(ctx, cases.CaseFilter{Round: "2026-11"})
	if err != nil {
		t.Fatal(err)
	}
	byKey := map[string]cases.Case{}
	for _, c := range all {
		byKey[c.HouseholdKey] = c
		if c.DueOn != cases.MustDate("2026-12-08") || c.Status != cases.StatusDispatched {
			t.Errorf("%s: due %s status %s, want 2026-12-08 dispatched", c.No, c.DueOn, c.Status)
		}
		if !strings.HasPrefix(c.No, "YJ202611-000") {
			t.Errorf("case number %s", c.No)
		}
	}
	h1 := byKey["hh:H0001"]
	if h1.Kind != cases.KindNew || h1.Township != "城关镇" || len(h1.Categories) != 3 || h1.HeadName != p.A.Name || len(h1.Members) != 2 {
		t.Errorf("household warned by three departments: %+v", h1)
	}
	h2 := byKey["hh:H0002"]
	if h2.Kind != cases.KindUpdate || h2.Township != "河口乡" {
		t.Errorf("monitored household: kind %s township %s, want 更新 河口乡 (registry wins over the row)", h2.Kind, h2.Township)
	}
	if e := byKey["head:"+db.Keys.IDHash(p.E.ID)]; e.HeadName != p.E.Name || len(e.Members) != 2 || e.Kind != cases.KindNew {
		t.Errorf("grouping by 户主身份证号: %+v", e)
	}
	if f := byKey["head:"+db.Keys.IDHash(p.F.ID)]; f.HeadName != p.F.Name || f.HeadIDNumber != p.F.ID {
		t.Errorf("person alone: %+v", f)
	}
	if g := byKey["head:"+db.Keys.IDHash(p.G.ID)]; g.Department != "住建局" {
		t.Errorf("assurance case department = %q, want 住建局", g.Department)
	}
	if a := byKey["area:河口乡:disaster:2026年10月河口洪涝"]; a.No == "" || a.HeadName != "" || len(a.Members) != 0 {
		t.Errorf("township-wide disaster: %+v (all keys %v)", a, keys(byKey))
	}
	var unlinked int
	unlinked = pgtest.Count(t, db, `SELECT count(*) FROM warnings WHERE case_id IS NULL AND rule <> ''`)
	if unlinked != 0 {
		t.Errorf("%d warnings left undispatched", unlinked)
	}

	// Running again dispatches nothing twice.
	c0, o0, _, _ := counts(t, db)
	again, err := db.Dispatch(ctx, dispatchOpts(false))
	if err != nil {
		t.Fatal(err)
	}
	if c1, o1, _, _ := counts(t, db); again.CasesCreated != 0 || again.Merged != 0 || c1 != c0 || o1 != o0 {
		t.Errorf("second dispatch: %+v, cases %d→%d, outbox %d→%d", again, c0, c1, o0, o1)
	}

	// A new warning for an open case joins it (补充预警) with an audit event and a message.
	pgtest.InsertWarning(t, db, pgtest.Warning{Department: "民政局", Category: "assistance", Period: "2026-11", IDNumber: p.A.ID, Name: p.A.Name, Township: "城关镇"})
	more, err := db.Dispatch(ctx, dispatchOpts(false))
	if err != nil {
		t.Fatal(err)
	}
	if more.CasesCreated != 0 || more.Merged != 1 {
		t.Fatalf("补充预警: %+v, want merged 1", more)
	}
	evs, _ := db.Events(ctx, h1.ID)
	if last := evs[len(evs)-1]; last.Action != string(cases.ActAddWarnings) {
		t.Errorf("last event of %s = %s, want add_warnings", h1.No, last.Action)
	}
	var n int
	pgtest.OpenOutbox(t, db) // bodies are sealed (docs/encryption.md)
	n = pgtest.Count(t, db, `SELECT count(*) FROM outbox WHERE channel = 'appchat' AND payload::text LIKE '%补充预警%'`)
	if n != 1 {
		t.Errorf("%d group messages about 补充预警, want 1", n)
	}

	checkOutbox(t, db, p)
}

func keys(m map[string]cases.Case) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

var eighteenDigits = regexp.MustCompile(`\d{17}[\dXx]`)

// checkOutbox scans every queued group message for what docs/privacy.md forbids, and checks the
// private messages and cards.
func checkOutbox(t *testing.T, db *postgres.DB, p dispatchtest.People) {
	t.Helper()
	var rows []struct {
		Key     string `db:"idem_key"`
		Channel string `db:"channel"`
		Target  string `db:"target"`
		Payload string `db:"payload"`
	}
	pgtest.OpenOutbox(t, db) // bodies are sealed (docs/encryption.md)
	if err := db.Select(&rows, `SELECT idem_key, channel, target, payload::text AS payload FROM outbox ORDER BY id`); err != nil {
		t.Fatal(err)
	}
	forbidden := []string{p.Disease, p.Amount, "23456", "812.5", "房屋墙体开裂", "元"}
	for _, x := range []dispatchtest.Person{p.A, p.B, p.C, p.D, p.E, p.F, p.G} {
		forbidden = append(forbidden, x.Name, x.ID)
	}
	groups, cards := 0, 0
	for _, r := range rows {
		var payload struct {
			MsgType string          `json:"msgtype"`
			Body    json.RawMessage `json:"body"`
		}
		json.Unmarshal([]byte(r.Payload), &payload)
		var text string
		var body map[string]any
		json.Unmarshal(payload.Body, &body)
		if s, ok := body["content"].(string); ok {
			text = s
		}
		switch r.Channel {
		case "appchat", "webhook":
			groups++
			if eighteenDigits.MatchString(text) {
				t.Errorf("group message %s has an ID number: %s", r.Key, text)
			}
			for _, f := range forbidden {
				if strings.Contains(text, f) {
					t.Errorf("group message %s contains %q: %s", r.Key, f, text)
				}
			}
			if len(text) > 2048 {
				t.Errorf("group message %s is %d bytes", r.Key, len(text))
			}
			if r.Channel == "webhook" && !strings.Contains(r.Payload, `"mentioned_list": ["lisi"]`) {
				t.Errorf("webhook message does not @ the township's cadre: %s", r.Payload)
			}
		case "message":
			if payload.MsgType == "template_card" {
				cards++
				task, _ := body["task_id"].(string)
				if !regexp.MustCompile(`^[0-9a-zA-Z_\-@]{1,128}$`).MatchString(task) || body["card_type"] != "multiple_interaction" {
					t.Errorf("card %s: task_id %q card_type %v", r.Key, task, body["card_type"])
				}
			}
		}
	}
	if groups < 3 {
		t.Errorf("%d group messages, want at least one per township and one for 补充预警", groups)
	}
	// 城关镇 4 cases to zhangsan; 河口乡 1 household to lisi (its 区域排查 gets no 核查 card: it
	// is closed by 排查 … 完成). zjj hears of the assurance case as 住建局's task, not by a card.
	if cards != 5 {
		t.Errorf("%d cards, want 5", cards)
	}
	var toLiaison int
	toLiaison = pgtest.Count(t, db, `SELECT count(*) FROM outbox WHERE channel = 'message' AND target = 'zjj'`)
	if toLiaison < 1 || toLiaison > announce.MaxRoundPrivate {
		t.Errorf("住建局's liaison got %d private messages, want its task notice and at most %d", toLiaison, announce.MaxRoundPrivate)
	}
	// the responsible cadre's card names the household with its masked ID number and links
	// the form; the 补充预警 text likewise. The full ID number and the rows' details go out
	// only on request (查看, the form page; docs/privacy.md): no pushed message has them.
	masked := cases.MaskIDNumber(p.A.ID)
	var card, merged string
	pgtest.OpenOutbox(t, db) // bodies are sealed (docs/encryption.md)
	if err := db.Get(&card, `SELECT payload::text FROM outbox WHERE channel = 'message' AND target = 'zhangsan' AND payload->>'msgtype' = 'template_card' AND payload::text LIKE '%`+masked+`%' LIMIT 1`); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(card, p.A.Name) || !strings.Contains(card, "https://fp.example/form/") {
		t.Errorf("cadre's card lacks the name, the masked ID number or the form link: %s", card)
	}
	pgtest.OpenOutbox(t, db) // bodies are sealed (docs/encryption.md)
	if err := db.Get(&merged, `SELECT payload->'body'->>'content' FROM outbox WHERE channel = 'message' AND target = 'zhangsan' AND payload::text LIKE '%补充预警%' AND payload::text LIKE '%`+masked+`%' LIMIT 1`); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(merged, "https://fp.example/form/") {
		t.Errorf("cadre's 补充预警 message lacks the masked ID number or the form link: %s", merged)
	}
	var full int
	pgtest.OpenOutbox(t, db) // bodies are sealed (docs/encryption.md)
	full = pgtest.Count(t, db, `SELECT count(*) FROM outbox WHERE payload::text LIKE '%`+p.A.ID+`%'`)
	if full != 0 {
		t.Errorf("%d pushed messages carry the full ID number", full)
	}
}

func TestConcurrentDispatchesDoNotDouble(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, p := dispatchtest.New(t)
	dispatchtest.Warn(t, db, p)
	var wg sync.WaitGroup
	results := make([]cases.DispatchResult, 3)
	errs := make([]error, 3)
	for i := range results {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			results[i], errs[i] = db.Dispatch(ctx, dispatchOpts(false))
		}(i)
	}
	wg.Wait()
	total := 0
	for i := range results {
		if errs[i] != nil {
			t.Fatalf("dispatch %d: %v", i, errs[i])
		}
		total += results[i].CasesCreated
	}
	c, _, _, _ := counts(t, db)
	if total != 6 || c != 6 {
		t.Errorf("concurrent dispatches created %d (reported %d), want 6", c, total)
	}
}

func TestSplitTextKeepsMessagesShort(t *testing.T) {
	t.Parallel()
	var lines []string
	for i := 0; i < 200; i++ {
		lines = append(lines, "YJ202611-0001 王*明（东村）因病、新增特困/低保·新增")
	}
	parts := announce.SplitText("【防返贫预警交办】", lines, "请尽快入户核查。", announce.TextLimit)
	if len(parts) < 3 {
		t.Fatalf("%d parts", len(parts))
	}
	n := 0
	for _, p := range parts {
		if len(p) > 2048 {
			t.Errorf("part of %d bytes", len(p))
		}
		n += strings.Count(p, "YJ202611-0001")
	}
	if n != 200 || !strings.HasPrefix(parts[0], "（1/") || !strings.Contains(parts[len(parts)-1], "请尽快入户核查") {
		t.Errorf("split lost lines (%d) or markers", n)
	}
}

// TestDispatchFindsWarningsThroughUndispatchedBatches: with no index over all undispatched
// warnings (migration 00600), dispatch reads them through the batches flagged undispatched and
// the warnings of no batch. A batch is unflagged once a case holds each of its warnings, and
// one whose warning is still without a case (a 人员变动 row naming nobody in the registry)
// stays flagged, so a later round still sees it.
func TestDispatchFindsWarningsThroughUndispatchedBatches(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, p := dispatchtest.New(t)
	dispatchtest.Warn(t, db, p)
	if _, err := db.ExecContext(ctx, `
		INSERT INTO warnings (batch_id, row_no, category, period, rule, id_number, name, township_id, village)
		VALUES (NULL, 0, 'assistance', '2026-11', 'every_row', '', '孤寡户', (SELECT id FROM townships WHERE name = '河口乡'), '东村')`); err != nil {
		t.Fatal(err)
	}
	nobody := pgtest.InsertWarning(t, db, pgtest.Warning{Department: "民政局", Category: "population", Rule: "every_row",
		IDNumber: synth.New(99).IDNumber(1980), Name: "查无此人", Township: "城关镇", Village: "东村"})
	flagged := func() (batches []string) {
		t.Helper()
		if err := db.SelectContext(ctx, &batches, `SELECT b.id FROM batches b WHERE b.undispatched ORDER BY b.id`); err != nil {
			t.Fatal(err)
		}
		return batches
	}
	var nobodyBatch string
	if err := db.GetContext(ctx, &nobodyBatch, `SELECT batch_id FROM warnings WHERE id = $1`, nobody); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Dispatch(ctx, dispatchOpts(false)); err != nil {
		t.Fatal(err)
	}
	var left []int64
	if err := db.SelectContext(ctx, &left, `SELECT id FROM warnings WHERE case_id IS NULL AND rule <> '' ORDER BY id`); err != nil {
		t.Fatal(err)
	}
	if len(left) != 1 || left[0] != nobody {
		t.Fatalf("warnings without a case after dispatch: %v, want only %d (人员变动 naming nobody)", left, nobody)
	}
	if got := flagged(); len(got) != 1 || got[0] != nobodyBatch {
		t.Fatalf("batches still flagged: %v, want only %s", got, nobodyBatch)
	}
	var unbatched int
	unbatched = pgtest.Count(t, db, `SELECT count(*) FROM warnings WHERE batch_id IS NULL AND case_id IS NOT NULL`)
	if unbatched != 1 {
		t.Errorf("the warning of no batch: %d with a case, want 1", unbatched)
	}
	// A later push is a new, flagged batch, and the next round takes it.
	later := pgtest.InsertWarning(t, db, pgtest.Warning{Department: "民政局", Category: "assistance", Rule: "every_row",
		IDNumber: p.F.ID, Name: p.F.Name, Township: "城关镇", Village: "北村"})
	if got := flagged(); len(got) != 2 {
		t.Fatalf("flagged after a new push: %v, want two", got)
	}
	opts := dispatchOpts(false)
	opts.Month, opts.Date = "2026-12", cases.MustDate("2026-12-10")
	if _, err := db.Dispatch(ctx, opts); err != nil {
		t.Fatal(err)
	}
	var held sql.NullInt64
	if err := db.GetContext(ctx, &held, `SELECT case_id FROM warnings WHERE id = $1`, later); err != nil || !held.Valid {
		t.Fatalf("the later push's warning has no case after the next round: %v %v", held, err)
	}
	if got := flagged(); len(got) != 1 || got[0] != nobodyBatch {
		t.Errorf("batches still flagged after the second round: %v, want only %s", got, nobodyBatch)
	}
}

// TestResentWarningAfterTheRoundIsADuplicate: a department re-sends its file after the
// round (another format, a correction). The same person, category, 问题类型 and period twice
// is a duplicate (docs/dispatch.md): linked to the open case, not 补充预警, nobody told again.
// A new problem beside it still merges, and only it is announced.
func TestResentWarningAfterTheRoundIsADuplicate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, p := dispatchtest.New(t)
	db.Now = func() time.Time { return cases.MustDate("2026-11-10").At(9, 30) }
	med := pgtest.Warning{Department: "医保局", Category: "medical", Rule: "inpatient_other", Amount: "9000.00", Period: "2026-10",
		IDNumber: p.F.ID, Name: p.F.Name, Township: "城关镇", Village: "北村"}
	pgtest.InsertWarning(t, db, med)
	if nov, err := db.Dispatch(ctx, dispatchOpts(false)); err != nil || nov.CasesCreated != 1 {
		t.Fatalf("first round: %+v %v, want 1 case", nov, err)
	}
	c := caseOf(t, db, "head:"+p.F.ID, true)
	evs0, _ := db.Events(ctx, c.ID)
	_, out0, _, _ := counts(t, db)

	// The same row again, the amount corrected: a duplicate.
	med.Amount = "9500.00"
	pgtest.InsertWarning(t, db, med)
	again, err := db.Dispatch(ctx, dispatchOpts(false))
	if err != nil {
		t.Fatal(err)
	}
	if again.Merged != 0 || again.CasesCreated != 0 || again.Duplicates != 1 {
		t.Errorf("re-sent warning: %+v, want merged 0, duplicates 1", again)
	}
	if _, out1, _, _ := counts(t, db); out1 != out0 {
		t.Errorf("re-sent warning queued %d messages, want none", out1-out0)
	}
	if evs, _ := db.Events(ctx, c.ID); len(evs) != len(evs0) {
		t.Errorf("re-sent warning added %d events to %s, want none", len(evs)-len(evs0), c.No)
	}
	if n := pgtest.Count(t, db, `SELECT count(*) FROM warnings WHERE case_id IS NULL AND rule <> ''`); n != 0 {
		t.Errorf("%d warnings left undispatched: a duplicate would come back every round", n)
	}
	if n := pgtest.Count(t, db, `SELECT count(*) FROM warnings WHERE case_id = $1`, c.ID); n != 2 {
		t.Errorf("case %s holds %d warnings, want both rows", c.No, n)
	}

	// Re-sent once more, with next month's figure beside it: only the new one merges.
	pgtest.InsertWarning(t, db, med)
	med.Period, med.Amount = "2026-11", "9800.00"
	pgtest.InsertWarning(t, db, med)
	more, err := db.Dispatch(ctx, dispatchOpts(false))
	if err != nil {
		t.Fatal(err)
	}
	if more.Merged != 1 || more.Duplicates != 1 {
		t.Errorf("re-sent and new warning: %+v, want merged 1, duplicates 1", more)
	}
	evs, _ := db.Events(ctx, c.ID)
	if last := evs[len(evs)-1]; last.Action != string(cases.ActAddWarnings) || !strings.Contains(string(last.Detail), "补充预警 1 条") {
		t.Errorf("last event of %s: %s %q, want add_warnings of 1 warning", c.No, last.Action, last.Detail)
	}
}

// TestMergedCountsCases: two groups of a round joining one open case (a person who has it,
// and the household they now live in, which follows it) are one case that took 补充预警:
// `merged` counted them twice, and the office's reply said "补充预警到在办案件 2 件" of one.
func TestMergedCountsCases(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, p := dispatchtest.New(t)
	db.Now = func() time.Time { return cases.MustDate("2026-11-10").At(9, 30) }
	pgtest.InsertWarning(t, db, pgtest.Warning{Department: "民政局", Category: "assistance", Period: "2026-10",
		IDNumber: p.B.ID, Name: p.B.Name, Township: "城关镇"})
	if nov, err := db.Dispatch(ctx, dispatchOpts(false)); err != nil || nov.CasesCreated != 1 {
		t.Fatalf("November: %+v %v", nov, err)
	}
	// B now lives in K's household, which has no case of its own.
	k := dispatchtest.Person{Name: "孔繁星", ID: synth.New(99).IDNumber(1968)}
	if _, err := db.ImportRegistry(ctx, []cases.RegistryMember{
		regMember("H0001", p.A, p.A, "户主", "城关镇", "东村", cases.HouseholdLifted, cases.RiskCleared),
		regMember("H0002", p.C, p.C, "户主", "河口乡", "东村", cases.HouseholdEdge, cases.RiskOpen),
		regMember("H0007", k, k, "户主", "城关镇", "东村", cases.HouseholdLifted, cases.RiskCleared),
		regMember("H0007", k, p.B, "配偶", "城关镇", "东村", cases.HouseholdLifted, cases.RiskCleared),
	}, cases.RegistryImportOptions{AllowRemovals: true}); err != nil {
		t.Fatal(err)
	}
	pgtest.InsertWarning(t, db, pgtest.Warning{Department: "民政局", Category: "assistance", Period: "2026-11",
		IDNumber: p.B.ID, Name: p.B.Name, Township: "城关镇"})
	pgtest.InsertWarning(t, db, pgtest.Warning{Department: "人社局", Category: "employment", Period: "2026-11",
		IDNumber: k.ID, Name: k.Name, Township: "城关镇"})
	opt := dispatchOpts(false)
	opt.Month, opt.Date = "2026-12", cases.MustDate("2026-12-10")
	dec, err := db.Dispatch(ctx, opt)
	if err != nil {
		t.Fatal(err)
	}
	if dec.CasesCreated != 0 || dec.Merged != 1 {
		t.Errorf("December: %d created, %d merged; want both warnings in B's one open case, merged 1", dec.CasesCreated, dec.Merged)
	}
}
