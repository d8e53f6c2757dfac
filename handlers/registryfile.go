package handlers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/orgfile"
	"github.com/fangpin/fangpin/cases/registry"
	"github.com/fangpin/fangpin/cases/sheet"
)

// The registry re-import confirmed in chat (docs/office.md): the office sends the registry
// file, the bot answers with the diff it would apply and a card; nothing changes until the
// sender confirms within a day (cases.HeldFileTTL). The file waits in held_files, marked
// with HeldRegistry in its department column, and is deleted once confirmed or cancelled.

// HeldRegistry and HeldOrg mark a held file as a registry re-import or an org file waiting
// for its confirmation.
const (
	HeldRegistry = "名册"
	HeldOrg      = "组织"
)

// Card keys and typed words of the confirmation.
const (
	WordConfirm         = "确认导入"
	WordConfirmRemovals = "确认（含大量退出）"
	WordCancel          = "取消"
)

// RegistryFileStore is what the registry confirmation needs from the store.
type RegistryFileStore interface {
	TownshipNames(ctx context.Context) (map[string]string, error)
	HoldFile(ctx context.Context, f cases.HeldFile) error
	DropHeldFile(ctx context.Context, id string) error
	HeldFile(ctx context.Context, id string) (cases.HeldFile, error)
	// LatestHeldFile is the youngest file held with one of the department marks (a day at
	// most), or cases.ENotFound.
	LatestHeldFile(ctx context.Context, marks ...string) (cases.HeldFile, error)
	// PreviewOrg is what applying an org file would change; refused as applying it would be.
	PreviewOrg(ctx context.Context, o *cases.Org) (cases.OrgPreview, error)
}

// RegistryFiles previews and, once confirmed, applies registry files sent in chat.
type RegistryFiles struct {
	Store RegistryFileStore
	// Registry applies a re-import, telling the townships of the cases it moves.
	Registry registry.Store
	// ApplyOrg applies a confirmed org file.
	ApplyOrg func(ctx context.Context, o *cases.Org) error
	Users    Directory
	Out      Queue
	Access   AccessLog
	TempDir  string
	Log      *slog.Logger
}

func (g *RegistryFiles) log() *slog.Logger {
	if g.Log != nil {
		return g.Log
	}
	return slog.Default()
}

// IsRegistryFile tells whether the table at path is a registry export: its header has
// 户编号 and 成员身份证号, which no department file has.
func IsRegistryFile(path string) bool {
	r, err := sheet.Open(path)
	if err != nil {
		return false
	}
	defer r.Close()
	has := map[string]bool{}
	for _, h := range r.Header() {
		has[strings.TrimSpace(h)] = true
	}
	return has[registry.ColHouseholdNo] && has[registry.ColID]
}

// FilePreview is a registry or org file's preview, as the chat and the upload page show it.
type FilePreview struct {
	Kind     string `json:"kind"` // HeldRegistry or HeldOrg
	Filename string `json:"filename"`
	// Text is the preview in words: counts, the first 10 of each change masked, row errors.
	Text string `json:"summary"`
	// Held is the id the file waits under for its confirmation; empty when there is nothing
	// to confirm (errors, or no change).
	Held string `json:"held,omitempty"`
	// Confirm is the word that confirms it: WordConfirm, or WordConfirmRemovals above the guard.
	Confirm string `json:"confirm,omitempty"`
	// Counts and Errors of a registry file.
	Added   int              `json:"added"`
	Changed int              `json:"changed"`
	Moved   int              `json:"moved"`
	Removed int              `json:"removed"`
	Errors  []cases.RowError `json:"errors,omitempty"`
	// Deactivated, Added and renamed of an org file.
	Org *cases.OrgPreview `json:"org,omitempty"`
}

