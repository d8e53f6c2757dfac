package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/ledgerxlsx"
	"github.com/fangpin/fangpin/handlers"
)

// checkMonth defaults to this month in Asia/Shanghai and must be YYYY-MM.
func checkMonth(m string) (string, error) {
	if m == "" {
		return cases.DateOf(time.Now()).MonthKey(), nil
	}
	d, err := cases.ParseMonth(m)
	if err != nil {
		return "", err
	}
	return d.MonthKey(), nil
}

func runReport(ctx context.Context, env *Env, args []string) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	month := fs.String("month", "", "月份 YYYY-MM（默认本月）")
	asJSON := fs.Bool("json", false, "在标准输出打印 JSON")
	feedback := fs.Bool("feedback", false, "只打印月底结果反馈情况（哪些乡镇还欠核查结论或理由）")
	if err := parseFlags(fs, args); err != nil || fs.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "用法：fangpin report [--month YYYY-MM] [--json] [--feedback]")
		return errUsage
	}
	m, err := checkMonth(*month)
	if err != nil {
		return err
	}
	db, err := env.MigratedDB(ctx)
	if err != nil {
		return err
	}
	a, err := db.Assess(ctx, m)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(a)
	}
	fb := cases.FeedbackSummary(a)
	if *feedback {
		fmt.Println(fb.Text())
		return nil
	}
	printTownships(a)
	printSweeps(a)
	fmt.Println("\n部门考核（推送时效、交办任务）：")
	for _, d := range a.Departments {
		if d.Score == nil {
			continue
		}
		fmt.Printf("  %s：得分 %.1f；应推送 %d 项，按时 %d 项；到期任务 %d 项，按时 %d 项\n", d.Name, *d.Score,
			d.PushesDue, d.PushesOnTime, d.TasksDue, d.TasksOnTime)
		for _, p := range d.Pushes {
			state := "未收到"
			if p.Received != nil {
				state = "收到于 " + p.Received.In(cases.Shanghai).Format("2006-01-02 15:04")
			}
			fmt.Printf("    %s（数据月份 %s，时限 %s）%s\n", p.Category.Label(), p.Period, p.Deadline, state)
		}
	}
	fmt.Println()
	fmt.Println(fb.Text())
	return nil
}

// printTownships prints the month's township table (the 汇总 sheet's figures) and the
// office's dispatch timeliness.
func printTownships(a cases.Assessment) {
	fmt.Printf("%s 考核情况（截至 %s）\n", a.Month, a.AsOf.In(cases.Shanghai).Format("2006-01-02 15:04"))
	fmt.Printf("%-8s %6s %6s %6s %6s %8s %6s %8s %8s %8s %6s\n", "乡镇", "交办", "办结", "按时", "逾期", "按时率", "抽查", "不合格", "反馈率", "待反馈", "得分")
	pct := func(r *float64) string {
		if r == nil {
			return "—"
		}
		return fmt.Sprintf("%.1f%%", *r*100)
	}
	for _, t := range a.Townships {
		score := "—"
		if t.Score != nil {
			score = fmt.Sprintf("%.1f", *t.Score)
		}
		fmt.Printf("%-8s %6d %6d %6d %6d %8s %6d %8d %8s %8d %6s\n", t.Name, t.Dispatched, t.Closed, t.OnTime, t.Overdue,
			pct(t.OnTimeRate), t.SpotChecked, t.SpotFailed, pct(t.FeedbackRate), t.OwingResult, score)
	}
	o := a.Office
	switch {
	case o.DispatchedOn != nil:
		fmt.Printf("县扶贫办：%s 集中交办（时限 %s），按时 %d/%d\n", o.DispatchedOn, o.Deadline, o.RoundsOnTime, o.RoundsDue)
	case o.RoundsDue > 0:
		fmt.Printf("县扶贫办：时限 %s 已过，尚未集中交办，按时 0/%d\n", o.Deadline, o.RoundsDue)
	default:
		fmt.Printf("县扶贫办：集中交办时限 %s，尚未到期\n", o.Deadline)
	}
}

