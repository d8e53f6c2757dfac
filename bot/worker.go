package bot

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"
)

// Worker delivers the outbox. Any number of workers (in any number of instances) may run:
// each claims due rows with FOR UPDATE SKIP LOCKED and leases them, so a row is worked on
// by one worker at a time and a killed worker's rows come back when the lease ends.
type Worker struct {
	Store   OutboxStore
	API     *Client
	Pacer   *Pacer // nil: no pacing
	Log     *slog.Logger
	Metrics *Metrics

	Batch       int           // rows claimed at once (default 20)
	Poll        time.Duration // sleep when nothing is due (default 1s)
	Lease       time.Duration // how long a claimed row stays ours (default 2 min)
	MaxAttempts int           // then the row is failed, its last error kept (default 10)
	// Backoff is the wait after a failed attempt (default exponential from 2 s, at least
	// 60 s after 45009).
	Backoff func(attempt int, err error) time.Duration
	// abrupt makes cancelling Run behave like a killed process (set by the tests through export_test.go): the message being
	// sent is abandoned. Otherwise it is finished first (graceful shutdown).
	abrupt bool

	// ResendWindow bounds resending a private message (message/send) after an answer was
	// lost: WeCom may have taken it, and its duplicate check, asked for with an interval a
	// little longer than this window (DuplicateCheckInterval), drops the resent copy. Past
	// the window the row fails as "not known whether delivered" (default 10 min).
	ResendWindow time.Duration
	// GroupWords names the people and diagnoses a group message must not show (nil: only
	// the patterns — ID numbers, phone numbers, amounts — are applied). See GroupSafe.
	GroupWords GroupWordSource
	// GroupResendWindow is the same for group chats (appchat/send, webhook/send), which
	// have no duplicate check: a resend after a lost answer may show twice, so the window
	// is small (default 1 min).
	GroupResendWindow time.Duration
}

// ErrUncertain marks a row failed because its answer was lost and the resend window
// passed: WeCom may or may not have delivered it.
var ErrUncertain = errors.New("企业微信未答复，无法确认是否送达")

func (w *Worker) resendWindow(ch Channel) time.Duration {
	if ch == ToUsers {
		if w.ResendWindow > 0 {
			return w.ResendWindow
		}
		return 10 * time.Minute
	}
	if w.GroupResendWindow > 0 {
		return w.GroupResendWindow
	}
	return time.Minute
}

// DuplicateCheckInterval is message/send's duplicate_check_interval in seconds: the
// resend window plus the longest a request or a killed worker's lease can add, within
// WeCom's bounds.
func (w *Worker) DuplicateCheckInterval() int {
	lease := w.Lease
	if lease <= 0 {
		lease = 2 * time.Minute
	}
	d := w.resendWindow(ToUsers) + lease + time.Minute
	return min(max(int(d.Seconds()), 60), 14400)
}

func (w *Worker) log() *slog.Logger {
	if w.Log == nil {
		return slog.Default()
	}
	return w.Log
}

// Run delivers until ctx ends.
func (w *Worker) Run(ctx context.Context) error {
	poll := w.Poll
	if poll <= 0 {
		poll = time.Second
	}
	for ctx.Err() == nil {
		n, err := w.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			w.log().ErrorContext(ctx, "outbox worker", "err", err)
		}
		if n > 0 && err == nil {
			continue
		}
		select {
		case <-ctx.Done():
		case <-time.After(poll):
		}
	}
	return nil
}

// groupSafe passes every text of a group message's body through GroupSafe.
func (w *Worker) groupSafe(ctx context.Context, body json.RawMessage) (json.RawMessage, error) {
	var words GroupWords
	if w.GroupWords != nil {
		var err error
		if words, err = w.GroupWords.GroupWords(ctx); err != nil {
			// Not sent unguarded: retried like any send that could not be made.
			return nil, fmt.Errorf("group guard: %w", err)
		}
	}
	var fields map[string]any
	if err := json.Unmarshal(body, &fields); err != nil {
		return body, nil // requests reports a body that is not an object
	}
	out, err := json.Marshal(groupSafeFields(fields, words))
	if err != nil {
		return nil, fmt.Errorf("group guard: %w", err)
	}
	return out, nil
}

