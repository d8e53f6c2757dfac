package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/bot/wecomtest"
	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/intake"
	"github.com/fangpin/fangpin/cases/postgres"
	"github.com/fangpin/fangpin/cases/registry"
	"github.com/fangpin/fangpin/cases/sheet"
	"github.com/fangpin/fangpin/cases/synth"
	"github.com/fangpin/fangpin/handlers"
)

// The example county's cadres by township and how each township group is reached
// (examples/org.yaml).
var (
	e2eCadres = map[string][]string{
		"城关镇": {"lisi", "zhangsan"}, "河口乡": {"qianyi", "zhouer"}, "青山镇": {"wusan", "zhengsi"},
		"石桥乡": {"chenliu", "fengwu"}, "柳林镇": {"chuqi", "weiba"}, "白沙乡": {"jiangjiu", "shenshi"},
	}
	e2eNames = map[string]string{"zhangsan": "张三", "lisi": "李四", "qianyi": "钱一", "zhouer": "周二", "wusan": "吴三",
		"zhengsi": "郑四", "fengwu": "冯五", "chenliu": "陈六", "chuqi": "褚七", "weiba": "卫八", "jiangjiu": "蒋九", "shenshi": "沈十"}
	e2eLiaisons = map[string]string{"医保局": "wangwu", "卫健委": "liaison_wjw", "教体局": "liaison_jtj", "住建局": "liaison_zjj",
		"水利局": "liaison_slj", "民政局": "liaison_mzj"}
	e2eAppChats = map[string]string{"城关镇": "wrCG0001", "青山镇": "wrQS0003", "柳林镇": "wrLL0005", "白沙乡": "wrBS0006"}
	e2eWebhooks = map[string]string{"河口乡": "demo-hekou-key", "石桥乡": "demo-shiqiao-key"}
)

// pushed is what the test remembers of the department files, for the privacy scan.
type pushed struct {
	names    map[string]bool // every full name in the files and the registry
	diseases map[string]bool // 病种 values and 问题描述 texts
	amounts  map[string]bool // every non-trivial money amount in the files
}

func (p *pushed) rows(cat cases.Category, rows []synth.DeptRow) {
	header := synth.DeptHeader(cat)
	for _, r := range rows {
		for i, h := range header {
			v := strings.TrimSpace(r.Cells[i])
			switch {
			case v == "":
			case h == intake.ColName:
				p.names[v] = true
			case h == "病种" || h == "问题描述":
				p.diseases[v] = true
			case intake.ColumnKind(cat, h) == "money":
				v = strings.TrimPrefix(v, "-")
				if len(v) >= 4 && v != "0.00" {
					p.amounts[v] = true
				}
			}
		}
	}
}

type batchAnswer struct {
	Status int
	cases.Batch
}

func pushMultipart(t *testing.T, base, token string, cat cases.Category, filename string, file []byte) batchAnswer {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("category", string(cat))
	mw.WriteField("period", "2026-11")
	fw, _ := mw.CreateFormFile("file", filename)
	fw.Write(file)
	mw.Close()
	return pushRequest(t, base, token, mw.FormDataContentType(), &body)
}

func pushRequest(t *testing.T, base, token, contentType string, body io.Reader) batchAnswer {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/api/v1/batches", body)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := batchAnswer{Status: resp.StatusCode}
	if err := json.Unmarshal(b, &a.Batch); err != nil {
		t.Fatalf("batch answer %d: %v: %s", resp.StatusCode, err, b)
	}
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		t.Fatalf("push %s: %d %s", a.Category, resp.StatusCode, b)
	}
	return a
}

// textOf is what a recorded message says, however it was sent.
// reportsBad checks that every bad row is reported by its row number (first data row is
// first+0).
func reportsBad(t *testing.T, what string, a batchAnswer, rows []synth.DeptRow, first int) {
	t.Helper()
	reported := map[int]bool{}
	for _, e := range a.Errors {
		reported[e.Row] = true
	}
	bad := 0
	for i, r := range rows {
		if r.Kind == "bad" {
			bad++
			if !reported[first+i] {
				t.Errorf("%s: bad row %d (%q) not reported: %+v", what, first+i, r.Cells, a.Errors)
			}
		}
	}
	if bad == 0 || len(a.Errors) != bad {
		t.Errorf("%s: %d errors for %d bad rows: %+v", what, len(a.Errors), bad, a.Errors)
	}
}

func textOf(m wecomtest.Sent) string {
	b, _ := json.Marshal(m.Body)
	return m.Content + "\n" + string(b)
}

