package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/cache"
	"github.com/xuri/excelize/v2"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/bot/pgqueue"
	"github.com/fangpin/fangpin/bot/wecomtest"
	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/ledgerxlsx"
	"github.com/fangpin/fangpin/cases/postgres"
	"github.com/fangpin/fangpin/cases/postgres/monthtest"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
	"github.com/fangpin/fangpin/handlers"
)

type sent struct {
	Channel, Target, MsgType string
	Body                     map[string]any
}

func outbox(t *testing.T, db *postgres.DB) map[string]sent {
	t.Helper()
	pgtest.OpenOutbox(t, db) // bodies are sealed (docs/encryption.md)
	rows, err := db.Queryx(`SELECT idem_key, channel, target, payload FROM outbox`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]sent{}
	for rows.Next() {
		var key, ch, target string
		var payload []byte
		if err := rows.Scan(&key, &ch, &target, &payload); err != nil {
			t.Fatal(err)
		}
		var p struct {
			MsgType string         `json:"msgtype"`
			Body    map[string]any `json:"body"`
		}
		json.Unmarshal(payload, &p)
		out[key] = sent{ch, target, p.MsgType, p.Body}
	}
	return out
}

func setupRouter(t *testing.T) (*postgres.DB, []string, *handlers.Router, string) {
	db, nos := monthtest.Setup(t)
	out := &pgqueue.Outbox{DB: db}
	r := handlers.NewRouter(db, out, nil)
	r.Groups = db // groups are bound to townships, as in serve
	dir := t.TempDir()
	l := &handlers.Reports{Store: db, Out: out}
	r.Register(l.Commands()...)
	return db, nos, r, dir
}

func say(t *testing.T, db *postgres.DB, r *handlers.Router, id, user, text string) string {
	t.Helper()
	r.HandleMessage(context.Background(), bot.Message{ID: id, UserID: user, Text: text, ChatType: "single"})
	m, ok := outbox(t, db)["reply:"+id]
	if !ok {
		t.Fatalf("no reply to %q", text)
	}
	return m.Body["content"].(string)
}

func TestProgressAndStatsUseTheAssessment(t *testing.T) {
	t.Parallel()
	db, _, r, _ := setupRouter(t)
	got := say(t, db, r, "m1", "zhaoliu", "进度 2026-11")
	for _, want := range []string{"【2026年11月办理进度】截至 2026-12-10 10:00",
		"城关镇：交办 5，已核查待录入 1，办结 2，逾期 2，按时办结率 33.3%，考核得分 ",
		"河口乡：交办 5，已核查待录入 0，办结 4，逾期 2，按时办结率 50.0%，考核得分 ",
		"青山镇：交办 0，已核查待录入 0，办结 0，逾期 0，按时办结率 —（暂无到期案件），考核得分 —（尚无可考核的事项）",
		"全县合计：交办 10，已核查待录入 1，办结 6，逾期 4，按时办结率 42.9%",
		"部门考核：医保局 100.0 分（按时推送 1/1）；卫健委 0.0 分（按时推送 0/1）",
		"县扶贫办：2026-11-10 集中交办，在 2026-11-10 时限内（按时 1/1）。"} {
		if !strings.Contains(got, want) {
			t.Errorf("进度 lacks %q:\n%s", want, got)
		}
	}
	got = say(t, db, r, "m2", "zhaoliu", "进度 城关 2026年11月")
	if !strings.Contains(got, "城关镇：交办 5") || strings.Contains(got, "河口乡") || !strings.Contains(got, "未反馈核查结论 2 户（其中抽查退回 1 户），抽查 2 户，不合格 1 户") {
		t.Errorf("进度 城关:\n%s", got)
	}
	if got = say(t, db, r, "m3", "zhaoliu", "进度 大山乡"); !strings.Contains(got, "没有名为“大山乡”的乡镇") {
		t.Errorf("unknown township: %s", got)
	}
	got = say(t, db, r, "m4", "zhaoliu", "统计 2026-11")
	for _, want := range []string{"共交办 10 户：纳入 3，已在监测 2，不纳入 2，尚无结论 3",
		"因病（医疗费用）：4 户（纳入 1，已在监测 1，不纳入 1，尚无结论 1）",
		"部门按时推送 3/5 项，未按时：卫健委（因病（大病））、人社局（因就业不稳）"} {
		if !strings.Contains(got, want) {
			t.Errorf("统计 lacks %q:\n%s", want, got)
		}
	}
	if got = say(t, db, r, "m5", "zhangsan", "进度"); !strings.Contains(got, "只有县扶贫办") {
		t.Errorf("cadre asking 进度: %s", got)
	}
	// In 城关镇's group the office hears 城关镇's progress only, and no county-wide figures.
	group := func(id, text string) string {
		t.Helper()
		r.HandleMessage(context.Background(), bot.Message{ID: id, UserID: "zhaoliu", Text: text, ChatType: "group", ChatID: "wrCG0001"})
		m, ok := outbox(t, db)["reply:"+id]
		if !ok {
			t.Fatalf("no reply to %q in the group", text)
		}
		return m.Body["content"].(string)
	}
	got = group("g1", "进度 2026-11")
	if !strings.Contains(got, "城关镇：交办 5") || strings.Contains(got, "河口乡") || strings.Contains(got, "全县合计") || strings.Contains(got, "部门考核") {
		t.Errorf("进度 in 城关镇's group:\n%s", got)
	}
	if got = group("g2", "进度 河口乡 2026-11"); !strings.Contains(got, "这里只回答城关镇的进度") {
		t.Errorf("进度 河口乡 in 城关镇's group: %s", got)
	}
	if got = group("g3", "统计 2026-11"); !strings.Contains(got, "请私聊我发送") || strings.Contains(got, "共交办") {
		t.Errorf("统计 in a township's group: %s", got)
	}
}