// RunOnce claims one batch of due rows and works through it; it returns how many it took.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	batch, lease := w.Batch, w.Lease
	if batch <= 0 {
		batch = 20
	}
	if lease <= 0 {
		lease = 2 * time.Minute
	}
	rows, err := w.Store.ClaimOutbox(ctx, batch, lease)
	if err != nil {
		return 0, fmt.Errorf("claim outbox: %w", err)
	}
	// RETURNING does not keep the CTE's order.
	sortRows(rows)
	for i := range rows {
		wctx := ctx
		if !w.abrupt {
			if ctx.Err() != nil {
				// Stopping: give the unsent rows back at once.
				w.release(context.WithoutCancel(ctx), rows[i:])
				return i, nil
			}
			var cancel context.CancelFunc
			wctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
		}
		if err := w.deliver(wctx, &rows[i]); err != nil {
			return i + 1, err
		}
	}
	return len(rows), nil
}

func sortRows(rows []OutboxRow) {
	for i := 1; i < len(rows); i++ {
		for j := i; j > 0 && rows[j].ID < rows[j-1].ID; j-- {
			rows[j], rows[j-1] = rows[j-1], rows[j]
		}
	}
}

// release hands claimed rows back without counting the attempt.
func (w *Worker) release(ctx context.Context, rows []OutboxRow) {
	for _, r := range rows {
		w.Store.ReleaseOutbox(ctx, r.ID)
	}
}

// deliver sends one row's remaining parts and records the outcome. It returns an error
// only when the outcome could not be recorded.
func (w *Worker) deliver(ctx context.Context, r *OutboxRow) error {
	var p struct {
		MsgType string          `json:"msgtype"`
		Body    json.RawMessage `json:"body"`
		Group   bool            `json:"group"`
	}
	if err := json.Unmarshal(r.Payload, &p); err != nil {
		return w.fail(ctx, r, fmt.Errorf("bad payload: %w", err))
	}
	if r.InGroup(p.Group) {
		body, err := w.groupSafe(ctx, p.Body)
		if err != nil {
			return w.retry(ctx, r, err)
		}
		p.Body = body
	}
	if r.LostFor >= 0 && time.Duration(r.LostFor*float64(time.Second)) >= w.resendWindow(r.Channel) {
		// The worker was away longer than the window: a resend could double.
		return w.fail(ctx, r, ErrUncertain)
	}
	parts, err := w.requests(ctx, r, p.MsgType, p.Body)
	if ctx.Err() != nil {
		return ctx.Err() // killed: the lease brings the row back
	}
	if err != nil {
		return w.failed(ctx, r, err)
	}
	for i := r.PartsSent; i < len(parts); i++ {
		wait, err := w.Pacer.take(ctx, fmt.Sprintf("%d.%d.%d", r.ID, i, r.Attempts), w.Pacer.pacesFor(r.Channel, r.Target))
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return w.retry(ctx, r, err)
		}
		if wait > 0 {
			w.count(r.Channel, "paced")
			if err := w.Store.PaceOutbox(ctx, r.ID, wait); err != nil {
				return fmt.Errorf("pace outbox %d: %w", r.ID, err)
			}
			return nil
		}
		if err := parts[i](ctx); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return w.failed(ctx, r, err)
		}
		if i+1 < len(parts) {
			if err := w.Store.RecordPartsSent(ctx, r.ID, i+1); err != nil {
				return fmt.Errorf("record part of outbox %d: %w", r.ID, err)
			}
		}
	}
	if err := w.Store.MarkOutboxSent(ctx, r.ID, len(parts)); err != nil {
		return fmt.Errorf("record outbox %d sent: %w", r.ID, err)
	}
	w.count(r.Channel, "sent")
	return nil
}

func (w *Worker) count(ch Channel, result string) {
	if w.Metrics != nil {
		w.Metrics.Sends.WithLabelValues(string(ch), result).Inc()
	}
}

// failed decides what an attempt's error means: a lost answer is remembered and resent
// within the channel's window; WeCom busy or limits are retried; a group message refused
// for good (86003 chat not found, an invalid webhook key…) is retried with back-off too,
// since the office may fix the chat meanwhile (`fangpin chats create`); anything else
// fails at once.
func (w *Worker) failed(ctx context.Context, r *OutboxRow, err error) error {
	if AnswerLost(err) {
		lostFor, qerr := w.lost(ctx, r)
		if qerr != nil {
			return qerr
		}
		r.LostFor = lostFor
		return w.retry(ctx, r, err)
	}
	if Retryable(err) {
		return w.retry(ctx, r, err)
	}
	var ae *APIError
	if (r.Channel == ToAppChat || r.Channel == ToWebhook) && errors.As(err, &ae) {
		return w.retry(ctx, r, err)
	}
	return w.fail(ctx, r, err)
}

