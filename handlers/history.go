package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/fangpin/fangpin/cases"
)

// history renders a case's audit trail for people: who did what, by name and role
// (城关干部甲（乡村干部）), with the result, the reason and the supervisor's note each step
// recorded, so an earlier conclusion stays readable after a return. Never a login ID.
func (h *Cases) history(ctx context.Context, evs []cases.Event) []string {
	names := map[string]string{}
	var out []string
	for _, e := range evs {
		who, ok := names[e.Actor]
		if !ok {
			who = h.actorName(ctx, e)
			names[e.Actor] = who
		}
		label := eventLabel(e.Action)
		if e.Action == string(cases.ActDispatch) && cases.Role(e.Role) == cases.RoleCadre {
			label = "登记（乡镇自行发现，无交办）" // a 申报/走访 has no 交办 step (docs/held-and-tasks.md)
		}
		line := fmt.Sprintf("%s %s %s", e.At.In(cases.Shanghai).Format("2006-01-02 15:04"), who, label)
		if e.To != "" && e.To != e.From {
			line += " → " + cases.Status(e.To).Label()
		}
		if d := eventDetail(e); d != "" {
			line += "：" + d
		}
		out = append(out, line)
	}
	return out
}

// actorName is how the trail names who acted: name and role, 系统 for the service itself.
func (h *Cases) actorName(ctx context.Context, e cases.Event) string {
	role := cases.Role(e.Role)
	if e.Actor == cases.System.UserID || e.Actor == "" {
		if e.Action == string(cases.ActDispatch) || e.Action == string(cases.ActAddWarnings) {
			return "县扶贫办（系统）"
		}
		return "系统"
	}
	if h.Users != nil {
		if a, err := h.Users.Actor(ctx, e.Actor); err == nil && a.Name != "" {
			return fmt.Sprintf("%s（%s）", a.Name, a.Role.Label())
		}
	}
	if role != "" {
		return "已不在名单中的" + role.Label()
	}
	return "已不在名单中的用户"
}

func eventLabel(action string) string {
	switch cases.Action(action) {
	case cases.ActSpotPass:
		return "抽查合格"
	case cases.ActSpotFail:
		return "抽查不合格"
	}
	return actionLabel(action)
}

// eventDetail is what a step recorded: the result and its 说明, the entry date, the
// supervisor's note and the new due date of a return.
func eventDetail(e cases.Event) string {
	var d map[string]any
	if len(e.Detail) == 0 || json.Unmarshal(e.Detail, &d) != nil {
		return ""
	}
	str := func(k string) string { s, _ := d[k].(string); return strings.TrimSpace(s) }
	var parts []string
	switch cases.Action(e.Action) {
	case cases.ActSpotPass, cases.ActSpotFail:
		if s := str("reason"); s != "" {
			parts = append(parts, "督查意见："+s)
		}
		if s := str("due_on"); s != "" {
			parts = append(parts, "新的办结时限 "+s)
		}
	default:
		if s := str("result"); s != "" {
			parts = append(parts, "结论“"+s+"”")
		}
		if s := str("reason"); s != "" {
			parts = append(parts, "说明："+s)
		}
		if s := str("entered_on"); s != "" {
			parts = append(parts, "录入日期 "+s)
		}
	}
	return strings.Join(parts, "，")
}

// personName is a user's name and role, "" for no one or someone the org no longer has.
func (h *Cases) personName(ctx context.Context, userid string) string {
	if userid == "" || h.Users == nil {
		return ""
	}
	a, err := h.Users.Actor(ctx, userid)
	if err != nil || a.Name == "" {
		return ""
	}
	return fmt.Sprintf("%s（%s）", a.Name, a.Role.Label())
}