// 导出 stores the workbook's bytes with the outbox message (any instance can send it);
// the worker delivers them to WeCom, drops them from the row, and no file is ever left on
// this machine's disk.
func TestExportSendsTheLedgerFromTheDatabase(t *testing.T) {
	db, _, r, dir := setupRouter(t)
	t.Setenv("TMPDIR", dir) // whatever the export or the upload writes would land here
	got := say(t, db, r, "m1", "zhaoliu", "导出 2026-11")
	if !strings.Contains(got, "10 户") {
		t.Errorf("导出 reply: %s", got)
	}
	f, ok := outbox(t, db)["export:m1"]
	if !ok || f.Channel != "message" || f.Target != "zhaoliu" || f.MsgType != "file" {
		t.Fatalf("file message: %+v", f)
	}
	if f.Body["filename"] != "预警信息核查办理台账-2026-11.xlsx" || f.Body["path"] != nil {
		t.Fatalf("file body: %+v", f.Body)
	}
	var stored []byte
	if err := db.Get(&stored, `SELECT attachment FROM outbox WHERE idem_key = 'export:m1'`); err != nil || len(stored) == 0 {
		t.Fatalf("no workbook stored with the message: %v", err)
	}
	if x, err := excelize.OpenReader(bytes.NewReader(stored)); err != nil {
		t.Fatalf("stored bytes are not a workbook: %v", err)
	} else {
		// a title, a header, 10 cases, 合计, a blank row and the signature block
		if rows, _ := x.GetRows("台账"); len(rows) != ledgerxlsx.TitleRows+14 || rows[ledgerxlsx.TitleRows+11][0] != "合计" {
			t.Errorf("stored workbook has %d rows, want a title, a header, 10 cases, 合计 and the signature block", len(rows))
		}
		x.Close()
	}

	sim := wecomtest.NewServer()
	defer sim.Close()
	api := bot.NewClient(sim.URL, sim.CorpID, sim.AgentID, sim.Secret, cache.NewMemory())
	w := &bot.Worker{Store: &pgqueue.Store{DB: db.DB, Keys: db.Keys}, API: api, Log: slog.New(slog.DiscardHandler)}
	// Answers are lost once: the resend names the same upload, and WeCom drops the copy.
	sim.LoseNext("message/send", wecomtest.DropConnection, 2)
	w.Backoff = func(int, error) time.Duration { return 0 }
	for range 3 {
		if _, err := w.RunOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	var files []wecomtest.Sent
	for _, m := range sim.SentTo("zhaoliu") {
		if m.MsgType == "file" {
			files = append(files, m)
		}
	}
	if len(files) != 1 || files[0].MediaName != "预警信息核查办理台账-2026-11.xlsx" || !bytes.Equal(files[0].MediaData, stored) {
		t.Fatalf("WeCom got %d file messages (want 1 with the stored bytes)", len(files))
	}
	if sim.LostAnswers() != 2 || len(sim.Duplicates()) != 2 {
		t.Errorf("lost %d answers, %d resends dropped; want 2 and 2", sim.LostAnswers(), len(sim.Duplicates()))
	}
	var left int
	left = pgtest.Count(t, db, `SELECT count(*) FROM outbox WHERE idem_key = 'export:m1' AND (attachment IS NOT NULL OR state <> 'sent')`)
	if left != 0 {
		t.Error("the delivered row still holds the workbook (or was not sent)")
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		t.Errorf("left on disk: %s", e.Name())
	}
}

func TestSpotCheckFailureReturnsTheCaseAndTellsTheTownship(t *testing.T) {
	t.Parallel()
	db, nos, r, _ := setupRouter(t)
	today := cases.MustDate("2026-12-11")
	db.Now = func() time.Time { return today.At(9, 30) }
	no := nos[2] // 城关镇, 张试三, closed late
	got := say(t, db, r, "s1", "sunqi", "抽查 "+strings.ToLower(no)+" 不合格 未见入户核查记录")
	due := db.Cal.AddWorkingDays(today, 10)
	if !strings.Contains(got, "抽查不合格，已退回") || !strings.Contains(got, due.String()) {
		t.Fatalf("reply: %s", got)
	}
	c, _ := db.CaseByNo(context.Background(), no)
	if c.Status != cases.StatusReturned || c.DueOn != due {
		t.Fatalf("case after 不合格: %s due %s", c.Status, c.DueOn)
	}
	ob := outbox(t, db)
	g, ok := ob["spotfail:"+no+":1:group"]
	if !ok || g.Channel != "appchat" || g.Target != "wrCG0001" {
		t.Fatalf("group message: %+v", ob)
	}
	text := g.Body["content"].(string)
	if !strings.Contains(text, "张*三") || strings.Contains(text, "张试三") || strings.Contains(text, "990101") || strings.Contains(text, "入户核查记录") {
		t.Errorf("group message must be masked and carry no details: %s", text)
	}
	p, ok := ob["spotfail:"+no+":1:cadres"]
	if !ok || p.Target != "zhangsan" || !strings.Contains(p.Body["content"].(string), "未见入户核查记录") {
		t.Errorf("cadres' private message: %+v", p)
	}
	// Again on the now open case: 不合格 sends a 督办 and does not move the due date.
	got = say(t, db, r, "s2", "sunqi", "抽查 "+no+" 不合格 仍未入户，患有糖尿病的户主未见")
	if !strings.Contains(got, "办理时限仍为 "+due.String()+"，不顺延") || !strings.Contains(got, "督办") {
		t.Errorf("second check: %s", got)
	}
	if c2, _ := db.CaseByNo(context.Background(), no); c2.Status != cases.StatusReturned || c2.DueOn != due || c2.Returns != 1 {
		t.Errorf("open case after 不合格: %s due %s returns %d", c2.Status, c2.DueOn, c2.Returns)
	}
	ob = outbox(t, db)
	d, ok := ob["spotdub:"+no+":s2:group"]
	if !ok || d.Target != "wrCG0001" {
		t.Fatalf("督办 to the group: %+v", ob)
	}
	dub := d.Body["content"].(string)
	if !strings.Contains(dub, "【督办】案件 "+no+" 在督查抽查中发现办理不合格") ||
		strings.Contains(dub, "张") || strings.Contains(dub, "糖尿病") || strings.Contains(dub, "入户") && strings.Contains(dub, "仍未") {
		t.Errorf("督办 must carry the case number only, no name or note: %s", dub)
	}
	if p, ok := ob["spotdub:"+no+":s2:cadres"]; !ok || !strings.Contains(p.Body["content"].(string), "糖尿病") {
		t.Errorf("the note goes to the cadres privately: %+v", p)
	}
	if got := say(t, db, r, "s3", "sunqi", "抽查 "+nos[0]+" 一般"); !strings.Contains(got, "只能是“合格”或“不合格”") {
		t.Errorf("bad result word: %s", got)
	}
	if got := say(t, db, r, "s4", "sunqi", "抽查 "+nos[0]+" 合格 核实无误"); !strings.Contains(got, "抽查合格") {
		t.Errorf("pass: %s", got)
	}
	if got := say(t, db, r, "s5", "zhaoliu", "抽查 "+nos[0]+" 合格"); !strings.Contains(got, "只有督查人员") {
		t.Errorf("office using 抽查: %s", got)
	}
}

func TestMonthEndMessagesGoToTheOfficeOnce(t *testing.T) {
	t.Parallel()
	db, nos, _, _ := setupRouter(t)
	ctx := context.Background()
	s, err := db.MonthEndSummary(ctx, "2026-11")
	if err != nil {
		t.Fatal(err)
	}
	office, _ := db.UsersOf(ctx, cases.RoleOffice, "", "")
	msgs := handlers.MonthEndMessages(s, office)
	for i := 0; i < 2; i++ {
		if err := pgqueue.Enqueue(ctx, db, msgs...); err != nil {
			t.Fatal(err)
		}
	}
	ob := outbox(t, db)
	m, ok := ob["monthend:2026-11:zhaoliu"]
	if len(ob) != 1 || !ok || m.Target != "zhaoliu" || !strings.Contains(m.Body["content"].(string), nos[3]) {
		t.Fatalf("month-end messages: %+v", ob)
	}
}

// 查看 names who did what by name and role, keeps the earlier conclusion and the
// supervisor's note after a return, and shows no login ID and no "system".
func TestViewHistoryNamesPeople(t *testing.T) {
	t.Parallel()
	db, nos, r, _ := setupRouter(t)
	cs := &handlers.Cases{Ledger: db, Users: db, Out: &pgqueue.Outbox{DB: db}, Now: db.Now}
	r.Register(cs.Commands()...)
	db.Now = func() time.Time { return cases.MustDate("2026-12-11").At(9, 30) }
	no := nos[2]
	before, _ := db.CaseByNo(context.Background(), no)
	say(t, db, r, "h1", "sunqi", "抽查 "+no+" 不合格 未见入户核查记录")
	got := say(t, db, r, "h2", "zhangsan", "查看 "+no)
	wants(t, "history", got, "办理记录", "（乡村干部）", "孙七（督查人员） 抽查不合格", "督查意见：未见入户核查记录",
		"结论“"+before.Result.Label()+"”", "新的办结时限")
	for _, id := range []string{"zhangsan", "sunqi", "zhaoliu", "system"} {
		if strings.Contains(strings.SplitN(got, "办理记录", 2)[1], id) {
			t.Errorf("history shows the login ID %q:\n%s", id, got)
		}
	}
}