func waitFor(t *testing.T, ctx context.Context, sim *wecomtest.Server, what string, cond func() bool) {
	t.Helper()
	if err := sim.Wait(ctx, func([]wecomtest.Sent) bool { return cond() }); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// replyTo waits for a private text to user after the first `after` messages and returns it.
func replyTo(t *testing.T, ctx context.Context, sim *wecomtest.Server, user string, after int) string {
	t.Helper()
	return replyWith(t, ctx, sim, user, after, "")
}

// replyWith is replyTo for the first text that contains marker.
func replyWith(t *testing.T, ctx context.Context, sim *wecomtest.Server, user string, after int, marker string) string {
	t.Helper()
	var got string
	waitFor(t, ctx, sim, "reply to "+user, func() bool {
		for _, m := range sim.SentTo(user)[min(after, len(sim.SentTo(user))):] {
			if m.MsgType == "text" && strings.Contains(m.Content, marker) {
				got = m.Content
				return true
			}
		}
		return false
	})
	return got
}

func TestEndToEndFromDepartmentFilesToClosedCases(t *testing.T) {
	t.Setenv("FANGPIN_FORM_SECRET", "e2e-form-secret")
	// Every log line goes through the server's logger, which redacts ID numbers; nothing
	// may reach the process's default logger.
	var serverLog, strayLog syncBuffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&strayLog, nil)))
	t.Cleanup(func() { slog.SetDefault(prev) })
	s, sim, base, _ := startServerLogging(t, bot.NewLogger(&serverLog, slog.LevelDebug))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	started := time.Now()

	// The township groups the app created.
	for town, chat := range e2eAppChats {
		if _, err := s.API.CreateAppChat(ctx, bot.AppChat{Name: town + "防返贫工作群", Owner: e2eCadres[town][0],
			UserList: append([]string{"zhaoliu"}, e2eCadres[town]...), ChatID: chat}); err != nil {
			t.Fatal(err)
		}
	}

	// The registry.
	g := synth.New(20261128)
	members := g.Registry(44, synth.Townships)
	var reg bytes.Buffer
	if err := synth.WriteRegistryCSV(&reg, members); err != nil {
		t.Fatal(err)
	}
	towns, err := s.DB.TownshipNames(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r, err := sheet.New(bytes.NewReader(reg.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if sum, err := registry.Import(ctx, r, towns, s.DB); err != nil || sum.Rejected != 0 {
		t.Fatalf("registry import: %+v %v", sum, err)
	}
	r.Close()
	seen := &pushed{names: map[string]bool{}, diseases: map[string]bool{}, amounts: map[string]bool{}}
	for _, m := range members {
		seen.names[m.Name] = true
	}

	// The household three departments warn about: one in 城关镇 with three members.
	byHousehold := map[string][]cases.RegistryMember{}
	for _, m := range members {
		byHousehold[m.HouseholdNo] = append(byHousehold[m.HouseholdNo], m)
	}
	var triple []cases.RegistryMember
	var hnos []string
	for hno := range byHousehold {
		hnos = append(hnos, hno)
	}
	sort.Strings(hnos)
	for _, hno := range hnos {
		// 建档立卡 (脱贫户 or 脱贫不稳定户): 人社局 warns only for those (spec §2).
		if ms := byHousehold[hno]; len(ms) >= 3 && ms[0].Township == "城关镇" && cases.Registered(ms[0].Kind) {
			triple = ms
			break
		}
	}
	if triple == nil {
		t.Fatal("the synthetic registry has no 建档立卡 城关镇 household of three; change the seed")
	}
	// Generated rows must not touch the triple household, or it would be warned by more.
	var others []cases.RegistryMember
	for _, m := range members {
		if m.HouseholdNo != triple[0].HouseholdNo {
			others = append(others, m)
		}
	}
	handRow := func(cat cases.Category, m cases.RegistryMember, fields map[string]string) synth.DeptRow {
		rec := map[string]string{intake.ColName: m.Name, intake.ColID: m.IDNumber, intake.ColTownship: m.Township,
			intake.ColVillage: m.Village}
		for k, v := range fields {
			rec[k] = v
		}
		h := synth.DeptHeader(cat)
		cells := make([]string, len(h))
		for i, c := range h {
			cells[i] = rec[c]
		}
		return synth.DeptRow{Cells: cells, Kind: "warn"}
	}
	gen := func(cat cases.Category, warn, bad int) []synth.DeptRow {
		var rows []synth.DeptRow
		err := g.DeptRows(synth.DeptSpec{Category: cat, Warn: warn, Bad: bad, Members: others, Month: cases.NewDate(2026, 11, 1)},
			func(r synth.DeptRow) error { rows = append(rows, r); return nil })
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}

	// 1. Department files through the push API.
	// 医保局: medical, GBK CSV as Excel writes it.
	med := append(gen(cases.CatMedical, 3, 2), handRow(cases.CatMedical, triple[0],
		map[string]string{"住院自付累计": "26888.50", "门诊统筹费用": "0", "门特费用": "0"}))
	seen.rows(cases.CatMedical, med)
	var csvGBK bytes.Buffer
	if err := synth.WriteRowsCSV(&csvGBK, cases.CatMedical, med, true); err != nil {
		t.Fatal(err)
	}
	a := pushMultipart(t, base, "demo-token-ybj", cases.CatMedical, "医保局11月.csv", csvGBK.Bytes())
	if a.Department != "医保局" || a.Rows != len(med) || len(a.Errors) == 0 || a.Rejected == 0 || a.Warnings < 1 {
		t.Fatalf("medical push: %+v", a)
	}
	reportsBad(t, "medical", a, med, 2)
	// 住建局: assurance, XLSX.
	asr := append(gen(cases.CatAssurance, 2, 1), handRow(cases.CatAssurance, triple[1],
		map[string]string{"问题类型": "住房安全", "问题描述": "住房出现安全隐患", "责任部门": "住建局"}))
	seen.rows(cases.CatAssurance, asr)
	var xlsx bytes.Buffer
	if err := synth.WriteRowsXLSX(&xlsx, cases.CatAssurance, asr); err != nil {
		t.Fatal(err)
	}
	a = pushMultipart(t, base, "demo-token-zjj", cases.CatAssurance, "住建局排查.xlsx", xlsx.Bytes())
	if a.Department != "住建局" || a.Rows != len(asr) || len(a.Errors) == 0 || a.Warnings != len(asr)-len(a.Errors) {
		t.Fatalf("assurance push: %+v", a)
	}
	reportsBad(t, "assurance", a, asr, 2)
	// 人社局: employment, JSON records.
	emp := append(gen(cases.CatEmployment, 2, 1), handRow(cases.CatEmployment, triple[2], map[string]string{"类型": "零就业家庭"}))
	seen.rows(cases.CatEmployment, emp)
	var records []map[string]string
	for _, row := range emp {
		rec := map[string]string{}
		for i, h := range synth.DeptHeader(cases.CatEmployment) {
			rec[h] = row.Cells[i]
		}
		records = append(records, rec)
	}
	js, _ := json.Marshal(map[string]any{"category": "employment", "period": "2026-11", "records": records})
	a = pushRequest(t, base, "demo-token-rsj", "application/json", bytes.NewReader(js))
	if a.Department != "人社局" || a.Rows != len(emp) || len(a.Errors) == 0 || a.Warnings != len(emp)-len(a.Errors) {
		t.Fatalf("employment push: %+v", a)
	}
	reportsBad(t, "employment", a, emp, 1)
	// 卫健委: serious illness (diseases the groups must never see), UTF-8 CSV.
	ill := gen(cases.CatSeriousIllness, 2, 0)
	seen.rows(cases.CatSeriousIllness, ill)
	var csvUTF8 bytes.Buffer
	if err := synth.WriteRowsCSV(&csvUTF8, cases.CatSeriousIllness, ill, false); err != nil {
		t.Fatal(err)
	}
	pushMultipart(t, base, "demo-token-wjw", cases.CatSeriousIllness, "大病.csv", csvUTF8.Bytes())

	// 2. The office types 交办.
	if _, err := sim.SayPrivately(ctx, "zhaoliu", "交办"); err != nil {
		t.Fatal(err)
	}
	summary := replyWith(t, ctx, sim, "zhaoliu", 0, "批次")
	all, err := s.DB.ListCases(ctx, postgres.CaseFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) == 0 {
		t.Fatalf("交办 made no cases: %s", summary)
	}
	perTown := map[string][]cases.Case{}
	for _, c := range all {
		perTown[c.Township] = append(perTown[c.Township], c)
	}
	if !strings.Contains(summary, fmt.Sprintf("新建案件 %d 件", len(all))) {
		t.Errorf("交办 reply lacks the count of %d cases:\n%s", len(all), summary)
	}
	for town, cs := range perTown {
		if !strings.Contains(summary, fmt.Sprintf("• %s：%d 件", town, len(cs))) {
			t.Errorf("交办 reply lacks %s's %d cases:\n%s", town, len(cs), summary)
		}
	}
	var tripleCases []cases.Case
	for _, c := range all {
		if c.HouseholdNo == triple[0].HouseholdNo {
			tripleCases = append(tripleCases, c)
		}
	}
	if len(tripleCases) != 1 {
		t.Fatalf("the household warned by three departments has %d cases, want 1: %+v", len(tripleCases), tripleCases)
	}
	tc := tripleCases[0]
	for _, cat := range []cases.Category{cases.CatMedical, cases.CatAssurance, cases.CatEmployment} {
		if !hasCategory(tc.Categories, cat) {
			t.Errorf("case %s lacks %s: %v", tc.No, cat, tc.Categories)
		}
	}

	var appchatTowns, webhookTowns int
	for town := range perTown {
		if e2eAppChats[town] != "" {
			appchatTowns++
		} else {
			webhookTowns++
		}
	}
	if appchatTowns == 0 || webhookTowns == 0 {
		t.Fatalf("cases in %d app-created groups and %d robot groups; the test needs both (change the seed)", appchatTowns, webhookTowns)
	}

	// Each township group gets one summary (counts, no names), @ the responsible cadres;
	// each case's responsible cadre (and a routed department's liaison) a summary with the
	// task list and, with so few cases, a card per case carrying the details.
	waitFor(t, ctx, sim, "group summaries", func() bool {
		for town := range perTown {
			if len(groupMessages(sim, town)) == 0 {
				return false
			}
		}
		return true
	})
	for town, cs := range perTown {
		msgs := groupMessages(sim, town)
		if len(msgs) != 1 {
			t.Errorf("%s's group got %d messages for the round, want one summary", town, len(msgs))
		}
		if text := msgs[0].Content; !strings.Contains(text, fmt.Sprintf("新交办 %d 户", len(cs))) || !strings.Contains(text, "/tasks/?township=") {
			t.Errorf("%s's group summary: %s", town, text)
		}
		for _, c := range cs {
			if c.Responsible == "" || !slices.Contains(e2eCadres[town], c.Responsible) {
				t.Errorf("case %s of %s has responsible %q", c.No, town, c.Responsible)
			}
			if !mentions(msgs, c.Responsible) {
				t.Errorf("%s's group summary does not @ %s: %q", town, c.Responsible, msgs[0].Content)
			}
		}
	}
	routed := 0
	for _, c := range all {
		who := []string{c.Responsible}
		if c.Department != "" {
			routed++
			who = append(who, e2eLiaisons[c.Department])
		}
		for _, u := range who {
			waitFor(t, ctx, sim, "summary and card for "+u, func() bool { return roundSummary(sim, u) != "" && cardOf(sim, u, c.No) != nil })
			if d, _ := json.Marshal(cardOf(sim, u, c.No)); !strings.Contains(string(d), c.HeadName) || !strings.Contains(string(d), c.HeadIDNumber) {
				t.Errorf("%s's card on %s lacks the head's name and ID:\n%s", u, c.No, d)
			}
			if !strings.Contains(roundSummary(sim, u), "/tasks/?") {
				t.Errorf("%s's summary lacks the task list: %s", u, roundSummary(sim, u))
			}
		}
	}
	for _, u := range e2eCadres["城关镇"] {
		if n := len(sim.SentTo(u)); n > handlers.MaxRoundPrivate {
			t.Errorf("%s got %d private messages for the round", u, n)
		}
	}
	if routed == 0 {
		t.Errorf("no assurance case was routed to its 责任部门")
	}

	// 3. Three cases of 城关镇 answered three ways.
	cg := perTown["城关镇"]
	if len(cg) < 3 {
		t.Fatalf("城关镇 has %d cases, the test needs 3 (change the seed)", len(cg))
	}
	byCommand, byCard, byForm := cg[0], cg[1], cg[2]
	cadre, other := "zhangsan", "qianyi"

	// Someone of another township is refused, and told why.
	n := len(sim.SentTo(other))
	sim.SayPrivately(ctx, other, "核查 "+byCommand.No+" 纳入 家中有人住院")
	if got := replyTo(t, ctx, sim, other, n); !strings.Contains(got, "城关镇") || strings.Contains(got, "已登记") {
		t.Errorf("a 河口乡 cadre acting on a 城关镇 case was told: %s", got)
	}
	// 不纳入 without a reason is refused.
	n = len(sim.SentTo(cadre))
	sim.SayPrivately(ctx, cadre, "核查 "+byCommand.No+" 不纳入")
	if got := replyTo(t, ctx, sim, cadre, n); !strings.Contains(got, "理由") || strings.Contains(got, "已登记") {
		t.Errorf("不纳入 without a reason: %s", got)
	}
	if c, _ := s.DB.CaseByNo(ctx, byCommand.No); c.Status != cases.StatusDispatched {
		t.Fatalf("refused commands changed %s: %+v", c.No, c)
	}

	// (a) By command: 核查 in the group, 录入 in private.
	inGroup := len(sim.SentInChat("wrCG0001"))
	verifyMsg, err := sim.SayInGroup(ctx, "wrCG0001", cadre, "核查 "+byCommand.No+" 纳入 家庭收入骤减，符合纳入条件")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, sim, "group answer", func() bool { return len(sim.SentInChat("wrCG0001")) > inGroup })
	if got := sim.SentInChat("wrCG0001")[inGroup]; got.API != "aibot/response" || !strings.Contains(got.Content, "已登记") {
		t.Errorf("group answer to 核查: %+v", got)
	}
	n = len(sim.SentTo(cadre))
	enterMsg, _ := sim.SayPrivately(ctx, cadre, "录入 "+byCommand.No)
	// The 核查 typed in the group may also be answered privately, and that answer mentions
	// 办结 too: wait for the 录入 reply itself, or it arrives later as the card's answer.
	if got := replyWith(t, ctx, sim, cadre, n, "录入全国系统，案件已办结"); !strings.Contains(got, "办结") {
		t.Errorf("录入 reply: %s", got)
	}

	// (b) By card: 已在监测, then 录入. A 不纳入 click is sent to the command or the form
	// (the card has no reason field); another township's cadre clicking is refused.
	card := cardFor(t, ctx, sim, cadre, byCard.No)
	n = len(sim.SentTo(cadre))
	sim.ClickCard(ctx, cadre, bot.CardEvent{TaskID: card["task_id"].(string), EventKey: "submit_" + byCard.No,
		CardType: "multiple_interaction", ResponseCode: "rc-e2e-exclude", Selected: map[string][]string{"result": {"exclude"}}})
	if got := replyTo(t, ctx, sim, cadre, n); !strings.Contains(got, "理由") || strings.Contains(got, "已登记") {
		t.Errorf("card 不纳入: %s", got)
	}
	n = len(sim.SentTo(other))
	sim.ClickCard(ctx, other, bot.CardEvent{TaskID: card["task_id"].(string), EventKey: "submit_" + byCard.No,
		CardType: "multiple_interaction", ResponseCode: "rc-e2e-other", Selected: map[string][]string{"result": {"include"}}})
	if got := replyTo(t, ctx, sim, other, n); !strings.Contains(got, "城关镇") || strings.Contains(got, "已登记") {
		t.Errorf("card clicked by a 河口乡 cadre: %s", got)
	}
	if c, _ := s.DB.CaseByNo(ctx, byCard.No); c.Status != cases.StatusDispatched {
		t.Fatalf("refused clicks changed %s: %s", c.No, c.Status)
	}
	// WeCom tells events apart by user and CreateTime (seconds) only, and the bot dedups on
	// that as WeCom advises: a person's next click comes in a later second.
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second)))
	n = len(sim.SentTo(cadre))
	if err := sim.ClickCard(ctx, cadre, bot.CardEvent{TaskID: card["task_id"].(string), EventKey: "submit_" + byCard.No,
		CardType: "multiple_interaction", ResponseCode: "rc-e2e-card", Selected: map[string][]string{"result": {"monitored"}}}); err != nil {
		t.Fatal(err)
	}
	if got := replyTo(t, ctx, sim, cadre, n); !strings.Contains(got, "已登记") || !strings.Contains(got, "已在监测") {
		t.Errorf("card reply: %s", got)
	}
	waitFor(t, ctx, sim, "card update", func() bool {
		for _, m := range sim.Sent() {
			if tc, _ := m.Body["template_card"].(map[string]any); m.API == "message/update_template_card" && m.TaskID == card["task_id"] && tc["replace_text"] == "已登记：已在监测" {
				return true
			}
		}
		return false
	})
	n = len(sim.SentTo(cadre))
	enterCardMsg, _ := sim.SayPrivately(ctx, cadre, "录入 "+byCard.No+" "+cases.DateOf(time.Now()).String())
	if got := replyTo(t, ctx, sim, cadre, n); !strings.Contains(got, "办结") {
		t.Errorf("录入 after the card: %s", got)
	}

	// (c) By the H5 form: the signed link from the private message; 不纳入 needs a reason.
	link := cardFormLink(cardFor(t, ctx, sim, cadre, byForm.No))
	if link == "" {
		t.Fatalf("no form link on the card of %s", byForm.No)
	}
	page := httpDo(t, "GET", base+link, nil)
	if page.status != 200 || !strings.Contains(page.body, byForm.No) || !strings.Contains(page.body, byForm.HeadName) {
		t.Fatalf("form page: %d %s", page.status, page.body)
	}
	if got := httpDo(t, "POST", base+link, url.Values{"result": {"不纳入"}}); got.status != http.StatusUnprocessableEntity ||
		!strings.Contains(got.body, "必须逐户写明理由") {
		t.Errorf("form 不纳入 without a reason: %d %s", got.status, got.body)
	}
	if got := httpDo(t, "POST", base+link, url.Values{"result": {"不纳入"}, "reason": {"家庭年人均收入高于监测标准，无返贫风险"}}); got.status != 200 ||
		!strings.Contains(got.body, "已办结") {
		t.Errorf("form 不纳入 with a reason: %d %s", got.status, got.body)
	}
	// The link is bound to its user: another cadre cannot use it.
	if got := httpDo(t, "POST", base+strings.Replace(link, "u="+cadre, "u=lisi", 1), url.Values{"result": {"纳入"}}); got.status == 200 {
		t.Errorf("a link with another user was accepted: %s", got.body)
	}

	// All three are closed, with audit events pointing at the messages.
	wantSources := map[string][]string{
		byCommand.No: {"wecom:aibot:" + verifyMsg, "wecom:app:" + enterMsg},
		byCard.No:    {"wecom:app:event:" + cadre, "wecom:app:" + enterCardMsg},
		byForm.No:    {"form:" + cadre + ":" + byForm.No},
	}
	for _, c := range []cases.Case{byCommand, byCard, byForm} {
		got, err := s.DB.CaseByNo(ctx, c.No)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != cases.StatusClosed {
			t.Errorf("case %s is %s, want closed", c.No, got.Status)
		}
		es, err := s.DB.Events(ctx, got.ID)
		if err != nil {
			t.Fatal(err)
		}
		var sources []string
		for _, e := range es {
			sources = append(sources, e.Source)
		}
		for _, want := range wantSources[c.No] {
			found := false
			for _, src := range sources {
				if strings.HasPrefix(src, want) {
					found = true
				}
			}
			if !found {
				t.Errorf("case %s: no audit event from %q among %q", c.No, want, sources)
			}
		}
	}
	if got, _ := s.DB.CaseByNo(ctx, byCard.No); got.Result != cases.ResultMonitored {
		t.Errorf("card result: %+v", got)
	}
	if got, _ := s.DB.CaseByNo(ctx, byForm.No); got.Result != cases.ResultExclude || got.Reason == "" {
		t.Errorf("form result: %+v", got)
	}

	// What people ask in a township group is answered in the group: each answer is
	// scanned below with everything else the groups received.
	for _, ask := range []struct{ user, text string }{
		{cadre, "待办"}, {cadre, "查看 " + tc.No}, {cadre, "表单 " + tc.No}, {cadre, "查看 " + byForm.No},
		{"zhaoliu", "进度"}, {"zhaoliu", "进度 城关镇"}, {"zhaoliu", "逾期"}, {"zhaoliu", "统计"}, {"zhaoliu", "导出"},
		{"zhaoliu", "查看 " + tc.No}, {"wangwu", "查看 " + tc.No}, {"sunqi", "抽查 " + byCard.No + " 不合格 入户记录不完整"},
		{cadre, "核查 " + tc.No + " 不纳入"}, {cadre, "帮助"},
	} {
		n := len(sim.SentInChat("wrCG0001"))
		if _, err := sim.SayInGroup(ctx, "wrCG0001", ask.user, ask.text); err != nil {
			t.Fatal(err)
		}
		waitFor(t, ctx, sim, "group answer to "+ask.text, func() bool {
			for _, m := range sim.SentInChat("wrCG0001")[n:] {
				if m.API == "aibot/response" {
					return true
				}
			}
			return false
		})
	}

	waitFor(t, ctx, sim, "导出 file to the office", func() bool {
		for _, m := range sim.SentTo("zhaoliu") {
			if m.MsgType == "file" && strings.HasSuffix(m.MediaName, ".xlsx") {
				return true
			}
		}
		return false
	})

	// The same file again is recognised; 交办 again dispatches nothing twice.
	if a := pushMultipart(t, base, "demo-token-ybj", cases.CatMedical, "医保局11月（重发）.csv", csvGBK.Bytes()); a.DuplicateOf == nil {
		t.Errorf("the same file pushed twice: %+v", a)
	}
	before := len(sim.Sent())
	n = len(sim.SentTo("zhaoliu"))
	sim.SayPrivately(ctx, "zhaoliu", "交办")
	if got := replyWith(t, ctx, sim, "zhaoliu", n, "批次"); !strings.Contains(got, "未新建案件") {
		t.Errorf("second 交办: %s", got)
	}
	time.Sleep(300 * time.Millisecond) // the outbox worker polls every 20 ms
	for _, m := range sim.Sent()[before:] {
		// (the spot check's private notes may still be arriving)
		if strings.Contains(m.Content, "防返贫预警交办") || m.MsgType == "template_card" {
			t.Errorf("second 交办 sent again: %s %s", m.API, m.Content)
		}
	}

	// A new warning for a household with an open case of another township joins that case
	// (补充预警), and its group hears of it, masked.
	// (人社局 warns only for 建档立卡 households: the head must be one.)
	registeredHead := map[string]bool{}
	for _, m := range members {
		if cases.Registered(m.Kind) {
			registeredHead[m.HeadIDNumber] = true
		}
	}
	var open cases.Case
	for _, c := range all {
		if c.Township != "城关镇" && c.HeadIDNumber != "" && registeredHead[c.HeadIDNumber] {
			open = c
			break
		}
	}
	if open.No == "" {
		t.Fatal("no open case outside 城关镇 with a head (change the seed)")
	}
	more, _ := json.Marshal(map[string]any{"category": "employment", "period": "2026-11", "records": []map[string]string{{
		intake.ColName: open.HeadName, intake.ColID: open.HeadIDNumber, intake.ColTownship: open.Township,
		intake.ColVillage: open.Village, "类型": "有意愿有能力未就业"}}})
	pushRequest(t, base, "demo-token-rsj", "application/json", bytes.NewReader(more))
	n = len(sim.SentTo("zhaoliu"))
	sim.SayPrivately(ctx, "zhaoliu", "交办")
	if got := replyWith(t, ctx, sim, "zhaoliu", n, "批次"); !strings.Contains(got, "补充预警到在办案件 1 件") || !strings.Contains(got, "新建案件 0 件") {
		t.Errorf("交办 with one more warning: %s", got)
	}
	waitFor(t, ctx, sim, "补充预警 in "+open.Township, func() bool {
		for _, m := range groupMessages(sim, open.Township) {
			if strings.Contains(m.Content, "补充预警") && strings.Contains(m.Content, open.No) {
				return true
			}
		}
		return false
	})
	for _, u := range []string{open.Responsible} {
		u := u
		waitFor(t, ctx, sim, "补充预警 to "+u, func() bool {
			for _, m := range sim.SentTo(u) {
				if strings.Contains(m.Content, "【补充预警】") && strings.Contains(m.Content, open.No) && strings.Contains(m.Content, open.HeadIDNumber) {
					return true
				}
			}
			return false
		})
	}
	if c, _ := s.DB.CaseByNo(ctx, open.No); !hasCategory(c.Categories, cases.CatEmployment) {
		t.Errorf("case %s after 补充预警: %v", c.No, c.Categories)
	}

	// 公安局: 人员变动 is not a risk warning; it updates the registry, with history (spec §5a).
	gone := others[len(others)-1]
	born := g.IDNumber(2026)
	pop, _ := json.Marshal(map[string]any{"category": "population", "period": "2026-11", "records": []map[string]string{
		{intake.ColName: gone.Name, intake.ColID: gone.IDNumber, intake.ColTownship: gone.Township, intake.ColVillage: gone.Village,
			"变动类型": "死亡", "变动日期": "2026-11-20"},
		{intake.ColName: "新生儿", intake.ColID: born, intake.ColTownship: gone.Township, intake.ColHeadID: gone.HeadIDNumber,
			"变动类型": "出生", "变动日期": "2026-11-21"},
		{intake.ColName: "外县人", intake.ColID: g.IDNumber(1980), intake.ColTownship: gone.Township, "变动类型": "迁出", "变动日期": "2026-11-22"},
	}})
	a = pushRequest(t, base, "demo-token-gaj", "application/json", bytes.NewReader(pop))
	if a.Department != "公安局" || a.RegistryUpdates == nil || *a.RegistryUpdates != 2 || a.NotInRegistry == nil || *a.NotInRegistry != 1 {
		t.Errorf("population push: %+v", a)
	}
	if m, err := s.DB.RegistryMember(ctx, gone.IDNumber); err != nil || m.Status != cases.MemberDeceased || len(m.History) != 1 || m.History[0].BatchID != a.ID {
		t.Errorf("registry after the death: %+v %v", m, err)
	}
	if m, err := s.DB.RegistryMember(ctx, born); err != nil || m.Household != gone.HouseholdNo || m.Status != cases.MemberActive {
		t.Errorf("registry after the birth: %+v %v", m, err)
	}

	// The other departments, each through the push API, as the county's text scopes them (spec
	// §2): one push per department in all, with 医保局, 住建局, 人社局, 卫健委 and 公安局 above.
	today := cases.DateOf(time.Now())
	person := func(m cases.RegistryMember, kv ...string) map[string]string {
		r := map[string]string{intake.ColName: m.Name, intake.ColID: m.IDNumber, intake.ColTownship: m.Township, intake.ColVillage: m.Village}
		for i := 0; i+1 < len(kv); i += 2 {
			r[kv[i]] = kv[i+1]
		}
		return r
	}
	stranger := func(kv ...string) map[string]string {
		return person(cases.RegistryMember{Name: "外人", IDNumber: g.IDNumber(1990), Township: "城关镇"}, kv...)
	}
	var registered, unregistered cases.RegistryMember
	for _, m := range others {
		if cases.Registered(m.Kind) && registered.IDNumber == "" {
			registered = m
		}
		if !cases.Registered(m.Kind) && unregistered.IDNumber == "" {
			unregistered = m
		}
	}
	for _, p := range []struct {
		token, what string
		cat         cases.Category
		records     []map[string]string
		warnings    int
		outOfScope  int
		late        bool
	}{
		{"demo-token-jtj", "教体局", cases.CatEducation, []map[string]string{
			stranger("学校", "一中", "学段", "公办高中", "学年", "2026-2027", "学费", "9000", "住宿费", "1500", "教科书费", "0", "补助救助", "500"),
			stranger("学校", "职校", "学段", "中职", "学年", "2026-2027", "学费", "9000", "住宿费", "1500", "教科书费", "0", "补助救助", "499.99"),
			stranger("学校", "三小", "学段", "义务教育", "学年", "2026-2027", "学费", "20000", "住宿费", "0", "教科书费", "0", "补助救助", "0"),
		}, 1, 1, false}, // 10000 is not 超过1万元; 10000.01 is
		{"demo-token-wjw", "卫健委", cases.CatEpidemic, []map[string]string{
			stranger("事件名称", "疫情", "事件级别", "重大", "发生日期", today.AddDays(-4).String(), "影响情况", "隔离"),
			stranger("事件名称", "疫情", "事件级别", "较大", "发生日期", today.String(), "影响情况", "隔离"),
		}, 1, 1, true}, // 于3日内推送: four days after the event is late
		{"demo-token-nyj", "农业农村局", cases.CatIndustry, []map[string]string{
			person(registered, "产业项目", "养猪", "损失金额", "10000.01"),
			person(unregistered, "产业项目", "养猪", "损失金额", "50000"),
		}, 1, 1, false},
		{"demo-token-mzj", "民政局", cases.CatAssistance, []map[string]string{
			stranger("救助类别", "低保", "认定日期", today.String()),
		}, 1, 0, false},
		{"demo-token-yjj", "应急管理局", cases.CatDisaster, []map[string]string{
			stranger("灾害名称", "暴雨", "灾害结束日期", today.String(), "受灾情况", "房屋受损"),
		}, 1, 0, false},
		{"demo-token-slj", "水利局", cases.CatAssurance, []map[string]string{
			stranger("问题类型", "饮水安全", "问题描述", "水源枯竭", "责任部门", "水利局"),
		}, 1, 0, false},
	} {
		body, _ := json.Marshal(map[string]any{"category": string(p.cat), "period": "2026-11", "records": p.records})
		a := pushRequest(t, base, p.token, "application/json", bytes.NewReader(body))
		if a.Department != p.what || len(a.Errors) != 0 || a.Warnings != p.warnings || a.OutOfScope != p.outOfScope || a.Late != p.late {
			t.Errorf("%s push: %+v, want %d warnings, %d out of scope, late %v", p.what, a, p.warnings, p.outOfScope, p.late)
		}
	}

	// The form opened from WeCom with an OAuth code: the case returned by the spot check is
	// open again for its township, and refused to anyone else with the reason.
	if c, _ := s.DB.CaseByNo(ctx, byCard.No); c.Status != cases.StatusReturned {
		t.Errorf("case %s after 抽查 不合格: %s", c.No, c.Status)
	}
	if got := httpDo(t, "GET", base+"/form/"+byCard.No+"?code="+sim.OAuthCode("lisi"), nil); got.status != 200 ||
		!strings.Contains(got.body, byCard.HeadName) {
		t.Errorf("form by OAuth for lisi: %d %s", got.status, got.body)
	}
	if got := httpDo(t, "GET", base+"/form/"+byCard.No+"?code="+sim.OAuthCode("qianyi"), nil); got.status != http.StatusForbidden ||
		!strings.Contains(got.body, "城关镇") || strings.Contains(got.body, byCard.HeadName) {
		t.Errorf("form by OAuth for a 河口乡 cadre: %d %s", got.status, got.body)
	}
	if got := httpDo(t, "GET", base+"/form/"+byCard.No+"?code=forged", nil); got.status != http.StatusForbidden {
		t.Errorf("form with a forged OAuth code: %d %s", got.status, got.body)
	}

	// 4. Privacy: nothing in any group chat that a neighbour should not read.
	idRe := regexp.MustCompile(`\d{17}[\dXx]`)
	moneyRe := regexp.MustCompile(`\d+(\.\d+)?\s*元`)
	var groupTexts int
	for _, m := range sim.Sent() {
		inGroup := m.API == "appchat/send" || m.API == "webhook/send" || (m.API == "aibot/response" && m.ChatID != "")
		if !inGroup {
			continue
		}
		groupTexts++
		text := textOf(m)
		if id := idRe.FindString(text); id != "" {
			t.Errorf("ID number %s in a group message: %s", id, m.Content)
		}
		if strings.Contains(text, "/form/") {
			t.Errorf("a signed form link in a group message: %s", m.Content)
		}
		if amt := moneyRe.FindString(text); amt != "" {
			t.Errorf("amount %q in a group message: %s", amt, m.Content)
		}
		for name := range seen.names {
			if strings.Contains(text, name) {
				t.Errorf("full name %s in a group message: %s", name, m.Content)
			}
		}
		for d := range seen.diseases {
			if strings.Contains(text, d) {
				t.Errorf("%q from a department file in a group message: %s", d, m.Content)
			}
		}
		for amt := range seen.amounts {
			if strings.Contains(text, amt) {
				t.Errorf("amount %s from a department file in a group message: %s", amt, m.Content)
			}
		}
	}
	if groupTexts < len(perTown)+1 {
		t.Errorf("only %d group messages scanned", groupTexts)
	}
	if stray := strayLog.String(); stray != "" {
		t.Errorf("log lines that bypass the server's logger:\n%s", stray)
	}
	if id := idRe.FindString(serverLog.String()); id != "" {
		t.Errorf("ID number %s in the server's log", id)
	}
	for d := range seen.diseases {
		if strings.Contains(serverLog.String(), d) {
			t.Errorf("%q from a department file in the server's log", d)
		}
	}
	if d := sim.Dropped(); len(d) > 0 {
		t.Errorf("%d messages over WeCom's limits were dropped", len(d))
	}
	t.Logf("%d cases in %d townships, %d messages, %v", len(all), len(perTown), len(sim.Sent()), time.Since(started))
}

