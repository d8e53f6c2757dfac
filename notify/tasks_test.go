package notify_test

import (
	"context"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
	"strings"
	"testing"

	"github.com/fangpin/fangpin/cases"
)

// A department task is recalled to its liaisons privately 2 working days before its due date
// and on its first overdue day, with the escalation to the office that day; a task done
// before then is not recalled again, and a closed case does not silence its open task.
func TestDepartmentTaskReminders(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	w := f.worker()
	office := cases.Actor{UserID: "zhaoliu", Name: "赵六", Role: cases.RoleOffice}
	liaison := cases.Actor{UserID: "wangwu", Name: "王五", Role: cases.RoleLiaison, Department: "医保局"}
	zhangsan := cases.Actor{UserID: "zhangsan", Role: cases.RoleCadre, Township: "城关镇"}

	day := cases.MustDate("2026-11-10")
	f.clock.Set(day.At(8, 0))
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	a := f.dispatch("2026-11", "城关镇", "张小明", "H1", day)
	b := f.dispatch("2026-11", "城关镇", "李大", "H2", day)
	f.clock.Set(day.At(10, 0))
	ta, err := f.db.ReferTask(ctx, a.No, "医保局", "请核实医疗费用报销情况", office, "test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.ReferTask(ctx, b.No, "医保局", "请核实医疗费用报销情况", office, "test"); err != nil {
		t.Fatal(err)
	}
	if ta.DueOn != cases.MustDate("2026-12-08") {
		t.Fatalf("task due %s", ta.DueOn)
	}
	// The township closes case a at once; the department's task on it stays open.
	f.transition(a.No, zhangsan, cases.Command{Action: cases.ActVerify, Result: cases.ResultExclude, Reason: "家庭收入稳定，无返贫风险"})
	// The department does b's task in time.
	f.clock.Set(cases.MustDate("2026-11-20").At(10, 0))
	if _, err := f.db.CompleteTask(ctx, b.No, liaison, "已按政策报销并落实医疗救助", "test"); err != nil {
		t.Fatal(err)
	}
	for d := cases.MustDate("2026-11-11"); !d.After(cases.MustDate("2026-12-10")); d = d.AddDays(1) {
		f.clock.Set(d.At(9, 0))
		if _, err := w.Tick(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, s := range f.sent() {
		if strings.Contains(s, " task_") {
			got = append(got, s)
		}
	}
	want := []string{
		"2026-12-04 task_due liaisons:医保局 " + a.No,
		"2026-12-09 task_escalate office " + a.No,
		"2026-12-09 task_overdue liaisons:医保局 " + a.No,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("task reminders sent:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var texts []string
	pgtest.OpenOutbox(t, f.db) // bodies are sealed (docs/encryption.md)
	if err := f.db.Select(&texts, `SELECT payload::text FROM outbox WHERE idem_key LIKE 'reminder:%' AND target = 'wangwu' AND payload::text LIKE '%部门任务%'`); err != nil {
		t.Fatal(err)
	}
	if len(texts) != 2 || !strings.Contains(strings.Join(texts, ""), "办理 "+a.No) {
		t.Errorf("liaison's private reminders: %v", texts)
	}
}
