package notify

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/fangpin/fangpin/cases"
)

// caseInfo is what a case reminder says about its case; it never holds an ID number, a
// diagnosis or an amount, so nothing of that can slip into a group text.
type caseInfo struct {
	cases.Case
}

// household names the case in a group: number, village and the masked head's name (docs/privacy.md).
func (c caseInfo) household() string {
	s := c.No
	var parts []string
	if p := c.Case.GroupPlace(); p != "" {
		parts = append(parts, p)
	}
	if c.HeadName != "" {
		parts = append(parts, "户主"+cases.MaskName(c.HeadName))
	}
	if len(parts) > 0 {
		s += "（" + strings.Join(parts, "，") + "）"
	}
	return s
}

// todo says what the township still has to do.
func (c caseInfo) todo() string {
	if c.Status == cases.StatusVerified {
		return "请尽快录入全国系统，并发送“录入 " + c.No + "”登记。"
	}
	return "请尽快入户核查，并发送“核查 " + c.No + " 纳入/已在监测/不纳入 说明”反馈结果。"
}

func monthLabel(m string) string {
	d, err := cases.ParseMonth(m)
	if err != nil {
		return m
	}
	return fmt.Sprintf("%d年%d月", d.Year, int(d.Month))
}

// compose writes the reminder's text, or says why it is no longer needed (skip != "").
// Conditions are evaluated here, when the reminder fires, not when it was planned: a
// reminder sent late — the worker was down, or started for the first time mid-month — must
// not ask for what its moment has passed (docs/reminders.md, "Late").
func (w *Worker) compose(ctx context.Context, tx cases.ReminderTx, r cases.StoredReminder, c *caseInfo, now time.Time) (text, skip string, err error) {
	day := cases.DateOf(r.DueAt)
	cal := w.DB.Calendar()
	kind := cases.ReminderKind(r.Kind)
	if skip := passed(kind, day, cases.DateOf(now)); skip != "" {
		return "", skip, nil
	}
	if kind.CaseKind() {
		if c == nil {
			return "", "提醒没有关联案件", nil
		}
		if !c.Status.Open() {
			return "", "案件已办结", nil
		}
		if c.DueOn.After(day) && kind != cases.RemindCaseDue {
			return "", "案件办理时限已变更", nil
		}
	}
	if kind.TaskKind() {
		return w.composeTask(ctx, tx, r, c, day)
	}
	switch kind {
	case cases.RemindCaseDue:
		when := cal.DueText(c.DueOn, day)
		return fmt.Sprintf("【到期提醒】%s的案件 %s 办理时限为 %s，%s（当前：%s）。%s",
			c.Township, c.household(), c.DueOn, when, c.Status.Label(), c.todo()), "", nil
	case cases.RemindCaseOverdue:
		return fmt.Sprintf("【逾期提醒】%s的案件 %s 办理时限为 %s，%s（当前：%s）。%s",
			c.Township, c.household(), c.DueOn, cal.DueText(c.DueOn, day), c.Status.Label(), c.todo()), "", nil
	case cases.RemindCaseEscalate:
		return fmt.Sprintf("【逾期督办】%s的案件 %s 已超过办理时限 %s 仍未办结（当前：%s），请督促%s尽快办理。",
			c.Township, c.household(), c.DueOn, c.Status.Label(), c.Township), "", nil
	case cases.RemindPush, cases.RemindPushLate, cases.RemindEducation, cases.RemindEduLate:
		return composePush(ctx, tx, r, kind, day, cases.DateOf(now), cal)
	case cases.RemindDispatch:
		dispatched, err := tx.RoundDispatched(ctx, day.MonthKey())
		if err != nil {
			return "", "", err
		}
		if dispatched {
			return "", "本月已集中交办", nil
		}
		if deadline := cases.DispatchDeadlineOf(day); cases.DateOf(now).After(deadline) {
			return fmt.Sprintf("【交办提醒】%s的集中交办还没有进行，已超过 %s 的交办时限，请尽快完成比对初筛和交办（发送“交办”即可）。",
				monthLabel(day.MonthKey()), deadline), "", nil
		}
		return fmt.Sprintf("【交办提醒】%s的集中交办还没有进行，请在 %d 日前完成比对初筛和交办（发送“交办”即可）。",
			monthLabel(day.MonthKey()), cases.DispatchDeadlineDay), "", nil
	case cases.RemindFeedback:
		// The same figures as 进度 and the ledger's 汇总 sheet: one query (postgres.Assess).
		sum, err := w.DB.MonthEndSummary(ctx, day.MonthKey())
		if err != nil {
			return "", "", fmt.Errorf("month-end summary %s: %w", day.MonthKey(), err)
		}
		return sum.Text(), "", nil
	case cases.RemindResults:
		round := r.Period
		if round == "" {
			round = day.MonthKey()
		}
		rs, err := w.DB.DepartmentResults(ctx, round, r.Department)
		if err != nil {
			return "", "", fmt.Errorf("results of %s %s: %w", r.Department, round, err)
		}
		if len(rs) == 0 || len(rs[0].Rules) == 0 {
			return "", "本轮交办没有本部门推送的预警", nil
		}
		return cases.ResultsText(rs[0], nil), "", nil
	case cases.RemindMonthEnd:
		// Every case of the township still without a result, whatever its round, overdue
		// first, and the older cases that took a 补充预警 this month (docs/reminders.md).
		open, err := tx.CarryOver(ctx, day.MonthKey(), r.Township, day)
		if err != nil {
			return "", "", err
		}
		text := cases.CarryOverText(r.Township, day.MonthKey(), day.LastOfMonth(), day, cal, open)
		if text == "" {
			return "", "本乡镇案件均已反馈结果", nil
		}
		return text, "", nil
	}
	return "", "", fmt.Errorf("unknown reminder kind %q", r.Kind)
}

