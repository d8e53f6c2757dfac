package handlers

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/intake"
	"github.com/fangpin/fangpin/cases/sheet"
)

// FilePushStore is what a department file delivered in chat or on the upload page needs.
type FilePushStore interface {
	intake.Store
	Today() cases.Date
	// HoldFile keeps a file while its sender chooses its category or it waits its turn.
	HoldFile(ctx context.Context, f cases.HeldFile) error
	HeldFile(ctx context.Context, id string) (cases.HeldFile, error)
	DropHeldFile(ctx context.Context, id string) error
}

// FileFetcher downloads a file a user sent the AI bot (bot.Client).
type FileFetcher interface {
	Download(ctx context.Context, ref bot.FileRef, fallbackKey string, limit int64, w io.Writer) (name string, n int64, err error)
}

// FilePushes imports department files delivered in WeCom (a file sent to the AI bot in
// single chat) and on the upload page (docs/files.md): as the sender's department's push,
// its category found from the file's header or asked on a card, the period the default.
// Both answer with the counts and, when rows were refused, a workbook of those rows.
type FilePushes struct {
	Store FilePushStore
	Users Directory
	Out   Queue
	Fetch FileFetcher
	// BotAESKey is the AI bot's EncodingAESKey, the key of a file whose message has none.
	BotAESKey string
	Rules     cases.Rules // nil: the defaults
	TempDir   string      // default os.TempDir()
	// Turn waits for the push's turn to be read and imported (BatchAPI.Turn: one at a time,
	// shared with the push API, so the process keeps within its memory); nil: no waiting.
	Turn  func(ctx context.Context) (release func(), err error)
	Links *FormLinks // for the upload link in replies; nil: none
	// MaxBytes bounds a file sent in chat (default sheet.MaxFileBytes, the one limit of
	// every file); tests lower it.
	MaxBytes int64
	Access   AccessLog // each file imported
	// Registry takes registry files the office sends (previewed, applied once confirmed);
	// nil treats them as any other file.
	Registry *RegistryFiles
	Log      *slog.Logger
}

func (p *FilePushes) maxBytes() int64 {
	if p.MaxBytes > 0 {
		return p.MaxBytes
	}
	return sheet.MaxFileBytes
}

func (p *FilePushes) log() *slog.Logger {
	if p.Log != nil {
		return p.Log
	}
	return slog.Default()
}

// FileCardPrefix starts the task id of the card that asks for a file's category.
const FileCardPrefix = "filecat-"

// pushChoice is one department and category a sender may push a file as.
type pushChoice struct {
	Dept string
	Cat  cases.Category
}

func (c pushChoice) key() string { return c.Dept + ":" + string(c.Cat) }

func (c pushChoice) label() string { return fmt.Sprintf("%s（%s）", c.Cat.Label(), c.Dept) }

// pushOutcome is what came of one file: imported (Batch, Refused), or a question (Ask:
// the choices its category is to be picked from).
type pushOutcome struct {
	Batch   cases.Batch
	Refused *refusedRows
	Ask     []pushChoice
	// AskColumns: the file lacks required columns its sender may place among its own.
	AskColumns *columnAsk
	Answered   bool // run's done was given the import's outcome
}

// mayPush tells whether a member may deliver department files.
func mayPush(a cases.Actor) bool { return a.Role == cases.RoleLiaison || a.Role == cases.RoleOffice }

// choices are the department and category pairs a member may push: a liaison's own
// department's categories; the office's, every department's.
func (p *FilePushes) choices(ctx context.Context, a cases.Actor) ([]pushChoice, error) {
	depts, err := p.Store.PushDepartments(ctx)
	if err != nil {
		return nil, err
	}
	var out []pushChoice
	for _, d := range depts {
		if a.Role == cases.RoleLiaison && d.Name != a.Department {
			continue
		}
		for _, c := range d.Categories {
			out = append(out, pushChoice{d.Name, c})
		}
	}
	if len(out) == 0 {
		if a.Role == cases.RoleLiaison {
			return nil, cases.Errorf(cases.EForbidden, "组织文件中没有给%s配置推送的风险类别，请联系县扶贫办。", a.Department)
		}
		return nil, cases.Errorf(cases.EForbidden, "组织文件中还没有任何部门的推送类别，请先导入组织文件。")
	}
	return out, nil
}

