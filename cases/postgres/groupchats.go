package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/lib/pq"
)

// ChatTownship names the township whose group chatid is ("" when the chat is no township's).
func (db *DB) ChatTownship(ctx context.Context, chatid string) (string, error) {
	if chatid == "" {
		return "", nil
	}
	var name string
	err := db.DB.GetContext(ctx, &name, `
		SELECT name FROM townships WHERE appchat_id = $1 OR aibot_chat_id = $1 ORDER BY id LIMIT 1`, chatid)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("township of chat: %w", err)
	}
	return name, nil
}

// BindChat records chatid as the chat the AI bot sees in township's group, when the township
// has none yet (neither an app chat nor a bound one) and the chat is no township's; it
// reports whether it bound chatid.
func (db *DB) BindChat(ctx context.Context, township, chatid string) (bool, error) {
	if chatid == "" {
		return false, nil
	}
	res, err := db.DB.ExecContext(ctx, `
		UPDATE townships SET aibot_chat_id = $2, updated_at = now()
		WHERE name = $1 AND aibot_chat_id IS NULL AND appchat_id = ''
		  AND NOT EXISTS (SELECT 1 FROM townships o WHERE o.appchat_id = $2 OR o.aibot_chat_id = $2)`, township, chatid)
	var pe *pq.Error
	if errors.As(err, &pe) && pe.Code == "23505" { // bound to another township meanwhile
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("bind chat of %s: %w", township, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("bind chat of %s: %w", township, err)
	}
	return n == 1, nil
}
