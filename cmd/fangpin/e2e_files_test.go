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
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/bot/wecomtest"
	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
	"github.com/fangpin/fangpin/cases/sheet/sheettest"
	"github.com/fangpin/fangpin/handlers"
)

// validID makes a valid ID number from its first 17 digits.
func validID(first17 string) string { return first17 + string(cases.IDCheckChar(first17)) }

// medicalXLSX is a 医保局 workbook: two good rows and, as file row 3, one with a bad ID.
func medicalXLSX(t *testing.T, badID string) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	rows := [][]any{
		{"姓名", "身份证号", "乡镇", "村", "人员类别", "住院自付累计", "门诊统筹费用", "门特费用"},
		{"张一", validID("52263119800101001"), "城关镇", "东村", "一般人员", "1000.00", "0", "0"},
		{"李二", badID, "城关镇", "东村", "一般人员", "2000.00", "0", "0"},
		{"王三", validID("52263119800101003"), "城关镇", "西村", "一般人员", "35000.00", "0", "0"},
	}
	for i, r := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow("Sheet1", cell, &r); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// fileTo waits for a file message to user after the first `after` messages.
func fileTo(t *testing.T, ctx context.Context, sim *wecomtest.Server, user string, after int) wecomtest.Sent {
	t.Helper()
	var got wecomtest.Sent
	waitFor(t, ctx, sim, "a file message to "+user, func() bool {
		for _, m := range sim.SentTo(user)[min(after, len(sim.SentTo(user))):] {
			if m.MsgType == "file" {
				got = m
				return true
			}
		}
		return false
	})
	return got
}

