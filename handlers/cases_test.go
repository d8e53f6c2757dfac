package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/fangpin/fangpin/announce"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/bot/pgqueue"
	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/postgres"
	"github.com/fangpin/fangpin/cases/postgres/dispatchtest"
	"github.com/fangpin/fangpin/handlers"
)

type recorder struct{ got []bot.Outgoing }

func (q *recorder) Enqueue(ctx context.Context, msgs ...bot.Outgoing) error {
	q.got = append(q.got, msgs...)
	return nil
}

type fixture struct {
	db     *postgres.DB
	p      dispatchtest.People
	router *handlers.Router
	cases  *handlers.Cases
	out    *recorder
	links  *handlers.FormLinks
	now    time.Time
	byKey  map[string]cases.Case
}

// newFixture dispatches the scenario's warnings on 2026-11-10 and wires the router.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	db, p := dispatchtest.New(t)
	f := &fixture{db: db, p: p, out: &recorder{}, now: cases.MustDate("2026-11-10").At(10, 0)}
	clock := func() time.Time { return f.now }
	db.Now = clock
	dispatchtest.Warn(t, db, p)
	f.links = &handlers.FormLinks{Secret: []byte("s3cret"), BaseURL: "https://fp.example", Now: clock}
	ann := &announce.Announcer{Links: f.links}
	db.AddHooks(postgres.Hooks{Case: []cases.CaseHook{ann.FollowCards}})
	if _, err := db.Dispatch(context.Background(), cases.DispatchOptions{Month: "2026-11", Date: cases.MustDate("2026-11-10"), Announce: ann.Announce}); err != nil {
		t.Fatal(err)
	}
	f.cases = &handlers.Cases{Ledger: db, Users: db, Out: f.out, Announce: ann, Now: clock}
	f.router = handlers.NewRouter(db, f.out, nil)
	f.router.Register(f.cases.Commands()...)
	f.router.Cards = f.cases
	all, err := db.ListCases(context.Background(), cases.CaseFilter{})
	if err != nil {
		t.Fatal(err)
	}
	f.byKey = map[string]cases.Case{}
	for _, c := range all {
		f.byKey[c.HouseholdKey] = c
		// a person's household key names the hash of their number (docs/encryption.md): the
		// tests name it by the number
		for _, x := range []dispatchtest.Person{p.A, p.B, p.C, p.D, p.E, p.F, p.G} {
			if c.HouseholdKey == "head:"+db.Keys.IDHash(x.ID) {
				f.byKey["head:"+x.ID] = c
			}
		}
	}
	return f
}

var msgN int

func (f *fixture) say(user, text string, group bool) string {
	msgN++
	m := bot.Message{ID: "m" + string(rune('a'+msgN%26)) + time.Now().Format("150405.000000"), UserID: user, Text: text, ChatType: "single"}
	if group {
		m.ChatType, m.ChatID, m.ResponseURL = "group", "wrCG0001", "http://resp/x"
	}
	return f.router.Answer(context.Background(), m)
}

func wants(t *testing.T, what, got string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(got, s) {
			t.Errorf("%s: reply lacks %q:\n%s", what, s, got)
		}
	}
}

func refuses(t *testing.T, what, got string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if strings.Contains(got, s) {
			t.Errorf("%s: reply must not contain %q:\n%s", what, s, got)
		}
	}
}