// Preview answers a registry file the office sent: the diff it would apply, and the card
// to confirm it. The file is held under id until confirmed, cancelled or a day old.
func (g *RegistryFiles) Preview(ctx context.Context, m bot.Message, a cases.Actor, id, name, path string) ([]bot.Outgoing, error) {
	p, err := g.PreviewRegistry(ctx, a, id, name, path)
	if err != nil && cases.ErrorCode(err) != cases.EForbidden {
		return nil, err
	}
	return g.chatPreview(m, id, p), nil
}

// chatPreview is a preview as chat messages: the text and, when there is something to
// confirm, the card.
func (g *RegistryFiles) chatPreview(m bot.Message, id string, p FilePreview) []bot.Outgoing {
	mt, body := bot.Text(p.Text)
	out := []bot.Outgoing{{Key: "file-reply:" + m.ID, Channel: bot.ToUsers, Target: m.UserID, MsgType: mt, Body: body}}
	if p.Held == "" {
		return out
	}
	card := bot.TemplateCard{CardType: "button_interaction", TaskID: id,
		MainTitle: bot.CardTitle{Title: "确认导入监测对象名册？", Desc: p.Filename},
		SubTitle:  "确认之前名册没有任何变动。只有您本人可以在 24 小时内确认；也可以私聊发送“确认导入”或“取消”。"}
	if p.Kind == HeldOrg {
		card.MainTitle.Title = "确认应用组织文件？"
		card.SubTitle = "确认之前人员和乡镇没有任何变动。只有您本人可以在 24 小时内确认；也可以私聊发送“确认导入”或“取消”。"
	}
	if p.Confirm == WordConfirmRemovals {
		card.SubTitle = fmt.Sprintf("注意：这份名册将使 %d 户退出，超过现有户数的 %.0f%%，可能是不完整的导出。确认是全县完整名册时，请点“%s”。",
			p.Removed, 100*cases.MaxRemovalShare, WordConfirmRemovals)
	}
	card.ButtonList = []bot.CardButton{{Text: p.Confirm, Key: p.Confirm, Style: 1}, {Text: WordCancel, Key: WordCancel, Style: 2}}
	mt, body = bot.Card(card)
	return append(out, bot.Outgoing{Key: "file-ask:" + m.ID, Channel: bot.ToUsers, Target: m.UserID, MsgType: mt, Body: body})
}

// PreviewRegistry previews a registry file for the office and, when it is clean and
// changes something, holds it under id for its sender's confirmation. A file refused as
// a whole gives a preview whose text says why; only a failure of the system is an error.
func (g *RegistryFiles) PreviewRegistry(ctx context.Context, a cases.Actor, id, name, path string) (FilePreview, error) {
	p := FilePreview{Kind: HeldRegistry, Filename: name}
	if a.Role != cases.RoleOffice {
		p.Text = "监测对象名册由县扶贫办导入，您发来的名册文件没有导入。"
		return p, cases.Errorf(cases.EForbidden, "%s", p.Text)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return p, fmt.Errorf("read registry file: %w", err)
	}
	sum, clean, tooMany, err := g.dryRun(ctx, path)
	if err != nil {
		if cases.ErrorCode(err) == cases.EInternal {
			return p, err
		}
		p.Text = fmt.Sprintf("名册文件“%s”不能导入：%s\n名册没有任何变动。请修正后重新发送。", name, cases.ErrorMessage(err))
		return p, nil
	}
	p.Added, p.Changed, p.Moved, p.Removed, p.Errors = sum.Added, sum.Changed, sum.Moved, sum.Removed, sum.Errors
	p.Text = previewText(name, sum)
	if !clean {
		p.Text += "\n\n文件有错误的行，修正之前不能确认导入。请按上面的行号和列修正后重新发送。名册没有任何变动。"
		return p, nil
	}
	if sum.Added+sum.Changed+sum.Moved+sum.Removed == 0 {
		return p, nil
	}
	hash := sha256.Sum256(data)
	if err := g.Store.HoldFile(ctx, cases.HeldFile{ID: id, UserID: a.UserID, Department: HeldRegistry, Filename: name,
		SHA256: hex.EncodeToString(hash[:]), Data: data}); err != nil {
		return p, err
	}
	p.Held, p.Confirm = id, WordConfirm
	if tooMany {
		p.Confirm = WordConfirmRemovals
	}
	return p, nil
}