// pick finds the choice named by key (dept:code), or by a bare category code or label
// when only one department pushes it.
func pick(choices []pushChoice, key string) (pushChoice, bool) {
	key = strings.TrimSpace(key)
	for _, c := range choices {
		if c.key() == key {
			return c, true
		}
	}
	cat, ok := cases.ParseCategory(key)
	if !ok {
		return pushChoice{}, false
	}
	var found []pushChoice
	for _, c := range choices {
		if c.Cat == cat {
			found = append(found, c)
		}
	}
	if len(found) != 1 {
		return pushChoice{}, false
	}
	return found[0], true
}

// run imports the file at path as the member's push: as chosen, else the only choice,
// else the one whose header the file matches (by the department's stored words too);
// otherwise it returns the choices to ask. When the file lacks required columns of that
// category and has columns of its own the reader cannot place, it returns the columns to ask
// (those in asked were asked before for this file and are not asked again).
//
// When done is set and the import was tried, done is given its outcome before the turn is
// given back, and run returns done's error (with Answered set): a chat reply is thus queued
// before a repeat of the same message (the inbox delivers at least once) can import the
// file again and find it a duplicate. The reply's key makes the repeat's answer a no-op.
func (p *FilePushes) run(ctx context.Context, a cases.Actor, path, filename, sum string, chosen *pushChoice, period string,
	asked map[string]bool, done func(pushOutcome, error) error) (pushOutcome, error) {
	all, err := p.choices(ctx, a)
	if err != nil {
		return pushOutcome{}, err
	}
	// The file's name tells a PDF or a picture before its header is looked for (the path is
	// a temporary file's, without the name's extension): refused as the import refuses it,
	// rather than read as text and asked about.
	if err := sheet.RefuseName(filename); err != nil {
		return pushOutcome{}, cases.Errorf(cases.EInvalid, "%s", err.Error())
	}
	// Reading a workbook's header holds its shared strings, like the import: one at a time.
	if p.Turn != nil {
		release, err := p.Turn(ctx)
		if err != nil {
			return pushOutcome{}, err
		}
		defer release()
	}
	var c pushChoice
	switch {
	case chosen != nil:
		c = *chosen
	case len(all) == 1:
		c = all[0]
	default:
		fits, err := p.matchChoices(ctx, path, all)
		if err != nil {
			return pushOutcome{}, err
		}
		if len(fits) != 1 {
			if len(fits) == 0 {
				fits = all
			}
			return pushOutcome{Ask: fits}, nil
		}
		c = fits[0]
	}
	if ask, err := p.columnsToAsk(ctx, path, c, asked); err != nil {
		return pushOutcome{}, err
	} else if ask != nil {
		return pushOutcome{AskColumns: ask}, nil
	}
	out := pushOutcome{Refused: &refusedRows{}}
	req := intake.Request{Department: c.Dept, Category: c.Cat, Period: period, SHA256: sum, Filename: filename,
		Source: "file", Rules: p.Rules, Today: p.Store.Today(), Refused: out.Refused.add}
	// Once started, an import finishes even when the inbox's handler time (or the page's
	// request) runs out: a repeat of the message finds it by the file's SHA-256 and
	// changes nothing, where a half-read import would only start over.
	ictx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Minute)
	defer cancel()
	out.Batch, err = intake.ImportFile(ictx, p.Store, req, path)
	if done != nil {
		out.Answered = true
		return out, done(out, err)
	}
	if err != nil {
		return pushOutcome{}, err
	}
	p.logPush(ctx, a, out, nil, cases.ChannelH5)
	return out, nil
}

func (p *FilePushes) logPush(ctx context.Context, a cases.Actor, out pushOutcome, err error, channel string) {
	if err != nil {
		return // the answer says why; an internal failure is logged there
	}
	b := out.Batch
	if b.DuplicateOf == nil {
		// The rows are stored: a failed record is logged, the sender still answered.
		if err := recordAccess(ctx, p.Access, cases.AccessEvent{User: a.UserID, Action: cases.AccessImport, BatchID: b.ID,
			Channel: channel, Detail: fmt.Sprintf("%s %s %s 期，%d 行", b.Department, b.Category, b.Period, b.Rows)}); err != nil {
			p.log().ErrorContext(ctx, "file push: record import in the access log", "batch", b.ID, "err", err)
		}
	}
	p.log().InfoContext(ctx, "file pushed", "department", b.Department, "category", b.Category, "batch", b.ID, "by", a.UserID,
		"rows", b.Rows, "rejected", b.Rejected, "duplicate", b.DuplicateOf != nil)
}

