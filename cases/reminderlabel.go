package cases

// Label is the reminder kind's Chinese name, for people (the demo's console, reports).
func (k ReminderKind) Label() string {
	switch k {
	case RemindCaseDue:
		return "到期提醒"
	case RemindCaseOverdue:
		return "逾期提醒"
	case RemindCaseEscalate:
		return "逾期督办"
	case RemindPush:
		return "推送提醒"
	case RemindPushLate:
		return "推送逾期通报"
	case RemindEducation:
		return "教育数据推送提醒"
	case RemindEduLate:
		return "教育数据逾期通报"
	case RemindDispatch:
		return "交办提醒"
	case RemindMonthEnd:
		return "月末结果反馈提醒"
	case RemindFeedback:
		return "结果反馈通报"
	case RemindResults:
		return "结果运用反馈"
	case RemindDigest:
		return "每日汇总"
	case RemindTaskDue:
		return "部门任务到期提醒"
	case RemindTaskOverdue:
		return "部门任务逾期提醒"
	case RemindTaskEscalate:
		return "部门任务逾期督办"
	}
	return string(k)
}
