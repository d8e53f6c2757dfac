package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sort"
)

// runMapping shows or clears a department's stored column and value mapping (docs/intake.md).
func runMapping(ctx context.Context, env *Env, args []string) error {
	fs := flag.NewFlagSet("mapping", flag.ContinueOnError)
	dept := fs.String("dept", "", "部门名称，例如 民政局")
	clear := fs.Bool("clear", false, "清除该部门保存的列名和取值对应关系")
	asJSON := fs.Bool("json", false, "在标准输出打印 JSON")
	if err := parseFlags(fs, args); err != nil || fs.NArg() != 0 || *dept == "" {
		fmt.Fprintln(os.Stderr, "用法：fangpin mapping --dept 部门名称 [--clear] --json")
		return errUsage
	}
	db, err := env.MigratedDB(ctx)
	if err != nil {
		return err
	}
	if *clear {
		if err := db.ClearDepartmentMapping(ctx, *dept); err != nil {
			return domainErr(err)
		}
		fmt.Fprintf(os.Stderr, "已清除%s的列名和取值对应关系，以后的文件按标准列名读取。\n", *dept)
	}
	m, err := db.DepartmentMapping(ctx, *dept)
	if err != nil {
		return domainErr(err)
	}
	if *asJSON {
		return printJSON(m)
	}
	if m.Empty() {
		fmt.Printf("%s没有保存列名和取值对应关系。\n", m.Department)
		return nil
	}
	heads := make([]string, 0, len(m.Columns))
	for h := range m.Columns {
		heads = append(heads, h)
	}
	sort.Strings(heads)
	for _, h := range heads {
		fmt.Printf("列“%s”→ %s\n", h, m.Columns[h])
	}
	cols := make([]string, 0, len(m.Values))
	for c := range m.Values {
		cols = append(cols, c)
	}
	sort.Strings(cols)
	for _, c := range cols {
		for w, v := range m.Values[c] {
			fmt.Printf("%s：“%s”→ %s\n", c, w, v)
		}
	}
	return nil
}
