package handlers

import (
	"bytes"
	"context"
	"fmt"
	"github.com/fangpin/fangpin/announce"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/ledgerxlsx"
)

// LedgerStore is what the month's ledger commands (进度, 统计, 导出, 抽查) need from the store.
// Every figure comes from Assess, the one assessment query (see cases/postgres/report.go);
// the ledger adds the earlier months' cases still open (MonthLedger).
type LedgerStore interface {
	Assess(ctx context.Context, month string) (cases.Assessment, error)
	MonthLedger(ctx context.Context, month string) (cases.MonthLedger, error)
	SpotCheck(ctx context.Context, no string, actor cases.Actor, pass bool, note string, src cases.Source, then cases.CaseHook) (cases.Case, error)
	TownshipNames(ctx context.Context) (map[string]string, error)
	Today() cases.Date
}

// Reports holds the ledger commands' dependencies. Register its Commands on the Router.
type Reports struct {
	Store  LedgerStore
	Out    Queue     // the export's file message and the charts, their bytes stored with them
	Access AccessLog // exports
	// Spots draws the month's spot checks for 抽查 抽取; nil leaves the draw to the CLI.
	Spots SpotDrawer
	Log   *slog.Logger
	// Links signs the overview page's link (概览); nil leaves 概览 out.
	Links *FormLinks
}

// Commands returns 进度, 统计 (office, leaders), 导出 (office), 抽查 (supervisors; 抽查 抽取
// also the office) and, with Links, 概览 (office, leaders).
func (l *Reports) Commands() []*Command {
	office := []cases.Role{cases.RoleOffice}
	readers := []cases.Role{cases.RoleOffice, cases.RoleLeader}
	cmds := []*Command{
		{Name: "进度", Roles: readers, Public: 2, Usage: "进度 [乡镇] [YYYY-MM]", Example: "进度 城关镇 2026-11",
			Summary: "各乡镇本月交办、核查、办结、逾期、按时办结率和考核得分", Run: l.progress},
		{Name: "统计", Roles: readers, Public: 1, Usage: "统计 [YYYY-MM]", Example: "统计 2026-11",
			Summary: "本月按风险类别和核查结论的汇总", Run: l.stats},
		{Name: "导出", Roles: office, Public: 1, Usage: "导出 [YYYY-MM]", Example: "导出 2026-11",
			Summary: "把本月预警信息核查办理台账（Excel）发给我", Run: l.export},
		{Name: "抽查", Roles: []cases.Role{cases.RoleSupervisor, cases.RoleOffice}, Public: 2, Usage: "抽查 <编号> 合格/不合格 <说明>",
			Example: "抽查 YJ202611-0001 不合格 未实际入户核查", Summary: "登记抽查结果（本月任一案件）；已办结的不合格案件退回乡镇重办，未办结的向乡镇督办", Run: l.spotCheck,
			Help: l.spotHelp},
	}
	if l.Links != nil {
		cmds = append(cmds, &Command{Name: "概览", Roles: readers, Usage: "概览", Example: "概览",
			Summary: "打开全县进度概览页面（图表、按月和乡镇筛选、案件清单）", Run: l.overview})
	}
	return cmds
}

func (l *Reports) overview(ctx context.Context, req Request) (string, error) {
	where := ""
	if req.Msg.InGroup() {
		where = "（链接只对您本人有效，请勿转发）"
	}
	return fmt.Sprintf("请打开全县进度概览%s：%s\n链接 %d 天内有效，过期后再发“概览”即可。", where,
		l.Links.OverviewURL(req.Actor.UserID), int(OverviewTTL/(24*time.Hour))), nil
}

func (l *Reports) log() *slog.Logger {
	if l.Log != nil {
		return l.Log
	}
	return slog.Default()
}

var monthArg = regexp.MustCompile(`^\d{4}[-/.年]\d{1,2}月?$`)

