// Package handlers turns what people say to the bot into actions on the ledger: the chat
// command router (one file per command, a table to dispatch), HTTP endpoints and the
// mini-form pages. A user's mistake comes back as a polite Chinese reply, never a Go error;
// internal failures are logged and answered with an apology.
package handlers

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/cases"
)

// MaxCommandBytes is the longest chat command the router takes (docs/limits.md).
const MaxCommandBytes = 2048

// Directory finds who a WeCom user is; unknown users are cases.ENotFound.
type Directory interface {
	Actor(ctx context.Context, userid string) (cases.Actor, error)
}

// Queue sends messages through the durable outbox.
type Queue interface {
	Enqueue(ctx context.Context, msgs ...bot.Outgoing) error
}

// GroupChats ties group chats to townships (docs/privacy.md): a group answers only for its
// own township.
type GroupChats interface {
	// ChatTownship names the township whose group chatid is ("" when none).
	ChatTownship(ctx context.Context, chatid string) (string, error)
	// BindChat records chatid as township's group when the township has none and the chat
	// is no township's; it reports whether it bound chatid.
	BindChat(ctx context.Context, township, chatid string) (bool, error)
}

// Request is one parsed command.
type Request struct {
	Msg   bot.Message
	Actor cases.Actor
	Name  string   // the command word
	Args  []string // the words after it
	Rest  string   // everything after the command word as typed, trimmed: read free text with Text
	// GroupTownship is the township of the group chat the command came from ("" in private
	// chat): a group answers only for its own township (docs/privacy.md).
	GroupTownship string
}

// Text is the free text after the command's first n arguments (理由, 说明, 措施, 情况), exactly as
// typed: only the words before it are read forgivingly.
func (r Request) Text(n int) string { return skipWords(r.Rest, n) }

// Command is one chat command.
type Command struct {
	Name    string
	Aliases []string
	Roles   []cases.Role // who may use it
	Usage   string       // 核查 <编号> 纳入 <说明>
	// Public is how many leading arguments a group reply may repeat (a case number, a result
	// word, a month, a township); everything typed after them is free text that stays out of
	// groups (docs/privacy.md). Zero, the default, keeps every argument out.
	Public  int
	Example string
	Summary string
	// Help, when set, gives the lines 帮助 shows a role instead of Usage/Example/Summary: a
	// command with sub-commands open to different roles (抽查 抽取).
	Help func(cases.Role) []HelpLine
	// Run does the work and returns the reply. A *cases.Error becomes the reply as it is.
	Run func(ctx context.Context, req Request) (string, error)
}

// HelpLine is one line of 帮助.
type HelpLine struct{ Usage, Example, Summary string }

func (c *Command) helpLines(r cases.Role) []HelpLine {
	if c.Help != nil {
		return c.Help(r)
	}
	return []HelpLine{{Usage: c.Usage, Example: c.Example, Summary: c.Summary}}
}

func (c *Command) allowed(r cases.Role) bool {
	for _, x := range c.Roles {
		if x == r {
			return true
		}
	}
	return false
}

// Router dispatches messages to commands and replies through the outbox.
type Router struct {
	Users Directory
	Out   Queue
	Log   *slog.Logger
	// Cards takes template card clicks (mini-forms); nil ignores them.
	Cards bot.Handler
	// Groups binds group chats to townships; nil answers in any group (tests of single
	// commands only: the server always sets it).
	Groups GroupChats
	// Files takes files sent to the AI bot and clicks on their category cards (task ids
	// starting with FileCardPrefix); nil answers a file with a note that files are not taken.
	Files bot.FallibleHandler
	// Access records commands refused for the user's role (docs/office.md); nil logs them
	// only to Log.
	Access AccessLog

	commands map[string]*Command
	order    []*Command
}

var _ bot.Handler = (*Router)(nil)