func TestCaseCommands(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	h1 := f.byKey["hh:H0001"]
	h2 := f.byKey["hh:H0002"]

	todo := f.say("zhangsan", "待办", false)
	wants(t, "待办", todo, "城关镇未办结案件 4 件，您负责的 4 件在前", h1.No, f.p.A.Name, "【我负责】", "任务清单（每户详情和核查表单）：https://fp.example/tasks/?",
		"期限 2026-12-08，已交办待核查，还有 20 个工作日到期") // days left in working days, not only once overdue
	wants(t, "查看 days left", f.say("zhangsan", "查看 "+h1.No, false), "还有 20 个工作日到期")
	refuses(t, "待办", todo, h2.No)
	todoGroup := f.say("zhangsan", "待办", true)
	refuses(t, "待办 in a group", todoGroup, "/tasks/")
	refuses(t, "待办 in a group", todoGroup, f.p.A.Name)
	wants(t, "待办 in a group", todoGroup, cases.MaskName(f.p.A.Name))

	view := f.say("zhangsan", "查看 "+strings.ToLower(h1.No), false)
	wants(t, "查看 private", view, f.p.A.ID, f.p.Disease, f.p.Amount, "交办", "责任干部：张三（乡村干部）", "县扶贫办（系统） 交办")
	group := f.say("zhangsan", "@防返贫助手 查看 "+h1.No, true)
	wants(t, "查看 in group", group, h1.No, cases.MaskName(f.p.A.Name), "私聊")
	refuses(t, "查看 in group", group, f.p.A.ID, f.p.A.Name, f.p.Disease, f.p.Amount)

	other := f.say("lisi", "核查 "+h1.No+" 纳入 家庭困难", false)
	wants(t, "another township's case", other, "属于城关镇", "河口乡")
	if c, _ := f.db.CaseByNo(ctx, h1.No); c.Status != cases.StatusDispatched {
		t.Fatalf("a cadre of 河口乡 changed %s: %s", h1.No, c.Status)
	}
	wants(t, "查看 another township", f.say("lisi", "查看 "+h1.No, false), "属于城关镇")

	noReason := f.say("zhangsan", "核查 "+h1.No+" 不纳入", false)
	wants(t, "不纳入 without reason", noReason, "理由", "核查 "+h1.No+" 不纳入")
	dots := f.say("zhangsan", "核查 "+h1.No+" 不纳入 ......", false)
	wants(t, "不纳入 ......", dots, "不能只是标点或重复的字", "例如：核查 "+h1.No+" 不纳入 家庭年人均收入高于监测标准")
	if c, _ := f.db.CaseByNo(ctx, h1.No); c.Status != cases.StatusDispatched {
		t.Fatalf("...... closed %s: %s", h1.No, c.Status)
	}
	wants(t, "bad result", f.say("zhangsan", "核查 "+h1.No+" 可能吧", false), "只能是")
	wants(t, "bad number", f.say("zhangsan", "核查 12345 纳入", false), "YJ202611-0001")
	wants(t, "missing number", f.say("zhangsan", "录入", false), "录入 <编号> [日期]")

	ok := f.say("zhangsan", "核查 "+strings.ToLower(h1.No)+" 纳入 因病支出大，符合纳入条件", false)
	wants(t, "核查 纳入", ok, "已登记", "纳入", "录入 "+h1.No)
	evs, _ := f.db.Events(ctx, h1.ID)
	if last := evs[len(evs)-1]; last.Action != "verify" || !strings.HasPrefix(last.Source, "wecom:m") || last.Actor != "zhangsan" {
		t.Errorf("audit event %+v", last)
	}
	refuses(t, "a first 核查", ok, "已被本次更正")
	// a second 核查 corrects the first, and says so
	again := f.say("zhangsan", "核查 "+h1.No+" 已在监测 已在监测范围内，落实帮扶", false)
	wants(t, "a second 核查", again, "已在监测", "此前登记的核查结论“纳入”已被本次更正")
	wants(t, "录入 in the future", f.say("zhangsan", "录入 "+h1.No+" 2026-12-01", false), "还没到")
	f.now = cases.MustDate("2026-11-20").At(15, 0)
	entered := f.say("zhangsan", "录入 "+h1.No+" 2026-11-19", false)
	wants(t, "录入", entered, "2026-11-19", "已办结", "按时")

	// the monitored household's cadre closes it as 不纳入 with a reason
	excluded := f.say("lisi", "核查 "+h2.No+" 不纳入 家庭收入稳定，无返贫风险。", false)
	wants(t, "不纳入 with reason", excluded, "已办结", "说明：家庭收入稳定，无返贫风险。案件已办结")
	refuses(t, "不纳入 with reason", excluded, "。。")

	// office: 逾期 after the due date, 交办 finds nothing new
	f.now = cases.MustDate("2026-12-09").At(9, 0)
	overdue := f.say("zhaoliu", "逾期", false)
	wants(t, "逾期", overdue, "城关镇", "河口乡", "已逾期 1 个工作日")
	// (closed cases are not overdue; an open department task of one is listed apart, below)
	refuses(t, "逾期", strings.Split(overdue, "部门任务逾期")[0], h1.No, h2.No)
	// in 城关镇's group, 城关镇's cases only: a group answers for its own township
	f.router.Groups = f.db // groups bound to townships, as in serve
	inGroup := f.say("zhaoliu", "逾期", true)
	f.router.Groups = nil
	wants(t, "逾期 in 城关镇's group", inGroup, "城关镇")
	refuses(t, "逾期 in 城关镇's group", inGroup, "河口乡")
	wants(t, "交办", f.say("zhaoliu", "交办 2026-12", false), "没有待交办")
	// a month to come is no round: refused as the command line refuses it, nothing announced
	wants(t, "交办 of next month", f.say("zhaoliu", "交办 2027-01", false), "批次月份“2027-01”晚于交办日所在的月份（2026-12），不能交办")
	wants(t, "cadre 交办", f.say("zhangsan", "交办", false), "只有县扶贫办")
	wants(t, "office 核查", f.say("zhaoliu", "核查 "+f.byKey["head:"+f.p.F.ID].No+" 纳入 x", false), "只有乡村干部")

	// 表单 sends the card privately
	f.out.got = nil
	g := f.byKey["head:"+f.p.G.ID]
	wants(t, "表单", f.say("zhangsan", "表单 "+g.No, false), "私信", "https://fp.example/form/")
	if len(f.out.got) != 1 || f.out.got[0].MsgType != "template_card" || f.out.got[0].Target != "zhangsan" {
		t.Errorf("表单 queued %+v", f.out.got)
	}
	// the 住建局 liaison may verify its assurance case
	// the liaison is told who enters it, not to send a 录入 it may not send
	liaison := f.say("zjj", "核查 "+g.No+" 已在监测 已纳入住房保障", false)
	wants(t, "liaison 核查", liaison, "已登记", "由"+g.Township+"的乡村干部录入全国系统")
	refuses(t, "liaison 核查", liaison, "录入全国系统后请发送")
	wants(t, "liaison 待办", f.say("zjj", "待办", false), "住建局")
}