// monthOf finds a YYYY-MM among args (default: this month) and returns the other args.
func (l *Reports) monthOf(args []string) (string, []string, error) {
	month := l.Store.Today().MonthKey()
	var rest []string
	for _, a := range args {
		if monthArg.MatchString(a) {
			s := strings.NewReplacer("/", "-", ".", "-", "年", "-", "月", "").Replace(a)
			d, err := cases.ParseMonth(s)
			if err != nil {
				return "", nil, cases.Errorf(cases.EInvalid, "%v", err)
			}
			month = d.MonthKey()
			continue
		}
		rest = append(rest, a)
	}
	return month, rest, nil
}

func monthTitle(month string) string {
	d, _ := cases.ParseMonth(month)
	return fmt.Sprintf("%d年%d月", d.Year, int(d.Month))
}

// percent shows a rate, or what is missing when there is nothing to measure.
func percent(r *float64, none string) string {
	if r == nil {
		return "—（" + none + "）"
	}
	return fmt.Sprintf("%.1f%%", *r*100)
}

// points shows a score (docs/assessment.md), or — when there was nothing to measure.
func points(s *float64) string {
	if s == nil {
		return "—（尚无可考核的事项）"
	}
	return fmt.Sprintf("%.1f 分", *s)
}

func (l *Reports) progress(ctx context.Context, req Request) (string, error) {
	month, rest, err := l.monthOf(req.Args)
	if err != nil {
		return "", err
	}
	if len(rest) > 1 {
		return "", cases.Errorf(cases.EInvalid, "请这样写：进度 [乡镇] [YYYY-MM]，例如：进度 城关镇 2026-11")
	}
	town := req.GroupTownship // a group answers only for its own township
	if len(rest) == 1 {
		names, err := l.Store.TownshipNames(ctx)
		if err != nil {
			return "", err
		}
		named, ok := names[rest[0]]
		if !ok {
			return "", cases.Errorf(cases.EInvalid, "没有名为“%s”的乡镇，请核对名称，例如：进度 城关镇 %s", rest[0], month)
		}
		if town != "" && named != town {
			return "", cases.Errorf(cases.EForbidden, "这是%s的工作群，这里只回答%s的进度。%s的进度请私聊我发送：进度 %s %s", town, town, named, named, month)
		}
		town = named
	}
	a, err := l.Store.Assess(ctx, month)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "【%s办理进度】截至 %s", monthTitle(month), a.AsOf.In(cases.Shanghai).Format("2006-01-02 15:04"))
	total := cases.SumTownships(a.Townships)
	if a.Provisional {
		// a month in progress: every figure is as of today, and open cases are not yet judged
		fmt.Fprintf(&b, "（截至今日，本月尚未结束，得分为临时结果；尚未办结 %d 件）", total.Open)
	}
	for _, t := range a.Townships {
		if town != "" && t.Name != town {
			continue
		}
		fmt.Fprintf(&b, "\n%s：交办 %d，已核查待录入 %d，办结 %d，逾期 %d，按时办结率 %s，考核得分 %s",
			t.Name, t.Dispatched, t.Verified, t.Closed, t.Overdue, percent(t.OnTimeRate, "暂无到期案件"), points(t.Score))
		if a.Provisional && t.Open > 0 {
			fmt.Fprintf(&b, "，尚未办结 %d", t.Open)
		}
		if t.InfoPending+t.InfoEntered > 0 {
			fmt.Fprintf(&b, "；信息变更 待录入 %d，已录入 %d", t.InfoPending, t.InfoEntered)
		}
		if town != "" {
			fmt.Fprintf(&b, "\n未反馈核查结论 %d 户（其中抽查退回 %d 户），抽查 %d 户，不合格 %d 户。",
				t.OwingResult, t.Returned, t.SpotChecked, t.SpotFailed)
			fmt.Fprintf(&b, "\n得分构成：按时办结率 %s ×50，抽查合格率 %s ×30，月底反馈率 %s ×20（无可考核的项不计，其余按比例折算）。",
				percent(t.OnTimeRate, "暂无到期案件"), percent(cases.Rate(t.SpotPassed(), t.SpotChecked), "未抽查"),
				percent(t.FeedbackRate, feedbackNone(t)))
		}
	}
	if town == "" {
		fmt.Fprintf(&b, "\n全县合计：交办 %d，已核查待录入 %d，办结 %d，逾期 %d，按时办结率 %s",
			total.Dispatched, total.Verified, total.Closed, total.Overdue, percent(total.OnTimeRate, "暂无到期案件"))
		var depts []string
		for _, d := range a.Departments {
			if d.Score == nil {
				continue
			}
			part := fmt.Sprintf("%s %s（按时推送 %d/%d", d.Name, points(d.Score), d.PushesOnTime, d.PushesDue)
			if d.TasksDue > 0 {
				part += fmt.Sprintf("，按时办理 %d/%d", d.TasksOnTime, d.TasksDue)
			}
			depts = append(depts, part+"）")
		}
		if len(depts) > 0 {
			b.WriteString("\n部门考核：" + strings.Join(depts, "；"))
		}
		b.WriteString("\n" + officeLine(a.Office))
	}
	if total.Dispatched == 0 {
		fmt.Fprintf(&b, "\n%s还没有交办案件。", monthTitle(month))
	}
	b.WriteString(l.sendChart(ctx, req, "progress", func() ([]byte, error) { return progressChart(ctx, l.Store, a, town) }))
	return b.String(), nil
}