func runExport(ctx context.Context, env *Env, args []string) error {
	fs := flag.NewFlagSet("export ledger", flag.ContinueOnError)
	month := fs.String("month", "", "月份 YYYY-MM（默认本月）")
	out := fs.String("o", "", "输出文件 FILE.xlsx")
	asJSON := fs.Bool("json", false, "在标准输出打印 JSON")
	if len(args) == 0 || args[0] != "ledger" || parseFlags(fs, args[1:]) != nil || *out == "" || fs.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "用法：fangpin export ledger --month YYYY-MM [--json] -o FILE.xlsx")
		return errUsage
	}
	m, err := checkMonth(*month)
	if err != nil {
		return err
	}
	db, err := env.MigratedDB(ctx)
	if err != nil {
		return err
	}
	a, err := db.MonthLedger(ctx, m)
	if err != nil {
		return err
	}
	if err := ledgerxlsx.WriteFile(*out, a); err != nil {
		return err
	}
	if err := db.RecordAccess(ctx, cases.AccessEvent{User: cliUser(), Action: cases.AccessExport, Channel: cases.ChannelCLI,
		Detail: fmt.Sprintf("台账 %s，%d 户，往月未办结 %d 户", m, len(a.Cases), len(a.Unfinished))}); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "已导出 %s 台账：%d 户，往月未办结 %d 户，写入 %s。\n", m, len(a.Cases), len(a.Unfinished), *out)
	if *asJSON {
		return printJSON(map[string]any{"month": m, "cases": len(a.Cases), "unfinished": len(a.Unfinished), "file": *out})
	}
	return nil
}

func runSpotcheck(ctx context.Context, env *Env, args []string) error {
	fs := flag.NewFlagSet("spotcheck", flag.ContinueOnError)
	month := fs.String("month", "", "月份 YYYY-MM（默认本月）")
	rate := fs.Float64("rate", 0.1, "抽查比例，0–1（每个乡镇×风险类别分层向上取整）")
	seed := fs.Int64("seed", 0, "随机种子：同一种子抽到同样的案件（默认用月份，如 202611）")
	asJSON := fs.Bool("json", false, "在标准输出每行打印一个 JSON")
	if err := parseFlags(fs, args); err != nil || fs.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "用法：fangpin spotcheck --month YYYY-MM --rate R --seed N [--json]")
		return errUsage
	}
	m, err := checkMonth(*month)
	if err != nil {
		return err
	}
	if *seed == 0 {
		*seed = cases.SpotSeed(m)
	}
	db, err := env.MigratedDB(ctx)
	if err != nil {
		return err
	}
	picks, err := handlers.DrawSpotChecks(ctx, db, m, *rate, *seed)
	if err != nil {
		if cases.ErrorCode(err) != cases.EInternal {
			return fmt.Errorf("%s", cases.ErrorMessage(err))
		}
		return err
	}
	for _, p := range picks {
		if *asJSON {
			if err := printJSON(p); err != nil {
				return err
			}
		} else {
			fmt.Printf("%s\t%s\t%s\n", p.CaseNo, p.Township, p.Category.Label())
		}
	}
	if len(picks) == 0 {
		fmt.Fprintf(os.Stderr, "%s 还没有交办的案件可以抽查。\n", m)
		return nil
	}
	fmt.Fprintf(os.Stderr, "%s 抽取 %d 户（比例 %g，种子 %d），名单已发给督查人员。\n", m, len(picks), *rate, *seed)
	return nil
}

// printSweeps prints the month's 区域排查 tasks, counted apart from households (docs/registry.md).
func printSweeps(a cases.Assessment) {
	if len(a.AreaSweeps) == 0 {
		return
	}
	fmt.Println("\n区域排查（灾情、疫情，不计入交办户数）：")
	for _, t := range a.AreaSweeps {
		fmt.Printf("  %s：%d 项，已完成 %d 项，逾期 %d 项，发现 %d 户，走访上报关联 %d 户\n", t.Name, t.Tasks, t.Done, t.Overdue, t.Found, t.Linked)
	}
}
