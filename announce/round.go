package announce

import (
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/cases"
)

// A round at county scale (docs/chat.md) stays readable and inside WeCom's limits (a member gets
// at most 30 app messages a minute, 1000 an hour): each township group gets one summary,
// each responsible cadre (and the liaisons of routed departments) one private summary with
// a link to their H5 task list, and a card per case only when that keeps them within
// MaxRoundPrivate messages.

// MaxRoundPrivate is the most private messages anyone gets for one round.
const MaxRoundPrivate = 10

// MaxCaseNotices is how many of a round's cases someone gets one by one (a card, or a text
// for 补充预警), besides the summary: beyond it, the summary and the task list alone.
const MaxCaseNotices = MaxRoundPrivate - 1

// roundGroupSummary is the township group's one message of a round: counts by village and
// category (nothing about any person), the link to the township's list and the
// responsible cadres.
func (a *Announcer) roundGroupSummary(n cases.TownshipNotice) []bot.Outgoing {
	if len(n.Cases) == 0 {
		return nil // only told of households that went elsewhere (elsewhereMessages)
	}
	t := tallyRound(n.Cases)
	var b strings.Builder
	if t.selfFound && t.created > 0 {
		// a household the township found itself: no 交办 step (docs/held-and-tasks.md)
		fmt.Fprintf(&b, "【乡镇自行发现】%s：新登记 %d 户", n.Township, t.created)
	} else {
		fmt.Fprintf(&b, "【防返贫预警交办】%s 批次 %s：新交办 %d 户", n.Round, n.Township, t.created-t.areas)
		if t.areas > 0 {
			fmt.Fprintf(&b, "，区域排查 %d 项", t.areas) // counted apart from households
		}
	}
	if len(t.mergedNos) > 0 {
		fmt.Fprintf(&b, "，在办案件补充预警 %d 户", len(t.mergedNos))
		if len(t.mergedNos) <= 10 { // case numbers only: the group may read them (docs/privacy.md)
			fmt.Fprintf(&b, "（%s）", strings.Join(t.mergedNos, "、"))
		}
	}
	b.WriteString(dueSentence(n.Cases, "办结"))
	if len(t.order) > 0 {
		b.WriteString("\n按村统计：")
	}
	head := b.String()
	var tail strings.Builder
	if a.linked() && a.Links.Base() != "" {
		fmt.Fprintf(&tail, "\n本乡镇清单（企业微信验证身份后查看）：%s", a.TownshipListURL(n.Township))
	}
	mention, who := responsibleCadres(n, t.responsible)
	if len(who) > 0 {
		tail.WriteString("\n责任干部：@" + strings.Join(who, " @") + "，各自负责的案件和任务清单已私信发送。")
	}
	tail.WriteString("\n群内不公开个人信息。")
	order := t.order
	if t.created <= MaxCaseNotices {
		// a small round: each case by number, masked name and village (docs/privacy.md)
		b.Reset()
		b.WriteString(strings.Replace(head, "\n按村统计：", "", 1))
		for _, d := range n.Cases {
			if !d.Merged {
				b.WriteString("\n" + GroupLine(d.Case, d.Area))
			}
		}
		order = nil
	}
	for i, name := range order {
		v := t.byVillage[name]
		line := fmt.Sprintf("\n%s %d 户（%s）", v.name, v.cases, countList(v.cats))
		if b.Len()+len(line)+tail.Len()+64 > TextLimit {
			fmt.Fprintf(&b, "\n……其余 %d 个村见清单", len(order)-i)
			break
		}
		b.WriteString(line)
	}
	b.WriteString(tail.String())
	// No fallback: without a group the cadres hear of their cases privately.
	o, ok := bot.ToGroup(fmt.Sprintf("round:group:%s:%s", n.Township, roundDigest(n.Cases)), bot.GroupChat{AppChat: n.AppChatID, Webhook: n.WebhookKey}, mention, nil, b.String())
	if !ok {
		return nil
	}
	return []bot.Outgoing{o}
}

// roundTally is a township's round counted for its group: new cases by village (most
// first) and category, the open cases that took a 补充预警, the cadres responsible.
type roundTally struct {
	created     int  // new cases, 区域排查 included
	areas       int  // of which 区域排查 (a township-wide task, not a household)
	selfFound   bool // every new case is one the township found itself (申报/走访)
	mergedNos   []string
	byVillage   map[string]*villageTally
	order       []string
	responsible map[string]bool
}

type villageTally struct {
	name  string
	cases int
	cats  map[string]int
}

