package main

import (
	"context"
	"flag"
	"fmt"
	"os"
)

// runKeys: `fangpin keys rotate [--json]` re-seals the personal data under the first key of
// FANGPIN_DATA_KEYS and seals what an older version stored in plain (docs/encryption.md), in
// batches of 1,000 rows, each its own transaction: stopped, it is run again. It prints
// {"key":"…","tables":[{"table","rewritten","left"}]}.
func runKeys(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 || args[0] != "rotate" {
		fmt.Fprintln(os.Stderr, "用法：fangpin keys rotate [--json]")
		return errUsage
	}
	fs := flag.NewFlagSet("keys rotate", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "在标准输出打印 JSON")
	if err := parseFlags(fs, args[1:]); err != nil || fs.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "用法：fangpin keys rotate [--json]")
		return errUsage
	}
	db, err := env.DB(ctx)
	if err != nil {
		return err
	}
	if err := db.Migrate(ctx); err != nil {
		return fmt.Errorf("数据库迁移失败：%w", err)
	}
	tables, err := db.Reseal(ctx, 0)
	if err != nil {
		return fmt.Errorf("重新加密未完成（可再次运行 keys rotate 继续）：%w", err)
	}
	left := 0
	for _, t := range tables {
		left += t.Left
		fmt.Fprintf(os.Stderr, "%s：重新加密 %d 行，剩余 %d 行。\n", t.Table, t.Rewritten, t.Left)
	}
	if left == 0 {
		fmt.Fprintf(os.Stderr, "个人信息已全部用密钥 %s 加密。\n", db.Keys.Current())
		if _, err := db.SealPending(ctx); err != nil { // records that nothing is plain
			return err
		}
	}
	if *asJSON {
		return printJSON(struct {
			Key    string `json:"key"`
			Tables any    `json:"tables"`
		}{db.Keys.Current(), tables})
	}
	return nil
}

// warnDemoKeys says on stderr that the personal data is sealed under the published demo
// keys: right for a rehearsal, never for a county's data (docs/encryption.md).
func warnDemoKeys(env *Env) {
	if env.KeysAreDemo() {
		fmt.Fprintln(os.Stderr, "注意：未设置 FANGPIN_DATA_KEYS 和 FANGPIN_HASH_KEY，个人信息正用公开的演示密钥加密，等于没有加密。"+
			"演示和模拟演练可以这样运行；正式使用前请按 docs/encryption.md 生成并配置密钥。")
	}
}