func TestFileSentInChatIsImportedAndRefusedRowsComeBack(t *testing.T) {
	t.Setenv("FANGPIN_FORM_SECRET", "files-secret")
	_, sim, _, _ := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	badID := "522631198001010021"
	if validID("52263119800101002") == badID {
		t.Fatal("the bad ID is valid")
	}
	data := medicalXLSX(t, badID)

	t.Run("a liaison's file is imported and the refused row comes back as a workbook", func(t *testing.T) {
		n := len(sim.SentTo("wangwu"))
		before := sim.Downloads()
		if _, err := sim.SendFile(ctx, "wangwu", "医保局11月明细.xlsx", data); err != nil {
			t.Fatal(err)
		}
		reply := replyWith(t, ctx, sim, "wangwu", n, "医保局11月明细.xlsx")
		// 医保局 pushes medical and assurance: the header says medical.
		for _, want := range []string{"医保局 · " + cases.CatMedical.Label(), "共 3 行：接收 2 行，退回 1 行", "第 3 行", "期间 ", "批次号"} {
			if !strings.Contains(reply, want) {
				t.Errorf("reply lacks %q:\n%s", want, reply)
			}
		}
		if sim.Downloads() != before+1 {
			t.Errorf("downloads %d → %d, want one", before, sim.Downloads())
		}
		f := fileTo(t, ctx, sim, "wangwu", n)
		if f.MediaName != "医保局11月明细-退回的行.xlsx" {
			t.Errorf("workbook named %q", f.MediaName)
		}
		wb, err := excelize.OpenReader(bytes.NewReader(f.MediaData))
		if err != nil {
			t.Fatalf("the workbook does not open: %v", err)
		}
		rows, err := wb.GetRows("退回的行")
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 2 {
			t.Fatalf("workbook rows = %q, want the header and the one refused row", rows)
		}
		h, r := rows[0], rows[1]
		if len(h) != 10 || h[0] != "姓名" || h[8] != "行号" || h[9] != "错误原因" {
			t.Errorf("header = %q", h)
		}
		if len(r) != 10 || r[0] != "李二" || r[1] != badID || r[8] != "3" || !strings.Contains(r[9], "身份证号") {
			t.Errorf("refused row = %q", r)
		}
	})

	t.Run("the same file again changes nothing", func(t *testing.T) {
		n := len(sim.SentTo("wangwu"))
		if _, err := sim.SendFile(ctx, "wangwu", "医保局11月明细.xlsx", data); err != nil {
			t.Fatal(err)
		}
		reply := replyWith(t, ctx, sim, "wangwu", n, "医保局11月明细.xlsx")
		if !strings.Contains(reply, "没有重复导入") {
			t.Errorf("reply to the same file: %s", reply)
		}
	})

	t.Run("someone else's file is refused without downloading it", func(t *testing.T) {
		n := len(sim.SentTo("zhangsan"))
		before := sim.Downloads()
		if _, err := sim.SendFile(ctx, "zhangsan", "名单.xlsx", data); err != nil {
			t.Fatal(err)
		}
		reply := replyWith(t, ctx, sim, "zhangsan", n, "")
		if !strings.Contains(reply, "没有下载") {
			t.Errorf("reply to a cadre's file: %s", reply)
		}
		if sim.Downloads() != before {
			t.Errorf("the cadre's file was downloaded")
		}
	})

	t.Run("a foreign or expired address is refused", func(t *testing.T) {
		n := len(sim.SentTo("wangwu"))
		_, aeskey := sim.ServeFile("x.xlsx", data)
		if _, err := sim.PostFileMessage(ctx, "wangwu", "https://files.example.com/x.xlsx?token=1", aeskey); err != nil {
			t.Fatal(err)
		}
		reply := replyWith(t, ctx, sim, "wangwu", n, "不是企业微信的地址")
		if strings.Contains(reply, "token=") {
			t.Errorf("the reply names the address: %s", reply)
		}
		n = len(sim.SentTo("wangwu"))
		u, aeskey := sim.ServeFile("y.xlsx", data)
		sim.ExpireFiles()
		if _, err := sim.PostFileMessage(ctx, "wangwu", u, aeskey); err != nil {
			t.Fatal(err)
		}
		replyWith(t, ctx, sim, "wangwu", n, "已经失效")
	})

	t.Run("a file that is not a table is refused with the reader's reason", func(t *testing.T) {
		n := len(sim.SentTo("liaison_nyj")) // 农业农村局: one category, so no header question
		if _, err := sim.SendFile(ctx, "liaison_nyj", "照片.xlsx", []byte("PK\x03\x04 not really a zip")); err != nil {
			t.Fatal(err)
		}
		reply := replyWith(t, ctx, sim, "liaison_nyj", n, "照片.xlsx")
		if !strings.Contains(reply, "没有导入") {
			t.Errorf("reply: %s", reply)
		}
	})

	t.Run("a zip bomb is refused naming the limit", func(t *testing.T) {
		var bomb bytes.Buffer
		row := `<row><c t="inlineStr"><is><t>城关镇</t></is></c></row>`
		if err := sheettest.WriteXLSX(&bomb, sheettest.Part{Head: []byte(sheettest.SheetHead), Repeat: []byte(row),
			Times: 1500 << 20 / int64(len(row)), Tail: []byte(sheettest.SheetTail)}); err != nil {
			t.Fatal(err)
		}
		n := len(sim.SentTo("liaison_nyj"))
		if _, err := sim.SendFile(ctx, "liaison_nyj", "炸弹.xlsx", bomb.Bytes()); err != nil {
			t.Fatal(err)
		}
		reply := replyWith(t, ctx, sim, "liaison_nyj", n, "炸弹.xlsx")
		if !strings.Contains(reply, "没有导入") || !strings.Contains(reply, "500 MB") {
			t.Errorf("reply to a zip bomb: %s", reply)
		}
	})

	t.Run("a file whose header names no category is asked about on a card", func(t *testing.T) {
		n := len(sim.SentTo("liaison_wjw"))
		csv := "姓名,身份证号,乡镇\n张一," + validID("52263119800101001") + ",城关镇\n"
		if _, err := sim.SendFile(ctx, "liaison_wjw", "卫健.csv", []byte(csv)); err != nil {
			t.Fatal(err)
		}
		var card map[string]any
		waitFor(t, ctx, sim, "the category card", func() bool {
			for _, m := range sim.SentTo("liaison_wjw")[n:] {
				if tc, ok := m.Body["template_card"].(map[string]any); ok && strings.HasPrefix(fmt.Sprint(tc["task_id"]), handlers.FileCardPrefix) {
					card = tc
					return true
				}
			}
			return false
		})
		buttons, _ := card["button_list"].([]any)
		if len(buttons) != 3 {
			t.Fatalf("buttons = %v, want 卫健委's three categories", buttons)
		}
		key := ""
		for _, b := range buttons {
			bm := b.(map[string]any)
			if strings.Contains(fmt.Sprint(bm["text"]), cases.CatSeriousIllness.Label()) {
				key = fmt.Sprint(bm["key"])
			}
		}
		n = len(sim.SentTo("liaison_wjw"))
		if err := sim.ClickCard(ctx, "liaison_wjw", bot.CardEvent{TaskID: fmt.Sprint(card["task_id"]), EventKey: key, CardType: "button_interaction"}); err != nil {
			t.Fatal(err)
		}
		// The category chosen, the reader says what the file lacks for it.
		reply := replyWith(t, ctx, sim, "liaison_wjw", n, "卫健.csv")
		if !strings.Contains(reply, "没有导入") || !strings.Contains(reply, "病种") {
			t.Errorf("reply after the click: %s", reply)
		}
	})

	t.Run("two files at once are both imported", func(t *testing.T) {
		n := len(sim.SentTo("liaison_nyj"))
		hdr := "姓名,身份证号,乡镇,村,人员类别,产业项目,损失金额\n"
		a := hdr + "张一," + validID("52263119800101001") + ",城关镇,东村,一般农户,养猪,100\n"
		b := hdr + "王三," + validID("52263119800101003") + ",城关镇,西村,一般农户,养牛,200\n"
		if _, err := sim.SendFile(ctx, "liaison_nyj", "产业一.csv", []byte(a)); err != nil {
			t.Fatal(err)
		}
		if _, err := sim.SendFile(ctx, "liaison_nyj", "产业二.csv", []byte(b)); err != nil {
			t.Fatal(err)
		}
		replyWith(t, ctx, sim, "liaison_nyj", n, "产业一.csv")
		replyWith(t, ctx, sim, "liaison_nyj", n, "产业二.csv")
	})
}

