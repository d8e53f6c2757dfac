package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/templatexlsx"
)

// runTemplate writes a category's push template or the org template (docs/intake.md).
func runTemplate(ctx context.Context, env *Env, args []string) error {
	fs := flag.NewFlagSet("template", flag.ContinueOnError)
	category := fs.String("category", "", "风险类别代码，例如 medical")
	org := fs.Bool("org", false, "写组织文件模板（乡镇、部门、人员）")
	out := fs.String("o", "", "输出文件 FILE.xlsx")
	asJSON := fs.Bool("json", false, "在标准输出打印 JSON（写了哪个文件、哪个模板）")
	if err := parseFlags(fs, args); err != nil || fs.NArg() != 0 || *out == "" || (*category == "") == !*org {
		fmt.Fprintln(os.Stderr, "用法：fangpin template [--json] --category 类别代码 -o FILE.xlsx，或 fangpin template [--json] --org -o FILE.xlsx")
		return errUsage
	}
	var buf bytes.Buffer
	if *org {
		if err := templatexlsx.Org(&buf); err != nil {
			return fmt.Errorf("写组织文件模板失败：%w", err)
		}
	} else {
		cat, ok := cases.ParseCategory(*category)
		if !ok {
			return fmt.Errorf("不认识的风险类别“%s”，应为 medical、serious_illness、education、disaster、epidemic、industry、employment、assistance、assurance 或 population", *category)
		}
		opt := templatexlsx.Options{Today: cases.DateOf(env.now())}
		// The example row names one of the county's townships when the ledger can say which.
		if db, err := env.DB(ctx); err == nil {
			if ts, err := db.Townships(ctx); err == nil && len(ts) > 0 {
				opt.Township = ts[0].Name
			}
		}
		if opt.Township == "" {
			fmt.Fprintln(os.Stderr, "（没有读到本县的乡镇，示例行用的是示例县的乡镇名称）")
		}
		if err := templatexlsx.Department(&buf, cat, opt); err != nil {
			return domainErr(err)
		}
	}
	if err := os.WriteFile(*out, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("写入 %s 失败：%w", *out, err)
	}
	if *asJSON {
		name := "org"
		if !*org {
			name = *category
		}
		return printJSON(struct {
			File     string `json:"file"`
			Template string `json:"template"`
			Bytes    int    `json:"bytes"`
		}{*out, name, buf.Len()})
	}
	return nil
}

// now is the environment's clock (the demo's, else the wall clock).
func (e *Env) now() time.Time {
	if e.Clock != nil {
		return e.Clock()
	}
	return time.Now()
}
