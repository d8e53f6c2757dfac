package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/cases/intake"
	"github.com/fangpin/fangpin/cases/sheet/sheettest"
)

// A liaison's file that names its columns in words the reader does not know gets a card
// asking, per missing column, which of the file's columns it is; the answer is stored for the
// department, the held file imported, and the department's next file read by it at once.
func TestColumnCardInChatStoresTheDepartmentsWords(t *testing.T) {
	t.Setenv("FANGPIN_FORM_SECRET", "mapping-secret")
	_, sim, _, _ := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	const user = "liaison_nyj" // 农业农村局: one category (industry)
	hdr := "姓名,公民号码,所在乡镇,村,人员类别,产业项目,损失金额\n"
	first := hdr + "张一," + validID("52263119800101001") + ",城关镇,东村,一般农户,养猪,100\n"

	n := len(sim.SentTo(user))
	if _, err := sim.SendFile(ctx, user, "产业损失.csv", []byte(first)); err != nil {
		t.Fatal(err)
	}
	var card map[string]any
	waitFor(t, ctx, sim, "the column card", func() bool {
		for _, m := range sim.SentTo(user)[n:] {
			if tc, ok := m.Body["template_card"].(map[string]any); ok && tc["card_type"] == "multiple_interaction" {
				card = tc
				return true
			}
		}
		return false
	})
	selects, _ := card["select_list"].([]any)
	if len(selects) != 2 {
		t.Fatalf("select_list = %v, want one drop-down for 身份证号 and one for 乡镇", selects)
	}
	want := map[string]string{intake.ColID: "公民号码", intake.ColTownship: "所在乡镇"}
	chosen := map[string][]string{}
	for _, s := range selects {
		sm := s.(map[string]any)
		col := fmt.Sprint(sm["title"])
		opts, _ := sm["option_list"].([]any)
		if len(opts) > 10 {
			t.Errorf("%s has %d options, WeCom takes at most 10", col, len(opts))
		}
		for _, o := range opts {
			om := o.(map[string]any)
			if om["text"] == want[col] {
				chosen[fmt.Sprint(sm["question_key"])] = []string{fmt.Sprint(om["id"])}
			}
		}
	}
	if len(chosen) != 2 {
		t.Fatalf("the card does not offer the file's columns: %v", selects)
	}
	submit, _ := card["submit_button"].(map[string]any)
	n = len(sim.SentTo(user))
	if err := sim.ClickCard(ctx, user, bot.CardEvent{TaskID: fmt.Sprint(card["task_id"]), EventKey: fmt.Sprint(submit["key"]),
		CardType: "multiple_interaction", Selected: chosen}); err != nil {
		t.Fatal(err)
	}
	reply := replyWith(t, ctx, sim, user, n, "产业损失.csv")
	if !strings.Contains(reply, "共 1 行：接收 1 行") {
		t.Fatalf("reply after the card: %s", reply)
	}

	// The department's next file in the same words: no card, imported at once.
	n = len(sim.SentTo(user))
	second := hdr + "王三," + validID("52263119800101003") + ",城关镇,西村,一般农户,养牛,200\n"
	if _, err := sim.SendFile(ctx, user, "产业损失二.csv", []byte(second)); err != nil {
		t.Fatal(err)
	}
	reply = replyWith(t, ctx, sim, user, n, "产业损失二.csv")
	if !strings.Contains(reply, "共 1 行：接收 1 行") {
		t.Fatalf("the second file was not read by the stored words: %s", reply)
	}
	for _, m := range sim.SentTo(user)[n:] {
		if tc, ok := m.Body["template_card"].(map[string]any); ok && tc["card_type"] == "multiple_interaction" {
			t.Errorf("the columns were asked again for the second file: %v", m.Body)
		}
	}

	// The upload page asks the same as a form: 422 need_columns, then the answer in columns.
	if _, err := sim.SayPrivately(ctx, user, "上传"); err != nil {
		t.Fatal(err)
	}
	link := regexp.MustCompile(`http://\S+/upload/\S+`).FindString(replyWith(t, ctx, sim, user, n, "/upload/"))
	if link == "" {
		t.Fatal("no upload link")
	}
	third := "姓名,公民号码,户籍乡镇,村,人员类别,产业项目,损失金额\n" + "赵四," + validID("52263119800101004") + ",城关镇,西村,一般农户,养羊,300\n"
	status, out := uploadPost(t, link, map[string]string{"period": "2026-09"}, "产业三.csv", []byte(third))
	if status != http.StatusUnprocessableEntity || out["code"] != "need_columns" {
		t.Fatalf("answer %d: %v", status, out)
	}
	if fmt.Sprint(out["missing"]) != "["+intake.ColTownship+"]" || !strings.Contains(fmt.Sprint(out["columns"]), "户籍乡镇") {
		t.Errorf("missing %v, columns %v", out["missing"], out["columns"])
	}
	cols, _ := json.Marshal(map[string]string{"户籍乡镇": intake.ColTownship})
	status, out = uploadPost(t, link, map[string]string{"period": "2026-09", "category": fmt.Sprint(out["category"]), "columns": string(cols)},
		"产业三.csv", []byte(third))
	if status != http.StatusCreated || out["accepted"] != 1.0 {
		t.Fatalf("answer with the columns %d: %v", status, out)
	}
	// Stored: the same words need no answer again.
	status, out = uploadPost(t, link, map[string]string{"period": "2026-08"}, "产业三.csv", []byte(third))
	if status != http.StatusCreated || out["accepted"] != 1.0 {
		t.Fatalf("answer after the form's mapping %d: %v", status, out)
	}
}