// spoolFile writes r to a temporary file (the XLSX reader needs random access), hashing it
// on the way; the caller removes the file.
func spoolFile(dir string, write func(w io.Writer) error) (path, sum string, err error) {
	f, err := os.CreateTemp(dir, "fangpin-file-*")
	if err != nil {
		return "", "", fmt.Errorf("spool file: %w", err)
	}
	h := sha256.New()
	err = write(io.MultiWriter(f, h))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", "", err
	}
	return f.Name(), hex.EncodeToString(h.Sum(nil)), nil
}

// nameByContent names a file that came without a name by what it holds.
func nameByContent(path string, at time.Time) string {
	ext := ".csv"
	if f, err := os.Open(path); err == nil {
		head := make([]byte, 8)
		n, _ := io.ReadFull(f, head)
		f.Close()
		switch {
		case bytes.HasPrefix(head[:n], []byte("PK\x03\x04")):
			ext = ".xlsx"
		case bytes.HasPrefix(head[:n], []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}):
			ext = ".xls"
		}
	}
	return "文件-" + at.In(cases.Shanghai).Format("20060102-150405") + ext
}

// heldID is the id a chat file is held under: also its category card's task id, which
// allows only [0-9a-zA-Z_-@].
func heldID(msgID string) string {
	sum := sha256.Sum256([]byte(msgID))
	return FileCardPrefix + hex.EncodeToString(sum[:12])
}

// HandleMessageErr takes a file sent to the AI bot, or a click on a file's category card
// (set Router.Files to it). A reply that could not be queued, or a file that must wait
// longer for its turn than the inbox lets a handler run, is an error: the inbox tries
// again later (the file is held meanwhile, so its short-lived address is not needed again).
func (p *FilePushes) HandleMessageErr(ctx context.Context, m bot.Message) error {
	if m.Card != nil {
		return p.handleCard(ctx, m)
	}
	if m.File == nil {
		return nil
	}
	reply := func(text string) error {
		mt, body := bot.Text(text)
		return p.Out.Enqueue(ctx, bot.Outgoing{Key: "file-reply:" + m.ID, Channel: bot.ToUsers, Target: m.UserID, MsgType: mt, Body: body})
	}
	a, ok, err := p.fileSender(ctx, m.UserID, reply)
	if !ok {
		return err
	}
	id := heldID(m.ID)
	f, ok, err := p.receive(ctx, m, id, reply)
	if !ok {
		return err
	}
	defer os.Remove(f.path)
	if previewed, err := p.previewRegistry(ctx, m, a, id, f); previewed {
		return err
	}
	return p.push(ctx, m, a, id, f)
}

// receivedFile is a chat file spooled to disk: its path, its SHA-256 and its name.
type receivedFile struct{ path, sum, name string }

// fileSender is the sender of a chat file, ok when they may push one. Otherwise nothing is
// fetched (the file is never on this server) and err is the reply's or the look-up's.
func (p *FilePushes) fileSender(ctx context.Context, userID string, reply func(string) error) (a cases.Actor, ok bool, err error) {
	a, err = p.Users.Actor(ctx, userID)
	if err != nil {
		if code := cases.ErrorCode(err); code == cases.ENotFound {
			return a, false, reply("您好！系统里还没有您的账号，发来的文件没有下载。请联系县扶贫办把您加入组织名单。")
		} else if code == cases.EInternal {
			return a, false, fmt.Errorf("look up sender of file: %w", err)
		}
		return a, false, reply(cases.ErrorMessage(err))
	}
	if !mayPush(a) {
		return a, false, reply(fmt.Sprintf("%s您好！数据文件由各行业部门的联络员或县扶贫办发送，您的文件没有下载，也没有导入。如需反馈核查结果，请发送“帮助”查看可用的命令。", a.Name))
	}
	return a, true, nil
}

