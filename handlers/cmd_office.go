package handlers

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/cases"
)

// The office's monthly chores in chat (docs/office.md): 抽查 抽取, 令牌, 撤回.

// spotHelp is what 帮助 says of 抽查: supervisors record and draw, the office draws.
func (l *Reports) spotHelp(r cases.Role) []HelpLine {
	draw := HelpLine{Usage: "抽查 抽取 [比例]", Example: "抽查 抽取 10%",
		Summary: "按乡镇和风险类别分层抽取本月的抽查名单（默认 10%，同一月份同一比例抽到同样的案件），名单私信发给督查人员"}
	if r == cases.RoleOffice {
		return []HelpLine{draw}
	}
	return []HelpLine{{Usage: "抽查 <编号> 合格/不合格 <说明>", Example: "抽查 YJ202611-0001 不合格 未实际入户核查",
		Summary: "登记抽查结果（本月任一案件）；已办结的不合格案件退回乡镇重办，未办结的向乡镇督办"}, draw}
}

// ParseRate reads a spot-check rate as people write it: a fraction (0.1) or a percentage
// (10%, 10％). Empty is the default 10%.
func ParseRate(s string) (float64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0.1, nil
	}
	pct := strings.HasSuffix(s, "%") || strings.HasSuffix(s, "％")
	num := strings.TrimRight(s, "%％")
	v, err := strconv.ParseFloat(num, 64)
	if err == nil && pct {
		v /= 100
	}
	if err != nil || v <= 0 || v > 1 {
		return 0, cases.Errorf(cases.EInvalid, "抽查比例“%s”看不懂：请写小数或百分数，在 0 到 1（100%%）之间，例如：抽查 抽取 0.1 或 抽查 抽取 10%%", s)
	}
	return v, nil
}

// spotDraw is 抽查 抽取 [比例]: this month's draw, seeded by the month (cases.SpotSeed) as
// `fangpin spotcheck` without --seed, the list sent to every supervisor privately.
func (l *Reports) spotDraw(ctx context.Context, req Request) (string, error) {
	if l.Spots == nil {
		return "", cases.Errorf(cases.EInvalid, "这里暂时不能抽取抽查名单，请联系县扶贫办用命令行 fangpin spotcheck 抽取。")
	}
	if len(req.Args) > 2 {
		return "", cases.Errorf(cases.EInvalid, "请这样写：抽查 抽取 [比例]，例如：抽查 抽取 10%%")
	}
	arg := ""
	if len(req.Args) == 2 {
		arg = req.Args[1]
	}
	rate, err := ParseRate(arg)
	if err != nil {
		return "", err
	}
	month := l.Store.Today().MonthKey()
	seed := cases.SpotSeed(month)
	picks, err := DrawSpotChecks(ctx, l.Spots, month, rate, seed)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, p := range picks {
		h.Write([]byte(p.CaseNo + "\n"))
	}
	ev := cases.AccessEvent{User: req.Actor.UserID, Action: cases.AccessSpotDraw, Channel: chatChannel(req.Msg),
		Detail: fmt.Sprintf("%s 比例 %s 种子 %d 抽取 %d 户；名单 SHA-256 %s", month, ratePercent(rate), seed, len(picks), hex.EncodeToString(h.Sum(nil)))}
	if err := recordAccess(ctx, l.Access, ev); err != nil {
		return "", fmt.Errorf("record spot draw: %w", err)
	}
	if len(picks) == 0 {
		return fmt.Sprintf("%s还没有可抽查的案件，没有抽取。", monthTitle(month)), nil
	}
	return SpotDrawText(month, rate, seed, picks) + "\n\n名单已私信发给督查人员；同一月份、同一比例再抽取，结果相同。", nil
}

func ratePercent(rate float64) string { return strconv.FormatFloat(rate*100, 'f', -1, 64) + "%" }

// OfficeStore is what 令牌 and 撤回 need from the store.
type OfficeStore interface {
	// IssueToken replaces the department's push token hash and revokes the old one,
	// recording ev with the change.
	IssueToken(ctx context.Context, dept, sha string, ev cases.AccessEvent) error
	// WithdrawBatch withdraws an undispatched push, recording ev with it.
	WithdrawBatch(ctx context.Context, id string, a cases.Actor, ev cases.AccessEvent) (*cases.Batch, error)
}

