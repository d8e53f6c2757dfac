package handlers

import (
	"context"
	"fmt"

	"github.com/fangpin/fangpin/cases"
)

// formCommand is 表单 <编号>: the mini-form card (and the form link) again, in private.
func (h *Cases) formCommand() *Command {
	const usage = "表单 <编号>"
	return &Command{
		Name: "表单", Roles: []cases.Role{cases.RoleCadre}, Public: 1, Usage: usage, Example: "表单 YJ202611-0001",
		Summary: "把这件案件的核查表单私信发给我",
		Run: func(ctx context.Context, req Request) (string, error) {
			no, err := caseArg(req, usage)
			if err != nil {
				return "", err
			}
			c, err := h.viewable(ctx, no, req.Actor)
			if err != nil {
				return "", err
			}
			if !c.Status.Open() {
				return "", cases.Errorf(cases.EIllegal, "案件 %s 已办结，不需要再填表单。", c.No)
			}
			if h.Announce == nil {
				return "", fmt.Errorf("表单: no announcer configured")
			}
			if err := h.Out.Enqueue(ctx, h.Announce.Card(c, req.Actor.UserID, "form:"+req.Msg.ID)); err != nil {
				return "", err
			}
			s := fmt.Sprintf("已把案件 %s 的核查表单私信发给您，请在与我的单聊里查看。", c.No)
			if h.links() != nil && !req.Msg.InGroup() {
				s += "\n也可以打开网页表单：" + h.links().URL(c.No, req.Actor.UserID)
			}
			return s, nil
		},
	}
}