// receive spools the file to disk, ok when it is there: from the held copy on a retry (the
// file came already and waited for its turn), else downloaded from WeCom. A refused download
// is answered (not ok, err the reply's); a file without a name is named by its content.
func (p *FilePushes) receive(ctx context.Context, m bot.Message, id string, reply func(string) error) (f receivedFile, ok bool, err error) {
	held, err := p.Store.HeldFile(ctx, id)
	switch {
	case err == nil:
		f.path, f.sum, err = spoolFile(p.TempDir, func(w io.Writer) error { _, err := w.Write(held.Data); return err })
		if err != nil {
			return f, false, err
		}
		f.name = held.Filename
		return f, true, nil
	case cases.ErrorCode(err) == cases.ENotFound:
		var dl string
		f.path, f.sum, err = spoolFile(p.TempDir, func(w io.Writer) error {
			var err error
			dl, _, err = p.Fetch.Download(ctx, *m.File, p.BotAESKey, p.maxBytes(), w)
			return err
		})
		if err != nil {
			p.log().WarnContext(ctx, "file download refused", "user", m.UserID, "msg_id", m.ID, "err", err)
			return f, false, reply(downloadMessage(err, p.maxBytes()))
		}
		f.name = dl
		if f.name == "" {
			f.name = nameByContent(f.path, m.At)
		}
		return f, true, nil
	default:
		return f, false, err
	}
}

// previewRegistry answers an organisation file or a registry file with its preview
// (previewed true); any other file is a department's push.
func (p *FilePushes) previewRegistry(ctx context.Context, m bot.Message, a cases.Actor, id string, f receivedFile) (previewed bool, err error) {
	if p.Registry == nil {
		return false, nil
	}
	data, err := os.ReadFile(f.path)
	if err != nil {
		return true, fmt.Errorf("read file: %w", err)
	}
	if o, isOrg, perr := IsOrgFile(f.name, data); isOrg {
		msgs, err := p.Registry.PreviewOrg(ctx, m, a, id, f.name, data, o, perr)
		if err != nil {
			return true, err
		}
		return true, p.Out.Enqueue(ctx, msgs...)
	}
	if IsRegistryFile(f.path) {
		msgs, err := p.Registry.Preview(ctx, m, a, id, f.name, f.path)
		if err != nil {
			return true, err
		}
		return true, p.Out.Enqueue(ctx, msgs...)
	}
	return false, nil
}

// push imports the file as a department's push and answers. A file that is not its turn
// yet is held for the inbox's retry; one that needs the sender's choice (category or
// columns) is held and its card sent; otherwise the held copy is dropped and the result told.
func (p *FilePushes) push(ctx context.Context, m bot.Message, a cases.Actor, id string, f receivedFile) error {
	out, err := p.run(ctx, a, f.path, f.name, f.sum, nil, "", nil, func(out pushOutcome, err error) error {
		p.logPush(ctx, a, out, err, cases.ChannelChat)
		if derr := p.Store.DropHeldFile(context.WithoutCancel(ctx), id); derr != nil {
			p.log().WarnContext(ctx, "drop held file", "id", id, "err", derr)
		}
		return p.Out.Enqueue(context.WithoutCancel(ctx), p.answer(m.ID, m.UserID, f.name, out, err)...)
	})
	if out.Answered {
		return err
	}
	if errors.Is(err, errBusy) || (err != nil && ctx.Err() != nil) {
		// Not its turn before the handler's time ran out: keep the file, the inbox retries.
		hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if herr := p.hold(hctx, id, a, f.name, f.sum, f.path); herr != nil {
			return herr
		}
		return fmt.Errorf("file %s waits for its turn: %w", m.ID, err)
	}
	if err == nil && out.Ask != nil {
		if err := p.hold(ctx, id, a, f.name, f.sum, f.path); err != nil {
			return err
		}
		return p.Out.Enqueue(ctx, p.askCard(m, id, f.name, out.Ask)...)
	}
	if err == nil && out.AskColumns != nil {
		if err := p.hold(ctx, id, a, f.name, f.sum, f.path); err != nil {
			return err
		}
		return p.Out.Enqueue(ctx, p.columnCard(m.ID, m.UserID, mapTaskID(id, 1), f.name, out.AskColumns))
	}
	if derr := p.Store.DropHeldFile(ctx, id); derr != nil {
		p.log().WarnContext(ctx, "drop held file", "id", id, "err", derr)
	}
	return p.Out.Enqueue(ctx, p.answer(m.ID, m.UserID, f.name, out, err)...)
}

