package handlers_test

import (
	"context"
	"github.com/fangpin/fangpin/announce"
	"testing"
	"time"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/orgfile"
	"github.com/fangpin/fangpin/cases/postgres"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
	"github.com/fangpin/fangpin/cases/synth"
	"github.com/fangpin/fangpin/handlers"
	"github.com/fangpin/fangpin/notify"
)

// A round at county scale (docs/chat.md): 3,000 cases over the six townships of the example
// county reach each township group as one summary and each cadre as at most 10 private
// messages; every case has one responsible cadre, by village where the org file says,
// else spread evenly; and the round is dispatched in well under 10 seconds.
func TestCountyScaleRound(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("county-scale round")
	}
	ctx := context.Background()
	db := pgtest.New(t)
	org, err := orgfile.Load("../examples/org.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ApplyOrg(ctx, org); err != nil {
		t.Fatal(err)
	}
	const n = 3000
	g := synth.New(2026)
	seen := map[string]bool{}
	villages := map[string][]string{"城关镇": {"示例一村", "示例二村", "示例三村", "示例四村", "新村"}}
	var ws []pgtest.Warning
	for i := 0; len(ws) < n; i++ {
		id := g.IDNumber(1940 + i%60)
		if seen[id] {
			continue
		}
		seen[id] = true
		town := synth.Townships[len(ws)%len(synth.Townships)]
		vs := villages[town]
		if vs == nil {
			vs = []string{"示例一村", "示例二村", "示例三村", "示例四村"}
		}
		ws = append(ws, pgtest.Warning{IDNumber: id, Name: g.Name(), Township: town, Village: vs[g.Intn(len(vs))], Rule: "every_row"})
	}
	pgtest.InsertWarnings(t, db, "民政局", "assistance", ws)

	links := &handlers.FormLinks{Secret: []byte("s3cret"), BaseURL: "https://fp.example"}
	ann := &announce.Announcer{Links: links}
	// the hooks serve wires: reminders planned per case, cards following their cases
	db.AddHooks(postgres.Hooks{Case: []cases.CaseHook{notify.CaseHook(db), ann.FollowCards}})
	start := time.Now()
	res, err := db.Dispatch(ctx, cases.DispatchOptions{Month: "2026-11", Date: cases.MustDate("2026-11-10"), Announce: ann.Announce})
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	// Logged, not asserted: a wall-clock bound fails on a loaded CI machine; speed is for benchmarks.
	t.Logf("dispatched %d cases in %s", res.CasesCreated, took)
	if res.CasesCreated != n {
		t.Fatalf("created %d cases, want %d", res.CasesCreated, n)
	}

	// messages per person and per group
	var rows []struct {
		Channel string `db:"channel"`
		Target  string `db:"target"`
		N       int    `db:"n"`
	}
	if err := db.SelectContext(ctx, &rows, `SELECT channel, target, count(*) AS n FROM outbox GROUP BY channel, target`); err != nil {
		t.Fatal(err)
	}
	groups, people := 0, 0
	for _, r := range rows {
		switch r.Channel {
		case "appchat", "webhook":
			groups++
			if r.N != 1 {
				t.Errorf("group %s got %d messages for the round, want 1", r.Target, r.N)
			}
		case "message":
			people++
			if r.N > announce.MaxRoundPrivate {
				t.Errorf("%s got %d private messages for the round, want at most %d", r.Target, r.N, announce.MaxRoundPrivate)
			}
		default:
			t.Errorf("unexpected %s message to %s", r.Channel, r.Target)
		}
	}
	if groups != len(synth.Townships) || people != 12 {
		t.Errorf("%d groups and %d people were told, want 6 and the 12 cadres", groups, people)
	}
	t.Logf("%d messages in all", func() int {
		s := 0
		for _, r := range rows {
			s += r.N
		}
		return s
	}())

	// one responsible cadre per case: 城关镇 by village, elsewhere evenly
	all, err := db.ListCases(ctx, cases.CaseFilter{Round: "2026-11"})
	if err != nil {
		t.Fatal(err)
	}
	load := map[string]int{}
	for _, c := range all {
		load[c.Responsible]++
		switch {
		case c.Responsible == "":
			t.Fatalf("case %s has no responsible cadre", c.No)
		case c.Township == "城关镇" && (c.Village == "示例一村" || c.Village == "示例二村"):
			if c.Responsible != "zhangsan" {
				t.Errorf("%s in %s went to %s, want zhangsan (his villages)", c.No, c.Village, c.Responsible)
			}
		case c.Township == "城关镇" && (c.Village == "示例三村" || c.Village == "示例四村"):
			if c.Responsible != "lisi" {
				t.Errorf("%s in %s went to %s, want lisi", c.No, c.Village, c.Responsible)
			}
		}
	}
	for _, pair := range [][2]string{{"qianyi", "zhouer"}, {"wusan", "zhengsi"}, {"chuqi", "weiba"}} {
		if d := load[pair[0]] - load[pair[1]]; d > 1 || d < -1 || load[pair[0]] == 0 {
			t.Errorf("uneven spread: %s %d, %s %d", pair[0], load[pair[0]], pair[1], load[pair[1]])
		}
	}
}
