package main

import (
	"context"
	"flag"
	"fmt"
	"github.com/fangpin/fangpin/announce"
	"os"
	"time"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/handlers"
)

// formLinks signs H5 form links with FANGPIN_FORM_SECRET for FANGPIN_PUBLIC_URL; without
// a secret, messages carry no link (the card and the commands still work).
func (e *Env) formLinks() *handlers.FormLinks {
	if e.FormSecret == "" {
		return nil
	}
	l := &handlers.FormLinks{Secret: []byte(e.FormSecret), BaseURL: e.PublicURL}
	if e.H5OAuth {
		l.OAuthCorpID, l.OAuthAgentID = e.CorpID, e.AgentID
	}
	return l
}

func runDispatch(ctx context.Context, env *Env, args []string) error {
	const use = "用法：fangpin dispatch [--month YYYY-MM] [--date YYYY-MM-DD] [--dry-run] [--json]"
	fs := flag.NewFlagSet("dispatch", flag.ContinueOnError)
	month := fs.String("month", "", "批次月份 YYYY-MM（默认交办日所在月）")
	date := fs.String("date", "", "交办日期 YYYY-MM-DD（默认今天）")
	dry := fs.Bool("dry-run", false, "只计算交办方案，不做任何改动")
	asJSON := fs.Bool("json", false, "在标准输出打印 JSON")
	if err := parseFlags(fs, args); err != nil || fs.NArg() != 0 {
		fmt.Fprintln(os.Stderr, use)
		return errUsage
	}
	opt := cases.DispatchOptions{DryRun: *dry, Source: "cli:dispatch"}
	if *date != "" {
		d, err := cases.ParseDate(*date)
		if err != nil {
			return fmt.Errorf("交办日期“%s”看不懂，请写成 YYYY-MM-DD", *date)
		}
		opt.Date = d
	}
	if *month != "" {
		m, err := roundMonth(*month)
		if err != nil {
			return err
		}
		opt.Month = m // a month after the dispatch day's is refused by the store, as in chat
	}
	db, err := env.MigratedDB(ctx)
	if err != nil {
		return err
	}
	opt.Announce = (&announce.Announcer{Links: env.formLinks()}).Announce
	res, err := db.Dispatch(ctx, opt)
	if err != nil {
		if cases.ErrorCode(err) != cases.EInternal {
			return fmt.Errorf("%s", cases.ErrorMessage(err))
		}
		return err
	}
	fmt.Fprintln(os.Stderr, handlers.DispatchSummary(res))
	if *asJSON {
		return printJSON(res)
	}
	return nil
}

// caseJSON is one line of `fangpin cases --json` (docs/dispatch.md).
type caseJSON struct {
	CaseNo       string     `json:"case_no"`
	Kind         string     `json:"kind"`
	Township     string     `json:"township"`
	Department   string     `json:"department"`
	Status       string     `json:"status"`
	Result       string     `json:"result"`
	DispatchedAt string     `json:"dispatched_at"`
	DueOn        string     `json:"due_on"`
	EnteredOn    *string    `json:"entered_on"`
	ClosedAt     *string    `json:"closed_at"`
	OnTime       *bool      `json:"on_time"` // cases.OnTime: null while open
	Members      []string   `json:"members"`
	Categories   []string   `json:"categories"`
	Source       string     `json:"source"`
	Tasks        []taskJSON `json:"tasks"`
}

// taskJSON is one department task of a case in `fangpin cases --json`.
type taskJSON struct {
	Department string  `json:"department"`
	Status     string  `json:"status"`
	DueOn      string  `json:"due_on"`
	DoneOn     *string `json:"done_on"`
	Measure    string  `json:"measure"`
}

// roundMonth reads a round's month (--month of dispatch and cases) as YYYY-MM, or refuses it
// in Chinese.
func roundMonth(s string) (string, error) {
	m, err := cases.ParseMonth(s)
	if err != nil {
		return "", fmt.Errorf("批次%w", err)
	}
	return m.MonthKey(), nil
}