// dryRun previews the file against the registry as it is now.
func (g *RegistryFiles) dryRun(ctx context.Context, path string) (sum registry.Summary, clean, tooMany bool, err error) {
	towns, err := g.Store.TownshipNames(ctx)
	if err != nil {
		return sum, false, false, err
	}
	r, err := sheet.Open(path)
	if err != nil {
		return sum, false, false, cases.Errorf(cases.EInvalid, "%v", err)
	}
	defer r.Close()
	sum, err = registry.Preview(ctx, r, towns, g.Registry)
	return sum, err == nil && len(sum.Errors) == 0, sum.TooManyRemovals, err
}

// previewText is the diff in words: counts, the first 10 of each kind (household numbers
// and masked ID numbers; the registry file's names are not repeated), and the row errors.
func previewText(name string, sum registry.Summary) string {
	var b strings.Builder
	fmt.Fprintf(&b, "【名册试算】文件“%s”：共 %d 行，可接收 %d 行，有错误 %d 行；%d 户，%d 人。\n如导入将：新增 %d，变更 %d，迁户 %d，退出 %d。",
		name, sum.Rows, sum.Accepted, sum.Rejected, sum.Households, sum.Members, sum.Added, sum.Changed, sum.Moved, sum.Removed)
	for _, kind := range []cases.Change{cases.ChangeAdded, cases.ChangeChanged, cases.ChangeMoved, cases.ChangeRemoved} {
		n := 0
		for _, c := range sum.Changes {
			if c.Change != string(kind) {
				continue
			}
			if n == 0 {
				fmt.Fprintf(&b, "\n%s（前 10 项）：", kind.Label())
			}
			n++
			if n > 10 {
				break
			}
			fmt.Fprintf(&b, "\n  户 %s", c.Household)
			if c.IDNumber != "" {
				fmt.Fprintf(&b, " 成员 %s", cases.MaskIDNumber(c.IDNumber))
			}
			if len(c.Fields) > 0 {
				fmt.Fprintf(&b, "（%s）", strings.Join(c.Fields, "、"))
			}
			if c.From != "" || c.To != "" {
				fmt.Fprintf(&b, " %s → %s", c.From, c.To)
			}
		}
	}
	if sum.UnchangedRefused > 0 {
		fmt.Fprintf(&b, "\n因有错误的行，%d 户将保持原样。", sum.UnchangedRefused)
	}
	for i, e := range sum.Errors {
		if i == 0 {
			b.WriteString("\n错误（行号为文件中的行号）：")
		}
		if i == 20 {
			fmt.Fprintf(&b, "\n  ……共 %d 处", len(sum.Errors))
			break
		}
		fmt.Fprintf(&b, "\n  第 %d 行，列“%s”：%s", e.Row, e.Column, e.Message)
	}
	if sum.TooManyRemovals {
		fmt.Fprintf(&b, "\n注意：退出的户超过现有户数的 %.0f%%，可能是不完整的导出；确认时需选“%s”。", 100*cases.MaxRemovalShare, WordConfirmRemovals)
	}
	return b.String()
}

// Commands returns 确认导入, 确认（含大量退出） and 取消 typed in private chat (office).
func (g *RegistryFiles) Commands() []*Command {
	office := []cases.Role{cases.RoleOffice}
	return []*Command{
		{Name: WordConfirm, Roles: office, Usage: WordConfirm, Summary: "确认导入刚才发来、已试算的监测对象名册（24 小时内，本人确认）",
			Run: func(ctx context.Context, req Request) (string, error) {
				return g.Decide(ctx, req.Msg, req.Actor, "", WordConfirm)
			}},
		{Name: WordConfirmRemovals, Aliases: []string{"确认(含大量退出)", "确认含大量退出"}, Roles: office, Usage: WordConfirmRemovals,
			Summary: "确认导入一份退出户数超过 20% 的名册",
			Run: func(ctx context.Context, req Request) (string, error) {
				return g.Decide(ctx, req.Msg, req.Actor, "", WordConfirmRemovals)
			}},
		{Name: WordCancel, Roles: office, Usage: WordCancel, Summary: "放弃待确认的名册，名册不变",
			Run: func(ctx context.Context, req Request) (string, error) {
				return g.Decide(ctx, req.Msg, req.Actor, "", WordCancel)
			}},
	}
}