func (p *FilePushes) hold(ctx context.Context, id string, a cases.Actor, name, sum, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("hold file: %w", err)
	}
	return p.Store.HoldFile(ctx, cases.HeldFile{ID: id, UserID: a.UserID, Department: a.Department, Filename: name, SHA256: sum, Data: data})
}

// downloadMessage tells the sender why their file was not taken.
func downloadMessage(err error, limit int64) string {
	var foreign *bot.ForeignURLError
	switch {
	case errors.Is(err, bot.ErrDownloadTooLarge):
		return fmt.Sprintf("您发来的文件超过 %s 的上限，没有导入。请把文件分成几个较小的文件分别发送。", sizeText(limit))
	case errors.As(err, &foreign):
		return "这个文件的下载地址不是企业微信的地址，为安全起见没有下载。请直接在企业微信里把文件发给我。"
	case errors.Is(err, bot.ErrDownloadGone):
		return "这个文件的下载地址已经失效（企业微信的文件地址只保留几分钟），没有导入。请重新发送一次文件。"
	case errors.Is(err, bot.ErrFileKey), errors.Is(err, bot.ErrFileCipher):
		return "这个文件无法解密，没有导入。请重新发送一次；如仍不行，请发送“上传”用网页上传。"
	}
	return "下载文件时出了问题，没有导入。请稍后重新发送一次；如仍不行，请发送“上传”用网页上传。"
}

// askCard asks which category a file is, one button a choice (at most six: WeCom's limit;
// more are offered on the upload page).
func (p *FilePushes) askCard(m bot.Message, id, name string, ask []pushChoice) []bot.Outgoing {
	if len(ask) > 6 {
		text := fmt.Sprintf("收到文件“%s”，但从表头看不出是哪一类数据（可选的类别较多）。请发送“上传”，在网页上选择类别后上传；或检查表头是否包含该类别的必需列。", name)
		mt, body := bot.Text(text)
		return []bot.Outgoing{{Key: "file-reply:" + m.ID, Channel: bot.ToUsers, Target: m.UserID, MsgType: mt, Body: body}}
	}
	card := bot.TemplateCard{CardType: "button_interaction", TaskID: id,
		MainTitle: bot.CardTitle{Title: "这个文件是哪一类数据？", Desc: name},
		SubTitle:  "从表头无法确定风险类别。请点选一项，系统会按该类别导入（文件保留一天）。"}
	for _, c := range ask {
		card.ButtonList = append(card.ButtonList, bot.CardButton{Text: c.label(), Key: c.key(), Style: 1})
	}
	mt, body := bot.Card(card)
	return []bot.Outgoing{{Key: "file-ask:" + m.ID, Channel: bot.ToUsers, Target: m.UserID, MsgType: mt, Body: body}}
}