// feedbackNone says why a township has no feedback rate: its month is not over yet, or it
// had no case that owes a 核查结论.
func feedbackNone(t cases.TownshipScore) string {
	if !t.FeedbackDue {
		return "月底后计算"
	}
	return "本月无需反馈的案件"
}

// officeLine is the office's own timeliness: the round dispatched by the 10th.
func officeLine(o cases.OfficeScore) string {
	switch {
	case o.DispatchedOn != nil && o.RoundsOnTime == 1:
		return fmt.Sprintf("县扶贫办：%s 集中交办，在 %s 时限内（按时 1/1）。", o.DispatchedOn, o.Deadline)
	case o.DispatchedOn != nil:
		return fmt.Sprintf("县扶贫办：%s 集中交办，晚于 %s 时限（按时 0/1）。", o.DispatchedOn, o.Deadline)
	case o.RoundsDue == 1:
		return fmt.Sprintf("县扶贫办：集中交办时限 %s 已过，本月尚未交办（按时 0/1）。", o.Deadline)
	}
	return fmt.Sprintf("县扶贫办：本月集中交办时限为 %s，尚未交办。", o.Deadline)
}

func (l *Reports) stats(ctx context.Context, req Request) (string, error) {
	month, rest, err := l.monthOf(req.Args)
	if err != nil {
		return "", err
	}
	if len(rest) > 0 {
		return "", cases.Errorf(cases.EInvalid, "请这样写：统计 [YYYY-MM]，例如：统计 2026-11")
	}
	if req.GroupTownship != "" {
		return "", cases.Errorf(cases.EForbidden, "“统计”是全县的汇总，请私聊我发送；这个群是%s的工作群，可以发“进度”查看本乡镇的情况。", req.GroupTownship)
	}
	a, err := l.Store.Assess(ctx, month)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	t := a.Total
	fmt.Fprintf(&b, "【%s统计】共交办 %d 户：纳入 %d，已在监测 %d，不纳入 %d，尚无结论 %d。",
		monthTitle(month), t.Cases, t.Include, t.Monitored, t.Exclude, t.Pending)
	if t.InfoPending+t.InfoEntered > 0 {
		fmt.Fprintf(&b, "另有信息变更 %d 户：待录入 %d，已录入 %d。", t.InfoPending+t.InfoEntered, t.InfoPending, t.InfoEntered)
	}
	if len(a.Categories) > 0 {
		b.WriteString("\n按风险类别（一户有多类风险的分别计入）：")
		for _, c := range a.Categories {
			fmt.Fprintf(&b, "\n• %s：%d 户（纳入 %d，已在监测 %d，不纳入 %d，尚无结论 %d）",
				c.Category.Label(), c.Cases, c.Include, c.Monitored, c.Exclude, c.Pending)
		}
	}
	b.WriteString(sweepStats(a))
	var due, onTime int
	var late []string
	for _, d := range a.Departments {
		due += d.PushesDue
		onTime += d.PushesOnTime
		for _, p := range d.Pushes {
			if !p.OnTime {
				late = append(late, fmt.Sprintf("%s（%s）", d.Name, p.Category.Label()))
			}
		}
	}
	if due > 0 {
		fmt.Fprintf(&b, "\n部门按时推送 %d/%d 项", onTime, due)
		if len(late) > 0 {
			fmt.Fprintf(&b, "，未按时：%s", strings.Join(late, "、"))
		}
		b.WriteString("。")
	}
	b.WriteString(l.sendChart(ctx, req, "stats", func() ([]byte, error) { return statsChart(a) }))
	return b.String(), nil
}