// lateNudgeNote is why a push nudge that fires after its deadline is not sent: the late
// notice of the next working day says what is still missing.
const lateNudgeNote = "推送时限已过，不再发送提前提醒，由逾期通知提醒"

// passed says why a reminder that fires on today, a later day than its own, is no longer
// needed: a case's advance reminder (the next one, or the overdue one, follows and is
// true today) and a township's month-end list of a month that has ended. Late notices,
// overdue reminders and the office's summaries still hold, and go out late.
func passed(kind cases.ReminderKind, day, today cases.Date) string {
	if !today.After(day) {
		return ""
	}
	switch kind {
	case cases.RemindCaseDue:
		return "错过了提醒的日期，不再补发，以之后的提醒为准"
	case cases.RemindMonthEnd:
		if today.MonthKey() != day.MonthKey() {
			return "所属月份已过，不再补发月末提醒"
		}
	}
	return ""
}

// composePush writes a department's push reminder (monthly data, or the yearly 因学 data),
// or says why it is not needed: the department has pushed, by the rule the assessment
// scores (cases.Pushed).
func composePush(ctx context.Context, tx cases.ReminderTx, r cases.StoredReminder, kind cases.ReminderKind, day, today cases.Date, cal *cases.Calendar) (text, skip string, err error) {
	switch kind {
	case cases.RemindPush, cases.RemindPushLate:
		period := r.Period
		if period == "" { // planned before reminders named their period
			period = cases.PreviousMonth(day)
		}
		missing, err := missingPushes(ctx, tx, r.Department, period)
		if err != nil {
			return "", "", err
		}
		if len(missing) == 0 {
			return "", "部门已推送" + monthLabel(period) + "的数据", nil
		}
		list := strings.Join(missing, "、")
		deadline, _ := cases.PushDeadline(cal, cases.CatMedical, period)
		if kind == cases.RemindPush && today.After(deadline) {
			return "", lateNudgeNote, nil
		}
		if kind == cases.RemindPush {
			return fmt.Sprintf("【数据推送提醒】%s：%s的%s数据还没有推送，请在 %s 前推送（把 Excel 或 CSV 文件私聊发给机器人、用上传页面或调用接口均可）。谢谢！",
				r.Department, monthLabel(period), list, deadline), "", nil
		}
		if r.Target == cases.TargetOffice {
			return fmt.Sprintf("【推送逾期】%s尚未推送%s的%s数据，已超过 %s 的推送时限，请督促。",
				r.Department, monthLabel(period), list, deadline), "", nil
		}
		return fmt.Sprintf("【推送逾期提醒】%s：%s的%s数据已超过 %s 的推送时限，仍未收到，请尽快推送。",
			r.Department, monthLabel(period), list, deadline), "", nil
	case cases.RemindEducation, cases.RemindEduLate:
		period := r.Period
		if period == "" {
			period = fmt.Sprintf("%04d-04", day.Year)
		}
		pushes, err := tx.DepartmentPushes(ctx, r.Department)
		if err != nil {
			return "", "", err
		}
		if _, ok := cases.Pushed(pushes, cases.CatEducation, period); ok {
			return "", "部门已推送本年度因学数据", nil
		}
		deadline, _ := cases.PushDeadline(cal, cases.CatEducation, period)
		if kind == cases.RemindEducation && today.After(deadline) {
			return "", lateNudgeNote, nil
		}
		year := deadline.Year
		if kind == cases.RemindEducation {
			return fmt.Sprintf("【数据推送提醒】%s：%d 年度因学（学费、住宿费、教科书费）数据请于 %s 前推送。谢谢！", r.Department, year, deadline), "", nil
		}
		if r.Target == cases.TargetOffice {
			return fmt.Sprintf("【推送逾期】%s尚未推送 %d 年度因学数据，已超过 %s 的推送时限，请督促。", r.Department, year, deadline), "", nil
		}
		return fmt.Sprintf("【推送逾期提醒】%s：%d 年度因学数据已超过 %s 的推送时限，仍未收到，请尽快推送。", r.Department, year, deadline), "", nil
	}
	return "", "", fmt.Errorf("not a push reminder: %q", r.Kind)
}