// Office holds 令牌 and 撤回. Register its Commands on the Router.
type Office struct {
	Store OfficeStore
	Out   Queue // the new token, privately, in a message whose text the outbox forgets once sent
	Log   *slog.Logger
}

// Commands returns 令牌 (office) and 撤回 (office, liaisons).
func (o *Office) Commands() []*Command {
	return []*Command{
		{Name: "令牌", Roles: []cases.Role{cases.RoleOffice}, Usage: "令牌 <部门>", Example: "令牌 医保局",
			Summary: "为部门生成新的数据推送令牌（只私信显示一次），旧令牌立即作废", Run: o.token},
		{Name: "撤回", Roles: []cases.Role{cases.RoleOffice, cases.RoleLiaison}, Public: 1, Usage: "撤回 <批次号>", Example: "撤回 B20261103-1a2b3c4d5e6f",
			Summary: "撤回一次尚未交办的推送（联络员只能撤回本部门的）", Run: o.withdraw},
	}
}

// SecretKeyPrefix marks outbox messages whose text the outbox blanks once sent (a push token).
const SecretKeyPrefix = bot.SecretKeyPrefix

// NewToken is a push token: 32 random bytes, base64url without padding, and its SHA-256 as
// the org file and the push API hold it.
func NewToken() (token, sha string, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("new token: %w", err)
	}
	token = base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(token))
	return token, hex.EncodeToString(sum[:]), nil
}

func (o *Office) token(ctx context.Context, req Request) (string, error) {
	if req.Msg.InGroup() {
		return "", cases.Errorf(cases.EInvalid, "推送令牌只能私聊发给您，请私聊我发送“令牌 <部门>”。")
	}
	if len(req.Args) != 1 {
		return "", cases.Errorf(cases.EInvalid, "请这样写：令牌 <部门>，例如：令牌 医保局")
	}
	dept := req.Args[0]
	token, sha, err := NewToken()
	if err != nil {
		return "", err
	}
	ev := cases.AccessEvent{User: req.Actor.UserID, Action: cases.AccessToken, Channel: chatChannel(req.Msg),
		Detail: fmt.Sprintf("%s 新令牌 SHA-256 %s，旧令牌已作废", dept, sha)}
	if err := o.Store.IssueToken(ctx, dept, sha, ev); err != nil {
		return "", err
	}
	mt, body := bot.Text(fmt.Sprintf("【%s数据推送令牌】\n%s\n\n此令牌只显示这一次，系统只保存它的摘要。请转交%s联络员，填入推送接口的 Authorization: Bearer <令牌>。原令牌已经作废，用原令牌推送会被拒绝。", dept, token, dept))
	if err := o.Out.Enqueue(ctx, bot.Outgoing{Key: SecretKeyPrefix + "token:" + req.Msg.ID, Channel: bot.ToUsers, Target: req.Msg.UserID, MsgType: mt, Body: body}); err != nil {
		return "", fmt.Errorf("send token of %s: %w", dept, err)
	}
	return fmt.Sprintf("已为%s生成新的推送令牌，另发一条私信给您（只显示一次）。原令牌已作废。", dept), nil
}

func (o *Office) withdraw(ctx context.Context, req Request) (string, error) {
	if len(req.Args) != 1 {
		return "", cases.Errorf(cases.EInvalid, "请这样写：撤回 <批次号>，例如：撤回 B20261103-1a2b3c4d5e6f（批次号见推送后的回复）")
	}
	id := req.Args[0]
	ev := cases.AccessEvent{User: req.Actor.UserID, Action: cases.AccessWithdraw, Channel: chatChannel(req.Msg),
		Detail: "撤回推送 " + id}
	b, err := o.Store.WithdrawBatch(ctx, id, req.Actor, ev)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("已撤回批次 %s（%s %s %s，%d 条预警）。这些预警不会交办；如需重新推送，请推送更正后的文件。",
		b.ID, b.Department, b.Category.Label(), b.Period, b.Warnings), nil
}
