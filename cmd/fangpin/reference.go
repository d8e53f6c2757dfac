package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/fangpin/fangpin/announce"
	"os"
	"path/filepath"
	"runtime/debug"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/orgfile"
	"github.com/fangpin/fangpin/cases/postgres"
	"github.com/fangpin/fangpin/cases/registry"
	"github.com/fangpin/fangpin/cases/sheet"
	"github.com/fangpin/fangpin/cases/synth"
)

// runMigrate: `fangpin migrate [--json]` brings the schema up to date and says what it did
// ({"applied":n,"from_version":v,"version":v}).
func runMigrate(ctx context.Context, env *Env, args []string) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "在标准输出打印 JSON")
	if err := parseFlags(fs, args); err != nil || fs.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "用法：fangpin migrate [--json]")
		return errUsage
	}
	db, err := env.DB(ctx)
	if err != nil {
		return err
	}
	m, err := db.MigrateReport(ctx)
	if err != nil {
		return fmt.Errorf("数据库迁移失败：%w", err)
	}
	if m.Applied == 0 {
		fmt.Fprintf(os.Stderr, "数据库已是最新结构（版本 %d），无需迁移。\n", m.Version)
	} else {
		fmt.Fprintf(os.Stderr, "已应用 %d 个迁移，数据库结构从版本 %d 升到 %d。\n", m.Applied, m.From, m.Version)
	}
	if *asJSON {
		return printJSON(m)
	}
	return nil
}

func runOrg(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 || args[0] != "apply" {
		fmt.Fprintln(os.Stderr, "用法：fangpin org apply [--json] FILE.yaml（或组织文件模板 FILE.xlsx）")
		return errUsage
	}
	fs := flag.NewFlagSet("org apply", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "在标准输出打印 JSON")
	if err := parseFlags(fs, args[1:]); err != nil || fs.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "用法：fangpin org apply [--json] FILE.yaml（或组织文件模板 FILE.xlsx）")
		return errUsage
	}
	org, err := orgfile.Load(fs.Arg(0))
	if err != nil {
		return err
	}
	db, err := env.MigratedDB(ctx)
	if err != nil {
		return err
	}
	sum, err := db.ApplyOrg(ctx, org)
	if err != nil {
		if cases.ErrorCode(err) != cases.EInternal {
			return errors.New(cases.ErrorMessage(err)) // the refusal's list, in plain Chinese
		}
		return err
	}
	warnings := villageWarnings(ctx, db)
	if *asJSON {
		return printJSON(struct {
			postgres.OrgSummary
			Warnings []string `json:"warnings,omitempty"`
		}{sum, warnings})
	}
	fmt.Printf("组织文件已应用：%d 个乡镇，%d 个部门，%d 名用户。\n", sum.Townships, sum.Departments, sum.Users)
	return nil
}

func runRegistry(ctx context.Context, env *Env, args []string) error {
	const use = "用法：fangpin registry import [--json] [--dry-run] [--allow-removals] FILE（Excel .xlsx/.xls 或 CSV，国家系统导出的全县完整名册）| fangpin registry member [--json] 身份证号"
	if len(args) > 0 && args[0] == "member" {
		return runRegistryMember(ctx, env, args[1:])
	}
	if len(args) == 0 || args[0] != "import" {
		fmt.Fprintln(os.Stderr, use)
		return errUsage
	}
	fs := flag.NewFlagSet("registry import", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "在标准输出打印 JSON（含变动清单）")
	allowRemovals := fs.Bool("allow-removals", false, "允许一次退出超过 20% 的户（确认是完整名册时才用）")
	dryRun := fs.Bool("dry-run", false, "只列出会有哪些变动，不导入")
	if err := parseFlags(fs, args[1:]); err != nil || fs.NArg() != 1 {
		fmt.Fprintln(os.Stderr, use)
		return errUsage
	}
	// A county's registry is read once, into maps of its 100,000 households and 300,000
	// members that live until the end: collecting half as often spares about a twentieth of the
	// command's CPU for some 30 MB more at its peak (164 MB at most, of 256; docs/performance.md).
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(200)
	}
	db, err := env.MigratedDB(ctx)
	if err != nil {
		return err
	}
	towns, err := db.TownshipNames(ctx)
	if err != nil {
		return err
	}
	if len(towns) == 0 {
		return fmt.Errorf("还没有任何乡镇，请先运行 fangpin org apply 组织文件")
	}
	r, err := sheet.Open(fs.Arg(0))
	if err != nil {
		return fmt.Errorf("%s：%w", fs.Arg(0), err)
	}
	defer r.Close()
	store := announcedRegistry{db: db, announce: (&announce.Announcer{Links: env.formLinks()}).AnnounceMoves}
	sum, err := registry.ImportWith(ctx, r, towns, store,
		cases.RegistryImportOptions{AllowRemovals: *allowRemovals, Filename: filepath.Base(fs.Arg(0)), DryRun: *dryRun})
	if err != nil {
		if cases.ErrorCode(err) != cases.EInternal {
			if *asJSON {
				// a file refused whole still says, for scripts, what was read and why
				sum.Refused = cases.ErrorMessage(err)
				if err := printJSON(sum); err != nil {
					return err
				}
			}
			return fmt.Errorf("%s：%s", fs.Arg(0), cases.ErrorMessage(err))
		}
		return fmt.Errorf("%s：%w", fs.Arg(0), err)
	}
	if err := db.RecordAccess(ctx, cases.AccessEvent{User: cliUser(), Action: cases.AccessImport, BatchID: sum.BatchID,
		Channel: cases.ChannelCLI, Detail: fmt.Sprintf("名册 %s，%d 行", filepath.Base(fs.Arg(0)), sum.Rows)}); err != nil {
		return err
	}
	for _, e := range sum.Errors {
		fmt.Fprintf(os.Stderr, "第 %d 行，列“%s”：%s\n", e.Row, e.Column, e.Message)
	}
	if !*dryRun {
		sum.Warnings = villageWarnings(ctx, db)
	}
	if *asJSON {
		return printJSON(sum)
	}
	fmt.Printf("名册导入完成：共 %d 行，接收 %d 行，退回 %d 行；%d 户，%d 人。\n",
		sum.Rows, sum.Accepted, sum.Rejected, sum.Households, sum.Members)
	if *dryRun {
		fmt.Printf("试算（没有导入，名册没有任何变动）：将新增 %d，变更 %d，迁户 %d，退出 %d。\n", sum.Added, sum.Changed, sum.Moved, sum.Removed)
		if sum.TooManyRemovals {
			fmt.Printf("注意：退出的户超过现有户数的 %.0f%%，正式导入需加 --allow-removals。\n", 100*cases.MaxRemovalShare)
		}
		if sum.UnchangedRefused > 0 {
			fmt.Printf("因有退回的行，%d 户将保持原样。\n", sum.UnchangedRefused)
		}
		return nil
	}
	if sum.UnchangedRefused > 0 {
		fmt.Printf("因有退回的行，%d 户保持原样（未变更、未退出），请修正这些行后重新导入。\n", sum.UnchangedRefused)
	}
	if sum.BatchID == "" {
		fmt.Println("与现有名册相同，没有任何变动。")
		return nil
	}
	fmt.Printf("名册变动（批次 %s）：新增 %d，变更 %d，迁户 %d，退出 %d；随户转乡镇的在办案件 %d 件。\n",
		sum.BatchID, sum.Added, sum.Changed, sum.Moved, sum.Removed, sum.CasesMoved)
	return nil
}