func (l *Reports) export(ctx context.Context, req Request) (string, error) {
	month, rest, err := l.monthOf(req.Args)
	if err != nil {
		return "", err
	}
	if len(rest) > 0 {
		return "", cases.Errorf(cases.EInvalid, "请这样写：导出 [YYYY-MM]，例如：导出 2026-11")
	}
	a, err := l.Store.MonthLedger(ctx, month)
	if err != nil {
		return "", err
	}
	// The workbook is built in memory and stored with the message in the outbox, so any
	// instance can send it; the outbox drops the bytes once delivered. Nothing is written
	// to this machine's disk.
	var buf bytes.Buffer
	if err := ledgerxlsx.Write(&buf, a); err != nil {
		return "", err
	}
	mt, body, data := bot.File(ledgerxlsx.Filename(month), buf.Bytes())
	// The ledger names households: it goes to the office member privately, never to a group.
	file := bot.Outgoing{Key: "export:" + req.Msg.ID, Channel: bot.ToUsers, Target: req.Actor.UserID, MsgType: mt, Body: body, File: data}
	if err := recordAccess(ctx, l.Access, cases.AccessEvent{User: req.Actor.UserID, Action: cases.AccessExport,
		Channel: chatChannel(req.Msg), Detail: fmt.Sprintf("台账 %s，%d 户", month, len(a.Cases))}); err != nil {
		return "", err
	}
	if err := l.Out.Enqueue(ctx, file); err != nil {
		return "", err
	}
	where := "稍后私信发给您"
	if req.Msg.InGroup() {
		where = "稍后私信发给您（台账含户主姓名，不在群里发送）"
	}
	carried := ""
	if len(a.Unfinished) > 0 {
		carried = fmt.Sprintf("，另有往月交办、月底仍未办结 %d 户", len(a.Unfinished))
	}
	return fmt.Sprintf("已生成%s预警信息核查办理台账：%d 户，%d 个乡镇%s，文件“%s”%s。",
		monthTitle(month), len(a.Cases), len(a.Townships), carried, ledgerxlsx.Filename(month), where), nil
}

func (l *Reports) spotCheck(ctx context.Context, req Request) (string, error) {
	if len(req.Args) > 0 && req.Args[0] == "抽取" {
		return l.spotDraw(ctx, req)
	}
	if req.Actor.Role != cases.RoleSupervisor {
		return "", cases.Errorf(cases.EForbidden, "只有督查人员可以登记抽查结果。县扶贫办可以发送“抽查 抽取 [比例]”抽取本月的抽查名单，例如：抽查 抽取 10%%")
	}
	usage := "请这样写：抽查 <编号> 合格 [说明] 或 抽查 <编号> 不合格 <问题说明>，例如：抽查 YJ202611-0001 不合格 未实际入户核查"
	if len(req.Args) < 2 {
		return "", cases.Errorf(cases.EInvalid, "%s", usage)
	}
	no := cases.NormalizeCaseNo(req.Args[0])
	var pass bool
	switch req.Args[1] {
	case cases.SpotPass.Label():
		pass = true
	case cases.SpotFail.Label():
	default:
		return "", cases.Errorf(cases.EInvalid, "抽查结果只能是“合格”或“不合格”。%s", usage)
	}
	note := req.Text(2)
	var returned bool
	c, err := l.Store.SpotCheck(ctx, no, req.Actor, pass, note, cases.Source(req.Msg.ID), l.notifySpotFail(pass, note, cases.Source(req.Msg.ID), &returned))
	if err != nil {
		return "", err
	}
	if pass {
		return fmt.Sprintf("已登记：案件 %s（%s）抽查合格。", c.No, c.Township), nil
	}
	if !returned {
		return fmt.Sprintf("已登记：案件 %s（%s）抽查不合格。案件尚未办结，办理时限仍为 %s，不顺延；已向%s发出督办。",
			c.No, c.Township, c.DueOn, c.Township), nil
	}
	return fmt.Sprintf("已登记：案件 %s（%s）抽查不合格，已退回乡镇重新办理，新的办理时限为 %s（10 个工作日），已通知%s。",
		c.No, c.Township, c.DueOn, c.Township), nil
}