// Decide confirms or cancels the held registry file id ("": the latest one held). Only
// its sender may, within a day, once; a file above the removal guard needs
// WordConfirmRemovals. The file is previewed again against the registry as it is now.
func (g *RegistryFiles) Decide(ctx context.Context, m bot.Message, a cases.Actor, id, word string) (string, error) {
	if m.InGroup() {
		return "", cases.Errorf(cases.EInvalid, "名册的确认请私聊我发送。")
	}
	return g.decide(ctx, a, id, word, chatChannel(m))
}

// decide is Decide from any channel (chat, the upload page): the one confirmation path.
func (g *RegistryFiles) decide(ctx context.Context, a cases.Actor, id, word, channel string) (string, error) {
	var held cases.HeldFile
	var err error
	if id == "" {
		held, err = g.Store.LatestHeldFile(ctx, HeldRegistry, HeldOrg)
	} else {
		held, err = g.Store.HeldFile(ctx, id)
	}
	if cases.ErrorCode(err) == cases.ENotFound {
		return "", cases.Errorf(cases.ENotFound, "没有待确认的名册：名册可能已经导入或取消，或发来已超过 24 小时。请重新发送名册文件。")
	}
	if err != nil {
		return "", err
	}
	if held.Department != HeldRegistry && held.Department != HeldOrg {
		return "", cases.Errorf(cases.ENotFound, "没有待确认的名册。")
	}
	if held.UserID != a.UserID {
		who := held.UserID
		if u, err := g.Users.Actor(ctx, held.UserID); err == nil {
			who = u.Name
		}
		return "", cases.Errorf(cases.EForbidden, "待确认的名册“%s”是%s发送的，只能由%s本人确认或取消。", held.Filename, who, who)
	}
	if word == WordCancel {
		if err := g.Store.DropHeldFile(ctx, held.ID); err != nil {
			return "", err
		}
		if held.Department == HeldOrg {
			return fmt.Sprintf("已取消：组织文件“%s”没有应用，人员和乡镇没有任何变动。", held.Filename), nil
		}
		return fmt.Sprintf("已取消：名册“%s”没有导入，现有名册没有任何变动。", held.Filename), nil
	}
	if held.Department == HeldOrg {
		return g.applyOrg(ctx, a, held, word, channel)
	}
	path, _, err := spoolFile(g.TempDir, func(w io.Writer) error { _, err := w.Write(held.Data); return err })
	if err != nil {
		return "", err
	}
	defer os.Remove(path)
	_, clean, tooMany, err := g.dryRun(ctx, path)
	if err != nil {
		return "", err
	}
	if !clean {
		return "", cases.Errorf(cases.EConflict, "名册“%s”有错误的行，不能确认导入。请修正后重新发送。", held.Filename)
	}
	if tooMany && word != WordConfirmRemovals {
		return "", cases.Errorf(cases.EConflict, "这份名册将使超过 %.0f%% 的户退出。确认是全县完整名册时，请发送“%s”；否则请发送“取消”。", 100*cases.MaxRemovalShare, WordConfirmRemovals)
	}
	towns, err := g.Store.TownshipNames(ctx)
	if err != nil {
		return "", err
	}
	r, err := sheet.Open(path)
	if err != nil {
		return "", cases.Errorf(cases.EInvalid, "%v", err)
	}
	defer r.Close()
	sum, err := registry.ImportWith(ctx, r, towns, g.Registry, cases.RegistryImportOptions{AllowRemovals: word == WordConfirmRemovals, Filename: held.Filename})
	if err != nil {
		return "", err
	}
	if err := g.Store.DropHeldFile(ctx, held.ID); err != nil {
		g.log().WarnContext(ctx, "drop confirmed registry file", "id", held.ID, "err", err)
	}
	ev := cases.AccessEvent{User: a.UserID, Action: cases.AccessImport, BatchID: sum.BatchID, Channel: channel,
		Detail: fmt.Sprintf("名册 %s，%d 行，确认导入（%s）；文件 SHA-256 %s", held.Filename, sum.Rows, word, held.SHA256)}
	if err := recordAccess(ctx, g.Access, ev); err != nil {
		g.log().ErrorContext(ctx, "record registry import", "user", a.UserID, "err", err)
	}
	if sum.BatchID == "" {
		return "名册与现有名册相同，没有任何变动。", nil
	}
	return fmt.Sprintf("名册已导入（批次 %s）：新增 %d，变更 %d，迁户 %d，退出 %d；随户转乡镇的在办案件 %d 件。",
		sum.BatchID, sum.Added, sum.Changed, sum.Moved, sum.Removed, sum.CasesMoved), nil
}

