package cases

import (
	"testing"
	"unicode/utf8"
)

func TestEveryReminderKindHasAChineseLabel(t *testing.T) {
	for _, k := range []ReminderKind{RemindCaseDue, RemindCaseOverdue, RemindCaseEscalate, RemindPush, RemindPushLate,
		RemindEducation, RemindEduLate, RemindDispatch, RemindMonthEnd, RemindFeedback, RemindDigest,
		RemindTaskDue, RemindTaskOverdue, RemindTaskEscalate} {
		l := k.Label()
		if l == string(k) || !utf8.ValidString(l) || l[0] < 0x80 {
			t.Errorf("%s has no Chinese label: %q", k, l)
		}
	}
}
