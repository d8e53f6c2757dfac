package bot

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// ErrIgnored marks a well-formed callback that carries nothing for the handler (an image,
// a location, an event other than a card click): it is acknowledged and dropped.
var ErrIgnored = errors.New("wecom callback: nothing to handle")

// appEnvelope is the outer XML of an app callback; only Encrypt is signed.
type appEnvelope struct {
	ToUserName string `xml:"ToUserName"`
	AgentID    string `xml:"AgentID"`
	Encrypt    string `xml:"Encrypt"`
}

// appXML is the decrypted app callback (text messages and template_card_event).
type appXML struct {
	ToUserName   string `xml:"ToUserName"`
	FromUserName string `xml:"FromUserName"`
	CreateTime   int64  `xml:"CreateTime"`
	MsgType      string `xml:"MsgType"`
	Content      string `xml:"Content"`
	MsgID        string `xml:"MsgId"`
	AgentID      string `xml:"AgentID"`
	Event        string `xml:"Event"`
	EventKey     string `xml:"EventKey"`
	TaskID       string `xml:"TaskId"`
	CardType     string `xml:"CardType"`
	ResponseCode string `xml:"ResponseCode"`
	Selected     struct {
		Items []struct {
			QuestionKey string   `xml:"QuestionKey"`
			OptionIDs   []string `xml:"OptionIds>OptionId"`
		} `xml:"SelectedItem"`
	} `xml:"SelectedItems"`
}

// ParseAppMessage turns a decrypted app callback (XML) into a Message. corpID, when not
// empty, must match ToUserName.
func ParseAppMessage(plain []byte, corpID string) (Message, error) {
	var x appXML
	if err := xml.Unmarshal(plain, &x); err != nil {
		return Message{}, fmt.Errorf("parse app callback: %w", err)
	}
	if x.FromUserName == "" {
		return Message{}, errors.New("parse app callback: no FromUserName")
	}
	if corpID != "" && x.ToUserName != corpID {
		return Message{}, fmt.Errorf("parse app callback: ToUserName %q is not this corp", x.ToUserName)
	}
	m := Message{Source: FromApp, UserID: x.FromUserName, ChatType: "single", At: unixTime(x.CreateTime)}
	switch {
	case x.MsgType == "text":
		if x.MsgID == "" {
			return Message{}, errors.New("parse app callback: text without MsgId")
		}
		m.ID = "app:" + x.MsgID
		m.Text = x.Content
	case x.MsgType == "event" && x.Event == "template_card_event":
		m.ID = "app:event:" + x.FromUserName + ":" + strconv.FormatInt(x.CreateTime, 10) + ":" + x.TaskID + ":" + x.EventKey
		card := &CardEvent{TaskID: x.TaskID, EventKey: x.EventKey, CardType: x.CardType, ResponseCode: x.ResponseCode}
		for _, it := range x.Selected.Items {
			if card.Selected == nil {
				card.Selected = map[string][]string{}
			}
			card.Selected[it.QuestionKey] = append(card.Selected[it.QuestionKey], it.OptionIDs...)
		}
		m.Card = card
	default:
		return Message{}, ErrIgnored
	}
	return m, nil
}

// aibotJSON is the decrypted AI bot callback.
type aibotJSON struct {
	MsgID    string `json:"msgid"`
	AIBotID  string `json:"aibotid"`
	ChatID   string `json:"chatid"`
	ChatType string `json:"chattype"`
	From     struct {
		UserID string `json:"userid"`
	} `json:"from"`
	ResponseURL string `json:"response_url"`
	MsgType     string `json:"msgtype"`
	CreateTime  int64  `json:"create_time"`
	Text        struct {
		Content string `json:"content"`
	} `json:"text"`
	File  FileRef `json:"file"`
	Event struct {
		EventType string `json:"eventtype"`
		Card      struct {
			CardType      string `json:"card_type"`
			EventKey      string `json:"event_key"`
			TaskID        string `json:"task_id"`
			ResponseCode  string `json:"response_code"`
			SelectedItems struct {
				Items []struct {
					QuestionKey string `json:"question_key"`
					OptionIDs   struct {
						IDs []string `json:"option_id"`
					} `json:"option_ids"`
				} `json:"selected_item"`
			} `json:"selected_items"`
		} `json:"template_card_event"`
	} `json:"event"`
}

// ParseAIBotMessage turns a decrypted AI bot callback (JSON) into a Message.
func ParseAIBotMessage(plain []byte) (Message, error) {
	var j aibotJSON
	if err := json.Unmarshal(plain, &j); err != nil {
		return Message{}, fmt.Errorf("parse aibot callback: %w", err)
	}
	if j.MsgID == "" || j.From.UserID == "" {
		return Message{}, errors.New("parse aibot callback: no msgid or from.userid")
	}
	m := Message{ID: "aibot:" + j.MsgID, Source: FromAIBot, UserID: j.From.UserID, ChatType: j.ChatType,
		ResponseURL: j.ResponseURL, At: unixTime(j.CreateTime)}
	if m.ChatType == "" {
		m.ChatType = "single"
	}
	if m.ChatType == "group" {
		m.ChatID = j.ChatID
	}
	switch {
	case j.MsgType == "text":
		m.Text = StripMention(j.Text.Content)
	case j.MsgType == "file" && m.ChatType == "single" && j.File.URL != "":
		// Files reach the AI bot only in single chat; the bytes are fetched by the handler.
		f := j.File
		m.File = &f
	case j.MsgType == "event" && j.Event.EventType == "template_card_event":
		c := j.Event.Card
		card := &CardEvent{TaskID: c.TaskID, EventKey: c.EventKey, CardType: c.CardType, ResponseCode: c.ResponseCode}
		for _, it := range c.SelectedItems.Items {
			if card.Selected == nil {
				card.Selected = map[string][]string{}
			}
			card.Selected[it.QuestionKey] = append(card.Selected[it.QuestionKey], it.OptionIDs.IDs...)
		}
		m.Card = card
	default:
		return Message{}, ErrIgnored
	}
	return m, nil
}

// StripMention drops leading @mentions ("@防返贫助手 帮助" → "帮助").
func StripMention(s string) string {
	s = strings.TrimSpace(s) // full-width spaces too; those inside the text stay as typed
	for strings.HasPrefix(s, "@") {
		i := strings.IndexFunc(s, unicode.IsSpace)
		if i < 0 {
			return ""
		}
		s = strings.TrimSpace(s[i:])
	}
	return s
}

func unixTime(sec int64) time.Time {
	if sec <= 0 {
		return time.Now()
	}
	return time.Unix(sec, 0)
}