// handleCard is a click on the confirmation card: the same as typing the word.
func (g *RegistryFiles) handleCard(ctx context.Context, m bot.Message) error {
	text, err := func() (string, error) {
		a, err := g.Users.Actor(ctx, m.UserID)
		if err != nil {
			return "", err
		}
		return g.Decide(ctx, m, a, m.Card.TaskID, m.Card.EventKey)
	}()
	var msgs []bot.Outgoing
	if err != nil {
		if cases.ErrorCode(err) == cases.EInternal {
			return err
		}
		text = cases.ErrorMessage(err)
	} else {
		// the card loses its buttons once decided
		msgs = append(msgs, bot.CardUpdate("file-card:"+m.ID, m.UserID, m.Card.TaskID, bot.TemplateCard{
			CardType: "button_interaction", TaskID: m.Card.TaskID,
			MainTitle: bot.CardTitle{Title: "名册：" + m.Card.EventKey}, ReplaceText: "已选择：" + m.Card.EventKey}))
	}
	mt, body := bot.Text(text)
	msgs = append(msgs, bot.Outgoing{Key: "file-reply:" + m.ID, Channel: bot.ToUsers, Target: m.UserID, MsgType: mt, Body: body})
	return g.Out.Enqueue(ctx, msgs...)
}

// IsOrgFile reads an org file sent in chat: YAML by its name (.yaml, .yml), or a workbook
// laid out as the org template (`fangpin template --org`) by its sheets, whatever its name.
// A file that is not one gives nil; one that is but does not parse gives the reason.
func IsOrgFile(name string, data []byte) (org *cases.Org, isOrg bool, err error) {
	low := strings.ToLower(name)
	switch {
	case strings.HasSuffix(low, ".yaml") || strings.HasSuffix(low, ".yml"):
		org, err = orgfile.Parse(data)
	case orgfile.IsXLSX(data):
		org, err = orgfile.ParseXLSX(data)
	default:
		return nil, false, nil
	}
	if err != nil {
		// the parser's words are for the person who sent the file
		return nil, true, cases.Errorf(cases.EInvalid, "%s", err.Error())
	}
	return org, true, nil
}

// PreviewOrg answers an org file the office sent in chat (see PreviewOrgFile).
func (g *RegistryFiles) PreviewOrg(ctx context.Context, m bot.Message, a cases.Actor, id, name string, data []byte, o *cases.Org, perr error) ([]bot.Outgoing, error) {
	p, err := g.PreviewOrgFile(ctx, a, id, name, data, o, perr)
	if err != nil && cases.ErrorCode(err) != cases.EForbidden {
		return nil, err
	}
	return g.chatPreview(m, id, p), nil
}

