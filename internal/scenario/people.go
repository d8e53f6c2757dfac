package scenario

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/internal/simtest"
)

// How long a person waits for the bot's answer.
const replyWait = 30 * time.Second

// Dispatch is the county office's 集中交办 of the day's month.
func Dispatch(ctx context.Context, p *Play, day cases.Date) error {
	return p.OfficeCommand(ctx, day, "交办 "+day.MonthKey())
}

// OfficeCommand types a command in the private chat with the app, as 赵六 of the county office,
// and prints the answer.
func (p *Play) OfficeCommand(ctx context.Context, day cases.Date, text string) error {
	before := len(p.Sim.SentTo("zhaoliu"))
	if _, err := p.Sim.SayPrivately(ctx, "zhaoliu", text); err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, replyWait)
	defer cancel()
	if err := simtest.WaitPrivate(wctx, p.Sim, "zhaoliu", before); err != nil {
		return err
	}
	sent := p.Sim.SentTo("zhaoliu")
	p.say("  %s 县扶贫办：%s\n    → %s", day, text, indent(sent[len(sent)-1].Content))
	return nil
}

func indent(s string) string { return strings.ReplaceAll(s, "\n", "\n      ") }

var reasons = []string{
	"家庭年人均纯收入高于监测标准，医疗费用已由大病保险和医疗救助报销，无返贫风险",
	"入户核实，家中两名劳动力稳定务工，收入可覆盖支出，暂无返贫风险",
	"住房已于今年改造完成，饮水安全达标，不存在“两不愁三保障”问题",
}

// AnswerThisMonth lets cadres answer a share of the open cases of the day's month.
func AnswerThisMonth(share float64) func(context.Context, *Play, cases.Date) error {
	return func(ctx context.Context, p *Play, day cases.Date) error {
		return p.Answer(ctx, day, day.MonthKey(), share, false)
	}
}

// AnswerLate lets cadres answer a share of round's cases that are still open, overdue.
func AnswerLate(round string, share float64) func(context.Context, *Play, cases.Date) error {
	return func(ctx context.Context, p *Play, day cases.Date) error {
		return p.Answer(ctx, day, round, share, true)
	}
}

// Answer lets cadres record results for a share of round's open cases: by command in the
// group, by tapping the card, on the form page or by private command, in turn — some
// taken in, some not, with reasons.
func (p *Play) Answer(ctx context.Context, day cases.Date, round string, share float64, late bool) error {
	open, err := p.Store.Cases(ctx, round, cases.StatusDispatched, cases.StatusReturned)
	if err != nil {
		return err
	}
	n := int(float64(len(open))*share + 0.5)
	done := 0
	for i, c := range open[:n] {
		cadres, err := p.Store.UsersOf(ctx, cases.RoleCadre, c.Township, "")
		if err != nil {
			return err
		}
		if len(cadres) == 0 {
			continue
		}
		cadre := cadres[i%len(cadres)]
		if c.Responsible != "" {
			cadre = c.Responsible // the case's responsible cadre has its card and summary
		}
		if c.Kind == cases.KindSweep { // 区域排查: 排查 … 完成, no 核查
			if err := p.finishSweep(ctx, c, cadre); err != nil {
				return fmt.Errorf("%s 办理 %s：%w", cadre, c.No, err)
			}
			done++
			continue
		}
		if c.Kind == cases.KindInfo {
			// 信息变更 (人员变动): the township updates the national system and records 录入; no 核查.
			if err := p.ByPrivateCommand(ctx, cadre, "录入 "+c.No); err != nil {
				return fmt.Errorf("%s 办理 %s：%w", cadre, c.No, err)
			}
			done++
			continue
		}
		switch i % 4 {
		case 0:
			err = p.ByGroupCommand(ctx, c, cadre, fmt.Sprintf("核查 %s 纳入 入户核实，因病支出大，符合监测条件", strings.ToLower(c.No)))
		case 1:
			err = p.ByCard(ctx, c, cadre)
		case 2:
			err = p.ByForm(ctx, c, cadre, "不纳入", reasons[i%len(reasons)])
		case 3:
			err = p.ByPrivateCommand(ctx, cadre, fmt.Sprintf("核查 %s 已在监测 已调整帮扶措施", c.No))
		}
		if err != nil {
			return fmt.Errorf("%s 办理 %s：%w", cadre, c.No, err)
		}
		done++
	}
	what := "按时"
	if late {
		what = "逾期后"
	}
	p.say("  %s 乡村干部%s反馈了 %d 件案件（群里命令、卡片、表单、私聊命令各有）", day, what, done)
	return nil
}