// The reply to a file sent in chat comes with a card of nearby months: a click re-files the
// push, as `期间 <批次号> YYYY-MM` does.
func TestFileReplyPeriodButtonRefilesThePush(t *testing.T) {
	_, sim, _, _ := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const user = "liaison_nyj"
	data := "姓名,身份证号,乡镇,村,人员类别,产业项目,损失金额\n张一," + validID("52263119800101001") + ",城关镇,东村,一般农户,养猪,100\n合计,,,,,,100\n"
	n := len(sim.SentTo(user))
	if _, err := sim.SendFile(ctx, user, "产业.csv", []byte(data)); err != nil {
		t.Fatal(err)
	}
	reply := replyWith(t, ctx, sim, user, n, "产业.csv")
	if !strings.Contains(reply, "跳过 1 行") || !strings.Contains(reply, "同一人的数据 0 行") {
		t.Errorf("reply lacks the counts: %s", reply)
	}
	period := regexp.MustCompile(`期间 (\d{4}-\d{2})`).FindStringSubmatch(reply)
	if period == nil {
		t.Fatalf("reply names no period: %s", reply)
	}
	var card map[string]any
	waitFor(t, ctx, sim, "the period card", func() bool {
		for _, m := range sim.SentTo(user)[n:] {
			if tc, ok := m.Body["template_card"].(map[string]any); ok && strings.Contains(fmt.Sprint(tc["task_id"]), "period") {
				card = tc
				return true
			}
		}
		return false
	})
	buttons, _ := card["button_list"].([]any)
	if len(buttons) < 2 {
		t.Fatalf("buttons = %v", buttons)
	}
	b := buttons[0].(map[string]any)
	to := strings.TrimPrefix(fmt.Sprint(b["text"]), "改为 ")
	if to >= period[1] {
		t.Errorf("the first button %s is not a month before %s", to, period[1])
	}
	n = len(sim.SentTo(user))
	if err := sim.ClickCard(ctx, user, bot.CardEvent{TaskID: fmt.Sprint(card["task_id"]), EventKey: fmt.Sprint(b["key"]), CardType: "button_interaction"}); err != nil {
		t.Fatal(err)
	}
	got := replyWith(t, ctx, sim, user, n, "已把批次")
	if !strings.Contains(got, "从 "+period[1]+" 期改为 "+to+" 期") {
		t.Errorf("reply to the click: %s", got)
	}
	// Another member cannot re-file it.
	n = len(sim.SentTo("wangwu"))
	if err := sim.ClickCard(ctx, "wangwu", bot.CardEvent{TaskID: fmt.Sprint(card["task_id"]), EventKey: fmt.Sprint(b["key"]), CardType: "button_interaction"}); err != nil {
		t.Fatal(err)
	}
	if got := replyWith(t, ctx, sim, "wangwu", n, ""); strings.Contains(got, "已把批次") {
		t.Errorf("another department's liaison re-filed the push: %s", got)
	}
}

// Hostile and wrong files sent in chat get the reader's reason, naming the limit, and
// store nothing.
func TestChatRefusesOLE2BombAndNonTable(t *testing.T) {
	_, sim, _, _ := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const user = "liaison_nyj"
	hdr := []any{"姓名", "身份证号", "乡镇", "村", "人员类别", "产业项目", "损失金额"}
	wb := sheettest.XLS([]sheettest.XLSSheet{{Name: "表", Rows: [][]any{hdr}}})
	var bomb bytes.Buffer
	// A Workbook stream that claims a gigabyte in a file of a few kilobytes.
	if err := sheettest.WriteCFB(&bomb, []sheettest.Stream{{Name: "Workbook", Size: int64(len(wb)), R: bytes.NewReader(wb), Declared: 1 << 30}}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		data []byte
		want []string
	}{
		{"炸弹.xls", bomb.Bytes(), []string{"没有导入", "50 MB 的上限"}},
		{"通知.pdf", []byte("%PDF-1.4\n%âãÏÓ\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"), []string{"没有导入", "另存为 .xlsx"}},
		{"照片.jpg", []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01"), []string{"没有导入", "另存为 .xlsx"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := len(sim.SentTo(user))
			if _, err := sim.SendFile(ctx, user, tc.name, tc.data); err != nil {
				t.Fatal(err)
			}
			reply := replyWith(t, ctx, sim, user, n, tc.name)
			for _, w := range tc.want {
				if !strings.Contains(reply, w) {
					t.Errorf("reply lacks %q: %s", w, reply)
				}
			}
			if strings.Contains(reply, "批次号") {
				t.Errorf("a batch was stored: %s", reply)
			}
		})
	}
}