func TestCardClicks(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	e := f.byKey["head:"+f.p.E.ID]
	task := announce.TaskID(e.No, "zhangsan", "dispatch:x")
	click := func(id, choice string) {
		f.router.HandleMessage(ctx, bot.Message{ID: id, Source: bot.FromApp, UserID: "zhangsan",
			Card: &bot.CardEvent{TaskID: task, EventKey: "submit_" + e.No, CardType: "multiple_interaction",
				ResponseCode: "rc-" + id, Selected: map[string][]string{"result": {choice}}}})
	}
	click("c1", "exclude")
	if len(f.out.got) != 2 || !strings.Contains(string(f.out.got[1].Body), "理由") || !strings.Contains(string(f.out.got[1].Body), "/form/") {
		t.Fatalf("不纳入 from the card: %+v", f.out.got)
	}
	// the refused tap turns the card back to its choices, with the reason on it
	var back struct {
		TaskID string         `json:"task_id"`
		Card   map[string]any `json:"template_card"`
	}
	json.Unmarshal(f.out.got[0].Body, &back)
	if f.out.got[0].Channel != bot.UpdateCard || back.TaskID != task || back.Card["replace_text"] != nil ||
		!strings.Contains(fmt.Sprint(back.Card["sub_title_text"]), "未登记") || back.Card["submit_button"] == nil {
		t.Errorf("refused tap: card update %s", f.out.got[0].Body)
	}
	if c, _ := f.db.CaseByNo(ctx, e.No); c.Status != cases.StatusDispatched {
		t.Fatalf("不纳入 without reason changed the case: %s", c.Status)
	}
	f.out.got = nil
	click("c2", "include")
	c, _ := f.db.CaseByNo(ctx, e.No)
	if c.Status != cases.StatusVerified || c.Result != cases.ResultInclude {
		t.Fatalf("card click: case %s %s", c.Status, c.Result)
	}
	if len(f.out.got) != 2 || f.out.got[0].Channel != bot.UpdateCard || f.out.got[1].Channel != bot.ToUsers {
		t.Fatalf("card click queued %+v", f.out.got)
	}
	// every card sent for the case (one per cadre of the township at dispatch) now shows
	// the outcome without a live button
	ups := cardUpdates(t, f.db, e.No)
	cards, _ := pgqueue.CardsWithPrefix(ctx, f.db, e.No)
	if len(cards) == 0 || len(ups) != len(cards) {
		t.Fatalf("%d cards, %d updates: %+v", len(cards), len(ups), ups)
	}
	for _, u := range ups {
		if u.Card["replace_text"] != "已登记：纳入" || !strings.Contains(fmt.Sprint(u.Card["sub_title_text"]), "已登记核查结论：纳入") {
			t.Errorf("card update %+v", u)
		}
	}
	// the tapped card's own update has the key the case's updates use: the outbox sends one
	if want := "cardfollow:" + task + ":verified:include:0"; f.out.got[0].Key != want {
		t.Errorf("tapped card's update key %q, want %q", f.out.got[0].Key, want)
	}
	// a card asked for (表单) after the visit was recorded: tapping it shows the new outcome
	f.out.got = nil
	click("c4", "monitored")
	if len(f.out.got) != 2 || f.out.got[0].Channel != bot.UpdateCard || !strings.Contains(string(f.out.got[0].Body), "已登记：已在监测") ||
		f.out.got[0].Key != "cardfollow:"+task+":verified:monitored:0" {
		t.Errorf("tap on a verified case's card: %+v", f.out.got)
	}
	// another township's cadre clicking a forwarded card is refused
	f.out.got = nil
	f.router.HandleMessage(ctx, bot.Message{ID: "c3", UserID: "lisi", Card: &bot.CardEvent{TaskID: task,
		Selected: map[string][]string{"result": {"monitored"}}}})
	if len(f.out.got) != 1 || !strings.Contains(string(f.out.got[0].Body), "属于城关镇") {
		t.Errorf("foreign click: %+v", f.out.got)
	}
}