// notifySpotFail tells the township of a 不合格, in the same transaction as the finding.
// A returned (closed) case: the group hears the case number, village, masked name and new
// due date. An open case: the group gets a 督办 with the case number only — found 不合格,
// to be put right by its unchanged due date. Either way the supervisor's note (which may
// describe the household) goes to the township's cadres privately, never to the group.
// *returned tells the caller which of the two it was.
func (l *Reports) notifySpotFail(pass bool, note string, src cases.Source, returned *bool) cases.CaseHook {
	return func(ctx context.Context, tx cases.Tx, before, after cases.Case) error {
		if pass {
			return nil
		}
		*returned = before.Status == cases.StatusClosed && after.Status == cases.StatusReturned
		t, cadres, err := tx.TownshipContacts(ctx, after.Township)
		if err != nil {
			return err
		}
		key := fmt.Sprintf("spotfail:%s:%d", after.No, after.Returns)
		group := fmt.Sprintf("【抽查退回】案件 %s（%s %s）经督查抽查不合格，已退回重新办理，请于 %s 前重新入户核查并反馈结果。督查意见已私信本乡镇干部。",
			after.No, after.GroupPlace(), cases.MaskName(after.HeadName), after.DueOn)
		private := fmt.Sprintf("案件 %s（%s %s）抽查不合格，已退回重新办理。\n督查意见：%s\n新的办理时限：%s。请重新核查后发送：核查 %s 纳入/已在监测/不纳入 <说明>",
			after.No, after.Place(), after.HeadName, note, after.DueOn, after.No)
		if !*returned {
			// One 督办 per finding: the supervisor's message makes the key.
			key = fmt.Sprintf("spotdub:%s:%s", after.No, src)
			group = fmt.Sprintf("【督办】案件 %s 在督查抽查中发现办理不合格，请抓紧整改，并于办理时限 %s 前完成核查、反馈结果（时限不顺延）。督查意见已私信本乡镇干部。",
				after.No, after.DueOn)
			private = fmt.Sprintf("【督办】案件 %s（%s %s）在督查抽查中发现办理不合格，请抓紧整改。\n督查意见：%s\n办理时限仍为 %s（不顺延）。",
				after.No, after.Place(), after.HeadName, note, after.DueOn)
		}
		var msgs []bot.Outgoing
		// No fallback: the cadres are told privately below, with the supervisor's note.
		if o, ok := bot.ToGroup(key+":group", bot.GroupChat{AppChat: t.AppChatID, Webhook: t.WebhookKey}, cadres, nil, group); ok {
			msgs = append(msgs, o)
		}
		if len(cadres) > 0 {
			mt, body := bot.Text(private)
			msgs = append(msgs, bot.Outgoing{Key: key + ":cadres", Channel: bot.ToUsers, Target: bot.JoinUsers(cadres...), MsgType: mt, Body: body})
		}
		if len(msgs) == 0 {
			l.log().WarnContext(ctx, "spot-check failure has nobody to tell", "case", after.No, "township", after.Township)
			return nil
		}
		return announce.Enqueue(ctx, tx, msgs)
	}
}