func hasCategory(cs []cases.Category, c cases.Category) bool {
	for _, x := range cs {
		if x == c {
			return true
		}
	}
	return false
}

// groupMessages are the dispatch lists a township's group received.
func groupMessages(sim *wecomtest.Server, town string) []wecomtest.Sent {
	var out []wecomtest.Sent
	for _, m := range sim.Sent() {
		if (m.API == "appchat/send" && m.ChatID == e2eAppChats[town]) || (m.API == "webhook/send" && m.WebhookKey == e2eWebhooks[town]) {
			if strings.Contains(m.Content, "防返贫预警交办") {
				out = append(out, m)
			}
		}
	}
	return out
}

// mentions reports whether a group message @s userid: the robot's mentioned_list, or
// @name in an app's group message (appchat/send cannot mention).
func mentions(msgs []wecomtest.Sent, userid string) bool {
	for _, m := range msgs {
		if m.API == "appchat/send" && strings.Contains(m.Content, "@"+e2eNames[userid]) {
			return true
		}
		if t, ok := m.Body["text"].(map[string]any); ok {
			if l, ok := t["mentioned_list"].([]any); ok {
				for _, u := range l {
					if u == userid {
						return true
					}
				}
			}
		}
	}
	return false
}

// roundSummary is the private summary of a round to user.
func roundSummary(sim *wecomtest.Server, user string) string {
	for _, m := range sim.SentTo(user) {
		if m.MsgType == "text" && strings.Contains(m.Content, "交给您负责的新案件") {
			return m.Content
		}
	}
	return ""
}

