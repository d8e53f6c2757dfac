// Command fangpin is the 防返贫预警助手: one binary whose subcommands import, dispatch, serve
// the WeCom bot, run reminder workers and simulate WeCom. This package only wires.
package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"os/signal"
	"runtime/debug"
	"sort"
	"syscall"

	"github.com/fangpin/fangpin/cases"
)

// command is one subcommand: it parses its own flags from args.
type command struct {
	summary string
	run     func(ctx context.Context, env *Env, args []string) error
}

// commands is the table of subcommands; each lives in a file of its own.
var commands = map[string]command{
	"migrate":   {"应用数据库迁移：migrate [--json]", runMigrate},
	"backup":    {"备份台账数据库：backup [--json] -o FILE", runBackup},
	"retention": {"按保存期限匿名化旧案件：retention [--apply] --json", runRetention},
	"keys":      {"个人信息密钥：keys rotate [--json]（用第一个密钥重新加密）", runKeys},
	"restore":   {"把备份恢复到空数据库：restore [--json] FILE", runRestore},
	"org":       {"组织文件：org apply FILE.yaml 或 FILE.xlsx", runOrg},
	"registry":  {"监测户名册：registry import FILE；registry member [--json] 身份证号", runRegistry},
	"synth":     {"生成虚构的演示数据：synth registry -o FILE", runSynth},
	"dispatch":  {"比对初筛、集中交办：dispatch [--month] [--date] [--dry-run] --json", runDispatch},
	"cases":     {"案件列表：cases --json [--month] [--township] [--status]", runCases},
	"audit":     {"查阅记录：audit --json [--id 身份证号] [--user 用户ID] [--since YYYY-MM-DD]", runAudit},

	// issue 7: assessment, ledger export, spot checks (cmd/fangpin/ledger.go)
	"report":    {"月度考核：report --month YYYY-MM [--json] [--feedback]", runReport},
	"export":    {"导出台账：export ledger --month YYYY-MM -o FILE.xlsx", runExport},
	"spotcheck": {"抽查抽样：spotcheck --month YYYY-MM --rate R --seed N --json", runSpotcheck},

	"import":   {"部门筛查数据：import --dept 部门 --category 类别 [--period YYYY-MM] FILE", runImport},
	"warnings": {"批次的预警：warnings --batch ID --json", runWarnings},
	"mapping":  {"部门的列名、取值对应关系：mapping --dept 部门 [--clear] --json", runMapping},
	"template": {"推送模板：template --category 类别 -o FILE.xlsx；template --org -o FILE.xlsx", runTemplate},

	"reminders": {"提醒：reminders [--json] [--case 编号 | --month YYYY-MM]；reminders rebuild [--json]", runReminders},
	"worker":    {"只运行提醒服务（可多机多实例）", runWorker},

	"chats": {"创建乡镇群聊：chats create [--json]", runChats},
	"demo":  {"整月演示：demo [--addr] [--sim-addr] [--out DIR] [--no-serve]", runDemo},

	"serve": {"运行 HTTP 服务、企业微信回调和消息发送", runServe},
	"sim":   {"运行离线的企业微信模拟器：sim [--addr :8090]", runSim},
}

func main() {
	// docs/limits.md: the process stays under 256 MB whatever it is given. The readers bound what
	// they hold (cases/sheet); a soft limit below that makes the collector return garbage
	// before the heap's usual doubling could reach it. GOMEMLIMIT, if set, wins (the runtime
	// has then set a limit below the "none" it starts with).
	if debug.SetMemoryLimit(-1) == math.MaxInt64 {
		debug.SetMemoryLimit(memoryLimit)
	}
	os.Exit(Main(os.Args[1:]))
}

// memoryLimit is the Go heap's soft limit, under the 256 MB a process may take.
const memoryLimit = 192 << 20

// keyless are the subcommands that run without the personal data keys: the demo (its own
// published keys), the WeCom simulator, made-up data and blank templates. Every other one
// opens the ledger, and refuses to start without FANGPIN_DATA_KEYS and FANGPIN_HASH_KEY
// (docs/encryption.md) unless FANGPIN_DEMO_KEYS=1 says it is a rehearsal.
var keyless = map[string]bool{"demo": true, "sim": true, "synth": true, "template": true}

// errUsage marks a mistake in how the command was called; usage was already printed.
var errUsage = errors.New("usage")

// Main runs one subcommand and returns the process exit code.
func Main(args []string) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage()
		return 2
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(os.Stderr, "不认识的子命令“%s”。\n", args[0])
		usage()
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	env, err := LoadEnv()
	if err != nil {
		fmt.Fprintf(os.Stderr, "失败：%v\n", err)
		return 1
	}
	defer env.Close()
	if !keyless[args[0]] && env.KeysAreDemo() && !env.DemoKeys {
		fmt.Fprintln(os.Stderr, "失败：没有设置个人信息密钥 FANGPIN_DATA_KEYS 和 FANGPIN_HASH_KEY，不能启动。"+
			"请按 docs/encryption.md 生成并配置（例如 FANGPIN_DATA_KEYS=k1:$(openssl rand -base64 32)，FANGPIN_HASH_KEY=$(openssl rand -base64 32)），"+
			"并与数据库分开妥善保存；只用模拟器演练时可设置 FANGPIN_DEMO_KEYS=1，使用公开的演示密钥。")
		return 1
	}
	if err := cmd.run(ctx, env, args[1:]); err != nil {
		if !errors.Is(err, errUsage) {
			fmt.Fprintf(os.Stderr, "失败：%s\n", failure(err))
		}
		return 1
	}
	return 0
}

// failure is what the person who ran the command reads: a refusal's own Chinese message,
// without the code and the wrapping context its error carries for the logs ("not_found: …",
// "apply registry: …"); anything else as it is, since it is all there is to go on.
func failure(err error) string {
	if cases.ErrorCode(err) != cases.EInternal {
		return cases.ErrorMessage(err)
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return fmt.Sprintf("找不到文件“%s”，请核对路径和文件名。", pe.Path)
		case errors.Is(err, fs.ErrPermission):
			return fmt.Sprintf("没有权限读写文件“%s”，请检查文件和目录的权限。", pe.Path)
		}
	}
	return err.Error()
}

func usage() {
	fmt.Fprintln(os.Stderr, "用法：fangpin <子命令> [参数]\n子命令：")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(os.Stderr, "  %-10s %s\n", n, commands[n].summary)
	}
}