// lost records an attempt whose answer was lost and returns how long ago the first was.
func (w *Worker) lost(ctx context.Context, r *OutboxRow) (float64, error) {
	lostFor, err := w.Store.RecordLostAnswer(ctx, r.ID)
	if err != nil {
		return 0, fmt.Errorf("record lost answer of outbox %d: %w", r.ID, err)
	}
	w.count(r.Channel, "lost_answer")
	return lostFor, nil
}

func errcode(err error) int64 {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Code
	}
	return 0
}

func (w *Worker) retry(ctx context.Context, r *OutboxRow, cause error) error {
	max := w.MaxAttempts
	if max <= 0 {
		max = 10
	}
	if r.Attempts >= max {
		return w.fail(ctx, r, fmt.Errorf("gave up after %d attempts: %w", r.Attempts, cause))
	}
	backoff := w.Backoff
	if backoff == nil {
		backoff = DefaultBackoff
	}
	d := backoff(r.Attempts, cause)
	if r.LostFor >= 0 && time.Duration(r.LostFor*float64(time.Second))+d >= w.resendWindow(r.Channel) {
		// The next try would fall outside the window in which a resend cannot double.
		return w.fail(ctx, r, fmt.Errorf("%w: %w", ErrUncertain, cause))
	}
	w.count(r.Channel, "retry")
	w.log().WarnContext(ctx, "outbox retry", "id", r.ID, "key", r.Key, "channel", string(r.Channel), "attempt", r.Attempts, "in", d.String(), "err", cause)
	if err := w.Store.RescheduleOutbox(ctx, r.ID, d, MaskIDNumbers(cause.Error()), errcode(cause)); err != nil {
		return fmt.Errorf("reschedule outbox %d: %w", r.ID, err)
	}
	return nil
}

// fail gives a row up: its file content is dropped, and a group message waits for the
// office to be told (pgqueue.UnreportedFailures).
func (w *Worker) fail(ctx context.Context, r *OutboxRow, cause error) error {
	w.count(r.Channel, "failed")
	w.log().ErrorContext(ctx, "outbox message failed", "id", r.ID, "key", r.Key, "channel", string(r.Channel), "attempt", r.Attempts, "err", cause)
	if err := w.Store.FailOutbox(ctx, r.ID, MaskIDNumbers(cause.Error()), errcode(cause)); err != nil {
		return fmt.Errorf("record outbox %d failed: %w", r.ID, err)
	}
	return nil
}

// DefaultBackoff doubles from 2 s up to 10 min with jitter; after 45009 it waits at least
// a minute (WeCom's minute block).
func DefaultBackoff(attempt int, err error) time.Duration {
	d := 2 * time.Second << min(attempt-1, 9)
	d = min(d, 10*time.Minute)
	d += time.Duration(rand.Int64N(int64(d)/4 + 1))
	var ae *APIError
	if errors.As(err, &ae) && ae.Code == CodeFrequency && d < time.Minute {
		d = time.Minute
	}
	return d
}

// requests turns one outbox row into its calls to WeCom, one per part.
func (w *Worker) requests(ctx context.Context, r *OutboxRow, msgtype string, body json.RawMessage) ([]func(context.Context) error, error) {
	var fields map[string]any
	if err := json.Unmarshal(body, &fields); err != nil {
		return nil, fmt.Errorf("outbox %s: body is not an object: %w", r.Key, err)
	}
	// Texts are split; the parts differ only in content.
	contents := []string{""}
	content, isText := fields["content"].(string)
	if (msgtype == "text" || msgtype == "markdown") && isText {
		limit := LimitText
		switch {
		case r.Channel == ToResponseURL:
			limit = 0
		case msgtype == "markdown" && r.Channel == ToWebhook:
			limit = LimitWebhookMarkdown
		case msgtype == "markdown":
			limit = LimitMarkdown
		}
		if limit > 0 {
			if r.Channel == ToUsers {
				limit -= maxPartMark // room for the parts' marks (partMark), which WeCom counts
			}
			contents = SplitText(content, limit)
		} else {
			// response_url is single use: the whole answer must fit in one post.
			contents = []string{CutUTF8(content, LimitResponseURL)}
		}
	}
	switch {
	case msgtype == "image" && r.Channel == ToWebhook:
		// A group robot's image is sent inline: no upload, the bytes with their MD5.
		if len(r.Attachment) == 0 {
			return nil, fmt.Errorf("outbox %s: image message without content", r.Key)
		}
		sum := md5.Sum(r.Attachment)
		fields = map[string]any{"base64": base64.StdEncoding.EncodeToString(r.Attachment), "md5": hex.EncodeToString(sum[:])}
	case carriesMedia(msgtype) && r.Channel != UpdateCard:
		id, err := w.upload(ctx, r, msgtype, fields)
		if err != nil {
			return nil, err
		}
		fields = map[string]any{"media_id": id}
	}
	var calls []func(context.Context) error
	for i, c := range contents {
		f := fields
		if isText && (msgtype == "text" || msgtype == "markdown") {
			f = map[string]any{}
			for k, v := range fields {
				f[k] = v
			}
			f["content"] = c + partMark(r, i)
		}
		calls = append(calls, w.call(r, msgtype, f))
	}
	return calls, nil
}