// villageWarnings prints, on stderr, where the org file's villages and the registry's do
// not agree, and returns them for --json. They never fail the command.
func villageWarnings(ctx context.Context, db *postgres.DB) []string {
	ws, err := db.VillageWarnings(ctx)
	if err != nil {
		fmt.Fprintf(os.Stderr, "提醒：没能核对组织文件与名册的村名（%v），不影响本次操作。\n", err)
		return nil
	}
	for _, w := range ws {
		fmt.Fprintln(os.Stderr, "提醒："+w)
	}
	return ws
}

// announcedRegistry applies a re-import and tells the townships of the cases it moves.
type announcedRegistry struct {
	db       *postgres.DB
	announce cases.MoveAnnouncer
}

func (a announcedRegistry) BeginRegistryImport(ctx context.Context) (cases.RegistryLoad, error) {
	return a.db.BeginRegistryLoad(ctx, a.announce)
}

// runRegistryMember: `fangpin registry member [--json] ID` shows a registry member with their
// household, place, status and 人员变动 history (docs/registry.md).
func runRegistryMember(ctx context.Context, env *Env, args []string) error {
	fs := flag.NewFlagSet("registry member", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "在标准输出打印 JSON")
	if err := parseFlags(fs, args); err != nil || fs.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "用法：fangpin registry member [--json] 身份证号")
		return errUsage
	}
	db, err := env.MigratedDB(ctx)
	if err != nil {
		return err
	}
	id := cases.NormalizeIDNumber(fs.Arg(0))
	rec, err := db.RegistryMember(ctx, id)
	if cases.ErrorCode(err) == cases.ENotFound {
		// nobody has it: say so of a number that cannot be one, rather than "not in the registry"
		if bad := cases.ValidateIDNumber(id); bad != nil {
			return fmt.Errorf("%v", bad)
		}
	}
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(rec)
	}
	status := map[string]string{cases.MemberActive: "在册", cases.MemberDeceased: "已死亡", cases.MemberMovedOut: "已迁出",
		cases.MemberRemoved: "已退出名册"}[rec.Status]
	if rec.RemovedOn != nil {
		status += "（" + rec.RemovedOn.String() + "）"
	}
	fmt.Printf("%s：户编号 %s，%s%s，%s\n", cases.MaskIDNumber(rec.IDNumber), rec.Household, rec.Township, rec.Village, status)
	for _, h := range rec.History {
		fmt.Printf("  %s %s（批次 %s）\n", h.Date, h.Change, h.BatchID)
	}
	return nil
}

func runSynth(ctx context.Context, env *Env, args []string) error {
	fs := flag.NewFlagSet("synth", flag.ContinueOnError)
	out := fs.String("o", "", "输出文件")
	seed := fs.Uint64("seed", 1, "随机种子（同一种子生成同样的数据）")
	n := fs.Int("households", 320, "户数")
	asJSON := fs.Bool("json", false, "在标准输出打印 JSON")
	if len(args) == 0 || args[0] != "registry" || parseFlags(fs, args[1:]) != nil || *out == "" {
		fmt.Fprintln(os.Stderr, "用法：fangpin synth registry [--seed N] [--households N] [--json] -o FILE.csv")
		return errUsage
	}
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	defer f.Close()
	ms := synth.New(*seed).Registry(*n, synth.Townships)
	if err := synth.WriteRegistryCSV(f, ms); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if *asJSON {
		return printJSON(map[string]any{"file": *out, "households": *n, "members": len(ms)})
	}
	return nil
}
