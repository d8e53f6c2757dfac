package handlers

import (
	"context"
	"fmt"
	"github.com/fangpin/fangpin/announce"
	"sort"
	"strings"

	"github.com/fangpin/fangpin/cases"
)

// todoCommand is 待办: the open cases of my township (cadres) or department (liaisons),
// nearest due first. In a group names are masked.
func (h *Cases) todoCommand() *Command {
	return &Command{
		Name: "待办", Roles: []cases.Role{cases.RoleCadre, cases.RoleLiaison},
		Usage: "待办", Summary: "本乡镇（本部门）未办结的案件，按期限排序",
		Run: func(ctx context.Context, req Request) (string, error) {
			if req.Actor.Role == cases.RoleLiaison {
				return h.departmentTodo(ctx, req)
			}
			f := cases.CaseFilter{OpenOnly: true}
			scope := req.Actor.Township
			if req.Actor.Role == cases.RoleLiaison {
				f.Department, scope = req.Actor.Department, req.Actor.Department
			} else {
				f.Township = req.Actor.Township
			}
			cs, err := h.Ledger.ListCases(ctx, f)
			if err != nil {
				return "", err
			}
			if len(cs) == 0 {
				return fmt.Sprintf("%s目前没有未办结的案件。", scope), nil
			}
			today := cases.DateOf(h.now())
			// the cases the cadre is responsible for first, each part nearest due first
			mine := 0
			sort.SliceStable(cs, func(i, j int) bool {
				return cs[i].Responsible == req.Actor.UserID && cs[j].Responsible != req.Actor.UserID
			})
			for _, c := range cs {
				if c.Responsible == req.Actor.UserID {
					mine++
				}
			}
			var b strings.Builder
			if mine > 0 {
				fmt.Fprintf(&b, "%s未办结案件 %d 件，您负责的 %d 件在前（各按办结时限排序）：", scope, len(cs), mine)
			} else {
				fmt.Fprintf(&b, "%s未办结案件 %d 件（按办结时限排序）：", scope, len(cs))
			}
			for i, c := range cs {
				if i == 30 {
					fmt.Fprintf(&b, "\n……另有 %d 件，请发送“查看 <编号>”逐件查看。", len(cs)-30)
					break
				}
				who, place := c.HeadName, c.Place()
				if req.Msg.InGroup() {
					who, place = cases.MaskName(c.HeadName), c.GroupPlace()
				}
				if who == "" {
					who = "区域排查"
				}
				fmt.Fprintf(&b, "\n%d. %s %s（%s）%s，期限 %s，%s", i+1, c.No, who, place, announce.GroupCategories(c.Categories), c.DueOn, statusLine(c, today, h.cal()))
				if c.Responsible == req.Actor.UserID {
					b.WriteString("【我负责】")
				}
			}
			b.WriteString("\n登记结论：核查 <编号> 纳入|已在监测|不纳入 <说明>")
			if !req.Msg.InGroup() && h.links() != nil {
				b.WriteString("\n任务清单（每户详情和核查表单）：" + h.links().TaskListURL(req.Actor.UserID))
			}
			return b.String(), nil
		},
	}
}

// departmentTodo is 待办 for a liaison: the department's open tasks, nearest due first.
func (h *Cases) departmentTodo(ctx context.Context, req Request) (string, error) {
	dept := req.Actor.Department
	ts, err := h.Ledger.OpenTasks(ctx, dept)
	if err != nil {
		return "", err
	}
	if len(ts) == 0 {
		return fmt.Sprintf("%s目前没有未办理的部门任务。", dept), nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s未办理的部门任务 %d 项（按办理时限排序）：", dept, len(ts))
	for _, l := range taskLines(ts, cases.DateOf(h.now()), h.cal(), 30) {
		b.WriteString("\n" + l)
	}
	b.WriteString("\n办理后请发送：办理 <编号> <本部门采取的措施>；发送“查看 <编号>”看详情。")
	return b.String(), nil
}