// handleCard continues a held file's import with the category its sender clicked.
func (p *FilePushes) handleCard(ctx context.Context, m bot.Message) error {
	if p.Registry != nil {
		switch m.Card.EventKey {
		case WordConfirm, WordConfirmRemovals, WordCancel:
			return p.Registry.handleCard(ctx, m)
		}
	}
	if strings.HasPrefix(m.Card.TaskID, periodCardPrefix) {
		return p.handlePeriod(ctx, m)
	}
	if id, n, ok := heldOfMapTask(m.Card.TaskID); ok {
		return p.handleColumns(ctx, m, id, n)
	}
	reply := func(text string) error {
		mt, body := bot.Text(text)
		return p.Out.Enqueue(ctx, bot.Outgoing{Key: "file-reply:" + m.ID, Channel: bot.ToUsers, Target: m.UserID, MsgType: mt, Body: body})
	}
	held, a, c, done, err := p.clickedFile(ctx, m.UserID, m.Card.TaskID, m.Card.EventKey, "这个文件不是您发送的，不能由您选择类别。", reply)
	if done {
		return err
	}
	path, sum, err := spoolFile(p.TempDir, func(w io.Writer) error { _, err := w.Write(held.Data); return err })
	if err != nil {
		return err
	}
	defer os.Remove(path)
	out, err := p.run(ctx, a, path, held.Filename, sum, &c, "", nil, func(out pushOutcome, err error) error {
		p.logPush(ctx, a, out, err, cases.ChannelChat)
		if derr := p.Store.DropHeldFile(context.WithoutCancel(ctx), held.ID); derr != nil {
			p.log().WarnContext(ctx, "drop held file", "id", held.ID, "err", derr)
		}
		msgs := []bot.Outgoing{bot.CardUpdate("file-card:"+m.ID, m.UserID, m.Card.TaskID, bot.TemplateCard{
			CardType: "button_interaction", TaskID: m.Card.TaskID,
			MainTitle: bot.CardTitle{Title: "已按“" + c.label() + "”导入", Desc: held.Filename}, ReplaceText: "已选择：" + c.Cat.Label()})}
		return p.Out.Enqueue(context.WithoutCancel(ctx), append(msgs, p.answer(m.ID, m.UserID, held.Filename, out, err)...)...)
	})
	if out.Answered {
		return err
	}
	if errors.Is(err, errBusy) || (err != nil && ctx.Err() != nil) {
		return fmt.Errorf("file %s waits for its turn: %w", held.ID, err)
	}
	if err == nil && out.AskColumns != nil {
		// The category is known now; the file keeps being held while its columns are asked.
		update := bot.CardUpdate("file-card:"+m.ID, m.UserID, m.Card.TaskID, bot.TemplateCard{
			CardType: "button_interaction", TaskID: m.Card.TaskID,
			MainTitle: bot.CardTitle{Title: "已选择“" + c.label() + "”", Desc: held.Filename}, ReplaceText: "已选择：" + c.Cat.Label()})
		return p.Out.Enqueue(ctx, update, p.columnCard(m.ID, m.UserID, mapTaskID(held.ID, 1), held.Filename, out.AskColumns))
	}
	// Not imported at all (the choices could not be read): say so.
	return p.Out.Enqueue(ctx, p.answer(m.ID, m.UserID, held.Filename, out, err)...)
}

// answer is the private reply to an import: its summary, and the refused rows as a file.
func (p *FilePushes) answer(msgID, user, name string, out pushOutcome, err error) []bot.Outgoing {
	var text string
	if err != nil {
		if cases.ErrorCode(err) == cases.EInternal {
			p.log().Error("file push failed", "msg_id", msgID, "err", err)
		}
		text = fmt.Sprintf("文件“%s”没有导入：%s", name, cases.ErrorMessage(err))
	} else {
		text = PushSummary(name, out.Batch, out.Refused.Len(), WorkbookInChat)
	}
	mt, body := bot.Text(text)
	msgs := []bot.Outgoing{{Key: "file-reply:" + msgID, Channel: bot.ToUsers, Target: user, MsgType: mt, Body: body}}
	if err == nil {
		if card, ok := p.periodCard(msgID, user, out.Batch); ok {
			msgs = append(msgs, card)
		}
	}
	if err == nil && out.Batch.DuplicateOf == nil && out.Refused.Len() > 0 {
		data, werr := out.Refused.Workbook()
		if werr != nil {
			p.log().Error("refused rows workbook", "msg_id", msgID, "err", werr)
			return msgs
		}
		fmt_, fbody, fdata := bot.File(refusedName(name), data)
		msgs = append(msgs, bot.Outgoing{Key: "file-refused:" + msgID, Channel: bot.ToUsers, Target: user, MsgType: fmt_, Body: fbody, File: fdata})
	}
	return msgs
}

// Where the refused rows' workbook is, as PushSummary says it: sent in chat, or offered on
// the upload page (nothing goes to chat from there).
const (
	WorkbookInChat = "另行发给您"
	WorkbookOnPage = "，请在本页下载"
)

