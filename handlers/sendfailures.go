package handlers

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/cases"
)

// FailureStore is what SendFailures needs: the outbox's failed rows, the townships' chats,
// the office's members and a unit of work to queue a report and mark it made together.
type FailureStore interface {
	UnreportedFailures(ctx context.Context, limit int) ([]bot.FailedSend, error)
	RefusedGroupSends(ctx context.Context, limit int) ([]bot.FailedSend, error)
	Townships(ctx context.Context) ([]cases.Township, error)
	UsersOf(ctx context.Context, role cases.Role, township, department string) ([]string, error)
	Atomically(ctx context.Context, fn func(tx cases.Tx) error) error
}

// SendFailures tells the office (privately: every member with the office role) which
// township's group missed which message, and how to fix it: at once when WeCom first refuses
// a group message for good (86003, 93000, 60011) while the outbox keeps retrying, and again
// when the outbox gives up on it (docs/sending.md). The report names the message's kind and
// case numbers, never its text.
type SendFailures struct {
	Store FailureStore
	Log   *slog.Logger
	Poll  time.Duration // how often to look (default 10 s: a refused group message is told at once)
}

func (s *SendFailures) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// Run reports failures until ctx ends.
func (s *SendFailures) Run(ctx context.Context) error {
	poll := s.Poll
	if poll <= 0 {
		poll = 10 * time.Second
	}
	for {
		if _, err := s.ReportOnce(ctx); err != nil && ctx.Err() == nil {
			s.log().WarnContext(ctx, "report failed group messages", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(poll):
		}
	}
}

// ReportOnce queues a report for every refused group message not yet told (retries going
// on) and every failed one not yet reported, and returns how many it reported.
func (s *SendFailures) ReportOnce(ctx context.Context) (int, error) {
	refused, err := s.Store.RefusedGroupSends(ctx, 100)
	if err != nil {
		return 0, err
	}
	failed, err := s.Store.UnreportedFailures(ctx, 100)
	if err != nil {
		return 0, err
	}
	failed = append(refused, failed...)
	if len(failed) == 0 {
		return 0, nil
	}
	towns, err := s.Store.Townships(ctx)
	if err != nil {
		return 0, err
	}
	office, err := s.Store.UsersOf(ctx, cases.RoleOffice, "", "")
	if err != nil {
		return 0, err
	}
	for i, f := range failed {
		err := s.Store.Atomically(ctx, func(tx cases.Tx) error {
			if len(office) == 0 {
				s.log().ErrorContext(ctx, "group message failed and no office member to tell", "outbox", f.ID, "key", f.Key)
			} else {
				mt, body := bot.Text(FailureReport(f, towns))
				key := fmt.Sprintf("sendfail:%d", f.ID)
				if f.Pending {
					key = fmt.Sprintf("sendwarn:%d", f.ID)
				}
				if err := tx.Enqueue(ctx, bot.Outgoing{Key: key, Channel: bot.ToUsers,
					Target: bot.JoinUsers(office...), MsgType: mt, Body: body}); err != nil {
					return err
				}
			}
			if f.Pending {
				return tx.MarkSendWarned(ctx, f.ID)
			}
			return tx.MarkSendReported(ctx, f.ID)
		})
		if err != nil {
			return i, err
		}
	}
	return len(failed), nil
}

var (
	caseNoInText = regexp.MustCompile(`YJ\d{6}-\d{4}`)
	titleInText  = regexp.MustCompile(`^【([^】]{1,20})】`)
)

// FailureReport is the office's message about one failed group message.
func FailureReport(f bot.FailedSend, towns []cases.Township) string {
	where := "一个已不在组织文件中的群聊"
	for _, t := range towns {
		if (f.Channel == bot.ToAppChat && t.AppChatID == f.Target) || (f.Channel == bot.ToWebhook && t.WebhookKey == f.Target) {
			where = t.Name + "的工作群"
			break
		}
	}
	if where == "一个已不在组织文件中的群聊" && f.Channel == bot.ToAppChat {
		where += "（群聊 ID " + f.Target + "）" // never a webhook key: it is a secret
	}
	var b strings.Builder
	if f.Pending {
		fmt.Fprintf(&b, "【群消息暂未送达】%s暂时收不到%s", where, failedKind(f))
	} else {
		fmt.Fprintf(&b, "【群消息未送达】%s没有收到%s", where, failedKind(f))
	}
	if nos := uniqueCaseNos(f.Content); len(nos) > 0 {
		if len(nos) > 8 {
			fmt.Fprintf(&b, "（涉及案件 %s 等 %d 件）", strings.Join(nos[:8], "、"), len(nos))
		} else {
			fmt.Fprintf(&b, "（涉及案件 %s）", strings.Join(nos, "、"))
		}
	}
	reason, fix := failureAdvice(f)
	switch {
	case f.Pending:
		fmt.Fprintf(&b, "。\n原因：%s。系统仍在自动重试：问题解决后消息会自动送达；如最终仍未送达，会再次告知。\n处理办法：%s。", reason, fix)
	case f.Warned:
		fmt.Fprintf(&b, "。\n原因：%s，已重试 %d 次，系统已停止重试（此前已提醒过一次）。\n处理办法：%s。", reason, f.Attempts, fix)
	default:
		fmt.Fprintf(&b, "。\n原因：%s，已重试 %d 次。\n处理办法：%s。", reason, f.Attempts, fix)
	}
	return b.String()
}

// failedKind names the message by its title (【防返贫预警交办】) or its key, never its text.
func failedKind(f bot.FailedSend) string {
	if m := titleInText.FindStringSubmatch(f.Content); m != nil {
		return "“" + m[1] + "”消息"
	}
	switch prefix, _, _ := strings.Cut(f.Key, ":"); prefix {
	case "dispatch":
		return "交办通知"
	case "reminder":
		return "一条提醒"
	case "spotfail":
		return "抽查退回通知"
	}
	return "一条群消息"
}

func uniqueCaseNos(text string) []string {
	var out []string
	seen := map[string]bool{}
	for _, no := range caseNoInText.FindAllString(text, -1) {
		if !seen[no] {
			seen[no] = true
			out = append(out, no)
		}
	}
	return out
}

func failureAdvice(f bot.FailedSend) (reason, fix string) {
	after := "；恢复后请提醒该乡镇干部发送“待办”查看本乡镇的案件"
	switch {
	case f.Uncertain:
		return "企业微信多次未答复，无法确认群里是否已收到",
			"请到该群确认是否已收到这条消息；如未收到，请转告该乡镇干部发送“待办”查看本乡镇的案件"
	case f.Code == bot.CodeChatNotFound:
		return "群聊不存在（尚未创建或已被解散）",
			"请运行 fangpin chats create 或检查组织文件中的群聊设置" + after
	case f.Code == bot.CodeInvalidWebhook:
		return "群机器人的 Webhook 地址无效（机器人可能已被移出群聊）",
			"请在群里重新添加群机器人，把新的 Webhook 地址写入组织文件后运行 fangpin org apply" + after
	case f.Code == bot.CodeNoPrivilege:
		return "应用没有向该群发送消息的权限",
			"请检查应用的可见范围（需包含根部门），或运行 fangpin chats create 重新建群" + after
	case f.Code != 0:
		return fmt.Sprintf("企业微信拒绝了这条消息（错误码 %d）", f.Code),
			"请把错误码告知技术人员检查企业微信配置" + after
	}
	return "网络或企业微信服务故障", "请技术人员检查服务器网络和企业微信配置" + after
}