func tallyRound(ds []cases.Dispatched) roundTally {
	t := roundTally{byVillage: map[string]*villageTally{}, responsible: map[string]bool{}, selfFound: true}
	for _, d := range ds {
		if d.Case.Responsible != "" {
			t.responsible[d.Case.Responsible] = true
		}
		if d.Merged {
			t.mergedNos = append(t.mergedNos, d.Case.No)
			continue
		}
		t.created++
		if d.Area {
			t.areas++
		}
		if src := d.Case.Source; src != cases.SourceApplied && src != cases.SourceVisit {
			t.selfFound = false
		}
		name := cases.GroupVillage(d.Case.Village)
		if name == "" || d.Area {
			name = "乡镇范围"
		}
		v := t.byVillage[name]
		if v == nil {
			v = &villageTally{name: name, cats: map[string]int{}}
			t.byVillage[name] = v
			t.order = append(t.order, name)
		}
		v.cases++
		for _, l := range strings.Split(GroupCategories(d.Case.Categories), "、") {
			if l != "" {
				v.cats[l]++
			}
		}
	}
	sort.Slice(t.order, func(i, j int) bool {
		if t.byVillage[t.order[i]].cases != t.byVillage[t.order[j]].cases {
			return t.byVillage[t.order[i]].cases > t.byVillage[t.order[j]].cases
		}
		return t.order[i] < t.order[j]
	})
	return t
}

// responsibleCadres are the township's cadres responsible for a case of the round, in org
// order: their userids to @ and their names.
func responsibleCadres(n cases.TownshipNotice, responsible map[string]bool) (mention, who []string) {
	names := cadreNames(n)
	for _, u := range n.Cadres {
		if responsible[u] {
			mention = append(mention, u)
			who = append(who, names[u])
		}
	}
	return mention, who
}

func cadreNames(n cases.TownshipNotice) map[string]string {
	m := make(map[string]string, len(n.Cadres))
	for i, u := range n.Cadres {
		if i < len(n.CadreNames) && n.CadreNames[i] != "" {
			m[u] = n.CadreNames[i]
		} else {
			m[u] = u
		}
	}
	return m
}

// countList writes counts as "因病 3、因学 1", largest first.
func countList(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, "、")
}

// roundRecipients lists who hears privately of a case: its responsible cadre (all the
// township's cadres when it has none) and, for a case routed to a 责任部门 that got no
// department task this round, its liaisons (a task is announced by taskMessages, within
// the same limit of messages).
func roundRecipients(n cases.TownshipNotice, d cases.Dispatched) []string {
	c := d.Case
	var ids []string
	if c.Responsible != "" {
		ids = append(ids, c.Responsible)
	} else {
		ids = append(ids, n.Cadres...)
	}
	if c.Department != "" && !hasTaskOf(d.Tasks, c.Department) {
		ids = append(ids, n.Liaisons[c.Department]...)
	}
	return ids
}

func hasTaskOf(ts []cases.Task, dept string) bool {
	for _, t := range ts {
		if t.Department == dept {
			return true
		}
	}
	return false
}

// roundPrivate is everyone's private messages of one township's round: a summary each and,
// for whoever has at most MaxCaseNotices cases in it, a card per new case and a text per
// 补充预警.
func (a *Announcer) roundPrivate(n cases.TownshipNotice) []bot.Outgoing {
	items := map[string][]cases.Dispatched{}
	var users []string
	for _, d := range n.Cases {
		for _, u := range roundRecipients(n, d) {
			if items[u] == nil {
				users = append(users, u)
			}
			items[u] = append(items[u], d)
		}
	}
	sort.Strings(users)
	var out []bot.Outgoing
	for _, u := range users {
		ds := items[u]
		digest := roundDigest(ds)
		one := len(ds) <= MaxCaseNotices
		mt, body := bot.Text(a.privateSummary(n, u, ds, one))
		out = append(out, bot.Outgoing{Key: fmt.Sprintf("round:private:%s:%s:%s", n.Township, u, digest),
			Channel: bot.ToUsers, Target: u, MsgType: mt, Body: body})
		if !one {
			continue
		}
		for _, d := range ds {
			if d.Merged {
				text := "【补充预警】您在办的案件有新的预警\n" + CaseNotice(d.Case, d.Warnings)
				if a.linked() {
					text += "\n核查表单：" + a.Links.URL(d.Case.No, u)
				}
				mt, body := bot.Text(bot.CutUTF8(text, TextLimit))
				out = append(out, bot.Outgoing{Key: fmt.Sprintf("dispatch:private:%s:%s:%s:1", d.Case.No, u, roundDigest([]cases.Dispatched{d})),
					Channel: bot.ToUsers, Target: u, MsgType: mt, Body: body})
				continue
			}
			if d.Case.Kind == cases.KindSweep { // 区域排查 (docs/registry.md): no household to verify, no result card
				text := "【区域排查】请组织逐村排查\n" + CaseNotice(d.Case, d.Warnings) +
					fmt.Sprintf("\n发现的困难户用“走访 <身份证号> <姓名> <类别> <情况>”逐户上报，排查完后回复：排查 %s 完成 <发现户数> <说明>", d.Case.No)
				mt, body := bot.Text(bot.CutUTF8(text, TextLimit))
				out = append(out, bot.Outgoing{Key: fmt.Sprintf("dispatch:private:%s:%s:%s:1", d.Case.No, u, roundDigest([]cases.Dispatched{d})),
					Channel: bot.ToUsers, Target: u, MsgType: mt, Body: body})
				continue
			}
			if d.Case.Kind == cases.KindInfo { // 人员变动: update the national system, no 核查, no card
				text := "【人员变动】请在全国系统中更新该户信息\n" + CaseNotice(d.Case, d.Warnings) +
					fmt.Sprintf("\n人员变动无需入户核查：完成后回复：录入 %s [日期]", d.Case.No)
				mt, body := bot.Text(bot.CutUTF8(text, TextLimit))
				out = append(out, bot.Outgoing{Key: fmt.Sprintf("dispatch:private:%s:%s:%s:1", d.Case.No, u, roundDigest([]cases.Dispatched{d})),
					Channel: bot.ToUsers, Target: u, MsgType: mt, Body: body})
				continue
			}
			out = append(out, a.Card(d.Case, u, "dispatch:"+roundDigest([]cases.Dispatched{d})))
		}
	}
	return out
}

