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
}