// missingPushes lists the department's monthly categories not pushed for period, by the
// rule the assessment uses too (cases.Pushed): a push counts for the period it names, never
// for the day it arrived.
func missingPushes(ctx context.Context, tx cases.ReminderTx, dept, period string) ([]string, error) {
	cats, err := tx.DepartmentCategories(ctx, dept)
	if err != nil {
		return nil, err
	}
	pushes, err := tx.DepartmentPushes(ctx, dept)
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, cat := range cases.MissingPushes(cats, pushes, period) {
		missing = append(missing, cat.Label())
	}
	return missing, nil
}

// composeTask writes a department task's reminder (docs/reminders.md), or says why it is not needed.
// It goes to the liaisons privately, so it may name the household; it never holds an ID
// number, a diagnosis or an amount all the same.
func (w *Worker) composeTask(ctx context.Context, tx cases.ReminderTx, r cases.StoredReminder, c *caseInfo, day cases.Date) (text, skip string, err error) {
	if r.TaskID == 0 || c == nil {
		return "", "提醒没有关联部门任务", nil
	}
	t, err := tx.TaskByID(ctx, r.TaskID)
	if err != nil {
		return "", "", fmt.Errorf("task %d of reminder %d: %w", r.TaskID, r.ID, err)
	}
	if t.Status != cases.TaskOpen {
		return "", TaskDoneNote, nil
	}
	cal := w.DB.Calendar()
	switch cases.ReminderKind(r.Kind) {
	case cases.RemindTaskDue:
		return fmt.Sprintf("【部门任务到期提醒】案件 %s 交办给%s的任务办理时限为 %s，还有 %d 个工作日到期。办理后请回复：办理 %s <本部门采取的措施>",
			c.household(), t.Department, t.DueOn, max(cal.WorkingDaysBetween(day, t.DueOn), 0), c.No), "", nil
	case cases.RemindTaskOverdue:
		return fmt.Sprintf("【部门任务逾期提醒】案件 %s 交办给%s的任务已超过办理时限 %s，请尽快办理并回复：办理 %s <本部门采取的措施>",
			c.household(), t.Department, t.DueOn, c.No), "", nil
	}
	return fmt.Sprintf("【部门任务逾期督办】%s的案件 %s 交办给%s的任务已超过办理时限 %s 仍未办理，请督促%s尽快办理。",
		c.Township, c.household(), t.Department, t.DueOn, t.Department), "", nil
}
