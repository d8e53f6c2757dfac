// Package simtest plays the people and systems around a running server against the WeCom
// simulator (bot/wecomtest): a department's system pushing a file through the API, a user
// waiting for the bot's answer, finding the card or the signed form link the bot sent, the
// messages a township's group received. The end-to-end test (cmd/fangpin) and the demo's
// scenario (internal/scenario) both use it, so they play users the same way.
package simtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"regexp"
	"strings"

	"github.com/fangpin/fangpin/bot/wecomtest"
	"github.com/fangpin/fangpin/cases"
)

// PushAnswer is the push API's answer: its HTTP status and the batch.
type PushAnswer struct {
	Status int
	cases.Batch
}

// Push posts a department file to base's push API (POST /api/v1/batches) with the
// department's token, as the department's system would. An answer other than 200 (a
// duplicate) or 201, or one that is not a batch, is an error that quotes the answer.
func Push(ctx context.Context, base, token, contentType string, body io.Reader) (PushAnswer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/batches", body)
	if err != nil {
		return PushAnswer{}, fmt.Errorf("push: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return PushAnswer{}, fmt.Errorf("push: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return PushAnswer{Status: resp.StatusCode}, fmt.Errorf("push: reading the answer: %w", err)
	}
	a := PushAnswer{Status: resp.StatusCode}
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		return a, fmt.Errorf("push: HTTP %d：%s", resp.StatusCode, raw)
	}
	if err := json.Unmarshal(raw, &a.Batch); err != nil {
		return a, fmt.Errorf("push: HTTP %d, not a batch: %w: %s", resp.StatusCode, err, raw)
	}
	return a, nil
}

// PushFile pushes one file (CSV or XLSX) as multipart/form-data with its category and period.
func PushFile(ctx context.Context, base, token string, cat cases.Category, period, filename string, file []byte) (PushAnswer, error) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if err := mw.WriteField("category", string(cat)); err != nil {
		return PushAnswer{}, err
	}
	if err := mw.WriteField("period", period); err != nil {
		return PushAnswer{}, err
	}
	fw, err := mw.CreateFormFile("file", filename)
	if err != nil {
		return PushAnswer{}, err
	}
	if _, err := fw.Write(file); err != nil {
		return PushAnswer{}, err
	}
	if err := mw.Close(); err != nil {
		return PushAnswer{}, err
	}
	return Push(ctx, base, token, mw.FormDataContentType(), &body)
}

// Reply waits for the first private text to user after their first `after` messages that
// contains marker ("" for any) and returns it.
func Reply(ctx context.Context, sim *wecomtest.Server, user string, after int, marker string) (string, error) {
	var got string
	err := sim.Wait(ctx, func([]wecomtest.Sent) bool {
		sent := sim.SentTo(user)
		for _, m := range sent[min(after, len(sent)):] {
			if m.MsgType == "text" && strings.Contains(m.Content, marker) {
				got = m.Content
				return true
			}
		}
		return false
	})
	if err != nil {
		return "", fmt.Errorf("reply to %s: %w", user, err)
	}
	return got, nil
}

// WaitPrivate waits until user has received more than `before` private messages.
func WaitPrivate(ctx context.Context, sim *wecomtest.Server, user string, before int) error {
	if err := sim.Wait(ctx, func([]wecomtest.Sent) bool { return len(sim.SentTo(user)) > before }); err != nil {
		return fmt.Errorf("message to %s: %w", user, err)
	}
	return nil
}

// WaitInChat waits until more than `before` messages have appeared in the group chat.
func WaitInChat(ctx context.Context, sim *wecomtest.Server, chat string, before int) error {
	if err := sim.Wait(ctx, func([]wecomtest.Sent) bool { return len(sim.SentInChat(chat)) > before }); err != nil {
		return fmt.Errorf("message in %s: %w", chat, err)
	}
	return nil
}

// PrivateNote ends a group answer whose full text went to the asker privately.
const PrivateNote = "完整回复已私信发给您"