// caseFilter is the filter of `cases --month --status`, each read or refused in Chinese.
func caseFilter(month, status string) (cases.CaseFilter, error) {
	var f cases.CaseFilter
	if month != "" {
		m, err := roundMonth(month)
		if err != nil {
			return f, err
		}
		f.Round = m
	}
	if status != "" {
		s := cases.Status(status)
		if s.Label() == status {
			return f, fmt.Errorf("不认识的状态“%s”，可选 dispatched、verified、closed、returned", status)
		}
		f.Statuses = []cases.Status{s}
	}
	return f, nil
}

func runCases(ctx context.Context, env *Env, args []string) error {
	const use = "用法：fangpin cases [--json] [--month YYYY-MM] [--township 乡镇] [--status dispatched|verified|closed|returned]"
	fs := flag.NewFlagSet("cases", flag.ContinueOnError)
	month := fs.String("month", "", "批次月份 YYYY-MM")
	township := fs.String("township", "", "乡镇")
	status := fs.String("status", "", "状态")
	asJSON := fs.Bool("json", false, "每行打印一个 JSON 对象")
	if err := parseFlags(fs, args); err != nil || fs.NArg() != 0 {
		fmt.Fprintln(os.Stderr, use)
		return errUsage
	}
	f, err := caseFilter(*month, *status)
	if err != nil {
		return err
	}
	db, err := env.MigratedDB(ctx)
	if err != nil {
		return err
	}
	if *township != "" {
		names, err := db.TownshipNames(ctx)
		if err != nil {
			return err
		}
		name, ok := names[*township]
		if !ok {
			return fmt.Errorf("没有名为“%s”的乡镇", *township)
		}
		f.Township = name
	}
	cs, err := db.ListCases(ctx, f)
	if err != nil {
		return err
	}
	ids := make([]int64, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	tasks, err := db.TasksOf(ctx, ids)
	if err != nil {
		return err
	}
	if *asJSON { // the lines name every member by ID number: recorded like an export
		evs := make([]cases.AccessEvent, len(cs))
		for i, c := range cs {
			evs[i] = cases.AccessEvent{User: cliUser(), Action: cases.AccessExport, CaseNo: c.No, Channel: cases.ChannelCLI, Detail: "cases --json"}
		}
		if err := db.RecordAccesses(ctx, evs); err != nil {
			return err
		}
	}
	for _, c := range cs {
		if !*asJSON {
			fmt.Printf("%s\t%s\t%s\t%s\t%s\t%s\n", c.No, c.Kind, c.Township, c.Status.Label(), c.Result, c.DueOn)
			continue
		}
		j := caseJSON{CaseNo: c.No, Kind: c.Kind.Label(), Township: c.Township, Department: c.Department,
			Status: string(c.Status), Result: c.Result.Label(),
			DispatchedAt: c.DispatchedAt.In(cases.Shanghai).Format(time.RFC3339), DueOn: c.DueOn.String(),
			OnTime: cases.OnTime(c), Members: c.Members, Categories: make([]string, len(c.Categories)), Source: c.Source.Label(), Tasks: []taskJSON{}}
		for _, t := range tasks[c.ID] {
			tj := taskJSON{Department: t.Department, Status: string(t.Status), DueOn: t.DueOn.String(), Measure: t.Measure}
			if t.DoneOn != nil {
				s := t.DoneOn.String()
				tj.DoneOn = &s
			}
			j.Tasks = append(j.Tasks, tj)
		}
		if j.Members == nil {
			j.Members = []string{}
		}
		for i, cat := range c.Categories {
			j.Categories[i] = string(cat)
		}
		if c.EnteredOn != nil {
			s := c.EnteredOn.String()
			j.EnteredOn = &s
		}
		if c.ClosedAt != nil {
			s := c.ClosedAt.In(cases.Shanghai).Format(time.RFC3339)
			j.ClosedAt = &s
		}
		if err := printJSON(j); err != nil {
			return err
		}
	}
	if !*asJSON {
		fmt.Fprintf(os.Stderr, "共 %d 件。\n", len(cs))
	}
	return nil
}