// cardFor is user's card on a case: the round's, or one asked for with 表单 (a cadre who is
// not the case's responsible one gets cards on request).
func cardFor(t *testing.T, ctx context.Context, sim *wecomtest.Server, user, no string) map[string]any {
	t.Helper()
	if c := cardOf(sim, user, no); c != nil {
		return c
	}
	sim.SayPrivately(ctx, user, "表单 "+no)
	waitFor(t, ctx, sim, "card on request for "+user, func() bool { return cardOf(sim, user, no) != nil })
	return cardOf(sim, user, no)
}

// cardFormLink is the path of the H5 form a card links to.
func cardFormLink(card map[string]any) string {
	l, _ := card["jump_list"].([]any)
	for _, it := range l {
		if m, ok := it.(map[string]any); ok {
			if u, _ := m["url"].(string); strings.Contains(u, "/form/") {
				return u[strings.Index(u, "/form/"):]
			}
		}
	}
	return ""
}

// cardOf is the mini-form card on a case sent to user.
func cardOf(sim *wecomtest.Server, user, no string) map[string]any {
	for _, m := range sim.SentTo(user) {
		if c, ok := m.Body["template_card"].(map[string]any); ok {
			if id, _ := c["task_id"].(string); strings.HasPrefix(id, no+"_") {
				return c
			}
		}
	}
	return nil
}

// syncBuffer is a bytes.Buffer for loggers writing from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

type httpAnswer struct {
	status int
	body   string
}

func httpDo(t *testing.T, method, u string, form url.Values) httpAnswer {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, u, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return httpAnswer{resp.StatusCode, string(b)}
}