// PushSummary is the answer to a department file, in chat and on the upload page: what was
// taken, what was refused and why (the first 10 row errors), and how to change the period.
// workbookRows is how many refused rows come back as a workbook.
func PushSummary(name string, b cases.Batch, workbookRows int, workbookWhere string) string {
	var s strings.Builder
	if b.DuplicateOf != nil {
		fmt.Fprintf(&s, "文件“%s”与之前推送的批次 %s 内容完全相同，没有重复导入，数据不变。\n", name, *b.DuplicateOf)
	} else {
		fmt.Fprintf(&s, "已导入文件“%s”：%s · %s，期间 %s，批次号 %s。\n", name, b.Department, b.Category.Label(), cases.PeriodLabel(b.Category, b.Period), b.ID)
	}
	fmt.Fprintf(&s, "共 %d 行：接收 %d 行，退回 %d 行，跳过 %d 行（合计、落款等非数据行），产生预警 %d 条，不在筛查范围 %d 行。",
		b.Rows, b.Accepted, b.Rejected, b.Skipped, b.Warnings, b.OutOfScope)
	if b.RegistryUpdates != nil && b.NotInRegistry != nil {
		fmt.Fprintf(&s, "更新名册 %d 人，名册外 %d 行。", *b.RegistryUpdates, *b.NotInRegistry)
	}
	if b.DuplicateOf == nil {
		fmt.Fprintf(&s, "替换本期此前推送（尚未交办）中同一人的数据 %d 行。", b.Replaced)
	}
	if b.Sheet != "" {
		fmt.Fprintf(&s, "\n读取的工作表：“%s”", b.Sheet)
		if len(b.PassedOver) > 0 {
			fmt.Fprintf(&s, "（跳过了表头不符的工作表：%s）", strings.Join(b.PassedOver, "、"))
		}
		s.WriteString("。")
	}
	if b.Late {
		s.WriteString("\n本次推送晚于推送时限，记为逾期推送。")
	} else {
		s.WriteString("\n本次推送在时限内。")
	}
	if b.DuplicateOf == nil {
		fmt.Fprintf(&s, "\n如果期间不对，请发送：期间 %s YYYY-MM（例如：期间 %s %s）", b.ID, b.ID, b.Period)
	}
	if len(b.Errors) > 0 {
		s.WriteString("\n退回的行")
		if b.Rejected > 10 {
			s.WriteString("（前 10 条）")
		}
		s.WriteString("：")
		for i, e := range b.Errors {
			if i == 10 {
				break
			}
			fmt.Fprintf(&s, "\n• 第 %d 行", e.Row)
			if e.Column != "" {
				fmt.Fprintf(&s, "（%s）", e.Column)
			}
			s.WriteString("：" + e.Message)
		}
	}
	if workbookRows > 0 && b.DuplicateOf == nil {
		fmt.Fprintf(&s, "\n退回的 %d 行已整理成 Excel 文件（含 行号 和 错误原因）%s：请改正后只重新发送这些行。", workbookRows, workbookWhere)
		if workbookRows < b.Rejected {
			fmt.Fprintf(&s, "（文件只收录了前 %d 行。）", workbookRows)
		}
	}
	return s.String()
}

// clickedFile is what a click on a held file's card needs: the file (heldID), its sender as
// an actor who may push, and the choice the click names (key). A user's mistake is answered
// through reply and comes back as done, with reply's error; an internal failure comes back as
// done with its error.
func (p *FilePushes) clickedFile(ctx context.Context, userID, heldID, key, notYours string, reply func(string) error) (held cases.HeldFile, a cases.Actor, c pushChoice, done bool, err error) {
	fail := func(err error) error {
		if cases.ErrorCode(err) == cases.EInternal {
			return err
		}
		return reply(cases.ErrorMessage(err))
	}
	if held, err = p.Store.HeldFile(ctx, heldID); err != nil {
		return held, a, c, true, fail(err)
	}
	if held.UserID != userID {
		return held, a, c, true, reply(notYours)
	}
	if a, err = p.Users.Actor(ctx, userID); err != nil {
		return held, a, c, true, fail(err)
	}
	if !mayPush(a) {
		return held, a, c, true, reply("数据文件由各行业部门的联络员或县扶贫办发送。")
	}
	all, err := p.choices(ctx, a)
	if err != nil {
		return held, a, c, true, fail(err)
	}
	c, ok := pick(all, key)
	if !ok {
		return held, a, c, true, reply("这个选项已不可用，请重新发送文件。")
	}
	return held, a, c, false, nil
}
