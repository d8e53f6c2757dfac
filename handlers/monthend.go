package handlers

import (
	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/cases"
)

// MonthEndMessages are the office's month-end feedback summary (docs/dispatch.md), one private
// message per office user, keyed by month and user so that queueing it twice sends it once.
// The reminders worker calls it on the month's last working day (Cal.LastWorkingDayOfMonth)
// with the store's MonthEndSummary and UsersOf(cases.RoleOffice, "", "").
func MonthEndMessages(s cases.MonthEndSummary, office []string) []bot.Outgoing {
	text := s.Text()
	out := make([]bot.Outgoing, 0, len(office))
	for _, u := range office {
		mt, body := bot.Text(text)
		out = append(out, bot.Outgoing{Key: "monthend:" + s.Month + ":" + u, Channel: bot.ToUsers, Target: u, MsgType: mt, Body: body})
	}
	return out
}
