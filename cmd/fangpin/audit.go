package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/user"
	"time"

	"github.com/fangpin/fangpin/cases"
)

// cliUser names whoever runs a command in the access log: "cli", with the operating
// system's user when known.
func cliUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return "cli:" + u.Username
	}
	return "cli"
}

// auditLine is one line of `fangpin audit --json` (spec's contract).
type auditLine struct {
	At      string `json:"at"`
	User    string `json:"user"`
	Action  string `json:"action"`
	CaseNo  string `json:"case_no"`
	Channel string `json:"channel"`
	Detail  string `json:"detail"`
}

func runAudit(ctx context.Context, env *Env, args []string) error {
	const use = "用法：fangpin audit [--json] [--id 身份证号] [--user 用户ID] [--since YYYY-MM-DD]"
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	id := fs.String("id", "", "只列出涉及此人的案件和批次")
	who := fs.String("user", "", "只列出此用户的操作")
	since := fs.String("since", "", "起始日期 YYYY-MM-DD")
	asJSON := fs.Bool("json", false, "每行打印一个 JSON 对象")
	if err := parseFlags(fs, args); err != nil || fs.NArg() != 0 {
		fmt.Fprintln(os.Stderr, use)
		return errUsage
	}
	f := cases.AuditFilter{IDNumber: cases.NormalizeIDNumber(*id), User: *who}
	if *id != "" {
		if err := cases.ValidateIDNumber(f.IDNumber); err != nil {
			return fmt.Errorf("--id：%w", domainErr(err))
		}
	}
	if *since != "" {
		d, err := time.ParseInLocation("2006-01-02", *since, cases.Shanghai)
		if err != nil {
			return fmt.Errorf("--since 的日期“%s”格式不对，请写成 2026-11-01", *since)
		}
		f.Since = d
	}
	db, err := env.MigratedDB(ctx)
	if err != nil {
		return err
	}
	es, err := db.Audit(ctx, f)
	if err != nil {
		return err
	}
	for _, e := range es {
		l := auditLine{At: e.At.In(cases.Shanghai).Format(time.RFC3339), User: e.User, Action: e.Action,
			CaseNo: e.CaseNo, Channel: e.Channel, Detail: e.Detail}
		if *asJSON {
			if err := printJSON(l); err != nil {
				return err
			}
			continue
		}
		fmt.Printf("%s\t%s\t%s\t%s\t%s\t%s\n", l.At, l.User, l.Action, l.CaseNo, l.Channel, l.Detail)
	}
	if !*asJSON {
		fmt.Fprintf(os.Stderr, "共 %d 条记录。\n", len(es))
	}
	return nil
}
