package bot

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseAppCardEvent(t *testing.T) {
	t.Parallel()
	x := `<xml><ToUserName><![CDATA[wwcorp]]></ToUserName><FromUserName><![CDATA[zhangsan]]></FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[template_card_event]]></Event><EventKey><![CDATA[submit]]></EventKey><TaskId><![CDATA[verify-C1]]></TaskId><CardType><![CDATA[vote_interaction]]></CardType><ResponseCode><![CDATA[rc1]]></ResponseCode><AgentID>1</AgentID><SelectedItems><SelectedItem><QuestionKey><![CDATA[result]]></QuestionKey><OptionIds><OptionId><![CDATA[include]]></OptionId></OptionIds></SelectedItem></SelectedItems></xml>`
	m, err := ParseAppMessage([]byte(x), "wwcorp")
	if err != nil {
		t.Fatal(err)
	}
	if m.Card == nil || m.Card.TaskID != "verify-C1" || m.Card.EventKey != "submit" || m.Card.ResponseCode != "rc1" ||
		len(m.Card.Selected["result"]) != 1 || m.Card.Selected["result"][0] != "include" {
		t.Fatalf("card = %+v", m.Card)
	}
	if m.ID != "app:event:zhangsan:1700000000:verify-C1:submit" {
		t.Errorf("event id %q", m.ID)
	}
	if _, err := ParseAppMessage([]byte(x), "wwother"); err == nil {
		t.Error("a message for another corp was accepted")
	}
	img := strings.Replace(x, "<![CDATA[event]]>", "<![CDATA[image]]>", 1)
	if _, err := ParseAppMessage([]byte(img), "wwcorp"); !errors.Is(err, ErrIgnored) {
		t.Errorf("image: %v, want ErrIgnored", err)
	}
}

func TestParseAIBotGroupText(t *testing.T) {
	t.Parallel()
	j := `{"msgid":"m1","chatid":"wrC1","chattype":"group","from":{"userid":"lisi"},"response_url":"https://x/r","msgtype":"text","text":{"content":"@防返贫助手　查看 C1"}}`
	m, err := ParseAIBotMessage([]byte(j))
	if err != nil {
		t.Fatal(err)
	}
	if m.ID != "aibot:m1" || m.ChatID != "wrC1" || !m.InGroup() || m.Text != "查看 C1" || m.ResponseURL != "https://x/r" {
		t.Fatalf("got %+v", m)
	}
}

func TestSplitText(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("防返贫预警", 400) // 6000 bytes
	parts := SplitText(long, LimitText)
	if len(parts) != 3 {
		t.Fatalf("%d parts, want 3", len(parts))
	}
	var joined strings.Builder
	for i, p := range parts {
		if len(p) > LimitText {
			t.Errorf("part %d has %d bytes", i, len(p))
		}
		if !utf8.ValidString(p) {
			t.Errorf("part %d cut inside a character", i)
		}
		prefix := "（" + string(rune('1'+i)) + "/3）\n"
		if !strings.HasPrefix(p, prefix) {
			t.Errorf("part %d starts %q", i, p[:20])
		}
		joined.WriteString(strings.TrimPrefix(p, prefix))
	}
	if joined.String() != long {
		t.Error("text lost or changed in splitting")
	}
	if got := SplitText("短", 2048); len(got) != 1 || got[0] != "短" {
		t.Errorf("short text: %q", got)
	}
	if got := CutUTF8("防返贫", 4); got != "防" {
		t.Errorf("CutUTF8 = %q", got)
	}
}

func TestLogsNeverCarryFullIDNumber(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := NewLogger(&buf, slog.LevelDebug)
	id := "110101199003074477"
	log.Info("import row "+id, "id", id, "err", errors.New("bad row: "+id+"x"),
		slog.Group("g", "note", "户主 "+id+"，"), "obj", struct{ ID string }{id}, "ok", "12345678901234567890123")
	out := buf.String()
	if strings.Contains(out, id) {
		t.Fatalf("full ID number in log: %s", out)
	}
	if !strings.Contains(out, "110101********4477") {
		t.Errorf("masked form missing: %s", out)
	}
	if !strings.Contains(out, "12345678901234567890123") {
		t.Errorf("a longer number was masked: %s", out)
	}
	if got := MaskIDNumbers("a11010119900307447X,11010119900307447x"); got != "a110101********447X,110101********447x" {
		t.Errorf("MaskIDNumbers = %q", got)
	}
}
