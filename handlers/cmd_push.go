package handlers

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/templatexlsx"
)

// PushStore is what the department push commands (模板, 期间) need from the store.
type PushStore interface {
	PushDepartments(ctx context.Context) ([]cases.OrgDepartment, error)
	TownshipNames(ctx context.Context) (map[string]string, error)
	// RefileBatch files an undispatched push under another period; dept "" for the office.
	RefileBatch(ctx context.Context, id, dept, period string) (cases.Refiled, error)
	Today() cases.Date
}

// Pushes holds the department push commands' dependencies. Register its Commands on the Router.
type Pushes struct {
	Store PushStore
	Out   Queue // the templates' file messages, their bytes stored with them
}

// Commands returns 模板 (liaisons) and 期间 (liaisons, office).
func (p *Pushes) Commands() []*Command {
	return []*Command{
		{Name: "模板", Roles: []cases.Role{cases.RoleLiaison}, Usage: "模板",
			Summary: "把本部门各推送类别的 Excel 模板（表头、示例行、填写说明）私信发给我", Run: p.templates},
		{Name: "期间", Aliases: []string{"期次"}, Roles: []cases.Role{cases.RoleLiaison, cases.RoleOffice}, Public: 2,
			Usage: "期间 <批次号> YYYY-MM", Example: "期间 B20261203-3f2a9c1b7e0d 2026-10",
			Summary: "把尚未交办的一次推送改到另一个期次（教育类可写学年，如 2026-2027）", Run: p.refile},
	}
}

func (p *Pushes) templates(ctx context.Context, req Request) (string, error) {
	depts, err := p.Store.PushDepartments(ctx)
	if err != nil {
		return "", err
	}
	var cats []cases.Category
	for _, d := range depts {
		if d.Name == req.Actor.Department {
			cats = d.Categories
		}
	}
	if len(cats) == 0 {
		return "", cases.Errorf(cases.ENotFound, "组织文件中%s没有负责推送的风险类别，请联系县防返贫办。", req.Actor.Department)
	}
	// The example row names one of the county's townships, the same one every time.
	towns, err := p.Store.TownshipNames(ctx)
	if err != nil {
		return "", err
	}
	names := make([]string, 0, len(towns))
	for _, n := range towns {
		names = append(names, n)
	}
	sort.Strings(names)
	opt := templatexlsx.Options{Today: p.Store.Today()}
	if len(names) > 0 {
		opt.Township = names[0]
	}
	files := make([]bot.Outgoing, 0, len(cats))
	labels := make([]string, 0, len(cats))
	for _, c := range cats {
		var buf bytes.Buffer
		if err := templatexlsx.Department(&buf, c, opt); err != nil {
			return "", err
		}
		mt, body, data := bot.File(templatexlsx.Filename(c), buf.Bytes())
		files = append(files, bot.Outgoing{Key: "template:" + req.Msg.ID + ":" + string(c), Channel: bot.ToUsers,
			Target: req.Actor.UserID, MsgType: mt, Body: body, File: data})
		labels = append(labels, fmt.Sprintf("%s（%s）：%s", c.Label(), c, templatexlsx.Deadline(c)))
	}
	if err := p.Out.Enqueue(ctx, files...); err != nil {
		return "", err
	}
	return fmt.Sprintf("已把%s的 %d 个推送模板私信发给您，每个含表头、一行虚构示例和“说明”页：\n%s\n填好后把文件直接发给我即可。",
		req.Actor.Department, len(files), strings.Join(labels, "\n")), nil
}

func (p *Pushes) refile(ctx context.Context, req Request) (string, error) {
	if len(req.Args) != 2 {
		return "", cases.Errorf(cases.EInvalid, "请这样写：期间 <批次号> YYYY-MM，例如：期间 B20261203-3f2a9c1b7e0d 2026-10")
	}
	id := strings.ToLower(req.Args[0])
	if strings.HasPrefix(id, "b") {
		id = "B" + id[1:]
	}
	dept := req.Actor.Department
	if req.Actor.Role == cases.RoleOffice {
		dept = ""
	}
	r, err := p.Store.RefileBatch(ctx, id, dept, req.Args[1])
	if err != nil {
		return "", err
	}
	return refiledText(r), nil
}

// refiledText tells a push's new period, after 期间 or the reply card's button.
func refiledText(r cases.Refiled) string {
	b := r.Batch
	msg := fmt.Sprintf("已把批次 %s（%s，%s）从 %s 期改为 %s 期。", b.ID, b.Department, b.Category.Label(),
		cases.PeriodLabel(b.Category, r.From), cases.PeriodLabel(b.Category, b.Period))
	if r.Replaced > 0 {
		msg += fmt.Sprintf("该期此前推送中同一人的 %d 行已由本批次替换。", r.Replaced)
	}
	if b.Late {
		msg += "按新期次，本次推送晚于推送时限，计入部门推送时效考核。"
	}
	return msg
}
