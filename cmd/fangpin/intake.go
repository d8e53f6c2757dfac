package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/intake"
	"github.com/fangpin/fangpin/cases/postgres"
)

const importUsage = "用法：fangpin import --dept 部门名称 --category 类别代码 [--period YYYY-MM（教育类可写学年 YYYY-YYYY）] [--json] FILE（Excel .xlsx/.xls、CSV 或制表符分隔的文本）"

// domainErr keeps a domain error's Chinese message without its code prefix.
func domainErr(err error) error {
	var e *cases.Error
	if errors.As(err, &e) {
		return errors.New(e.Msg)
	}
	return err
}

func runImport(ctx context.Context, env *Env, args []string) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	dept := fs.String("dept", "", "推送部门名称，例如 医保局")
	category := fs.String("category", "", "风险类别代码，例如 medical")
	period := fs.String("period", "", "期次 YYYY-MM（按月推送的类别默认上月，其余默认本月）")
	asJSON := fs.Bool("json", false, "在标准输出打印 JSON")
	if err := parseFlags(fs, args); err != nil || fs.NArg() != 1 || *dept == "" || *category == "" {
		fmt.Fprintln(os.Stderr, importUsage)
		return errUsage
	}
	cat, ok := cases.ParseCategory(*category)
	if !ok {
		return fmt.Errorf("不认识的风险类别“%s”", *category)
	}
	rules, err := env.Rules()
	if err != nil {
		return err
	}
	db, err := env.MigratedDB(ctx)
	if err != nil {
		return err
	}
	path := fs.Arg(0)
	req := intake.Request{Department: *dept, Category: cat, Period: *period, Source: "file", Rules: rules,
		Today: db.Today(), Progress: func(n int) { fmt.Fprintf(os.Stderr, "已处理 %d 行……\n", n) }}
	b, err := intake.ImportFile(ctx, db, req, path)
	if err != nil {
		return fmt.Errorf("%s：%w", path, domainErr(err))
	}
	for i, e := range b.Errors {
		if i == 50 {
			fmt.Fprintf(os.Stderr, "……另有 %d 行有问题，详见 --json 输出的 errors。\n", b.Rejected-50)
			break
		}
		fmt.Fprintf(os.Stderr, "第 %d 行，列“%s”：%s\n", e.Row, e.Column, e.Message)
	}
	if b.DuplicateOf == nil {
		if err := db.RecordAccess(ctx, cases.AccessEvent{User: cliUser(), Action: cases.AccessImport, BatchID: b.ID,
			Channel: cases.ChannelCLI, Detail: fmt.Sprintf("%s %s %s 期，%d 行", b.Department, b.Category, b.Period, b.Rows)}); err != nil {
			return err
		}
	}
	if b.DuplicateOf != nil {
		fmt.Fprintf(os.Stderr, "这个文件已经导入过（批次 %s），本次没有做任何改动。\n", *b.DuplicateOf)
	}
	if b.Replaced > 0 {
		fmt.Fprintf(os.Stderr, "本次有 %d 行替换了本期此前推送中同一人的数据（尚未交办，以本次为准）。\n", b.Replaced)
	}
	if b.Sheet != "" {
		if len(b.PassedOver) > 0 {
			fmt.Fprintf(os.Stderr, "读取的是工作表“%s”（工作表“%s”没有本类别的表头，已跳过）。\n", b.Sheet, strings.Join(b.PassedOver, "”“"))
		} else {
			fmt.Fprintf(os.Stderr, "读取的是工作表“%s”。\n", b.Sheet)
		}
	}
	if b.Skipped > 0 {
		fmt.Fprintf(os.Stderr, "%d 行是合计行或表尾（制表人、注等），不是数据，已跳过。\n", b.Skipped)
	}
	if b.OutOfScope > 0 {
		fmt.Fprintf(os.Stderr, "%d 行不在本类别的筛查范围内（例如非建档立卡、义务教育学段、较大及以下级别事件），未作预警。\n", b.OutOfScope)
	}
	if b.Late {
		fmt.Fprintln(os.Stderr, "本次推送晚于推送时限，已接收，并计入部门推送时效考核。")
	}
	if b.RegistryUpdates != nil {
		fmt.Fprintf(os.Stderr, "人员变动：更新名册 %d 人；%d 行所列人员不在名册中，未作改动。\n", *b.RegistryUpdates, *b.NotInRegistry)
	}
	if *asJSON {
		return printJSON(b)
	}
	fmt.Printf("导入完成：批次 %s，%s %s 期，共 %d 行，接收 %d 行，退回 %d 行，预警 %d 条。\n",
		b.ID, b.Department, b.Period, b.Rows, b.Accepted, b.Rejected, b.Warnings)
	return nil
}

func runWarnings(ctx context.Context, env *Env, args []string) error {
	fs := flag.NewFlagSet("warnings", flag.ContinueOnError)
	batch := fs.String("batch", "", "批次号（fangpin import 输出的 batch_id）")
	asJSON := fs.Bool("json", false, "每行打印一条 JSON")
	if err := parseFlags(fs, args); err != nil || *batch == "" || fs.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "用法：fangpin warnings --batch 批次号 --json")
		return errUsage
	}
	db, err := env.MigratedDB(ctx)
	if err != nil {
		return err
	}
	// The lines name each person by ID number and name: recorded like an export.
	if err := db.RecordAccess(ctx, cases.AccessEvent{User: cliUser(), Action: cases.AccessExport, BatchID: *batch,
		Channel: cases.ChannelCLI, Detail: "warnings"}); err != nil {
		return err
	}
	err = db.BatchWarnings(ctx, *batch, func(w postgres.BatchWarning) error {
		if *asJSON {
			return printJSON(w)
		}
		amount := ""
		if w.Amount != nil {
			amount = string(*w.Amount)
		}
		_, err := fmt.Printf("%d\t%s\t%s\t%s\t%s\t%s\n", w.Row, w.Name, w.IDNumber, w.Township, w.Rule, amount)
		return err
	})
	return domainErr(err)
}