// zeroWidth are the digits of a part's mark: characters WeCom shows as nothing.
var zeroWidth = [4]string{"\u200b", "\u200c", "\u200d", "\u2060"}

// maxPartMark is the longest mark in bytes: 40 base-4 digits of 3 bytes (an outbox id below
// 2^72 / 256).
const maxPartMark = 40 * 3

// partMark makes each part of each private text unique under message/send's duplicate
// check: the outbox row's id and the part's number, written in zero-width characters. The
// id comes from the outbox's sequence, so two messages never share a mark however close
// together they were queued, and a part that merely begins like another message's (two
// 待办 a few seconds apart) is not dropped. A resend of the same row and part carries the
// same mark, so the check still drops a resend after a lost answer.
func partMark(r *OutboxRow, part int) string {
	if r.Channel != ToUsers {
		return ""
	}
	n := uint64(r.ID)<<8 | uint64(part&0xff)
	var b strings.Builder
	for {
		b.WriteString(zeroWidth[n&3])
		n >>= 2
		if n == 0 {
			return b.String()
		}
	}
}

// upload uploads a file message's content once; the media_id is kept with the row (valid
// three days), so a resend names the same media and its body is byte-identical.
func (w *Worker) upload(ctx context.Context, r *OutboxRow, msgtype string, fields map[string]any) (string, error) {
	if r.MediaID != "" {
		return r.MediaID, nil
	}
	name, _ := fields["filename"].(string)
	if len(r.Attachment) == 0 {
		return "", fmt.Errorf("outbox %s: %s message without content", r.Key, msgtype)
	}
	if name == "" {
		name = msgtype
	}
	var id string
	var err error
	switch r.Channel {
	case ToWebhook:
		id, err = w.API.WebhookUploadMedia(ctx, r.Target, name, r.Attachment)
	case ToResponseURL:
		return "", fmt.Errorf("outbox %s: files cannot go through response_url", r.Key)
	default:
		id, err = w.API.UploadMedia(ctx, msgtype, name, r.Attachment)
	}
	if err != nil {
		return "", err
	}
	if err := w.Store.RecordUpload(ctx, r.ID, id); err != nil {
		return "", fmt.Errorf("record upload of outbox %d: %w", r.ID, err)
	}
	r.MediaID = id
	return id, nil
}

func (w *Worker) call(r *OutboxRow, msgtype string, f map[string]any) func(context.Context) error {
	api := w.API
	switch r.Channel {
	case ToUsers:
		return func(ctx context.Context) error {
			delete(f, "mentioned_list") // only groups mention
			// WeCom drops a request identical to one it took within the interval: a resend
			// after a lost answer carries the same body, so it is not shown twice.
			req := map[string]any{"touser": r.Target, "msgtype": msgtype, "agentid": api.AgentID, msgtype: f,
				"enable_duplicate_check": 1, "duplicate_check_interval": w.DuplicateCheckInterval()}
			res, err := api.SendMessage(ctx, req)
			if err == nil && res.InvalidUser != "" {
				w.log().WarnContext(ctx, "outbox: some users unknown to WeCom", "key", r.Key, "invaliduser", res.InvalidUser)
			}
			if err == nil && msgtype == "template_card" {
				// the code that lets the card be updated later (message/update_template_card);
				// a resend dropped by the duplicate check is answered without one
				task, _ := f["task_id"].(string)
				if err := w.Store.RecordCardSent(ctx, task); err != nil {
					w.log().ErrorContext(ctx, "outbox: record card sent", "key", r.Key, "err", err)
				}
				if res.ResponseCode != "" {
					if err := w.Store.RecordCardCode(ctx, task, r.Target, res.ResponseCode); err != nil {
						w.log().ErrorContext(ctx, "outbox: keep card response_code", "key", r.Key, "err", err)
					}
				}
			}
			return err
		}
	case ToAppChat:
		return func(ctx context.Context) error {
			return api.AppChatSend(ctx, map[string]any{"chatid": r.Target, "msgtype": msgtype, msgtype: f})
		}
	case ToWebhook:
		return func(ctx context.Context) error {
			return api.WebhookSend(ctx, r.Target, map[string]any{"msgtype": msgtype, msgtype: f})
		}
	case ToResponseURL:
		return func(ctx context.Context) error {
			mt := msgtype
			if mt == "text" { // the AI bot answers in markdown
				mt = "markdown"
				f = map[string]any{"content": f["content"]}
			}
			return api.PostResponseURL(ctx, r.Target, map[string]any{"msgtype": mt, mt: f})
		}
	case UpdateCard:
		return func(ctx context.Context) error {
			return w.updateCard(ctx, r, f)
		}
	}
	return func(context.Context) error { return fmt.Errorf("outbox %s: unknown channel %q", r.Key, r.Channel) }
}

