package announce

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/cases"
)

// TextLimit keeps text messages under WeCom's 2048 bytes with room for a part marker.
const TextLimit = 1900

// Announcer turns a dispatch round into messages (round.go): one masked summary per
// township group, a summary with the H5 task list for every responsible cadre — and the
// 责任部门's liaisons — and a card per case when that keeps them within MaxRoundPrivate.
type Announcer struct {
	Links Links // nil (or not Enabled): cards carry no link to the H5 form
}

// Links makes the signed links that messages carry (handlers.FormLinks).
type Links interface {
	// Enabled is false for a nil set of links: the messages then carry none.
	Enabled() bool
	// Base is the service's public address, "" when it has none.
	Base() string
	URL(caseNo, user string) string
	TaskListURL(user string) string
}

// linked tells whether the messages carry links.
func (a *Announcer) linked() bool { return a.Links != nil && a.Links.Enabled() }

// Announce queues the round's messages on the round's transaction (cases.Announcer).
func (a *Announcer) Announce(ctx context.Context, tx cases.Tx, notices []cases.TownshipNotice) error {
	return Enqueue(ctx, tx, a.Messages(notices))
}

// enqueue queues bot messages on a store's unit of work.
func Enqueue(ctx context.Context, tx cases.Tx, msgs []bot.Outgoing) error {
	out := make([]cases.Outgoing, len(msgs))
	for i, m := range msgs {
		out[i] = m
	}
	return tx.Enqueue(ctx, out...)
}

// Messages builds every message of a round. Keys are derived from the cases and warnings
// they report, so queueing the same round twice sends nothing twice.
func (a *Announcer) Messages(notices []cases.TownshipNotice) []bot.Outgoing {
	var out []bot.Outgoing
	for _, n := range notices {
		out = append(out, a.roundGroupSummary(n)...)
		out = append(out, elsewhereMessages(n)...)
		out = append(out, a.roundPrivate(n)...)
	}
	return append(out, a.taskMessages(notices)...)
}