type cardUpdate struct {
	Key    string
	TaskID string         `json:"task_id"`
	Card   map[string]any `json:"template_card"`
}

// cardUpdates lists the card updates queued in the outbox for a case's cards.
func cardUpdates(t *testing.T, db *postgres.DB, no string) []cardUpdate {
	t.Helper()
	var rows []struct {
		Key     string          `db:"idem_key"`
		Payload json.RawMessage `db:"payload"`
	}
	pgtest.OpenOutbox(t, db) // bodies are sealed (docs/encryption.md)
	if err := db.SelectContext(context.Background(), &rows, `SELECT idem_key, payload FROM outbox WHERE channel = 'update_card' AND idem_key LIKE 'cardfollow:'||$1||'%' ORDER BY id`, no); err != nil {
		t.Fatal(err)
	}
	var out []cardUpdate
	for _, r := range rows {
		var p struct {
			Body cardUpdate `json:"body"`
		}
		json.Unmarshal(r.Payload, &p)
		p.Body.Key = r.Key
		out = append(out, p.Body)
	}
	return out
}

// Cards follow the case whatever route handles it: here the 核查 command.
func TestCardsFollowAChatCommand(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	e := f.byKey["head:"+f.p.E.ID]
	f.say("zhangsan", "核查 "+e.No+" 已在监测 已享受低保", false)
	ups := cardUpdates(t, f.db, e.No)
	if len(ups) == 0 {
		t.Fatal("核查 in chat updated no card")
	}
	for _, u := range ups {
		if u.Card["replace_text"] != "已登记：已在监测" || u.TaskID == "" {
			t.Errorf("card update %+v", u)
		}
	}
	// a later change (录入) sends nothing more to the cards: their codes are spent
	n := len(ups)
	f.say("zhangsan", "录入 "+e.No, false)
	if got := len(cardUpdates(t, f.db, e.No)); got != n {
		t.Errorf("录入 queued %d more card updates", got-n)
	}
}

