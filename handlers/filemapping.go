package handlers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/intake"
)

// MappingStore keeps each department's own words for its files' columns (docs/files.md,
// "A column the reader cannot place"). A FilePushStore that is one (*postgres.DB) asks the
// sender of a file that lacks required columns which of the file's own columns they are.
type MappingStore interface {
	DepartmentMapping(ctx context.Context, dept string) (cases.ColumnMapping, error)
	SetDepartmentMapping(ctx context.Context, m cases.ColumnMapping) error
}

// WeCom's multiple_interaction card holds at most 3 drop-downs of at most 10 options.
const (
	cardSelects = 3
	cardOptions = 10
	noneOption  = "none"
)

// columnAsk is what a file's sender is asked: which of the file's own columns (Offered, as
// written in its header) is each of Missing, the category's required columns it lacks.
type columnAsk struct {
	Choice  pushChoice
	Missing []string
	Offered []string
	// Asked are the columns asked before for this file and this one (the card's answer
	// carries them, so a column answered “没有这一列” is not asked again).
	Asked []string
}

func (p *FilePushes) mappings() MappingStore {
	ms, _ := p.Store.(MappingStore)
	return ms
}

// aliasesOf is the department's stored header words; nil when none are kept.
func (p *FilePushes) aliasesOf(ctx context.Context, dept string) (intake.Aliases, error) {
	ms := p.mappings()
	if ms == nil {
		return nil, nil
	}
	m, err := ms.DepartmentMapping(ctx, dept)
	if err != nil {
		return nil, err
	}
	return intake.Aliases(m.Columns), nil
}

// matchChoices keeps those of all whose category the file's header names, each department's
// categories tried with that department's stored words.
func (p *FilePushes) matchChoices(ctx context.Context, path string, all []pushChoice) ([]pushChoice, error) {
	byDept := map[string][]cases.Category{}
	var depts []string
	for _, x := range all {
		if byDept[x.Dept] == nil {
			depts = append(depts, x.Dept)
		}
		byDept[x.Dept] = append(byDept[x.Dept], x.Cat)
	}
	hit := map[string]bool{}
	for _, d := range depts {
		aliases, err := p.aliasesOf(ctx, d)
		if err != nil {
			return nil, err
		}
		matched, err := intake.MatchCategoriesAliased(path, byDept[d], aliases)
		if err != nil {
			return nil, err
		}
		for _, c := range matched {
			hit[pushChoice{d, c}.key()] = true
		}
	}
	var fits []pushChoice
	for _, x := range all {
		if hit[x.key()] {
			fits = append(fits, x)
		}
	}
	return fits, nil
}

// columnsToAsk inspects the file's header for c with the department's stored words: nil
// when nothing is to be asked (the header matches, no mapping is kept, no row looks like a
// header, or the file has no column of its own to offer — then the import names what is
// missing).
func (p *FilePushes) columnsToAsk(ctx context.Context, path string, c pushChoice, asked map[string]bool) (*columnAsk, error) {
	if p.mappings() == nil {
		return nil, nil
	}
	aliases, err := p.aliasesOf(ctx, c.Dept)
	if err != nil {
		return nil, err
	}
	in, err := intake.Inspect(path, c.Cat, aliases)
	if err != nil || in.Matched || in.Row == 0 || in.Placement.Found == 0 {
		// An unreadable file, or no row that names even one required column (not a header
		// of this category at all): the import gives the reader's own reason.
		return nil, nil
	}
	ask := &columnAsk{Choice: c}
	for _, col := range in.Placement.Missing {
		if !asked[col] {
			ask.Missing = append(ask.Missing, col)
		}
	}
	seen := map[string]bool{}
	for _, h := range in.Placement.Unplaced {
		if h != "" && !seen[h] {
			seen[h] = true
			ask.Offered = append(ask.Offered, h)
		}
	}
	if len(ask.Missing) == 0 || len(ask.Offered) == 0 {
		return nil, nil
	}
	for col := range asked {
		ask.Asked = append(ask.Asked, col)
	}
	sort.Strings(ask.Asked)
	return ask, nil
}

