package registry_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/csv"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/postgres"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
	"github.com/fangpin/fangpin/cases/registry"
	"github.com/fangpin/fangpin/cases/seal"
	"github.com/fangpin/fangpin/cases/sheet"
	"github.com/fangpin/fangpin/cases/synth"
)

// registryDump is every text, jsonb and array value of the registry's tables, as a dump
// or a curious psql would show them.
func registryDump(t *testing.T, db *postgres.DB) string {
	t.Helper()
	var cols []struct {
		Table  string `db:"table_name"`
		Column string `db:"column_name"`
	}
	if err := db.Select(&cols, `SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name LIKE 'registry%' AND data_type IN ('text', 'jsonb', 'ARRAY', 'character varying')
		ORDER BY table_name, ordinal_position`); err != nil {
		t.Fatal(err)
	}
	if len(cols) < 10 {
		t.Fatalf("registry columns: %v", cols)
	}
	var b strings.Builder
	for _, c := range cols {
		var vals []string
		if err := db.Select(&vals, fmt.Sprintf(`SELECT coalesce(%q::text, '') FROM %q ORDER BY 1`, c.Column, c.Table)); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s.%s: %s\n", c.Table, c.Column, strings.Join(vals, "\n"))
	}
	return b.String()
}

// After an import and a re-import that changes names, households and members, the
// registry's tables hold no ID number or name of the file (docs/encryption.md); the
// identical file again changes nothing, sealed names compared as stored; a person is found
// by their typed number.
func TestRegistryStoresNoPlainIDOrName(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, towns := setup(t)
	b, err := os.ReadFile("../../examples/registry.csv")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(strings.NewReader(string(b))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var secrets []string // ID numbers and names
	for _, r := range rows[1:] {
		secrets = append(secrets, r[1], r[2], r[3])
	}
	first := importBytes(t, db, towns, b)
	if first.Rejected != 0 || first.BatchID == "" {
		t.Fatalf("first import: %+v", first)
	}
	// A re-import (the diff's path): the first member renamed, the second moved to the
	// third's household, the last household's village changed.
	next := append([][]string{}, rows...)
	for i := range next {
		next[i] = append([]string{}, rows[i]...)
	}
	next[1][2] += "某"
	mover := next[2]
	var other []string
	for _, r := range next[1:] {
		if r[0] != mover[0] {
			other = r
			break
		}
	}
	copy(mover, other)
	mover[2], mover[3], mover[4] = rows[2][2], rows[2][3], "之子"
	last := next[len(next)-1]
	for _, r := range next[1:] {
		if r[0] == last[0] {
			r[6] = "新设村"
		}
	}
	var file strings.Builder
	w := csv.NewWriter(&file)
	w.WriteAll(next)
	changed := importBytes(t, db, towns, []byte(file.String()))
	if changed.Changed < 2 || changed.Moved != 1 || changed.BatchID == "" {
		t.Fatalf("re-import: %+v; want the name and the village changed, one member moved", changed)
	}
	var renamed, moved bool
	for _, c := range changed.Changes {
		renamed = renamed || (c.IDNumber == next[1][3] && strings.Join(c.Fields, ",") == "姓名")
		moved = moved || (c.Change == cases.RegMoved && c.IDNumber == mover[3])
	}
	if !renamed || !moved {
		t.Errorf("change list %+v: want %s's 姓名 changed and %s moved, named by their numbers", changed.Changes, next[1][3], mover[3])
	}
	secrets = append(secrets, next[1][2])

	dump := registryDump(t, db)
	for _, s := range secrets {
		if strings.Contains(dump, s) {
			t.Fatalf("the registry's tables show %q in plain", s)
		}
	}
	again := importBytes(t, db, towns, []byte(file.String()))
	if again.BatchID != "" || len(again.Changes) != 0 {
		t.Fatalf("the identical file again: %+v; want no change", again)
	}
	if after := registryDump(t, db); after != dump {
		t.Error("the identical file again changed the registry's tables")
	}

	rec, err := db.RegistryMember(ctx, mover[3])
	if err != nil || rec.IDNumber != mover[3] || rec.Household != other[0] || len(rec.History) == 0 {
		t.Fatalf("member %s typed: %+v, %v; want found in %s, with history", mover[3], rec, err, other[0])
	}
	people, err := db.RegistryPeople(ctx, []string{next[1][3], "110101199003078049"})
	if p := people[next[1][3]]; err != nil || len(people) != 1 || p.Name != next[1][2] || p.HeadIDNumber != next[1][1] {
		t.Fatalf("registry people: %+v, %v; want %s named %s, head %s", people, err, next[1][3], next[1][2], next[1][1])
	}
	if n := pgtest.Count(t, db, `SELECT count(*) FROM registry_members WHERE id_number = $1`, db.Keys.IDHash(mover[3])); n != 1 {
		t.Fatalf("%d members stored under the hash of %s, want 1", n, mover[3])
	}
}

// The change list names members in the order of their numbers, as before the registry held
// hashes: the diff orders them by hash, the import puts each step's members back in order.
func TestRegistryChangesKeepTheNumbersOrder(t *testing.T) {
	t.Parallel()
	db, towns := setup(t)
	g := synth.New(7)
	var ids []string
	for i := 0; i < 6; i++ {
		ids = append(ids, g.IDNumber(1960+i))
	}
	file := func(members []string) []byte {
		var b strings.Builder
		w := csv.NewWriter(&b)
		w.Write([]string{"户编号", "户主身份证号", "成员姓名", "成员身份证号", "与户主关系", "乡镇", "村", "户类型", "风险状态"})
		for i, id := range members {
			w.Write([]string{"T0001", ids[0], fmt.Sprintf("成员%d", i), id, map[bool]string{true: "户主", false: "之子"}[id == ids[0]],
				"城关镇", "东村", "脱贫户", "未消除"})
		}
		w.Flush()
		return []byte(b.String())
	}
	importBytes(t, db, towns, file(ids[:1]))
	added := importBytes(t, db, towns, file(ids))
	removed := importBytes(t, db, towns, file(ids[:1]))
	members := append([]string{}, ids[1:]...)
	sort.Strings(members)
	var hashes []string
	for _, id := range members {
		hashes = append(hashes, db.Keys.IDHash(id))
	}
	if sort.StringsAreSorted(hashes) {
		t.Fatal("the members' hashes are in the same order as their numbers: pick other numbers for this test")
	}
	for _, s := range []registry.Summary{added, removed} {
		var got []string
		for _, c := range s.Changes {
			got = append(got, c.IDNumber)
		}
		if len(got) != 5 || !sort.StringsAreSorted(got) {
			t.Errorf("changes %+v: want the five members in the order of their numbers", s.Changes)
		}
	}
}

// After a new first key, the registry's names are sealed under the old one until `keys
// rotate` has run: an import then would find every name changed, so it is refused; once the
// registry is re-sealed the same file changes nothing.
func TestRegistryImportWaitsForKeysRotate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, towns := setup(t)
	b, err := os.ReadFile("../../examples/registry.csv")
	if err != nil {
		t.Fatal(err)
	}
	importBytes(t, db, towns, b)
	k, err := seal.New("k2:"+base64.StdEncoding.EncodeToString(make([]byte, 32))+","+seal.DemoDataKeys, cases.DemoHashKey)
	if err != nil {
		t.Fatal(err)
	}
	db.Keys = k
	r, err := sheet.New(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if s, err := registry.Import(ctx, r, towns, db); cases.ErrorCode(err) != cases.EConflict || !strings.Contains(err.Error(), "fangpin keys rotate") {
		t.Fatalf("import under a new key before keys rotate: %+v, %v; want refused", s, err)
	}
	if _, err := db.Reseal(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if s := importBytes(t, db, towns, b); s.BatchID != "" || len(s.Changes) != 0 {
		t.Fatalf("the same file after keys rotate: %+v; want no change", s)
	}
}
