package handlers

import (
	"context"
	"strings"
	"testing"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/cases"
)

type users map[string]cases.Actor

func (u users) Actor(ctx context.Context, id string) (cases.Actor, error) {
	if a, ok := u[id]; ok {
		return a, nil
	}
	return cases.Actor{}, cases.Errorf(cases.ENotFound, "unknown")
}

type queue struct{ got []bot.Outgoing }

func (q *queue) Enqueue(ctx context.Context, msgs ...bot.Outgoing) error {
	q.got = append(q.got, msgs...)
	return nil
}

func TestParse(t *testing.T) {
	t.Parallel()
	name, args, rest := Parse("@防返贫助手　核查 yj202611-0001 不纳入  家庭收入 稳定")
	if name != "核查" || len(args) != 4 || args[0] != "yj202611-0001" || rest != "yj202611-0001 不纳入  家庭收入 稳定" {
		t.Fatalf("Parse: %q %q %q", name, args, rest)
	}
}

func TestHelpAndUnknownUser(t *testing.T) {
	t.Parallel()
	q := &queue{}
	r := NewRouter(users{"zhangsan": {UserID: "zhangsan", Name: "张三", Role: cases.RoleCadre, Township: "城关镇"}}, q, nil)
	r.HandleMessage(context.Background(), bot.Message{ID: "m1", UserID: "zhangsan", Text: "帮助"})
	r.HandleMessage(context.Background(), bot.Message{ID: "m2", UserID: "stranger", Text: "帮助", ResponseURL: "http://x/resp"})
	if len(q.got) != 2 {
		t.Fatalf("%d replies, want 2", len(q.got))
	}
	if q.got[0].Channel != bot.ToUsers || q.got[0].Target != "zhangsan" || !strings.Contains(string(q.got[0].Body), "城关镇") {
		t.Errorf("help reply: %+v %s", q.got[0], q.got[0].Body)
	}
	if q.got[1].Channel != bot.ToResponseURL || !strings.Contains(string(q.got[1].Body), "县扶贫办") {
		t.Errorf("unknown user's reply: %+v %s", q.got[1], q.got[1].Body)
	}
}

func TestRoleRefusal(t *testing.T) {
	t.Parallel()
	q := &queue{}
	r := NewRouter(users{"zhangsan": {UserID: "zhangsan", Name: "张三", Role: cases.RoleCadre, Township: "城关镇"}}, q, nil)
	r.Register(&Command{Name: "交办", Roles: []cases.Role{cases.RoleOffice}, Usage: "交办", Run: func(context.Context, Request) (string, error) { return "done", nil }})
	got := r.Answer(context.Background(), bot.Message{ID: "m", UserID: "zhangsan", Text: "交办"})
	if !strings.Contains(got, "只有县扶贫办") {
		t.Fatalf("cadre using 交办: %s", got)
	}
}

// A chat command over 2,048 bytes is refused with the limit named, and not run (docs/limits.md).
func TestCommandOverTheLimitIsRefused(t *testing.T) {
	t.Parallel()
	q := &queue{}
	r := NewRouter(users{"zhangsan": {UserID: "zhangsan", Name: "张三", Role: cases.RoleCadre, Township: "城关镇"}}, q, nil)
	ran := false
	r.Register(&Command{Name: "核查", Roles: []cases.Role{cases.RoleCadre}, Usage: "核查", Run: func(context.Context, Request) (string, error) { ran = true; return "done", nil }})
	long := "核查 YJ202611-0001 不纳入 " + strings.Repeat("家庭收入稳定", 120)
	got := r.Answer(context.Background(), bot.Message{ID: "m", UserID: "zhangsan", Text: long})
	if ran || !strings.Contains(got, "2048 字节") || strings.Contains(got, "家庭收入稳定") {
		t.Fatalf("a %d-byte command: ran %v, reply %s", len(long), ran, got)
	}
	if got := r.Answer(context.Background(), bot.Message{ID: "m2", UserID: "zhangsan", Text: "核查 YJ202611-0001 不纳入 家庭收入稳定"}); got != "done" || !ran {
		t.Fatalf("a short command: %s", got)
	}
}

// Only the command's head is read forgivingly; the free text is taken as typed.
func TestFreeTextKeptAsTyped(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		text string
		n    int
		name string
		args []string // the head words
		want string
	}{
		{"核查 YJ202611-0001 不纳入 经核实：家庭收入稳定。", 2, "核查", []string{"YJ202611-0001", "不纳入"}, "经核实：家庭收入稳定。"},
		{"核查YJ202611-0001纳入：见 https://fp.example/a?b=1 ，已安排。", 2, "核查", []string{"YJ202611-0001", "纳入"}, "见 https://fp.example/a?b=1 ，已安排。"},
		{"@防返贫助手　核查：yj202611-0001　不纳入　与YJ202611-0002同户，　已合并。", 2, "核查", []string{"yj202611-0001", "不纳入"}, "与YJ202611-0002同户，　已合并。"},
		{"核查 YJ202611-0001 纳入。", 2, "核查", []string{"YJ202611-0001", "纳入"}, ""},
		{"办理YJ202611-0001 已发放临时救助2000元：10:30 到户。", 1, "办理", []string{"YJ202611-0001"}, "已发放临时救助2000元：10:30 到户。"},
		{"申报 110101199001011234 王建国 因病 住院自付：3万元。", 3, "申报", []string{"110101199001011234", "王建国", "因病"}, "住院自付：3万元。"},
		{"抽查 YJ202611-0001 不合格 走访记录不全：缺签字。", 2, "抽查", []string{"YJ202611-0001", "不合格"}, "走访记录不全：缺签字。"},
	} {
		name, args, rest := Parse(c.text)
		if name != c.name || len(args) < len(c.args) {
			t.Errorf("%q: command %q args %q", c.text, name, args)
			continue
		}
		for i, a := range c.args {
			if args[i] != a {
				t.Errorf("%q: argument %d = %q, want %q", c.text, i, args[i], a)
			}
		}
		if got := (Request{Args: args, Rest: rest}).Text(c.n); got != c.want {
			t.Errorf("%q: free text %q, want %q", c.text, got, c.want)
		}
	}
}