// NewRouter returns a router that knows 帮助; add the others with Register.
func NewRouter(users Directory, out Queue, log *slog.Logger) *Router {
	if log == nil {
		log = slog.Default()
	}
	r := &Router{Users: users, Out: out, Log: log, commands: map[string]*Command{}}
	r.Register(r.helpCommand())
	return r
}

// Register adds commands to the table.
func (r *Router) Register(cmds ...*Command) {
	for _, c := range cmds {
		r.commands[c.Name] = c
		for _, a := range c.Aliases {
			r.commands[a] = c
		}
		r.order = append(r.order, c)
	}
}

// Parse splits text into the command word and its arguments. Phones make people sloppy, so
// the words are read forgivingly: full-width spaces and colons count as spaces, a trailing
// full stop is dropped, a case number glued to the next word is split from it, and a leading
// @mention or slash is dropped. rest is everything after the command word as typed (only the
// separators right after the command word dropped): free text (理由, 说明, 措施, 情况) is taken
// from it with Request.Text, never from args, so that colons, full stops and URLs stay whole.
func Parse(text string) (name string, args []string, rest string) {
	raw := strings.TrimLeft(bot.StripMention(text), "/／")
	norm := strings.NewReplacer("\u3000", " ", "：", " ", ":", " ").Replace(raw)
	norm = strings.TrimRight(strings.TrimSpace(norm), "。．.")
	norm = caseNoAfterRE.ReplaceAllString(norm, "$1 $2")
	norm = caseNoBeforeRE.ReplaceAllString(norm, "$1 $2")
	fields := strings.FieldsFunc(norm, unicode.IsSpace)
	if len(fields) == 0 {
		return "", nil, ""
	}
	return fields[0], fields[1:], skipWords(raw, 1)
}

// skipWords returns text after its first n words as typed, read the way Parse reads words
// (spaces and colons, full-width or not, separate words; a case number is a word of its own
// even when glued to its neighbours). What is left is trimmed of spaces and of the
// separators before it; a full stop alone (核查 … 纳入。) is no text at all.
func skipWords(text string, n int) string {
	isSep := func(r rune) bool { return unicode.IsSpace(r) || r == '：' || r == ':' }
	s := text
	for i := 0; i < n; i++ {
		s = strings.TrimLeftFunc(s, isSep)
		if s == "" {
			return ""
		}
		if loc := caseNoInRE.FindStringIndex(s); loc != nil && loc[0] == 0 {
			next := s[loc[1]:]
			if r, _ := utf8.DecodeRuneInString(next); next == "" || !unicode.IsDigit(r) {
				s = next
				continue
			}
		}
		end := strings.IndexFunc(s, isSep)
		if end < 0 {
			end = len(s)
		}
		// a word ends where a glued case number begins (核查YJ202611-0001)
		if loc := caseNoInRE.FindStringIndex(s[:end]); loc != nil && loc[0] > 0 {
			end = loc[0]
		}
		s = s[end:]
	}
	s = strings.TrimSpace(strings.TrimLeftFunc(s, isSep))
	if strings.Trim(s, "。．.") == "" {
		return ""
	}
	return s
}

// A case number written without spaces around it (核查YJ202611-0001纳入).
var (
	caseNoInRE     = regexp.MustCompile(`(?i)YJ[0-9]{6}-[0-9]{4}`)
	caseNoAfterRE  = regexp.MustCompile(`(?i)(\S)(YJ[0-9]{6}-[0-9]{4})`)
	caseNoBeforeRE = regexp.MustCompile(`(?i)(YJ[0-9]{6}-[0-9]{4})([^\s0-9])`)
)

// parse is Parse plus the router's table: a known command word glued to what follows
// (核查YJ…, 待办。) is split off.
func (r *Router) parse(text string) (name string, args []string, rest string) {
	name, args, rest = Parse(text)
	if _, ok := r.commands[name]; ok || name == "" {
		return name, args, rest
	}
	best := ""
	for w := range r.commands {
		if strings.HasPrefix(name, w) && len(w) > len(best) {
			best = w
		}
	}
	if best == "" {
		return name, args, rest
	}
	return Parse(best + " " + strings.TrimPrefix(name, best) + " " + rest)
}

