package cases

import "time"

// The access log (docs/privacy.md): every view of a household's details, every export and
// every file import, append-only, so that `fangpin audit --id` can tell who saw a person's
// data. It names cases by number and pushes by batch id, never a person's ID number.

// Access actions.
const (
	AccessView    = "view"    // 查看, the case page, the task list, the form
	AccessExport  = "export"  // 导出, fangpin export ledger
	AccessImport  = "import"  // a department's file or the registry, by any route
	AccessRefused = "refused" // a signed link opened by someone else, altered or expired, or a command not open to the user's role
	// The office's actions in chat (docs/office.md).
	AccessSpotDraw = "spotdraw" // 抽查 抽取
	AccessToken    = "token"    // 令牌 <部门>: a new push token, the old one revoked
	AccessWithdraw = "withdraw" // 撤回 <批次号>
)

// Access channels.
const (
	ChannelChat  = "chat"  // private chat with the app or the AI bot
	ChannelGroup = "group" // a group chat
	ChannelH5    = "h5"    // an H5 page (form, task list)
	ChannelCLI   = "cli"   // the command line
	ChannelAPI   = "api"   // the department push API
)

// AccessEvent is one entry of the access log. User is a WeCom userid, "cli" (with the
// operating system's user in Detail when known) or "api:<department>".
type AccessEvent struct {
	At      time.Time // zero: now
	User    string
	Action  string
	CaseNo  string // the case viewed, or ""
	BatchID string // the push imported, or ""
	Channel string
	Detail  string // what else: the month exported, the page, the reason of a refusal; no personal data
}

// AuditFilter selects `fangpin audit` entries: all when empty.
type AuditFilter struct {
	IDNumber string // cases and pushes that hold this person
	User     string
	Since    time.Time
}

// AuditEntry is one line of `fangpin audit --json`: an access or a change of a case.
type AuditEntry struct {
	At      time.Time `json:"at"`
	User    string    `json:"user"`
	Action  string    `json:"action"`
	CaseNo  string    `json:"case_no"`
	Channel string    `json:"channel"`
	Detail  string    `json:"detail"`
}