// PreviewOrgFile previews an org file for the office: who would be deactivated and added,
// which townships renamed; an org that would strand open cases is refused as
// `fangpin org apply` refuses it. A clean file waits under id for its sender's confirmation.
func (g *RegistryFiles) PreviewOrgFile(ctx context.Context, a cases.Actor, id, name string, data []byte, o *cases.Org, perr error) (FilePreview, error) {
	fp := FilePreview{Kind: HeldOrg, Filename: name}
	if a.Role != cases.RoleOffice {
		fp.Text = "组织文件由县扶贫办维护，您发来的文件没有应用。"
		return fp, cases.Errorf(cases.EForbidden, "%s", fp.Text)
	}
	if perr != nil {
		fp.Text = fmt.Sprintf("组织文件“%s”有错误，不能应用：%s\n请修正后重新发送。", name, cases.ErrorMessage(perr))
		return fp, nil
	}
	p, err := g.Store.PreviewOrg(ctx, o)
	if err != nil {
		if cases.ErrorCode(err) == cases.EInternal {
			return fp, err
		}
		fp.Text = fmt.Sprintf("组织文件“%s”不能应用：%s", name, cases.ErrorMessage(err))
		return fp, nil
	}
	fp.Org = &p
	var b strings.Builder
	fmt.Fprintf(&b, "【组织文件试算】“%s”：乡镇 %d 个，部门 %d 个，人员 %d 人。", name, len(o.Townships), len(o.Departments), len(o.Users))
	list := func(title string, xs []string) {
		if len(xs) > 0 {
			fmt.Fprintf(&b, "\n%s %d：%s", title, len(xs), strings.Join(xs, "、"))
		}
	}
	list("将停用的账号", p.Deactivated)
	list("新增的账号", p.Added)
	list("乡镇更名或合并", p.Renamed)
	if len(p.Deactivated)+len(p.Added)+len(p.Renamed) == 0 {
		b.WriteString("\n人员和乡镇没有增减或更名（其他信息如有修改，确认后生效）。")
	}
	fp.Text = b.String()
	hash := sha256.Sum256(data)
	if err := g.Store.HoldFile(ctx, cases.HeldFile{ID: id, UserID: a.UserID, Department: HeldOrg, Filename: name,
		SHA256: hex.EncodeToString(hash[:]), Data: data}); err != nil {
		return fp, err
	}
	fp.Held, fp.Confirm = id, WordConfirm
	return fp, nil
}

// applyOrg applies a confirmed org file.
func (g *RegistryFiles) applyOrg(ctx context.Context, a cases.Actor, held cases.HeldFile, word, channel string) (string, error) {
	if g.ApplyOrg == nil {
		return "", cases.Errorf(cases.EInvalid, "这里暂时不能应用组织文件，请用命令行 fangpin org apply。")
	}
	o, _, err := IsOrgFile(held.Filename, held.Data)
	if err == nil && o == nil {
		err = cases.Errorf(cases.EInvalid, "不是组织文件")
	}
	if err != nil {
		return "", cases.Errorf(cases.EInvalid, "组织文件有错误：%s", cases.ErrorMessage(err))
	}
	if err := g.ApplyOrg(ctx, o); err != nil {
		return "", err
	}
	if err := g.Store.DropHeldFile(ctx, held.ID); err != nil {
		g.log().WarnContext(ctx, "drop confirmed org file", "id", held.ID, "err", err)
	}
	ev := cases.AccessEvent{User: a.UserID, Action: cases.AccessImport, Channel: channel,
		Detail: fmt.Sprintf("组织文件 %s，确认应用（%s）；文件 SHA-256 %s", held.Filename, word, held.SHA256)}
	if err := recordAccess(ctx, g.Access, ev); err != nil {
		g.log().ErrorContext(ctx, "record org apply", "user", a.UserID, "err", err)
	}
	return fmt.Sprintf("组织文件“%s”已应用：乡镇 %d 个，部门 %d 个，人员 %d 人。", held.Filename, len(o.Townships), len(o.Departments), len(o.Users)), nil
}
