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
	name, args, rest := Parse("@防返贫助手　核查 yj202611-0001 不纳入  家庭收入 稳定")
	if name != "核查" || len(args) != 4 || args[0] != "yj202611-0001" || rest != "yj202611-0001 不纳入  家庭收入 稳定" {
		t.Fatalf("Parse: %q %q %q", name, args, rest)
	}
}

func TestHelpAndUnknownUser(t *testing.T) {
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
	q := &queue{}
	r := NewRouter(users{"zhangsan": {UserID: "zhangsan", Name: "张三", Role: cases.RoleCadre, Township: "城关镇"}}, q, nil)
	r.Register(&Command{Name: "交办", Roles: []cases.Role{cases.RoleOffice}, Usage: "交办", Run: func(context.Context, Request) (string, error) { return "done", nil }})
	got := r.Answer(context.Background(), bot.Message{ID: "m", UserID: "zhangsan", Text: "交办"})
	if !strings.Contains(got, "只有县扶贫办") {
		t.Fatalf("cadre using 交办: %s", got)
	}
}

// A chat command over 2,048 bytes is refused with the limit named, and not run (spec §14).
func TestCommandOverTheLimitIsRefused(t *testing.T) {
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