// suggest finds the command a near-miss meant (代办 → 待办): one character off.
func (r *Router) suggest(name string, a cases.Actor) string {
	got := []rune(name)
	for _, c := range r.order {
		want := []rune(c.Name)
		if !c.allowed(a.Role) || len(want) != len(got) || len(want) < 2 {
			continue
		}
		diff := 0
		for i := range want {
			if want[i] != got[i] {
				diff++
			}
		}
		if diff == 1 {
			return c.Name
		}
	}
	return ""
}

// HandleMessage implements bot.Handler: it answers every text message, exactly once per
// message id (the reply's outbox key is derived from it).
func (r *Router) HandleMessage(ctx context.Context, m bot.Message) {
	if err := r.HandleMessageErr(ctx, m); err != nil {
		r.Log.ErrorContext(ctx, "queue reply", "msg_id", m.ID, "err", err)
	}
}

// HandleMessageErr implements bot.FallibleHandler: a reply that could not be queued is
// reported, so the inbox retries the message instead of leaving the user unanswered.
// The inbox delivers at least once (a crash after handling, before "done" is recorded,
// repeats the message): the reply's outbox key is derived from the message id, so a
// repeated run queues no second reply (ON CONFLICT DO NOTHING keeps the first).
func (r *Router) HandleMessageErr(ctx context.Context, m bot.Message) error {
	if m.File != nil || (m.Card != nil && strings.HasPrefix(m.Card.TaskID, FileCardPrefix)) {
		if r.Files != nil {
			return r.Files.HandleMessageErr(ctx, m)
		}
		if m.File != nil {
			mt, body := bot.Text("抱歉，这里暂时不接收文件。")
			return r.Out.Enqueue(ctx, bot.Outgoing{Key: "file-reply:" + m.ID, Channel: bot.ToUsers, Target: m.UserID, MsgType: mt, Body: body})
		}
		return nil
	}
	if m.Card != nil {
		if r.Cards != nil {
			r.Cards.HandleMessage(ctx, m) // card replies are keyed by message id too
		}
		return nil
	}
	reply, typed := r.answer(ctx, m)
	if reply == "" {
		return nil
	}
	if err := r.Out.Enqueue(ctx, r.replies(m, reply, typed)...); err != nil {
		return fmt.Errorf("queue reply: %w", err)
	}
	return nil
}

// replies makes what is sent for reply: to the sender, or in a group the group-safe text
// (docs/privacy.md) and, when something was withheld there, the full reply to the sender privately.
func (r *Router) replies(m bot.Message, reply string, typed []string) []bot.Outgoing {
	if !m.InGroup() || m.ResponseURL == "" {
		return []bot.Outgoing{ReplyTo(m, "reply", reply)}
	}
	safe, withheld := groupSafe(reply, typed)
	out := []bot.Outgoing{ReplyTo(m, "reply", safe)}
	if withheld {
		msgtype, body := bot.Text(reply)
		out = append(out, bot.Outgoing{Key: "reply-private:" + m.ID, Channel: bot.ToUsers, Target: m.UserID, MsgType: msgtype, Body: body})
	}
	return out
}

// Answer runs the command in m and returns the full reply text, as the sender may read it.
func (r *Router) Answer(ctx context.Context, m bot.Message) string {
	reply, _ := r.answer(ctx, m)
	return reply
}

// GroupAnswer is what the group sees of the answer to m, as HandleMessage sends it.
func (r *Router) GroupAnswer(ctx context.Context, m bot.Message) string {
	reply, typed := r.answer(ctx, m)
	safe, _ := groupSafe(reply, typed)
	return safe
}

