package pgqueue

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/fangpin/fangpin/bot"
)

// Sealer seals what the queues hold of people — message bodies, attachments, callbacks —
// and opens it again (docs/encryption.md); *seal.Keyring is one. A store or outbox without
// one keeps them as they are (the bot's own tests).
type Sealer interface {
	Seal(plain string) string
	Open(s string) (string, error)
	SealBytes(plain []byte) []byte
	OpenBytes(s []byte) ([]byte, error)
}

// sealedPayload is an outbox payload whose body is sealed: msgtype and group stay readable
// (failure reports, metrics), the body is a sealed JSON text.
type sealedPayload struct {
	MsgType string `json:"msgtype"`
	Sealed  string `json:"sealed"`
	Group   bool   `json:"group,omitempty"`
}

// sealMessage seals m's body and attachment for the outbox.
func sealMessage(k Sealer, payload []byte, file []byte) ([]byte, []byte, error) {
	if k == nil {
		return payload, file, nil
	}
	var p struct {
		MsgType string          `json:"msgtype"`
		Body    json.RawMessage `json:"body"`
		Group   bool            `json:"group,omitempty"`
	}
	if err := json.Unmarshal(payload, &p); err != nil {
		return nil, nil, err
	}
	out, err := json.Marshal(sealedPayload{MsgType: p.MsgType, Sealed: k.Seal(string(p.Body)), Group: p.Group})
	return out, k.SealBytes(file), err
}

// openPayload is the payload as queued: a sealed body opened, any other as it is.
func openPayload(k Sealer, payload json.RawMessage) (json.RawMessage, error) {
	if k == nil || !bytes.Contains(payload, []byte(`"sealed"`)) {
		return payload, nil
	}
	var p sealedPayload
	if err := json.Unmarshal(payload, &p); err != nil || p.Sealed == "" {
		return payload, nil
	}
	body, err := k.Open(p.Sealed)
	if err != nil {
		return nil, fmt.Errorf("open message body: %w", err)
	}
	return json.Marshal(struct {
		MsgType string          `json:"msgtype"`
		Body    json.RawMessage `json:"body"`
		Group   bool            `json:"group,omitempty"`
	}{p.MsgType, json.RawMessage(body), p.Group})
}

// openRows opens claimed outbox rows in place.
func openRows(k Sealer, rows []bot.OutboxRow) error {
	if k == nil {
		return nil
	}
	for i := range rows {
		r := &rows[i]
		p, err := openPayload(k, r.Payload)
		if err != nil {
			return fmt.Errorf("outbox %d: %w", r.ID, err)
		}
		if r.Attachment, err = k.OpenBytes(r.Attachment); err != nil {
			return fmt.Errorf("outbox %d: open attachment: %w", r.ID, err)
		}
		r.Payload = p
	}
	return nil
}

// sealCallback is a callback as the inbox keeps it: a JSON string holding the sealed message.
func sealCallback(k Sealer, payload []byte) string {
	if k == nil {
		return string(payload)
	}
	b, _ := json.Marshal(k.Seal(string(payload)))
	return string(b)
}

// openCallbacks opens claimed inbox rows in place.
func openCallbacks(k Sealer, rows []bot.InboxRow) error {
	if k == nil {
		return nil
	}
	for i := range rows {
		p := bytes.TrimSpace(rows[i].Payload)
		if len(p) == 0 || p[0] != '"' {
			continue
		}
		var s string
		if err := json.Unmarshal(p, &s); err != nil {
			return fmt.Errorf("inbox %s: %w", rows[i].Key, err)
		}
		plain, err := k.Open(s)
		if err != nil {
			return fmt.Errorf("inbox %s: open callback: %w", rows[i].Key, err)
		}
		rows[i].Payload = []byte(plain)
	}
	return nil
}