// privateSummary is someone's one summary of a round: how many cases, where, by when, and
// the link to their task list (each case opens there with its details and form).
func (a *Announcer) privateSummary(n cases.TownshipNotice, user string, ds []cases.Dispatched, cards bool) string {
	var created, merged, info int
	byVillage := map[string]int{}
	var nos []string
	for _, d := range ds {
		if d.Case.Kind == cases.KindInfo && !d.Merged {
			info++
		}
		if d.Merged {
			merged++
		} else {
			created++
		}
		v := d.Case.Village
		if v == "" {
			v = d.Case.Township
		}
		byVillage[v]++
		nos = append(nos, d.Case.No)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "【防返贫预警交办】%s 批次，%s交给您负责的新案件 %d 件", n.Round, n.Township, created)
	if merged > 0 {
		fmt.Fprintf(&b, "，在办案件补充预警 %d 件", merged)
	}
	b.WriteString(dueSentence(ds, "入户核查并办结"))
	if info > 0 {
		fmt.Fprintf(&b, "其中人员变动 %d 件无需入户核查，在全国系统中更新后回复“录入 <编号>”即可。", info)
	}
	b.WriteString("\n按村：" + countList(byVillage))
	if a.linked() {
		b.WriteString("\n任务清单（每户详情和核查表单）：" + a.Links.TaskListURL(user))
	}
	if cards {
		b.WriteString("\n每件案件的核查卡片随后发给您。")
	} else {
		b.WriteString("\n发送“待办”可在聊天里查看，发送“表单 <编号>”可获取单件案件的核查卡片。")
	}
	if !a.linked() {
		list := "\n案件编号：" + strings.Join(nos, "、")
		if b.Len()+len(list) > TextLimit {
			list = bot.CutUTF8(list, TextLimit-b.Len()-16) + "……"
		}
		b.WriteString(list)
	}
	return b.String()
}

// dueSentence says by when a round's cases are due, each by its own due date: one date for
// all is "，请于 <date> 前<what>。"; several (a 信息变更 case due at the end of next month beside
// risk cases due in 20 working days, a 补充预警 whose case keeps its earlier date) are listed
// date by date with their case numbers (a group may read case numbers), nearest first.
func dueSentence(ds []cases.Dispatched, what string) string {
	type group struct {
		due  cases.Date
		nos  []string
		info int
	}
	var groups []*group
	byDue := map[cases.Date]*group{}
	for _, d := range ds {
		if d.Case.DueOn.IsZero() {
			continue
		}
		g := byDue[d.Case.DueOn]
		if g == nil {
			g = &group{due: d.Case.DueOn}
			byDue[d.Case.DueOn] = g
			groups = append(groups, g)
		}
		g.nos = append(g.nos, d.Case.No)
		if d.Case.Kind == cases.KindInfo {
			g.info++
		}
	}
	switch len(groups) {
	case 0:
		return "。"
	case 1:
		if groups[0].info == len(groups[0].nos) {
			return fmt.Sprintf("，请于 %s 前在全国系统中更新（录入）。", groups[0].due)
		}
		return fmt.Sprintf("，请于 %s 前%s。", groups[0].due, what)
	}
	sort.Slice(groups, func(i, j int) bool { return groups[i].due.Before(groups[j].due) })
	parts := make([]string, len(groups))
	for i, g := range groups {
		kind := what
		if g.info == len(g.nos) {
			kind = "在全国系统中更新（人员变动）"
		}
		nos := ""
		if len(g.nos) <= 10 {
			nos = "：" + strings.Join(g.nos, "、")
		}
		parts[i] = fmt.Sprintf("%s 前%s %d 件%s", g.due, kind, len(g.nos), nos)
	}
	return "。各案件时限不同：" + strings.Join(parts, "；") + "。"
}

// TownshipListURL is the township's list page for its group: no signature (a group link is
// no one's); WeCom's OAuth tells the page who opens it.
func (a *Announcer) TownshipListURL(township string) string {
	return strings.TrimRight(a.Links.Base(), "/") + "/tasks/?township=" + url.QueryEscape(township)
}
