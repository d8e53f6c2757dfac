package wecomtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/fangpin/fangpin/bot"
)

// AppCrypto is the app callback's scheme (ReceiveId = CorpID).
func (s *Server) AppCrypto() *bot.Crypto {
	c, err := bot.NewCrypto(s.Token, s.AESKey, s.CorpID)
	if err != nil {
		panic(err)
	}
	return c
}

// AIBotCrypto is the AI bot's scheme (ReceiveId = "").
func (s *Server) AIBotCrypto() *bot.Crypto {
	c, err := bot.NewCrypto(s.Token, s.AESKey, "")
	if err != nil {
		panic(err)
	}
	return c
}

// cdata writes s as XML character data.
func cdata(s string) string {
	return "<![CDATA[" + strings.ReplaceAll(s, "]]>", "]]]]><![CDATA[>") + "]]>"
}

// TextXML is the decrypted XML of a text message a user sent the app.
func (s *Server) TextXML(userid, text, msgid string, at time.Time) []byte {
	return []byte(fmt.Sprintf(`<xml><ToUserName>%s</ToUserName><FromUserName>%s</FromUserName><CreateTime>%d</CreateTime><MsgType><![CDATA[text]]></MsgType><Content>%s</Content><MsgId>%s</MsgId><AgentID>%d</AgentID></xml>`,
		cdata(s.CorpID), cdata(userid), at.Unix(), cdata(text), msgid, s.AgentID))
}

// CardEventXML is the decrypted XML of a click on a template card.
func (s *Server) CardEventXML(userid string, at time.Time, card bot.CardEvent) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, `<xml><ToUserName>%s</ToUserName><FromUserName>%s</FromUserName><CreateTime>%d</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[template_card_event]]></Event><EventKey>%s</EventKey><TaskId>%s</TaskId><CardType>%s</CardType><ResponseCode>%s</ResponseCode><AgentID>%d</AgentID>`,
		cdata(s.CorpID), cdata(userid), at.Unix(), cdata(card.EventKey), cdata(card.TaskID), cdata(card.CardType), cdata(card.ResponseCode), s.AgentID)
	if len(card.Selected) > 0 {
		keys := make([]string, 0, len(card.Selected))
		for k := range card.Selected {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteString("<SelectedItems>")
		for _, k := range keys {
			fmt.Fprintf(&b, "<SelectedItem><QuestionKey>%s</QuestionKey><OptionIds>", cdata(k))
			for _, o := range card.Selected[k] {
				fmt.Fprintf(&b, "<OptionId>%s</OptionId>", cdata(o))
			}
			b.WriteString("</OptionIds></SelectedItem>")
		}
		b.WriteString("</SelectedItems>")
	}
	b.WriteString("</xml>")
	return []byte(b.String())
}

// AIBotTextJSON is the decrypted JSON of an @-mention of the AI bot in a group (chatid
// set) or a single chat with it (chatid "").
func (s *Server) AIBotTextJSON(chatid, userid, text, msgid, responseURL string) []byte {
	chattype := "group"
	if chatid == "" {
		chattype = "single"
	}
	m := map[string]any{"msgid": msgid, "aibotid": "aibot" + s.CorpID, "chattype": chattype,
		"from": map[string]any{"userid": userid}, "response_url": responseURL, "msgtype": "text",
		"text": map[string]any{"content": text}}
	if chatid != "" {
		m["chatid"] = chatid
	}
	b, _ := json.Marshal(m)
	return b
}

// SealApp signs and encrypts a decrypted app callback: the query and XML body to post.
func (s *Server) SealApp(plain []byte) (url.Values, []byte) {
	ts, nonce := strconv.FormatInt(time.Now().Unix(), 10), randHex(5)
	enc, sig, err := s.AppCrypto().Seal(plain, ts, nonce)
	if err != nil {
		panic(err)
	}
	body := fmt.Sprintf(`<xml><ToUserName>%s</ToUserName><AgentID>%d</AgentID><Encrypt>%s</Encrypt></xml>`, cdata(s.CorpID), s.AgentID, cdata(enc))
	return url.Values{"msg_signature": {sig}, "timestamp": {ts}, "nonce": {nonce}}, []byte(body)
}