// TestGroupRepliesRepeatNothingPrivate: a cadre typing private details into the township
// group gets none of them repeated there (docs/privacy.md); the full reply reaches them privately.
func TestGroupRepliesRepeatNothingPrivate(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	h1 := f.byKey["hh:H0001"]
	reason := "户主522601199001011234电话13812345678，门诊费用3200元，患高血压，家庭收入稳定"
	f.out.got = nil
	f.router.HandleMessage(ctx, bot.Message{ID: "g1", UserID: "zhangsan", ChatType: "group", ChatID: "wrCG0001",
		ResponseURL: "http://resp/g1", Text: "@防返贫助手 核查 " + h1.No + " 不纳入 " + reason})
	if len(f.out.got) != 2 {
		t.Fatalf("want a group reply and a private copy, got %+v", f.out.got)
	}
	group, private := string(f.out.got[0].Body), string(f.out.got[1].Body)
	if f.out.got[0].Channel != bot.ToResponseURL || f.out.got[1].Channel != bot.ToUsers || f.out.got[1].Target != "zhangsan" {
		t.Fatalf("routing: %+v", f.out.got)
	}
	refuses(t, "group reply", group, "522601", "13812345678", "3200", "高血压", "家庭收入稳定", "门诊")
	wants(t, "group reply", group, h1.No, "不纳入", "私信")
	wants(t, "private copy", private, "高血压", "家庭收入稳定")
	if c, _ := f.db.CaseByNo(ctx, h1.No); c.Reason != reason {
		t.Errorf("the reason is stored in full: %q", c.Reason)
	}

	// Glued to the command word, with no spaces: the unknown-word echo is withheld too.
	glued := f.router.GroupAnswer(ctx, bot.Message{ID: "g2", UserID: "zhangsan", ChatType: "group", ResponseURL: "http://resp/g2",
		Text: "核查查看522601199001011234门诊费用3200元"})
	refuses(t, "glued group reply", glued, "522601199001011234", "3200", "门诊")
	// A wrong result word is not echoed into the group either.
	bad := f.router.GroupAnswer(ctx, bot.Message{ID: "g3", UserID: "zhangsan", ChatType: "group", ResponseURL: "http://resp/g3",
		Text: "核查 " + h1.No + " 高血压 住院"})
	refuses(t, "wrong result word in a group", bad, "高血压", "住院")
	// What may be repeated still is: a case number in 查看.
	view := f.router.GroupAnswer(ctx, bot.Message{ID: "g4", UserID: "zhangsan", ChatType: "group", ResponseURL: "http://resp/g4", Text: "查看 " + h1.No})
	wants(t, "查看 in a group", view, h1.No)
	refuses(t, "查看 in a group", view, "不在群里显示")
}

// TestForgivingCommands: phones make people sloppy.
func TestForgivingCommands(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	h1 := f.byKey["hh:H0001"]
	ok := f.say("zhangsan", "核查"+h1.No+"纳入：因病支出大，符合纳入条件。", false)
	wants(t, "glued 核查", ok, "已登记", "纳入")
	if c, _ := f.db.CaseByNo(ctx, h1.No); c.Result != cases.ResultInclude {
		t.Fatalf("glued 核查 did not verify: %+v", c)
	}
	wants(t, "full-width space and trailing stop", f.say("zhangsan", "待办。", false), "未办结案件")
	wants(t, "near miss", f.say("zhangsan", "代办", false), "您是不是要发“待办”")
}

// Neither the card nor the form preselects a result, and a submit without a choice is
// refused with a message (a tap once recorded 纳入 by default).
func TestNoPreselectedResult(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	e := f.byKey["head:"+f.p.E.ID]
	a := &announce.Announcer{}
	card := a.Card(e, "zhangsan", "dispatch:x")
	if strings.Contains(string(card.Body), "selected_id") || strings.Contains(string(card.Body), "is_checked") {
		t.Errorf("a fresh card preselects a result: %s", card.Body)
	}
	task := announce.TaskID(e.No, "zhangsan", "dispatch:x")
	f.router.HandleMessage(ctx, bot.Message{ID: "c0", Source: bot.FromApp, UserID: "zhangsan",
		Card: &bot.CardEvent{TaskID: task, EventKey: "submit_" + e.No, CardType: "multiple_interaction", ResponseCode: "rc-c0"}})
	if len(f.out.got) != 2 || f.out.got[0].Channel != bot.UpdateCard || !strings.Contains(string(f.out.got[0].Body), "请先在卡片上选择核查结论") ||
		strings.Contains(string(f.out.got[0].Body), "selected_id") || !strings.Contains(string(f.out.got[1].Body), "请先在卡片上选择核查结论") {
		t.Errorf("submit without a choice: %+v", f.out.got)
	}
	if c, _ := f.db.CaseByNo(ctx, e.No); c.Status != cases.StatusDispatched || c.Result != "" {
		t.Fatalf("a submit without a choice recorded %s %s", c.Status, c.Result)
	}

	srv := f.form(t)
	link := srv.URL + f.links.Path(e.No, "zhangsan")
	if code, body := get(t, link); code != 200 || strings.Contains(body, "checked") {
		t.Errorf("the form preselects a result: %d\n%s", code, body)
	}
	code, body := post(t, link, url.Values{"reason": {"经核实：家庭收入稳定。"}})
	if code != 422 || !strings.Contains(body, "请选择核查结论") || strings.Contains(body, "checked") {
		t.Errorf("form submit without a choice: %d\n%s", code, body)
	}
	if c, _ := f.db.CaseByNo(ctx, e.No); c.Status != cases.StatusDispatched {
		t.Fatalf("a form submit without a choice changed the case: %s", c.Status)
	}
}
