package bot

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// Interactive template cards can be changed after they were sent
// (message/update_template_card), but only with a response_code: message/send answers one
// for the card and every click on it brings a fresh one; each works once, within 72 hours.
// The bot keeps the latest code of every card it sent in sent_cards, so that whoever
// handles the case later can have the card updated by its task_id alone.

// CardCodeLife is how long WeCom accepts a response_code.
const CardCodeLife = 72 * time.Hour

// SentCard is one interactive card the bot queued for a user.
type SentCard struct {
	TaskID string `db:"task_id"`
	UserID string `db:"userid"`
}

// recordQueuedCard notes a template card as it is queued (task_id taken from its body).
func recordQueuedCard(ctx context.Context, q sqlx.ExecerContext, m Outgoing) error {
	if m.MsgType != "template_card" || m.Channel != ToUsers {
		return nil
	}
	var card struct {
		TaskID string `json:"task_id"`
	}
	if json.Unmarshal(m.Body, &card) != nil || card.TaskID == "" {
		return nil
	}
	for _, u := range splitUsers(m.Target) {
		// task_id is unique per app and each card goes to one user
		if _, err := q.ExecContext(ctx, `INSERT INTO sent_cards (task_id, userid, subject) VALUES ($1, $2, $3) ON CONFLICT (task_id) DO NOTHING`,
			card.TaskID, u, cardSubject(card.TaskID)); err != nil {
			return fmt.Errorf("record card %s: %w", card.TaskID, err)
		}
	}
	return nil
}

// RecordCardCode keeps a card's newest response_code (message/send's answer or a click's).
func RecordCardCode(ctx context.Context, q sqlx.ExecerContext, taskID, userID, code string) error {
	if taskID == "" || code == "" {
		return nil
	}
	_, err := q.ExecContext(ctx, `
		INSERT INTO sent_cards (task_id, userid, response_code, code_at, subject) VALUES ($1, $2, $3, now(), $4)
		ON CONFLICT (task_id) DO UPDATE SET response_code = EXCLUDED.response_code, code_at = now(), used_at = NULL,
			older_code = CASE WHEN sent_cards.used_at IS NULL AND sent_cards.response_code <> '' THEN sent_cards.response_code ELSE sent_cards.older_code END,
			older_at = CASE WHEN sent_cards.used_at IS NULL AND sent_cards.response_code <> '' THEN sent_cards.code_at ELSE sent_cards.older_at END
		WHERE sent_cards.response_code <> EXCLUDED.response_code`, // a repeated callback revives no spent code
		taskID, userID, code, cardSubject(taskID))
	if err != nil {
		return fmt.Errorf("record response_code of card %s: %w", taskID, err)
	}
	return nil
}

// CardsWithPrefix lists the cards whose task_id is prefix, "_" and a suffix of its own (the
// cards of one case: handlers.TaskID puts the case number first).
func CardsWithPrefix(ctx context.Context, q sqlx.QueryerContext, prefix string) ([]SentCard, error) {
	var out []SentCard
	err := sqlx.SelectContext(ctx, q, &out, `
		SELECT task_id, userid FROM sent_cards WHERE subject = $1 ORDER BY created_at, task_id`, prefix)
	if err != nil {
		return nil, fmt.Errorf("cards of %s: %w", prefix, err)
	}
	return out, nil
}

// cardSubject is a task_id up to its last "_" ("" when it has none).
func cardSubject(taskID string) string {
	if i := strings.LastIndexByte(taskID, '_'); i > 0 {
		return taskID[:i]
	}
	return ""
}

// errCardNotSent: the card is still in the outbox; its update waits for it.
var errCardNotSent = errors.New("card not sent yet: no response_code to update it with")

// errCardSpent: the card's code was used or is too old; WeCom cannot change it any more.
var errCardSpent = errors.New("card already updated or older than 72 hours")

// takeCardCode claims an unused response_code of a card for one update: the latest, or
// else the one before it.
func takeCardCode(ctx context.Context, db *sqlx.DB, taskID string) (string, error) {
	var r struct {
		Code    string       `db:"response_code"`
		CodeAt  sql.NullTime `db:"code_at"`
		UsedAt  sql.NullTime `db:"used_at"`
		Older   string       `db:"older_code"`
		OlderAt sql.NullTime `db:"older_at"`
	}
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return "", fmt.Errorf("take code of card %s: %w", taskID, err)
	}
	defer tx.Rollback()
	err = tx.GetContext(ctx, &r, `SELECT response_code, code_at, used_at, older_code, older_at FROM sent_cards WHERE task_id = $1 FOR UPDATE`, taskID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", errCardNotSent // perhaps queued by a transaction still to commit
	}
	if err != nil {
		return "", fmt.Errorf("take code of card %s: %w", taskID, err)
	}
	var code, set string
	switch {
	case r.Code == "":
		return "", errCardNotSent
	case !r.UsedAt.Valid && time.Since(r.CodeAt.Time) < CardCodeLife:
		code, set = r.Code, `used_at = now()`
	case r.Older != "" && time.Since(r.OlderAt.Time) < CardCodeLife:
		code, set = r.Older, `older_code = ''`
	default:
		return "", errCardSpent
	}
	if _, err := tx.ExecContext(ctx, `UPDATE sent_cards SET `+set+` WHERE task_id = $1`, taskID); err != nil {
		return "", fmt.Errorf("take code of card %s: %w", taskID, err)
	}
	if err := tx.Commit(); err != nil {
		return "", fmt.Errorf("take code of card %s: %w", taskID, err)
	}
	return code, nil
}

// giveCardCodeBack returns a code whose update did not reach WeCom (a retryable failure).
func giveCardCodeBack(ctx context.Context, db sqlx.ExecerContext, taskID, code string) {
	db.ExecContext(ctx, `
		UPDATE sent_cards SET used_at = CASE WHEN response_code = $2 THEN NULL ELSE used_at END,
			older_code = CASE WHEN response_code = $2 THEN older_code ELSE $2 END
		WHERE task_id = $1`, taskID, code)
}

// CardUpdate makes an outbox message that changes the card taskID once the bot has a
// response_code for it (the worker takes the newest). card is the whole new template card
// (with replace_text to show it handled: WeCom then greys its button out).
func CardUpdate(key, user, taskID string, card any) Outgoing {
	body, _ := json.Marshal(map[string]any{"task_id": taskID, "template_card": card})
	return Outgoing{Key: key, Channel: UpdateCard, Target: user, MsgType: "template_card", Body: body}
}
