package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/fangpin/fangpin/cases"
)

// runRetention: `fangpin retention [--apply] --json` lists (or, with --apply, anonymizes)
// the cases closed more than FANGPIN_RETENTION_YEARS years ago (docs/operations.md).
func runRetention(ctx context.Context, env *Env, args []string) error {
	fs := flag.NewFlagSet("retention", flag.ContinueOnError)
	apply := fs.Bool("apply", false, "执行匿名化（不加时只列出将被匿名化的案件）")
	asJSON := fs.Bool("json", false, "在标准输出打印 JSON")
	if err := parseFlags(fs, args); err != nil || fs.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "用法：fangpin retention [--apply] --json")
		return errUsage
	}
	db, err := env.MigratedDB(ctx)
	if err != nil {
		return err
	}
	warnDemoKeys(env) // the hashes it keeps are only as good as FANGPIN_HASH_KEY
	today := cases.DateOf(db.Now())
	cutoff := cases.NewDate(today.Year-env.RetentionYears, today.Month, today.Day)
	due, err := db.RetentionDue(ctx, cutoff.At(0, 0))
	if err != nil {
		return err
	}
	stray, err := db.StrayWarningsDue(ctx, cutoff.At(0, 0))
	if err != nil {
		return err
	}
	res := struct {
		Apply        bool     `json:"apply"`
		Years        int      `json:"retention_years"`
		ClosedBefore string   `json:"closed_before"`
		Cases        int      `json:"cases"`
		Warnings     int      `json:"warnings"`
		Anonymized   int      `json:"anonymized"`
		CaseNos      []string `json:"case_nos"`
		// warnings no case will hold (out of scope, replaced before the round) pushed before
		// the cutoff: anonymized as well
		StrayWarnings int `json:"stray_warnings"`
	}{Apply: *apply, Years: env.RetentionYears, ClosedBefore: cutoff.String(), Cases: len(due), CaseNos: []string{}, StrayWarnings: stray}
	if *apply && stray > 0 {
		if res.StrayWarnings, err = db.AnonymizeStrayWarnings(ctx, cutoff.At(0, 0)); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "已匿名化 %d 条 %s 之前推送、未进入任何案件的预警（不在筛查范围或已被后来的推送替换）。\n", res.StrayWarnings, cutoff)
	} else if stray > 0 {
		fmt.Fprintf(os.Stderr, "另有 %d 条 %s 之前推送、未进入任何案件的预警将被匿名化。\n", stray, cutoff)
	}
	for _, c := range due {
		res.Warnings += c.Warnings
		res.CaseNos = append(res.CaseNos, c.CaseNo)
		if !*apply {
			continue
		}
		ok, err := db.Anonymize(ctx, c.ID)
		if err != nil {
			return err
		}
		if ok {
			res.Anonymized++
		}
	}
	switch {
	case len(due) == 0:
		fmt.Fprintf(os.Stderr, "没有 %s 之前办结、尚未匿名化的案件。\n", cutoff)
	case *apply:
		fmt.Fprintf(os.Stderr, "已匿名化 %d 件 %s 之前办结的案件（%d 条预警）：姓名、身份证号和文字说明已清除，统计数字保留。\n", res.Anonymized, cutoff, res.Warnings)
	default:
		fmt.Fprintf(os.Stderr, "%d 件 %s 之前办结的案件（%d 条预警）将被匿名化；确认后加 --apply 执行。\n", len(due), cutoff, res.Warnings)
	}
	if *asJSON {
		return printJSON(res)
	}
	return nil
}
