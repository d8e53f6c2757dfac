package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/fangpin/fangpin/cases/synth"
)

// A flag the command cannot read is refused in Chinese, naming the flag and what it takes,
// followed by the command's usage: the flag package's own message ("invalid value "abc" for
// flag -rate: parse error", then an English "Usage of spotcheck:") reached the office before.
func TestFlagMistakesAreToldInChinese(t *testing.T) {
	t.Setenv("DATABASE_URL", "postgres://127.0.0.1:1/none?sslmode=disable") // never reached
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"spotcheck", "--rate", "abc", "--json"}, "参数 --rate 的取值“abc”不对：应为数字，例如 0.1。"},
		{[]string{"spotcheck", "--seed", "1.5"}, "参数 --seed 的取值“1.5”不对：应为整数"},
		{[]string{"dispatch", "--dry-run=maybe"}, "参数 --dry-run 的取值“maybe”不对：应为 true 或 false。"},
		{[]string{"dispatch", "--nope"}, "不认识的参数 --nope"},
		{[]string{"cases", "--month"}, "参数 --month 后面缺少取值。"},
	} {
		code, stdout, stderr := runIntakeCLI(t, tc.args...)
		if code == 0 || stdout != "" || !strings.Contains(stderr, tc.want) || !strings.Contains(stderr, "用法：fangpin "+tc.args[0]) ||
			strings.Contains(stderr, "invalid") || strings.Contains(stderr, "Usage") || strings.Contains(stderr, "flag") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want %q and the usage", tc.args, code, stdout, stderr, tc.want)
		}
	}
}

// A refusal reads as its own Chinese message: "失败：not_found: 名册中没有…" showed the
// error's code to the office.
func TestRefusalsShowNoErrorCode(t *testing.T) {
	withExampleOrg(t)
	code, stdout, stderr := runIntakeCLI(t, "registry", "member", "--json", synth.New(5).IDNumber(1970))
	if code == 0 || stdout != "" || !strings.HasPrefix(stderr, "失败：名册中没有") || strings.Contains(stderr, "not_found") {
		t.Errorf("registry member of nobody: exit %d, stdout %q, stderr %q; want the refusal's own message", code, stdout, stderr)
	}
	// a number that cannot be one says what is wrong with it, not that nobody has it
	if code, _, stderr := runIntakeCLI(t, "registry", "member", "--json", "12345"); code == 0 || !strings.Contains(stderr, "身份证号应为 18 位") {
		t.Errorf("registry member 12345: exit %d, stderr %q", code, stderr)
	}
}

// A file that is not there is said so in Chinese ("open …: no such file or directory" before).
func TestMissingFilesAreToldInChinese(t *testing.T) {
	withExampleOrg(t)
	for _, args := range [][]string{
		{"import", "--dept", "医保局", "--category", "medical", "/nonexistent/医保.csv"},
		{"registry", "import", "/nonexistent/名册.csv"},
		{"org", "apply", "/nonexistent/org.yaml"},
	} {
		code, _, stderr := runIntakeCLI(t, args...)
		if code == 0 || !strings.Contains(stderr, "找不到文件") || strings.Contains(stderr, "no such file") {
			t.Errorf("%v: exit %d, stderr %q; want 找不到文件 and no English", args, code, stderr)
		}
	}
}

// The commands that open the ledger refuse to start without the personal data keys
// (docs/encryption.md; they ran on the published demo keys, which protect nothing), unless FANGPIN_DEMO_KEYS=1
// says it is a rehearsal; the simulator, made-up data and blank templates need none.
func TestCommandsRefuseToStartWithoutKeys(t *testing.T) {
	t.Setenv("FANGPIN_DEMO_KEYS", "")
	t.Setenv("FANGPIN_DATA_KEYS", "")
	t.Setenv("FANGPIN_HASH_KEY", "")
	t.Setenv("DATABASE_URL", "postgres://127.0.0.1:1/none?sslmode=disable") // never reached
	for _, args := range [][]string{{"migrate"}, {"cases", "--json"}, {"serve"}, {"worker"}, {"registry", "member", "--json", "990101198001010011"}} {
		code, stdout, stderr := runIntakeCLI(t, args...)
		if code == 0 || stdout != "" || !strings.Contains(stderr, "没有设置个人信息密钥") || !strings.Contains(stderr, "FANGPIN_DEMO_KEYS=1") {
			t.Errorf("%v without keys: exit %d, stderr %q; want a refusal to start", args, code, stderr)
		}
	}
	out := filepath.Join(t.TempDir(), "t.xlsx")
	if code, _, stderr := runIntakeCLI(t, "template", "--category", "medical", "-o", out); code != 0 {
		t.Errorf("template without keys: exit %d, %s", code, stderr)
	}
	t.Setenv("FANGPIN_DEMO_KEYS", "1")
	if code, _, stderr := runIntakeCLI(t, "cases", "--json"); strings.Contains(stderr, "没有设置个人信息密钥") {
		t.Errorf("with FANGPIN_DEMO_KEYS=1: exit %d, %s", code, stderr)
	}
}