// answer runs the command in m and returns the reply and what the user typed that a group
// reply must not repeat.
func (r *Router) answer(ctx context.Context, m bot.Message) (string, []string) {
	if len(m.Text) > MaxCommandBytes {
		// docs/limits.md: a chat command is at most 2,048 bytes. Nothing of it is repeated.
		return fmt.Sprintf("您发来的内容有 %d 字节，超过了一条命令 %d 字节的上限，没有处理。请把说明写短一些；较长的情况说明请用核查表单（发送“表单 <编号>”）。",
			len(m.Text), MaxCommandBytes), nil
	}
	actor, err := r.Users.Actor(ctx, m.UserID)
	name, args, rest := r.parse(m.Text)
	cmd, known := r.commands[name]
	public := 0
	if known {
		public = cmd.Public
	}
	typed := typedFragments(name, known, args, rest, public)
	if err != nil {
		if cases.ErrorCode(err) == cases.ENotFound {
			return "您好！系统里还没有您的账号，暂时不能使用防返贫预警助手。请联系县扶贫办把您加入组织名单。", typed
		}
		if cases.ErrorCode(err) == cases.EForbidden {
			return cases.ErrorMessage(err), typed // a deactivated user (left the org file)
		}
		r.Log.ErrorContext(ctx, "look up user", "user", m.UserID, "err", err)
		return cases.ErrorMessage(err), typed
	}
	if name == "" {
		return r.help(actor), typed
	}
	if !known {
		if s := r.suggest(name, actor); s != "" {
			return fmt.Sprintf("抱歉，我不认识“%s”这个命令。您是不是要发“%s”？\n\n%s", name, s, r.help(actor)), typed
		}
		return fmt.Sprintf("抱歉，我不认识“%s”这个命令。\n\n%s", name, r.help(actor)), typed
	}
	groupTown := ""
	if m.InGroup() && r.Groups != nil {
		town, refusal := r.groupRefusal(ctx, m, actor)
		if refusal != "" {
			return refusal, typed
		}
		groupTown = town
	}
	if !cmd.allowed(actor.Role) {
		r.refused(ctx, m, actor, cmd)
		if actor.Role == cases.RoleLeader {
			return fmt.Sprintf("您好！县领导的账号只能查看，不能办理。“%s”只有%s可以使用；您可以发送“进度”“统计”“逾期”了解情况，发送“帮助”查看全部可用命令。", cmd.Name, roleList(cmd.Roles)), typed
		}
		return fmt.Sprintf("“%s”只有%s可以使用，您是%s。发送“帮助”查看您能用的命令。", cmd.Name, roleList(cmd.Roles), actor.Role.Label()), typed
	}
	out, err := cmd.Run(ctx, Request{Msg: m, Actor: actor, Name: name, Args: args, Rest: rest, GroupTownship: groupTown})
	if err != nil {
		if code := cases.ErrorCode(err); code == cases.EInternal {
			r.Log.ErrorContext(ctx, "command failed", "cmd", cmd.Name, "user", m.UserID, "msg_id", m.ID, "err", err)
		}
		return cases.ErrorMessage(err), typed
	}
	return out, typed
}

// ReplyTo makes the reply to m: through the AI bot's response_url when there is one (group
// @-mentions), else privately to the user through the app.
func ReplyTo(m bot.Message, kind, text string) bot.Outgoing {
	msgtype, body := bot.Text(text)
	o := bot.Outgoing{Key: kind + ":" + m.ID, MsgType: msgtype, Body: body}
	if m.ResponseURL != "" {
		o.Channel, o.Target = bot.ToResponseURL, m.ResponseURL
		o.Group = m.InGroup()
	} else {
		o.Channel, o.Target = bot.ToUsers, m.UserID
	}
	return o
}

func (r *Router) helpCommand() *Command {
	return &Command{
		Name: "帮助", Aliases: []string{"help", "?", "？"},
		Roles:   []cases.Role{cases.RoleCadre, cases.RoleLiaison, cases.RoleOffice, cases.RoleSupervisor, cases.RoleLeader},
		Usage:   "帮助",
		Summary: "查看我能用的命令",
		Run: func(ctx context.Context, req Request) (string, error) {
			return r.help(req.Actor), nil
		},
	}
}