// uploadPost posts a file to an upload link as a script would.
func uploadPost(t *testing.T, link string, fields map[string]string, name string, data []byte) (int, map[string]any) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile("file", name)
	fw.Write(data)
	mw.Close()
	resp, err := http.Post(link, mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("answer is not JSON (%d): %s", resp.StatusCode, raw)
	}
	return resp.StatusCode, out
}

func TestUploadLinkPageAndScriptPost(t *testing.T) {
	t.Setenv("FANGPIN_FORM_SECRET", "upload-secret")
	_, sim, base, _ := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	n := len(sim.SentTo("wangwu"))
	if _, err := sim.SayPrivately(ctx, "wangwu", "上传"); err != nil {
		t.Fatal(err)
	}
	reply := replyWith(t, ctx, sim, "wangwu", n, "")
	link := regexp.MustCompile(`http://\S+/upload/\S+`).FindString(reply)
	if link == "" {
		t.Fatalf("no upload link in: %s", reply)
	}
	u, _ := url.Parse(link)
	if e, _ := strconv.ParseInt(u.Query().Get("e"), 10, 64); time.Until(time.Unix(e, 0)) > 24*time.Hour || time.Until(time.Unix(e, 0)) < 23*time.Hour {
		t.Fatalf("the link should expire in 24 hours: %s", link)
	}

	t.Run("the page renders", func(t *testing.T) {
		a := httpDo(t, http.MethodGet, link, nil)
		if a.status != http.StatusOK || !strings.Contains(a.body, "上传数据文件") || !strings.Contains(a.body, "王五") ||
			!strings.Contains(a.body, `type="file"`) || !strings.Contains(a.body, "upload.onprogress") {
			t.Fatalf("page %d:\n%s", a.status, a.body)
		}
		// 医保局 pushes two categories: the page lets the liaison choose.
		if !strings.Contains(a.body, `value="医保局:medical"`) {
			t.Errorf("no category choice on the page")
		}
	})

	t.Run("a script's multipart POST imports and answers the import JSON", func(t *testing.T) {
		status, out := uploadPost(t, link, map[string]string{"category": "medical", "period": "2026-10"}, "医保.xlsx",
			medicalXLSX(t, "522631198001010021"))
		if status != http.StatusCreated || out["rows"] != 3.0 || out["accepted"] != 2.0 || out["rejected"] != 1.0 ||
			out["period"] != "2026-10" || out["department"] != "医保局" || out["category"] != "medical" {
			t.Fatalf("answer %d: %v", status, out)
		}
		if _, ok := out["refused_workbook"]; ok {
			t.Errorf("a script's answer carries the page's workbook")
		}
	})

	t.Run("the page's POST also gets the summary and the workbook", func(t *testing.T) {
		status, out := uploadPost(t, link, map[string]string{"workbook": "1", "period": "2026-09"}, "医保.xlsx",
			medicalXLSX(t, "52263119800101002X"))
		if status != http.StatusCreated || !strings.Contains(fmt.Sprint(out["summary"]), "退回 1 行") || out["refused_workbook"] == nil {
			t.Fatalf("answer %d: %v", status, out)
		}
		// the page offers the workbook; nothing goes to chat from here
		if s := fmt.Sprint(out["summary"]); !strings.Contains(s, "请在本页下载") || strings.Contains(s, "另行发给您") {
			t.Errorf("the page's summary says where the workbook is wrongly: %s", s)
		}
	})

	t.Run("the office pushes for a department it names", func(t *testing.T) {
		office := (&handlers.FormLinks{Secret: []byte("upload-secret"), BaseURL: base}).UploadURL("zhaoliu")
		status, out := uploadPost(t, office, map[string]string{"category": "assurance", "period": "2026-08"}, "医保.xlsx",
			medicalXLSX(t, "522631198001010021"))
		if status != http.StatusBadRequest || !strings.Contains(fmt.Sprint(out["error"]), "医保局:assurance") {
			t.Errorf("an ambiguous category: %d %v", status, out)
		}
		// another file than before (the same bytes would be the earlier push)
		bad := "52263119800101002" + map[bool]string{true: "5", false: "6"}[validID("52263119800101002") != "522631198001010025"]
		status, out = uploadPost(t, office, map[string]string{"category": "医保局:medical", "period": "2026-08"}, "医保.xlsx",
			medicalXLSX(t, bad))
		if status != http.StatusCreated || out["department"] != "医保局" || out["period"] != "2026-08" {
			t.Errorf("the office's push: %d %v", status, out)
		}
	})

	t.Run("opened with WeCom's OAuth, the page goes on to the member's own link", func(t *testing.T) {
		a := httpDo(t, http.MethodGet, base+"/upload/?code="+url.QueryEscape(sim.OAuthCode("liaison_nyj")), nil)
		if a.status != http.StatusOK || !strings.Contains(a.body, "农小业") || !strings.Contains(a.body, "农业农村局") {
			t.Errorf("page by OAuth: %d\n%s", a.status, a.body)
		}
		if a := httpDo(t, http.MethodGet, base+"/upload/?code=forged", nil); a.status != http.StatusForbidden {
			t.Errorf("a forged code: %d", a.status)
		}
	})

	t.Run("an altered, foreign or expired link is refused", func(t *testing.T) {
		altered := strings.Replace(link, "/upload/wangwu", "/upload/liaison_wjw", 1)
		if a := httpDo(t, http.MethodGet, altered, nil); a.status != http.StatusForbidden || !strings.Contains(a.body, "无效") {
			t.Errorf("another user's link: %d %s", a.status, a.body)
		}
		q := u.Query()
		q.Set("e", fmt.Sprint(time.Now().Add(48*time.Hour).Unix()))
		longer := *u
		longer.RawQuery = q.Encode()
		if a := httpDo(t, http.MethodGet, longer.String(), nil); a.status != http.StatusForbidden {
			t.Errorf("a lengthened link: %d", a.status)
		}
		old := &handlers.FormLinks{Secret: []byte("upload-secret"), BaseURL: base, Now: func() time.Time { return time.Now().Add(-25 * time.Hour) }}
		expired := old.UploadURL("wangwu")
		if a := httpDo(t, http.MethodGet, expired, nil); a.status != http.StatusForbidden || !strings.Contains(a.body, "已过期") {
			t.Errorf("an expired link: %d %s", a.status, a.body)
		}
		status, out := uploadPost(t, expired, nil, "医保.xlsx", medicalXLSX(t, "522631198001010021"))
		if status != http.StatusForbidden || !strings.Contains(fmt.Sprint(out["error"]), "已过期") {
			t.Errorf("POST to an expired link: %d %v", status, out)
		}
		// a cadre's own signed link opens nothing: the page is for liaisons and the office
		cadre := (&handlers.FormLinks{Secret: []byte("upload-secret"), BaseURL: base}).UploadURL("zhangsan")
		if a := httpDo(t, http.MethodGet, cadre, nil); a.status != http.StatusForbidden {
			t.Errorf("a cadre's link: %d", a.status)
		}
	})
}

// A file over the limit is refused while it streams, the reply naming the limit (lowered
// here to 64 KB so that the test need not send 50 MB).
func TestFileOverTheLimitIsRefusedWhileStreaming(t *testing.T) {
	sim := wecomtest.NewServer()
	t.Cleanup(sim.Close)
	startServeOn(t, sim, pgtest.MigratedURL(t), bot.NewLogger(io.Discard, slog.LevelError), func(s *Server) { s.Files.MaxBytes = 64 << 10 })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	big := []byte("姓名,身份证号,乡镇,村,人员类别,产业项目,损失金额\n" + strings.Repeat("张一,"+validID("52263119800101001")+",城关镇,东村,一般农户,养猪,100\n", 2000))
	if _, err := sim.SendFile(ctx, "liaison_nyj", "产业.csv", big); err != nil {
		t.Fatal(err)
	}
	reply := replyWith(t, ctx, sim, "liaison_nyj", 0, "")
	if !strings.Contains(reply, "超过 64 KB 的上限") {
		t.Errorf("reply to a file over the limit: %s", reply)
	}
}