// SplitUsers splits a ToUsers / UpdateCard target into its userids.
func SplitUsers(target string) []string {
	var out []string
	for _, u := range strings.Split(target, "|") {
		if u = strings.TrimSpace(u); u != "" {
			out = append(out, u)
		}
	}
	return out
}

// updateCard sends message/update_template_card. A body that names the card by task_id
// instead of carrying a response_code gets the card's newest code: it waits (retries) while
// the card itself is still unsent, and is dropped when the card can no longer be changed.
func (w *Worker) updateCard(ctx context.Context, r *OutboxRow, f map[string]any) error {
	users := SplitUsers(r.Target)
	task, _ := f["task_id"].(string)
	body := make(map[string]any, len(f))
	for k, v := range f {
		if k != "task_id" {
			body[k] = v
		}
	}
	if rc, _ := body["response_code"].(string); rc != "" || task == "" {
		return w.API.UpdateTemplateCard(ctx, users, body)
	}
	code, err := w.Store.TakeCardCode(ctx, task)
	if errors.Is(err, ErrCardCodeLost) {
		return w.replaceCard(ctx, r, task, users, body)
	}
	if errors.Is(err, ErrCardSpent) {
		w.log().InfoContext(ctx, "outbox: card can no longer be updated", "key", r.Key, "task", task)
		return nil
	}
	if err != nil {
		return err
	}
	body["response_code"] = code
	err = w.API.UpdateTemplateCard(ctx, users, body)
	if err != nil && Retryable(err) {
		w.Store.GiveCardCodeBack(context.WithoutCancel(ctx), task, code)
	}
	return err
}

// replaceCard sends the changed card as a new card when the old one cannot be updated (its
// response_code was lost with WeCom's answer): the user sees the outcome instead of a card
// whose buttons still wait. The new card's task_id is the old one's with the update's row id,
// so a resend of this row is the same request (WeCom's duplicate check drops it).
func (w *Worker) replaceCard(ctx context.Context, r *OutboxRow, task string, users []string, body map[string]any) error {
	card, ok := body["template_card"].(map[string]any)
	if !ok || len(users) != 1 {
		w.log().InfoContext(ctx, "outbox: card with a lost code cannot be replaced", "key", r.Key, "task", task)
		return nil
	}
	newTask := fmt.Sprintf("%s-r%d", task, r.ID)
	if len(newTask) > 128 {
		newTask = fmt.Sprintf("%s-r%d", task[:128-len(fmt.Sprintf("-r%d", r.ID))], r.ID)
	}
	c := make(map[string]any, len(card)+1)
	for k, v := range card {
		c[k] = v
	}
	c["task_id"] = newTask
	req := map[string]any{"touser": users[0], "msgtype": "template_card", "agentid": w.API.AgentID, "template_card": c,
		"enable_duplicate_check": 1, "duplicate_check_interval": w.DuplicateCheckInterval()}
	if err := w.Store.ReplaceCard(ctx, task, newTask, users[0]); err != nil {
		return err
	}
	res, err := w.API.SendMessage(ctx, req)
	if err != nil {
		return err
	}
	w.log().InfoContext(ctx, "outbox: card re-sent in place of one whose code was lost", "key", r.Key, "task", task, "new", newTask)
	if res.ResponseCode != "" {
		if err := w.Store.RecordCardCode(ctx, newTask, users[0], res.ResponseCode); err != nil {
			w.log().ErrorContext(ctx, "outbox: keep card response_code", "key", r.Key, "err", err)
		}
	}
	return nil
}