func (r *Router) help(a cases.Actor) string {
	var b strings.Builder
	scope := a.Role.Label()
	switch {
	case a.Township != "":
		scope = a.Township + scope
	case a.Department != "":
		scope = a.Department + scope
	}
	fmt.Fprintf(&b, "%s您好（%s），您可以使用以下命令：", a.Name, scope)
	for _, c := range r.order {
		if !c.allowed(a.Role) {
			continue
		}
		for _, h := range c.helpLines(a.Role) {
			fmt.Fprintf(&b, "\n• %s — %s", h.Usage, h.Summary)
			if h.Example != "" {
				fmt.Fprintf(&b, "\n  例：%s", h.Example)
			}
		}
	}
	b.WriteString("\n编号不区分大小写。在群里请先 @我 再发命令。")
	return b.String()
}

// refused records a command the user's role may not use: the office wants to know who tried
// what (docs/office.md). Only the command word is kept, nothing typed after it.
func (r *Router) refused(ctx context.Context, m bot.Message, a cases.Actor, cmd *Command) {
	r.Log.InfoContext(ctx, "command refused for role", "cmd", cmd.Name, "user", m.UserID, "role", string(a.Role), "msg_id", m.ID)
	ev := cases.AccessEvent{User: m.UserID, Action: cases.AccessRefused, Channel: chatChannel(m),
		Detail: fmt.Sprintf("命令“%s”不对%s开放", cmd.Name, a.Role.Label())}
	if err := recordAccess(ctx, r.Access, ev); err != nil {
		r.Log.ErrorContext(ctx, "record refused command", "cmd", cmd.Name, "user", m.UserID, "err", err)
	}
}

func roleList(rs []cases.Role) string {
	names := make([]string, len(rs))
	for i, r := range rs {
		names[i] = r.Label()
	}
	return strings.Join(names, "、")
}

// groupRefusal says why a command typed in a group is not answered there, or "" when the
// group may hear the answer: the group is its township's (a cadre of that township, or the
// county's office and supervisors), or an unknown group that a cadre's first use binds to a
// township that has none yet. Department liaisons answer for every township, so only
// privately.
func (r *Router) groupRefusal(ctx context.Context, m bot.Message, a cases.Actor) (town, refusal string) {
	town, err := r.Groups.ChatTownship(ctx, m.ChatID)
	if err != nil {
		r.Log.ErrorContext(ctx, "township of group", "msg_id", m.ID, "err", err)
		return "", "抱歉，系统暂时无法确认这个群属于哪个乡镇，请稍后再试，或私聊我发送命令。"
	}
	if town == "" && a.Role == cases.RoleCadre && a.Township != "" {
		bound, err := r.Groups.BindChat(ctx, a.Township, m.ChatID)
		if err != nil {
			r.Log.ErrorContext(ctx, "bind group", "msg_id", m.ID, "err", err)
			return "", "抱歉，系统暂时无法确认这个群属于哪个乡镇，请稍后再试，或私聊我发送命令。"
		}
		if bound {
			r.Log.InfoContext(ctx, "group bound to its township", "township", a.Township, "chat", m.ChatID, "by", m.UserID)
			town = a.Township
		}
	}
	switch {
	case town == "":
		// The chat id is what an org file's aibot_chat needs to name this group.
		r.Log.InfoContext(ctx, "command in a group of no township", "chat", m.ChatID, "by", m.UserID)
		return "", "您好！这个群不是登记过的乡镇工作群，我在这里不回答查询。请在本乡镇的防返贫工作群里 @我，或私聊我发送命令。"
	case a.Role == cases.RoleLiaison:
		return "", "您好！部门联络员的命令涉及多个乡镇，请私聊我发送，我不在乡镇工作群里回答。"
	case a.Township != "" && a.Township != town:
		return "", fmt.Sprintf("您好！这是%s的工作群，您是%s的干部，我在这里不回答您的查询。请在%s的工作群里 @我，或私聊我发送命令。", town, a.Township, a.Township)
	}
	return town, ""
}
