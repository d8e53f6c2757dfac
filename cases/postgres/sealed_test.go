package postgres_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fangpin/fangpin/bot/pgqueue"
	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/postgres"
	"github.com/fangpin/fangpin/cases/postgres/dispatchtest"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
	"github.com/fangpin/fangpin/cases/seal"
)

// everyText is every text, JSON, byte and array value of every table, one line a value: what
// a dump of the database shows.
func everyText(t *testing.T, db *postgres.DB) string {
	t.Helper()
	var cols []struct {
		Table  string `db:"table_name"`
		Column string `db:"column_name"`
	}
	if err := db.Select(&cols, `SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = 'public' AND data_type IN ('text', 'jsonb', 'json', 'bytea', 'ARRAY', 'character varying')
		ORDER BY table_name, column_name`); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, c := range cols {
		var vals []string
		q := fmt.Sprintf(`SELECT %q::text FROM %q WHERE %q IS NOT NULL`, c.Column, c.Table, c.Column)
		if err := db.Select(&vals, q); err != nil {
			t.Fatalf("%s.%s: %v", c.Table, c.Column, err)
		}
		for _, v := range vals {
			fmt.Fprintf(&b, "%s.%s: %s\n", c.Table, c.Column, v)
		}
	}
	return b.String()
}

// A month's round (registry, warnings of every kind, cases, their cards and the audit
// trail) leaves no ID number, name or 病种 of its people readable in any table: what a
// dump would show (docs/encryption.md). The ledger still reads them back.
func TestDumpShowsNoPersonalData(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, p := dispatchtest.New(t)
	dispatchtest.Warn(t, db, p)
	db.Now = func() time.Time { return cases.MustDate("2026-11-10").At(9, 30) }
	if _, err := db.Dispatch(ctx, dispatchOpts(false)); err != nil { // cards and group notices queued
		t.Fatal(err)
	}
	// a message the worker has delivered keeps no body; one still queued opens for the worker
	out := &pgqueue.Store{DB: db.DB, Keys: db.Keys}
	claimed, err := out.ClaimOutbox(ctx, 1000, time.Minute)
	if err != nil || len(claimed) < 2 {
		t.Fatalf("claimed %d messages, %v", len(claimed), err)
	}
	if !strings.Contains(string(claimed[0].Payload)+string(claimed[1].Payload), `"body"`) {
		t.Errorf("claimed messages have no body: %s", claimed[0].Payload)
	}
	if err := out.MarkOutboxSent(ctx, claimed[0].ID, 1); err != nil {
		t.Fatal(err)
	}
	// What people type may hold a number or a diagnosis: a 核查 reason, the office's 转办 说明,
	// a department's 措施, a spot check's note. They were stored in plain.
	typed := fmt.Sprintf("户主%s患%s，已治愈", p.A.ID, p.Disease)
	h1 := caseOf(t, db, "hh:H0001", true)
	as := func(u string) cases.Actor { a, _ := db.Actor(ctx, u); return a }
	if _, err := db.Transition(ctx, h1.No, as("zhangsan"), cases.Command{Action: cases.ActVerify, Result: cases.ResultExclude,
		Reason: typed}, "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SpotCheck(ctx, h1.No, as("sunqi"), true, "核实"+typed, "test", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ReferTask(ctx, h1.No, "住建局", "请核实"+typed, as("zhaoliu"), "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CompleteTask(ctx, h1.No, as("zjj"), "已为"+typed+"安排危房改造", "test"); err != nil {
		t.Fatal(err)
	}
	if c, err := db.CaseByNo(ctx, h1.No); err != nil || c.Reason != typed {
		t.Errorf("the reason reads back as %q (%v), want %q", c.Reason, err, typed)
	}
	if ts, err := db.TasksOf(ctx, []int64{h1.ID}); err != nil || len(ts[h1.ID]) == 0 || !strings.Contains(ts[h1.ID][0].Measure+ts[h1.ID][0].Note, typed) {
		t.Errorf("the task's texts read back as %+v (%v)", ts[h1.ID], err)
	}
	dump := everyText(t, db)
	if !strings.Contains(dump, "outbox.payload") || !strings.Contains(dump, "case_events.detail") {
		t.Fatal("the dump has no messages or audit trail to look at")
	}
	people := []dispatchtest.Person{p.A, p.B, p.C, p.D, p.E, p.F, p.G}
	for _, x := range people {
		for _, secret := range []string{x.ID, x.ID[:6] + x.ID[10:], x.Name} {
			if i := strings.Index(dump, secret); i >= 0 {
				line := dump[strings.LastIndex(dump[:i], "\n")+1:]
				t.Errorf("the dump shows %q: %.200s", secret, line)
			}
		}
	}
	if strings.Contains(dump, p.Disease) {
		t.Errorf("the dump shows the diagnosis %q", p.Disease)
	}
	cs, err := db.ListCases(ctx, cases.CaseFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var members []string
	for _, c := range cs {
		members = append(members, c.Members...)
		if c.Kind != cases.KindSweep && c.HeadName == "" {
			t.Errorf("case %s lost its head's name", c.No)
		}
	}
	for _, x := range []dispatchtest.Person{p.A, p.B, p.C, p.F} {
		if !strings.Contains(strings.Join(members, " "), x.ID) {
			t.Errorf("cases' members %v lack %s", members, x.ID)
		}
	}
}

func keyring(t *testing.T, dataKeys string) *seal.Keyring {
	t.Helper()
	h := sha256.Sum256([]byte("test hash key"))
	k, err := seal.New(dataKeys, h[:])
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func testKey(name string) string {
	h := sha256.Sum256([]byte(name))
	return name + ":" + base64.StdEncoding.EncodeToString(h[:])
}

// Keys rotate re-seals everything under the new first key, in batches that can stop and
// start again; afterwards a keyring of the new key alone opens every case, and one that
// lacks it says which key is missing rather than showing garbage.
func TestKeysRotate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	k1, k2 := testKey("k1"), testKey("k2")
	db := pgtest.New(t)
	db.Keys = keyring(t, k1)
	p := dispatchtest.Setup(t, db)
	dispatchtest.Warn(t, db, p)
	// more rows than a batch, so that a stopped run leaves some
	many := make([]pgtest.Warning, postgres.ResealBatch+200)
	for i := range many {
		many[i] = pgtest.Warning{IDNumber: fmt.Sprintf("99000119900%06d1", i), Name: fmt.Sprintf("测试%d", i), Township: "城关镇", Village: "东村"}
	}
	pgtest.InsertWarnings(t, db, "医保局", "medical", many)
	round(t, db, "2026-11-10")
	before, err := db.ListCases(ctx, cases.CaseFilter{})
	if err != nil || len(before) == 0 {
		t.Fatalf("cases %v, %v", before, err)
	}

	db.Keys = keyring(t, k2+","+k1)
	first, err := db.Reseal(ctx, 1) // stopped after one batch
	if err != nil {
		t.Fatal(err)
	}
	if first[0].Table != "warnings" || first[0].Rewritten != postgres.ResealBatch || first[0].Left == 0 {
		t.Fatalf("first run %+v: want one batch of warnings rewritten and some left", first)
	}
	again, err := db.Reseal(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range again {
		if r.Left != 0 {
			t.Errorf("after the second run %s has %d rows left", r.Table, r.Left)
		}
	}
	if dump := everyText(t, db); strings.Contains(dump, "fp1.k1.") {
		i := strings.Index(dump, "fp1.k1.")
		t.Errorf("a value still sealed under k1: %.120s", dump[strings.LastIndex(dump[:i], "\n")+1:])
	}

	db.Keys = keyring(t, k2)
	after, err := db.ListCases(ctx, cases.CaseFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("cases changed by the rotation:\n%v\n%v", before, after)
	}
	if ws, err := db.CaseWarnings(ctx, after[0].ID); err != nil || len(ws) == 0 || ws[0].Name == "" || seal.IsSealed(ws[0].Name) {
		t.Errorf("warnings under k2 alone: %+v, %v", ws, err)
	}

	db.Keys = keyring(t, k1) // the key the data is sealed under is missing
	_, err = db.ListCases(ctx, cases.CaseFilter{})
	if !errors.Is(err, seal.ErrUnknownKey) || !strings.Contains(err.Error(), "k2") {
		t.Errorf("listing with the wrong key: %v; want an error naming key k2", err)
	}
}

// A database an older version filled in plain is sealed by the first start after the
// upgrade (SealPending): numbers become hashes with their sealed copy, names and details are
// sealed, household keys name the hash; everything reads as before. Later starts only read
// the sealing table.
func TestUpgradeSealsPlainValues(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, p := dispatchtest.New(t)
	dispatchtest.Warn(t, db, p)
	round(t, db, "2026-11-10")
	before, err := db.ListCases(ctx, cases.CaseFilter{})
	if err != nil {
		t.Fatal(err)
	}
	// what an older version stored: the same rows in plain
	var ws []struct {
		ID     int64  `db:"id"`
		Sealed string `db:"id_sealed"`
		Name   string `db:"name"`
		Detail string `db:"detail"`
	}
	if err := db.Select(&ws, `SELECT id, id_sealed, name, detail FROM warnings`); err != nil {
		t.Fatal(err)
	}
	for _, w := range ws {
		if _, err := db.Exec(`UPDATE warnings SET id_number = $2, id_sealed = '', name = $3, detail = $4 WHERE id = $1`,
			w.ID, pgtest.Open(t, db, w.Sealed), pgtest.Open(t, db, w.Name), pgtest.Open(t, db, w.Detail)); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range before {
		key := c.HouseholdKey
		if strings.HasPrefix(key, "head:") {
			key = "head:" + c.HeadIDNumber
		}
		if _, err := db.Exec(`UPDATE cases SET head_id_number = $2, head_id_sealed = '', head_name = $3, household_key = $4 WHERE id = $1`,
			c.ID, c.HeadIDNumber, c.HeadName, key); err != nil {
			t.Fatal(err)
		}
	}
	// a 核查 reason an older version kept in plain, with a number and a diagnosis in it
	typed := "户主" + p.A.ID + "患" + p.Disease
	if _, err := db.Exec(`UPDATE cases SET result = 'exclude', reason = $2 WHERE id = $1`, before[0].ID, typed); err != nil {
		t.Fatal(err)
	}
	before[0].Result, before[0].Reason = cases.ResultExclude, typed
	if !strings.Contains(everyText(t, db), p.A.ID) {
		t.Fatal("the plain rows were not written")
	}
	res, err := db.SealPending(ctx)
	if err != nil || len(res) == 0 {
		t.Fatalf("seal pending: %v %v", res, err)
	}
	dump := everyText(t, db)
	for _, secret := range []string{p.A.ID, p.A.Name, p.B.ID, p.Disease} {
		if strings.Contains(dump, secret) {
			t.Errorf("after the first start the database still shows %q", secret)
		}
	}
	after, err := db.ListCases(ctx, cases.CaseFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("cases read differently once sealed:\n%v\n%v", before, after)
	}
	if again, err := db.SealPending(ctx); err != nil || again != nil {
		t.Errorf("a second start scanned again: %v %v", again, err)
	}
}

// History rows an older version stored with plain ID numbers get their hash, in the column
// and in the detail, from keys rotate / the first start; the rest of the row is unchanged
// (the table is append-only but for this).
func TestUpgradeHashesPlainRegistryHistory(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	const id = "410101199001011234"
	if _, err := db.Exec(`INSERT INTO registry_history (id_number, household_no, change, changed_on, batch_id, status, detail)
		VALUES ($1, 'H-1', 'added', '2026-11-01', 'b1', 'active', jsonb_build_object('change', 'added', 'household', 'H-1', 'id_number', $1::text)),
		       ('', 'H-2', 'removed', '2026-11-01', 'b1', 'removed', '{"change":"removed","household":"H-2"}')`, id); err != nil {
		t.Fatal(err)
	}
	res, err := db.SealPlain(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Table == "registry_history" && (r.Rewritten != 1 || r.Left != 0) {
			t.Errorf("registry_history: rewritten %d, left %d; want 1, 0", r.Rewritten, r.Left)
		}
	}
	if strings.Contains(everyText(t, db), id) {
		t.Error("the history still shows the plain number")
	}
	hash := db.Keys.IDHash(id)
	if n := pgtest.Count(t, db, `SELECT count(*) FROM registry_history
		WHERE id_number = $1 AND detail ->> 'id_number' = $1 AND household_no = 'H-1' AND change = 'added'`, hash); n != 1 {
		t.Errorf("the old row under its hash: %d rows, want 1", n)
	}
	if n := pgtest.Count(t, db, `SELECT count(*) FROM registry_history WHERE id_number = '' AND household_no = 'H-2'`); n != 1 {
		t.Errorf("the household's row: %d rows, want 1 unchanged", n)
	}
}