// AskInGroup @s the bot in a group chat as user and waits for the answer there and, when
// the answer says its full text went privately, for that private message too (so that it
// is not taken for the answer to what user does next). It returns the group answer.
func AskInGroup(ctx context.Context, sim *wecomtest.Server, chat, user, text string) (wecomtest.Sent, error) {
	inGroup, private := len(sim.SentInChat(chat)), len(sim.SentTo(user))
	if _, err := sim.SayInGroup(ctx, chat, user, text); err != nil {
		return wecomtest.Sent{}, err
	}
	if err := WaitInChat(ctx, sim, chat, inGroup); err != nil {
		return wecomtest.Sent{}, err
	}
	answer := sim.SentInChat(chat)[inGroup]
	if strings.Contains(answer.Content, PrivateNote) {
		if err := WaitPrivate(ctx, sim, user, private); err != nil {
			return answer, err
		}
	}
	return answer, nil
}

// Group is how a township's group is reached: a chat the app created, or a group robot.
type Group struct {
	AppChat    string
	WebhookKey string
}

// GroupMessages are the messages the bot sent into a township's group (appchat/send to its
// chat or webhook/send to its robot), in order.
func GroupMessages(sim *wecomtest.Server, g Group) []wecomtest.Sent {
	var out []wecomtest.Sent
	for _, m := range sim.Sent() {
		if (g.AppChat != "" && m.API == "appchat/send" && m.ChatID == g.AppChat) ||
			(g.WebhookKey != "" && m.API == "webhook/send" && m.WebhookKey == g.WebhookKey) {
			out = append(out, m)
		}
	}
	return out
}

// Mentions reports whether one of msgs @s userid (whose name is name): the robot's
// mentioned_list, or @name in an app's group message (appchat/send cannot mention).
func Mentions(msgs []wecomtest.Sent, userid, name string) bool {
	for _, m := range msgs {
		if m.API == "appchat/send" && strings.Contains(m.Content, "@"+name) {
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

// PrivateDetails is the private dispatch message on case no to user ("" before it came).
func PrivateDetails(sim *wecomtest.Server, user, no string) string {
	for _, m := range sim.SentTo(user) {
		if m.MsgType == "text" && strings.Contains(m.Content, "您负责的新案件") && strings.Contains(m.Content, "编号："+no) {
			return m.Content
		}
	}
	return ""
}

// RoundSummary is the latest private summary of a dispatch round sent to user ("" if none).
func RoundSummary(sim *wecomtest.Server, user string) string {
	var s string
	for _, m := range sim.SentTo(user) {
		if m.MsgType == "text" && strings.Contains(m.Content, "交给您负责的新案件") {
			s = m.Content
		}
	}
	return s
}

// CardFormLink is the signed H5 form link a card jumps to ("" if none).
func CardFormLink(card map[string]any) string {
	l, _ := card["jump_list"].([]any)
	for _, it := range l {
		if m, ok := it.(map[string]any); ok {
			if u, _ := m["url"].(string); strings.Contains(u, "/form/") {
				return u
			}
		}
	}
	return ""
}

// Card is the latest mini-form card on case no sent to user (nil if none).
func Card(sim *wecomtest.Server, user, no string) map[string]any {
	var card map[string]any
	for _, m := range sim.SentTo(user) {
		if c, ok := m.Body["template_card"].(map[string]any); ok {
			if id, _ := c["task_id"].(string); strings.HasPrefix(id, no+"_") {
				card = c
			}
		}
	}
	return card
}

// CardTask is the task id of the latest card on case no sent to user ("" if none): what a
// click on it carries.
func CardTask(sim *wecomtest.Server, user, no string) string {
	id, _ := Card(sim, user, no)["task_id"].(string)
	return id
}

var formLinkRe = regexp.MustCompile(`https?://[^\s（）()]+/form/[^\s（）()]+`)

// FormLinkIn is the signed form link in a message's text ("" if none).
func FormLinkIn(text string) string { return formLinkRe.FindString(text) }

// FormLink is the latest signed form link user received privately in a message about
// case no ("" if none).
func FormLink(sim *wecomtest.Server, user, no string) string {
	var link string
	for _, m := range sim.SentTo(user) {
		if l := FormLinkIn(m.Content); l != "" && strings.Contains(m.Content, no) {
			link = l
		}
		if c, ok := m.Body["template_card"].(map[string]any); ok {
			if id, _ := c["task_id"].(string); strings.HasPrefix(id, no+"_") && CardFormLink(c) != "" {
				link = CardFormLink(c)
			}
		}
	}
	return link
}

// TextOf is what a recorded message says, however it was sent: its text and its body.
func TextOf(m wecomtest.Sent) string {
	b, err := json.Marshal(m.Body)
	if err != nil {
		return m.Content
	}
	return m.Content + "\n" + string(b)
}