// ByGroupCommand @s the bot in the township's group with text (privately where a group
// robot serves the township: it cannot be asked) and waits for the answer, and for the
// full answer privately when the group's leaves something out.
func (p *Play) ByGroupCommand(ctx context.Context, c cases.Case, cadre, text string) error {
	chat, err := p.Store.GroupChat(ctx, c.Township)
	if err != nil {
		return err
	}
	if chat == "" {
		return p.ByPrivateCommand(ctx, cadre, text)
	}
	wctx, cancel := context.WithTimeout(ctx, replyWait)
	defer cancel()
	_, err = simtest.AskInGroup(wctx, p.Sim, chat, cadre, text)
	return err
}

// ByPrivateCommand types text in the private chat with the app and waits for the answer.
func (p *Play) ByPrivateCommand(ctx context.Context, user, text string) error {
	before := len(p.Sim.SentTo(user))
	if _, err := p.Sim.SayPrivately(ctx, user, text); err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, replyWait)
	defer cancel()
	return simtest.WaitPrivate(wctx, p.Sim, user, before)
}

// ByCard taps 纳入 on the case's card in the cadre's private chat and submits it (by
// command when no card came).
func (p *Play) ByCard(ctx context.Context, c cases.Case, cadre string) error {
	task := simtest.CardTask(p.Sim, cadre, c.No)
	if task == "" {
		return p.ByPrivateCommand(ctx, cadre, fmt.Sprintf("核查 %s 纳入 入户核实，符合监测条件", c.No))
	}
	before := len(p.Sim.SentTo(cadre))
	err := p.Sim.ClickCard(ctx, cadre, bot.CardEvent{TaskID: task, EventKey: "submit_" + c.No, CardType: "multiple_interaction",
		Selected: map[string][]string{"result": {"include"}}})
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, replyWait)
	defer cancel()
	return simtest.WaitPrivate(wctx, p.Sim, cadre, before)
}

// ByForm asks for the case's form (表单), opens the signed link the cadre received privately
// and submits it (by command when no link came).
func (p *Play) ByForm(ctx context.Context, c cases.Case, cadre, result, reason string) error {
	// A signed link lives 7 days and the round's may be older: the cadre asks for the form
	// again, as a cadre would whose link has expired.
	if err := p.ByPrivateCommand(ctx, cadre, "表单 "+c.No); err != nil {
		return err
	}
	link := simtest.FormLink(p.Sim, cadre, c.No)
	if link == "" {
		return p.ByPrivateCommand(ctx, cadre, fmt.Sprintf("核查 %s %s %s", c.No, result, reason))
	}
	form := url.Values{"result": {result}, "reason": {reason}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, link, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return fmt.Errorf("表单提交的回应：%w", err)
	}
	if resp.StatusCode >= 400 {
		return fmt.Errorf("表单提交失败：HTTP %d", resp.StatusCode)
	}
	return nil
}

// EnterAll records 录入 for verified cases (of round, or every round when "") and for
// 信息变更 cases (人员变动), which 录入 closes without 核查, as the cadres do once the
// national system has them.
func EnterAll(round string) func(context.Context, *Play, cases.Date) error {
	return func(ctx context.Context, p *Play, day cases.Date) error {
		all, err := p.Store.Cases(ctx, round, cases.StatusVerified, cases.StatusDispatched)
		if err != nil {
			return err
		}
		var cs []cases.Case
		for _, c := range all {
			if c.Status == cases.StatusVerified || c.Kind == cases.KindInfo {
				cs = append(cs, c)
			}
		}
		for _, c := range cs {
			cadres, err := p.Store.UsersOf(ctx, cases.RoleCadre, c.Township, "")
			if err != nil {
				return err
			}
			if len(cadres) == 0 {
				continue
			}
			if err := p.ByPrivateCommand(ctx, cadres[0], "录入 "+c.No); err != nil {
				return fmt.Errorf("%s 录入 %s：%w", cadres[0], c.No, err)
			}
		}
		p.say("  %s 乡村干部登记了 %d 件案件的全国系统录入", day, len(cs))
		return nil
	}
}

// SpotChecks draws month's sample and lets the supervisor 孙七 record findings: the first
// pick fails and goes back to its township with a new due date.
func SpotChecks(month string, rate float64, seed int64) func(context.Context, *Play, cases.Date) error {
	return func(ctx context.Context, p *Play, day cases.Date) error {
		picks, err := p.Office.DrawSpotChecks(ctx, month, rate, seed)
		if err != nil {
			return err
		}
		if err := p.Drain(ctx); err != nil {
			return err
		}
		p.say("  督查抽查 %s：抽中 %d 件（按乡镇和类别分层，种子 %d）", month, len(picks), seed)
		for i, no := range picks {
			verdict := "合格 入户回访，群众认可核查结论"
			if i == 0 {
				verdict = "不合格 未实际入户，需重新核查"
			}
			if err := p.ByPrivateCommand(ctx, "sunqi", "抽查 "+no+" "+verdict); err != nil {
				return fmt.Errorf("抽查 %s：%w", no, err)
			}
		}
		return nil
	}
}
