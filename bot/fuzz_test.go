package bot

import (
	"testing"
)

func FuzzParseAppMessage(f *testing.F) {
	f.Add([]byte(`<xml><ToUserName>c</ToUserName><FromUserName>u</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType><Content>帮助</Content><MsgId>1</MsgId></xml>`))
	f.Add([]byte(`<xml><FromUserName>u</FromUserName><MsgType>event</MsgType><Event>template_card_event</Event><SelectedItems><SelectedItem><QuestionKey>q</QuestionKey><OptionIds><OptionId>a</OptionId></OptionIds></SelectedItem></SelectedItems></xml>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseAppMessage(b, "")
		if err == nil && (m.ID == "" || m.UserID == "") {
			t.Fatalf("accepted a message without id or user: %+v", m)
		}
	})
}

func FuzzParseAIBotMessage(f *testing.F) {
	f.Add([]byte(`{"msgid":"1","from":{"userid":"u"},"msgtype":"text","text":{"content":"@bot 帮助"}}`))
	f.Add([]byte(`{"msgid":"1","from":{"userid":"u"},"msgtype":"event","event":{"eventtype":"template_card_event","template_card_event":{"selected_items":{"selected_item":[{"question_key":"q","option_ids":{"option_id":["a"]}}]}}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseAIBotMessage(b)
		if err == nil && (m.ID == "" || m.UserID == "") {
			t.Fatalf("accepted a message without id or user: %+v", m)
		}
	})
}

// FuzzDecrypt feeds arbitrary ciphertexts: never a panic, never a message from a forgery.
func FuzzDecrypt(f *testing.F) {
	c, err := NewCrypto("tok", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wwcorp")
	if err != nil {
		f.Fatal(err)
	}
	good, _ := c.Encrypt([]byte("<xml/>"), nil)
	f.Add(good)
	f.Add("AAAA")
	f.Fuzz(func(t *testing.T, s string) {
		msg, err := c.Decrypt(s)
		if err == nil && msg == nil {
			t.Fatal("nil message without error")
		}
	})
}