// SealAIBot signs and encrypts a decrypted AI bot callback: the query and JSON body.
func (s *Server) SealAIBot(plain []byte) (url.Values, []byte) {
	ts, nonce := strconv.FormatInt(time.Now().Unix(), 10), randHex(5)
	enc, sig, err := s.AIBotCrypto().Seal(plain, ts, nonce)
	if err != nil {
		panic(err)
	}
	body, _ := json.Marshal(map[string]string{"encrypt": enc})
	return url.Values{"msg_signature": {sig}, "timestamp": {ts}, "nonce": {nonce}}, body
}

// Delivery is how a callback went: how many tries and the last HTTP status.
type Delivery struct {
	Tries  int
	Status int
}

// ErrNotAcknowledged means the bot answered none of WeCom's tries with 200.
var ErrNotAcknowledged = errors.New("wecomtest: callback not acknowledged")

// Post delivers a sealed callback to target like WeCom: up to CallbackTries tries, each
// abandoned after CallbackTimeout, until one is answered 200.
func (s *Server) Post(ctx context.Context, target string, q url.Values, body []byte) (Delivery, error) {
	var d Delivery
	tries := max(s.CallbackTries, 1)
	for d.Tries < tries {
		d.Tries++
		status, err := s.postOnce(ctx, target, q, body)
		d.Status = status
		if err == nil && status == http.StatusOK {
			return d, nil
		}
		if ctx.Err() != nil {
			return d, ctx.Err()
		}
		if status >= 400 && status < 500 {
			break // refused: WeCom would retry too, but the answer will not change
		}
	}
	return d, fmt.Errorf("%w after %d tries (last status %d)", ErrNotAcknowledged, d.Tries, d.Status)
}

func (s *Server) postOnce(ctx context.Context, target string, q url.Values, body []byte) (int, error) {
	tctx, cancel := context.WithTimeout(ctx, s.CallbackTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(tctx, http.MethodPost, target+"?"+q.Encode(), bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

func (s *Server) nextID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	return fmt.Sprintf("%d%06d", time.Now().UnixNano()/1000, s.seq)
}

// SayPrivately plays a user typing text in the private chat with the app (XML callback).
func (s *Server) SayPrivately(ctx context.Context, userid, text string) (msgid string, err error) {
	msgid = s.nextID()
	q, body := s.SealApp(s.TextXML(userid, text, msgid, time.Now()))
	_, err = s.Post(ctx, s.AppCallbackURL, q, body)
	return msgid, err
}

// SayInGroup plays a user @-mentioning the AI bot in a group chat (JSON callback); the
// bot answers through the response_url it is given.
func (s *Server) SayInGroup(ctx context.Context, chatid, userid, text string) (msgid string, err error) {
	msgid = "aibotmsg" + s.nextID()
	rc := "rc" + randHex(10)
	s.mu.Lock()
	s.responses[rc] = chatid
	s.mu.Unlock()
	plain := s.AIBotTextJSON(chatid, userid, "@"+s.BotName+" "+text, msgid, s.URL+"/cgi-bin/aibot/response?response_code="+rc)
	q, body := s.SealAIBot(plain)
	_, err = s.Post(ctx, s.AIBotCallbackURL, q, body)
	return msgid, err
}

// ClickCard plays a user clicking a template card the app sent (XML event).
// Like WeCom, the event carries a fresh response_code for the card (whatever card holds).
func (s *Server) ClickCard(ctx context.Context, userid string, card bot.CardEvent) error {
	card.ResponseCode = s.issueCardCode(card.TaskID, []string{userid})
	q, body := s.SealApp(s.CardEventXML(userid, time.Now(), card))
	_, err := s.Post(ctx, s.AppCallbackURL, q, body)
	return err
}

// VerifyURL does what WeCom does when the IT person saves the callback URL: a signed GET
// with an encrypted echostr; the bot must answer its plaintext alone.
func (s *Server) VerifyURL(ctx context.Context, target string, aibot bool) error {
	c := s.AppCrypto()
	if aibot {
		c = s.AIBotCrypto()
	}
	echo := "echo" + randHex(8)
	ts, nonce := strconv.FormatInt(time.Now().Unix(), 10), randHex(5)
	enc, sig, err := c.Seal([]byte(echo), ts, nonce)
	if err != nil {
		return err
	}
	q := url.Values{"msg_signature": {sig}, "timestamp": {ts}, "nonce": {nonce}, "echostr": {enc}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target+"?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || string(got) != echo {
		return fmt.Errorf("wecomtest: URL check failed: status %d, answer %q, want %q", resp.StatusCode, got, echo)
	}
	return nil
}