// roundDigest names a set of dispatched cases and warnings for idempotency keys.
func roundDigest(ds []cases.Dispatched) string {
	h := sha256.New()
	for _, d := range ds {
		fmt.Fprintf(h, "%s:", d.Case.No)
		for _, w := range d.Warnings {
			fmt.Fprintf(h, "%d,", w.ID)
		}
		h.Write([]byte{';'})
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// GroupLine is how a case appears in a group chat (docs/privacy.md): number, masked head, village,
// risk categories by their group label — never an ID number, disease or amount.
func GroupLine(c cases.Case, area bool) string {
	who := cases.MaskName(c.HeadName)
	if area || who == "" {
		who = "区域排查"
	}
	return fmt.Sprintf("%s %s（%s）｜%s｜%s", c.No, who, c.GroupPlace(), GroupCategories(c.Categories), c.Kind)
}

// groupCategories names categories by their group labels, in the seed's order.
func GroupCategories(cs []cases.Category) string {
	has := map[cases.Category]bool{}
	for _, c := range cs {
		has[c] = true
	}
	seen := map[string]bool{}
	var ls []string
	for _, c := range cases.Categories {
		if !has[c] {
			continue
		}
		if l := c.GroupLabel(); !seen[l] {
			seen[l] = true
			ls = append(ls, l)
		}
	}
	return strings.Join(ls, "、")
}

// SplitText packs lines into messages of at most limit bytes, the header on the first and
// the footer on the last, marking parts (1/3) when there are several.
func SplitText(header string, lines []string, footer string, limit int) []string {
	var parts []string
	cur := header
	for _, l := range lines {
		if len(cur)+1+len(l) > limit-16 && cur != "" {
			parts = append(parts, cur)
			cur = ""
		}
		if cur != "" {
			cur += "\n"
		}
		cur += l
	}
	if cur != "" && len(cur)+1+len(footer) > limit-16 {
		parts = append(parts, cur)
		cur = ""
	}
	if cur != "" {
		cur += "\n"
	}
	parts = append(parts, cur+footer)
	if len(parts) > 1 {
		for i := range parts {
			parts[i] = fmt.Sprintf("（%d/%d）", i+1, len(parts)) + parts[i]
		}
	}
	return parts
}

// MaxTaskNotices is how many department tasks of one round a department's liaisons are told
// of one by one; beyond it they get one summary (WeCom lets a member receive 30 app messages a
// minute) and read each task with 查看.
const MaxTaskNotices = 10

// taskMessages tells each department's liaisons, privately, of the tasks the round gave it.
func (a *Announcer) taskMessages(notices []cases.TownshipNotice) []bot.Outgoing {
	type item struct {
		d cases.Dispatched
		t cases.Task
	}
	byDept := map[string][]item{}
	liaisons := map[string][]string{}
	var depts []string
	for _, n := range notices {
		for _, d := range n.Cases {
			for _, t := range d.Tasks {
				if byDept[t.Department] == nil {
					depts = append(depts, t.Department)
				}
				byDept[t.Department] = append(byDept[t.Department], item{d, t})
				liaisons[t.Department] = n.Liaisons[t.Department]
			}
		}
	}
	sort.Strings(depts)
	var out []bot.Outgoing
	for _, dept := range depts {
		items := byDept[dept]
		if len(items) <= MaxTaskNotices {
			for _, it := range items {
				msgtype, body := bot.Text(TaskNotice(it.d.Case, it.t, it.d.Warnings))
				for _, u := range liaisons[dept] {
					out = append(out, bot.Outgoing{Key: fmt.Sprintf("task:%d:%s", it.t.ID, u),
						Channel: bot.ToUsers, Target: u, MsgType: msgtype, Body: body})
				}
			}
			continue
		}
		lines := make([]string, len(items))
		h := sha256.New()
		for i, it := range items {
			lines[i] = fmt.Sprintf("%d. %s（%s%s）期限 %s", i+1, it.d.Case.No, it.d.Case.Township, it.d.Case.Village, it.t.DueOn)
			fmt.Fprintf(h, "%d,", it.t.ID)
		}
		digest := hex.EncodeToString(h.Sum(nil))[:16]
		header := fmt.Sprintf("【部门交办】本批次交办给%s的任务 %d 项：", dept, len(items))
		footer := "发送“查看 <编号>”看每户详情，办理后请回复：办理 <编号> <本部门采取的措施>；发送“待办”随时查看未办理的任务。"
		for i, p := range SplitText(header, lines, footer, TextLimit) {
			msgtype, body := bot.Text(p)
			for _, u := range liaisons[dept] {
				out = append(out, bot.Outgoing{Key: fmt.Sprintf("tasks:%s:%s:%s:%d", dept, digest, u, i+1),
					Channel: bot.ToUsers, Target: u, MsgType: msgtype, Body: body})
			}
		}
	}
	return out
}

// TaskNotice tells a department's liaison, privately, what its task on a case is: the
// warnings that name the department (category, 问题类型 and name), nothing of the others. The
// rows' details (问题描述) go out only on request, by 查看 (docs/privacy.md, "Who may see").
func TaskNotice(c cases.Case, t cases.Task, ws []cases.WarningFact) string {
	var b strings.Builder
	fmt.Fprintf(&b, "【部门交办】案件 %s（%s%s", c.No, c.Township, c.Village)
	if c.HeadName != "" {
		fmt.Fprintf(&b, "，户主 %s", c.HeadName)
	}
	fmt.Fprintf(&b, "）交办给%s办理，办理时限 %s。", t.Department, t.DueOn)
	n := 0
	for _, w := range ws {
		if cases.TaskDepartment(w) != t.Department {
			continue
		}
		n++
		fmt.Fprintf(&b, "\n%d. %s", n, w.Category.Label())
		if p := cases.ProblemType(w); p != "" {
			fmt.Fprintf(&b, "·%s", p)
		}
		if w.Name != "" {
			fmt.Fprintf(&b, " %s", w.Name)
		}
	}
	if t.Note != "" {
		// typed by the office, pushed unasked: a full ID number in it goes out masked, as
		// everywhere in pushed messages (docs/privacy.md); 查看 shows it whole
		fmt.Fprintf(&b, "\n县扶贫办说明：%s", bot.MaskIDNumbers(t.Note))
	}
	fmt.Fprintf(&b, "\n发送“查看 %s”看问题描述等详情；办理后请回复：办理 %s <本部门采取的措施>", c.No, c.No)
	return b.String()
}

// CaseDetails is the full private view of a case and its warnings: for the responsible
// cadre in private chat or on the authenticated form page, never for a group.
func CaseDetails(c cases.Case, ws []cases.WarningFact) string {
	var b strings.Builder
	fmt.Fprintf(&b, "编号：%s（%s）\n", c.No, c.Kind)
	if c.HeadName != "" {
		fmt.Fprintf(&b, "户主：%s %s\n", c.HeadName, c.HeadIDNumber)
	} else {
		b.WriteString("户主：区域排查，无具体人员\n")
	}
	if c.HouseholdNo != "" {
		fmt.Fprintf(&b, "户编号：%s\n", c.HouseholdNo)
	}
	fmt.Fprintf(&b, "地址：%s%s\n", c.Township, c.Village)
	if c.Department != "" {
		fmt.Fprintf(&b, "责任部门：%s\n", c.Department)
	}
	fmt.Fprintf(&b, "状态：%s；办结时限：%s", c.Status.Label(), c.DueOn)
	if c.Result != "" {
		fmt.Fprintf(&b, "\n核查结论：%s", c.Result)
		if c.Reason != "" {
			fmt.Fprintf(&b, "（%s）", c.Reason)
		}
	}
	if c.EnteredOn != nil {
		fmt.Fprintf(&b, "\n录入日期：%s", c.EnteredOn)
	}
	if len(ws) > 0 {
		b.WriteString("\n预警：")
	}
	for i, w := range ws {
		fmt.Fprintf(&b, "\n%d. %s", i+1, w.Category.Label())
		if w.Name != "" {
			fmt.Fprintf(&b, " %s %s", w.Name, w.IDNumber)
		}
		if w.Amount != "" {
			fmt.Fprintf(&b, " 金额 %s 元", w.Amount)
		}
		if extra := detailText(w.Detail); extra != "" {
			b.WriteString(" " + extra)
		}
	}
	return b.String()
}

// detailText lists a row's own fields other than who and where.
// CaseNotice is what a pushed private message (a 补充预警, a 区域排查, a 人员变动, a case
// moved in) says of a case: names with masked ID numbers and the warnings' categories; the
// full ID numbers and the rows' details go out only on request (查看, the case page), where
// the view is recorded (docs/privacy.md).
func CaseNotice(c cases.Case, ws []cases.WarningFact) string {
	var b strings.Builder
	fmt.Fprintf(&b, "编号：%s（%s）\n", c.No, c.Kind)
	if c.HeadName != "" {
		fmt.Fprintf(&b, "户主：%s %s\n", c.HeadName, cases.MaskIDNumber(c.HeadIDNumber))
	} else {
		b.WriteString("户主：区域排查，无具体人员\n")
	}
	fmt.Fprintf(&b, "地址：%s%s\n", c.Township, c.Village)
	if c.Department != "" {
		fmt.Fprintf(&b, "责任部门：%s\n", c.Department)
	}
	fmt.Fprintf(&b, "状态：%s；办结时限：%s", c.Status.Label(), c.DueOn)
	if len(ws) > 0 {
		b.WriteString("\n预警：")
	}
	for i, w := range ws {
		fmt.Fprintf(&b, "\n%d. %s", i+1, w.Category.Label())
		if w.Name != "" {
			fmt.Fprintf(&b, " %s %s", w.Name, cases.MaskIDNumber(w.IDNumber))
		}
	}
	fmt.Fprintf(&b, "\n完整身份证号和预警详情：私聊发送“查看 %s”或打开核查表单。", c.No)
	return b.String()
}

func detailText(d map[string]string) string {
	skip := map[string]bool{"姓名": true, "身份证号": true, "乡镇": true, "村": true, "户主身份证号": true}
	var keys []string
	for k, v := range d {
		if !skip[k] && strings.TrimSpace(v) != "" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "：" + d[k]
	}
	return strings.Join(parts, "，")
}

// Card option ids of the result question.
var ResultOptions = []struct {
	ID     string
	Result cases.Result
}{{"include", cases.ResultInclude}, {"monitored", cases.ResultMonitored}, {"exclude", cases.ResultExclude}}

// TaskID makes a card's task_id: the case number, then a digest of user and purpose, so it
// is unique per card, at most 128 bytes of [0-9a-zA-Z_-@], and leads back to the case.
func TaskID(caseNo, user, purpose string) string {
	h := sha256.Sum256([]byte(user + "\x00" + purpose))
	return caseNo + "_" + hex.EncodeToString(h[:])[:12]
}

// CaseNoOfTask reads the case number back from a task_id.
func CaseNoOfTask(taskID string) string {
	if i := strings.LastIndexByte(taskID, '_'); i > 0 {
		return taskID[:i]
	}
	return taskID
}

// Card is the mini-form (multiple_interaction template card) for one case and user.
func (a *Announcer) Card(c cases.Case, user, purpose string) bot.Outgoing {
	task := TaskID(c.No, user, purpose)
	body, _ := json.Marshal(a.CardBody(c, user, task, "", ""))
	return bot.Outgoing{Key: "card:" + task, Channel: bot.ToUsers, Target: user,
		MsgType: "template_card", Body: body}
}

// cardBody is the card's template: with the result choices and the submit button, a note
// (sub title) when one is given, and — when done is set — the button greyed out with done
// as its text (replace_text), so the card has nothing left to press.
func (a *Announcer) CardBody(c cases.Case, user, task, note, done string) map[string]any {
	options := make([]map[string]string, len(ResultOptions))
	// Nothing is preselected while the case waits for its visit: a tap on 提交 must never
	// record 纳入 by default. A handled case's card shows its recorded result.
	selected := ""
	for i, o := range ResultOptions {
		options[i] = map[string]string{"id": o.ID, "text": o.Result.Label()}
		if o.Result == c.Result && done != "" {
			selected = o.ID
		}
	}
	desc := fmt.Sprintf("%s %s%s · %s", c.HeadName, c.Township, c.Village, GroupCategories(c.Categories))
	if c.HeadName == "" {
		desc = fmt.Sprintf("区域排查 %s%s · %s", c.Township, c.Village, GroupCategories(c.Categories))
	}
	resultSelect := map[string]any{"question_key": "result", "title": "核查结论", "option_list": options}
	if selected != "" {
		resultSelect["selected_id"] = selected
	}
	card := map[string]any{
		"card_type":     "multiple_interaction",
		"source":        map[string]any{"desc": "防返贫预警助手"},
		"main_title":    map[string]any{"title": c.No + " 入户核查", "desc": desc},
		"task_id":       task,
		"select_list":   []map[string]any{resultSelect},
		"submit_button": map[string]any{"text": "提交结论", "key": "submit_" + c.No},
	}
	if c.HeadName != "" { // private: the card goes to one responsible person
		card["horizontal_content_list"] = []map[string]any{
			{"keyname": "户主", "value": c.HeadName + " " + cases.MaskIDNumber(c.HeadIDNumber)},
			{"keyname": "预警", "value": CategoryNames(c.Categories)},
			{"keyname": "办结时限", "value": c.DueOn.String()},
		}
	}
	if note != "" {
		card["sub_title_text"] = note
	}
	if done != "" {
		card["replace_text"] = done
	}
	if a.linked() && (done == "" || c.Status.Open()) {
		card["jump_list"] = []map[string]any{{"type": 1, "title": "打开核查表单（理由、录入日期）", "url": a.Links.URL(c.No, user)}}
	}
	return card
}

// categoryNames lists categories by their full (private) labels.
func CategoryNames(cs []cases.Category) string {
	ls := make([]string, len(cs))
	for i, c := range cs {
		ls[i] = c.Label()
	}
	return strings.Join(ls, "、")
}
