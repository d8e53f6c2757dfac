package bot

import "encoding/json"

// Template cards for message/send (模板卡片消息), which the SDK does not model. Only the
// fields the bot uses; WeCom ignores empty ones. Cards go to users (ToUsers), never to
// appchat groups, and need the app's callback URL to be set.

// TemplateCard is the template_card object.
type TemplateCard struct {
	CardType  string      `json:"card_type"` // button_interaction, vote_interaction, multiple_interaction, text_notice
	Source    *CardSource `json:"source,omitempty"`
	MainTitle CardTitle   `json:"main_title"`
	SubTitle  string      `json:"sub_title_text,omitempty"`
	// TaskID is unique per app: ≤128 bytes of [0-9a-zA-Z_-@]; clicks come back with it.
	TaskID                string              `json:"task_id,omitempty"`
	HorizontalContentList []CardKV            `json:"horizontal_content_list,omitempty"`
	CardAction            *CardAction         `json:"card_action,omitempty"`
	ButtonList            []CardButton        `json:"button_list,omitempty"` // button_interaction, ≤6
	Checkbox              *CardCheckbox       `json:"checkbox,omitempty"`    // vote_interaction
	SelectList            []CardSelect        `json:"select_list,omitempty"` // multiple_interaction, ≤3
	SubmitButton          *CardSubmitButton   `json:"submit_button,omitempty"`
	ReplaceText           string              `json:"replace_text,omitempty"` // shown after a click
	JumpList              []map[string]string `json:"jump_list,omitempty"`
}

// CardSource is the small header line.
type CardSource struct {
	Desc string `json:"desc,omitempty"`
}

// CardTitle is the card's title and description.
type CardTitle struct {
	Title string `json:"title"`
	Desc  string `json:"desc,omitempty"`
}

// CardKV is one "key: value" line.
type CardKV struct {
	KeyName string `json:"keyname"`
	Value   string `json:"value,omitempty"`
	Type    int    `json:"type,omitempty"` // 1 = url
	URL     string `json:"url,omitempty"`
}

// CardAction is what clicking the card body does (type 1 = open url).
type CardAction struct {
	Type int    `json:"type"`
	URL  string `json:"url,omitempty"`
}

// CardButton is one button: Type 0 calls back with Key, 1 opens URL.
type CardButton struct {
	Type  int    `json:"type,omitempty"`
	Text  string `json:"text"`
	Style int    `json:"style,omitempty"`
	Key   string `json:"key,omitempty"`
	URL   string `json:"url,omitempty"`
}

// CardOption is a choice in a checkbox or select list.
type CardOption struct {
	ID        string `json:"id"`
	Text      string `json:"text"`
	IsChecked bool   `json:"is_checked,omitempty"`
}

// CardCheckbox is vote_interaction's question (Mode 0 single, 1 multiple; ≤20 options).
type CardCheckbox struct {
	QuestionKey string       `json:"question_key"`
	OptionList  []CardOption `json:"option_list"`
	Mode        int          `json:"mode,omitempty"`
}

// CardSelect is one drop-down of multiple_interaction (≤10 options).
type CardSelect struct {
	QuestionKey string       `json:"question_key"`
	Title       string       `json:"title,omitempty"`
	SelectedID  string       `json:"selected_id,omitempty"`
	OptionList  []CardOption `json:"option_list"`
}

// CardSubmitButton submits the choices with Key as EventKey.
type CardSubmitButton struct {
	Text string `json:"text"`
	Key  string `json:"key"`
}

// Card makes an outbox message body from a template card (channel ToUsers).
func Card(c TemplateCard) (string, json.RawMessage) {
	b, _ := json.Marshal(c)
	return "template_card", b
}