// storeColumns adds the sender's answers (file header → column) to the department's mapping.
func (p *FilePushes) storeColumns(ctx context.Context, dept string, cols map[string]string) error {
	ms := p.mappings()
	if ms == nil || len(cols) == 0 {
		return nil
	}
	return ms.SetDepartmentMapping(ctx, cases.ColumnMapping{Department: dept, Columns: cols})
}

// columnIndex numbers a category's columns: a card's question keys carry the number, which
// stays the same whatever the department's mapping becomes.
func columnIndex(cat cases.Category, col string) int {
	for i, c := range intake.ColumnsOf(cat) {
		if c == col {
			return i
		}
	}
	return -1
}

// columnCard asks, on a multiple_interaction card, which of the file's columns each missing
// one is (the first three missing; the answer brings the next card). With more of the file's
// columns than a drop-down holds, the reply points to the upload page's form instead.
func (p *FilePushes) columnCard(msgID, user, taskID, name string, ask *columnAsk) bot.Outgoing {
	if len(ask.Offered) > cardOptions-1 {
		text := fmt.Sprintf("文件“%s”按“%s”缺少必需的列：%s。文件里无法识别的列较多（%d 列），卡片放不下，请发送“上传”，在网页上选择这些列对应文件中的哪一列后上传；选择会按本部门保存，以后的文件不再询问。",
			name, ask.Choice.label(), strings.Join(ask.Missing, "、"), len(ask.Offered))
		mt, body := bot.Text(text)
		return bot.Outgoing{Key: "file-ask:" + taskID, Channel: bot.ToUsers, Target: user, MsgType: mt, Body: body}
	}
	asking := ask.Missing
	if len(asking) > cardSelects {
		asking = asking[:cardSelects]
	}
	card := bot.TemplateCard{CardType: "multiple_interaction", TaskID: taskID,
		MainTitle: bot.CardTitle{Title: "请指出文件中对应的列", Desc: name},
		SubTitle: fmt.Sprintf("按“%s”导入，文件缺少必需的列：%s。请为每一列选择文件中对应的那一列（选择会按%s保存，以后的文件不再询问）。",
			ask.Choice.label(), strings.Join(ask.Missing, "、"), ask.Choice.Dept)}
	asked := append([]string(nil), ask.Asked...)
	for _, col := range asking {
		sel := bot.CardSelect{QuestionKey: "c" + strconv.Itoa(columnIndex(ask.Choice.Cat, col)), Title: col}
		for j, h := range ask.Offered {
			sel.OptionList = append(sel.OptionList, bot.CardOption{ID: "h" + strconv.Itoa(j), Text: h})
		}
		sel.OptionList = append(sel.OptionList, bot.CardOption{ID: noneOption, Text: "文件里没有这一列"})
		card.SelectList = append(card.SelectList, sel)
		asked = append(asked, col)
	}
	idx := make([]string, len(asked))
	for i, col := range asked {
		idx[i] = strconv.Itoa(columnIndex(ask.Choice.Cat, col))
	}
	card.SubmitButton = &bot.CardSubmitButton{Text: "确定并导入", Key: "map|" + ask.Choice.key() + "|" + strings.Join(idx, ".")}
	mt, body := bot.Card(card)
	return bot.Outgoing{Key: "file-ask:" + taskID, Channel: bot.ToUsers, Target: user, MsgType: mt, Body: body}
}

// mapTaskID is the task id of a held file's n-th column card (task ids are unique per app).
func mapTaskID(heldID string, n int) string { return heldID + "-m" + strconv.Itoa(n) }

// heldOfMapTask finds the held file's id and the card's number in a column card's task id.
func heldOfMapTask(task string) (id string, n int, ok bool) {
	i := strings.LastIndex(task, "-m")
	if i < 0 {
		return "", 0, false
	}
	n, err := strconv.Atoi(task[i+2:])
	if err != nil {
		return "", 0, false
	}
	return task[:i], n, true
}

