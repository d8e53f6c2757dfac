package bot

// FailedSend is a group message (appchat/send, webhook/send) the worker gave up on and
// the office has not been told of yet (bot/pgqueue.UnreportedFailures lists them).
type FailedSend struct {
	ID       int64
	Key      string
	Channel  Channel
	Target   string // the chat id or the webhook key
	MsgType  string
	Content  string // the text it would have shown (for its title and case numbers)
	Code     int64  // WeCom's errcode of the last attempt, 0 when none
	Attempts int
	// Uncertain: an answer was lost, so the group may have seen it after all.
	Uncertain bool
	// Pending: still being retried (an early report); Warned: an early report was made,
	// so a final failure is the second time the office hears of it.
	Pending bool
	Warned  bool
}

// WeCom's errcodes for a group that cannot be reached: they do not pass by themselves, but
// the office can fix the chat while the worker keeps retrying.
const (
	CodeChatNotFound   = 86003 // appchat/send: no such chat (not created yet, or dissolved)
	CodeInvalidWebhook = 93000 // webhook/send: the robot's key is wrong or the robot was removed
)

// RefusedGroupCode reports whether a group send's errcode is one the office must hear of at
// once (pgqueue's index outbox_refused_groups lists the same codes).
func RefusedGroupCode(code int64) bool {
	return code == CodeChatNotFound || code == CodeInvalidWebhook || code == CodeNoPrivilege
}