// handleColumns stores the sender's answer to a column card for their department and
// continues the held file's import (or asks the next columns).
func (p *FilePushes) handleColumns(ctx context.Context, m bot.Message, heldID string, n int) error {
	reply := func(text string) error {
		mt, body := bot.Text(text)
		return p.Out.Enqueue(ctx, bot.Outgoing{Key: "file-reply:" + m.ID, Channel: bot.ToUsers, Target: m.UserID, MsgType: mt, Body: body})
	}
	parts := strings.Split(m.Card.EventKey, "|")
	if len(parts) != 3 || parts[0] != "map" {
		return reply("这个选项已不可用，请重新发送文件。")
	}
	held, a, c, done, err := p.clickedFile(ctx, m.UserID, heldID, parts[1], "这个文件不是您发送的，不能由您选择。", reply)
	if done {
		return err
	}
	cols := intake.ColumnsOf(c.Cat)
	asked := map[string]bool{}
	for _, s := range strings.Split(parts[2], ".") {
		if i, err := strconv.Atoi(s); err == nil && i >= 0 && i < len(cols) {
			asked[cols[i]] = true
		}
	}
	path, sum, err := spoolFile(p.TempDir, func(w io.Writer) error { _, err := w.Write(held.Data); return err })
	if err != nil {
		return err
	}
	defer os.Remove(path)
	// The options are the file's unplaced columns as the card offered them: read again with
	// the mapping the card was made with (an answer is stored only once it is read).
	before, err := p.columnsToAsk(ctx, path, c, nil)
	if err != nil {
		return err
	}
	answer := map[string]string{}
	var told []string
	for qk, ids := range m.Card.Selected {
		i, err := strconv.Atoi(strings.TrimPrefix(qk, "c"))
		if err != nil || i < 0 || i >= len(cols) || len(ids) == 0 || ids[0] == noneOption || before == nil {
			continue
		}
		j, err := strconv.Atoi(strings.TrimPrefix(ids[0], "h"))
		if err != nil || j < 0 || j >= len(before.Offered) {
			continue
		}
		answer[before.Offered[j]] = cols[i]
		told = append(told, fmt.Sprintf("%s＝%s", cols[i], before.Offered[j]))
	}
	sort.Strings(told)
	if err := p.storeColumns(ctx, c.Dept, answer); err != nil {
		if cases.ErrorCode(err) == cases.EInternal {
			return err
		}
		return reply(cases.ErrorMessage(err))
	}
	replace := "已记录：" + strings.Join(told, "，")
	if len(told) == 0 {
		replace = "已记录：文件里没有这些列"
	}
	update := bot.CardUpdate("file-card:"+m.ID, m.UserID, m.Card.TaskID, bot.TemplateCard{
		CardType: "multiple_interaction", TaskID: m.Card.TaskID,
		MainTitle: bot.CardTitle{Title: "已记录对应的列", Desc: held.Filename}, ReplaceText: replace})
	out, err := p.run(ctx, a, path, held.Filename, sum, &c, "", asked, func(out pushOutcome, err error) error {
		p.logPush(ctx, a, out, err, cases.ChannelChat)
		if derr := p.Store.DropHeldFile(context.WithoutCancel(ctx), held.ID); derr != nil {
			p.log().WarnContext(ctx, "drop held file", "id", held.ID, "err", derr)
		}
		return p.Out.Enqueue(context.WithoutCancel(ctx), append([]bot.Outgoing{update}, p.answer(m.ID, m.UserID, held.Filename, out, err)...)...)
	})
	if out.Answered {
		return err
	}
	if errors.Is(err, errBusy) || (err != nil && ctx.Err() != nil) {
		return fmt.Errorf("file %s waits for its turn: %w", held.ID, err)
	}
	if err == nil && out.AskColumns != nil {
		return p.Out.Enqueue(ctx, update, p.columnCard(m.ID, m.UserID, mapTaskID(held.ID, n+1), held.Filename, out.AskColumns))
	}
	return p.Out.Enqueue(ctx, append([]bot.Outgoing{update}, p.answer(m.ID, m.UserID, held.Filename, out, err)...)...)
}
