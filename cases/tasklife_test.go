package cases

import (
	"strings"
	"testing"
)

// TestCompleteTask walks 办理 over a case's tasks: who may complete which task, with what
// measure, and what the audit trail records.
func TestCompleteTask(t *testing.T) {
	now := MustDate("2026-11-20").At(10, 0)
	c := Case{ID: 4, No: "YJ202611-0004", Township: "城关镇"}
	zjj := Actor{UserID: "zjj", Role: RoleLiaison, Department: "住建局"}
	rsj := Actor{UserID: "rsj", Role: RoleLiaison, Department: "人社局"}
	open := func(id int64, dept string) Task {
		return Task{ID: id, CaseID: 4, Department: dept, Status: TaskOpen, DueOn: MustDate("2026-12-08")}
	}
	done := open(9, "住建局")
	done.Status = TaskDone
	tests := []struct {
		name    string
		ts      []Task
		a       Actor
		measure string
		code    Code // "" when accepted
		says    string
		task    int64
	}{
		{"the department's liaison with a measure", []Task{open(1, "水利局"), open(2, "住建局")}, zjj, "  已落实危房改造补助  ", "", "", 2},
		{"a cadre", []Task{open(2, "住建局")}, cadre, "已落实危房改造补助", EForbidden, "联络员", 0},
		{"one word", []Task{open(2, "住建局")}, zjj, "好", EInvalid, "至少 4 个字", 0},
		{"another department's task", []Task{open(1, "水利局"), open(2, "住建局")}, rsj, "已安排就业帮扶", EForbidden, "水利局、住建局", 0},
		{"done before", []Task{done}, zjj, "再次登记办理", EIllegal, "已经办理完毕", 0},
		{"no task of any department", nil, zjj, "已落实危房改造补助", ENotFound, "没有交办给住建局", 0},
	}
	for _, tt := range tests {
		ch, err := CompleteTask(c, tt.ts, tt.a, tt.measure, now)
		if tt.code != "" {
			if ErrorCode(err) != tt.code || !strings.Contains(ErrorMessage(err), tt.says) {
				t.Errorf("%s: %v, want %s saying %q", tt.name, err, tt.code, tt.says)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		got := ch.Task
		if got.ID != tt.task || got.Status != TaskDone || got.DoneOn == nil || *got.DoneOn != MustDate("2026-11-20") || got.Measure != "已落实危房改造补助" {
			t.Errorf("%s: task becomes %+v, want task %d done on 2026-11-20 with the trimmed measure", tt.name, got, tt.task)
		}
		if ch.Action != ActTaskDone || ch.Detail["department"] != "住建局" || ch.Detail["measure"] != "已落实危房改造补助" {
			t.Errorf("%s: audit %s %v", tt.name, ch.Action, ch.Detail)
		}
		if tt.ts[1].Status != TaskOpen {
			t.Errorf("%s: the caller's tasks were changed", tt.name)
		}
	}
}

// TestReferTask walks the office's 转办.
func TestReferTask(t *testing.T) {
	cal := NewCalendar()
	now := MustDate("2026-11-10").At(15, 0)
	c := Case{ID: 4, No: "YJ202611-0004"}
	depts := []string{"住建局", "水利局", "人社局"}
	tests := []struct {
		name, dept, note string
		a                Actor
		ts               []Task
		code             Code
		says             string
	}{
		{"office refers", " 住建局 ", " 请核实危房情况 ", office, []Task{{Department: "住建局", Status: TaskDone}}, "", ""},
		{"not the office", "住建局", "请核实", cadre, nil, EForbidden, "县扶贫办"},
		{"unknown department", "不存在局", "请核实", office, nil, EInvalid, "人社局、住建局、水利局"},
		{"no 说明", "住建局", "查", office, nil, EInvalid, "请写明需要住建局办理的事项"},
		{"an open task already", "住建局", "请核实", office, []Task{{Department: "住建局", Status: TaskOpen}}, EIllegal, "尚未办理"},
	}
	for _, tt := range tests {
		ch, err := ReferTask(c, tt.ts, tt.a, tt.dept, tt.note, depts, now, cal)
		if tt.code != "" {
			if ErrorCode(err) != tt.code || !strings.Contains(ErrorMessage(err), tt.says) {
				t.Errorf("%s: %v, want %s saying %q", tt.name, err, tt.code, tt.says)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		got := ch.Task
		if got.CaseID != 4 || got.Department != "住建局" || got.Status != TaskOpen || got.DueOn != MustDate("2026-12-08") || got.Note != "请核实危房情况" {
			t.Errorf("%s: new task %+v, want 住建局's on case 4 due 2026-12-08 with the trimmed note", tt.name, got)
		}
		if ch.Action != ActTaskAdded || ch.Origin != TaskFromReferral || ch.Detail["origin"] != TaskFromReferral || ch.Detail["due_on"] != "2026-12-08" {
			t.Errorf("%s: audit %s %v origin %q", tt.name, ch.Action, ch.Detail, ch.Origin)
		}
	}
}

// TestRetarget: a renamed township's group reminders go to the new group; the digest's and
// the month-end's keys name the group and are rebuilt as planning would for the new name,
// a case's key names the case and stays.
func TestRetarget(t *testing.T) {
	due := MustDate("2026-11-25").At(ReminderHour, 0)
	for _, c := range []struct {
		kind    ReminderKind
		key     string
		wantKey string
	}{
		{RemindMonthEnd, "month:2026-11:month_end:河口乡:group:河口乡", "month:2026-11:month_end:河口镇:group:河口镇"},
		{RemindDigest, "digest:group:河口乡:2026-11-25", "digest:group:河口镇:2026-11-25"},
		{RemindCaseDue, "case:7:0:case_due:2026-11-25", "case:7:0:case_due:2026-11-25"},
	} {
		target, key := Retarget(StoredReminder{Kind: c.kind, Target: "group:河口乡", DueAt: due}, c.key, "河口镇")
		if target != "group:河口镇" || key != c.wantKey {
			t.Errorf("%s: %s %s, want group:河口镇 %s", c.kind, target, key, c.wantKey)
		}
	}
	// The month-end key is the one MonthReminders plans for the new name.
	rs := MonthReminders(MustDate("2026-11-01"), nil, []string{"河口镇"}, NewCalendar())
	for _, r := range rs {
		if r.Kind == RemindMonthEnd && r.Key != "month:2026-11:month_end:河口镇:group:河口镇" {
			t.Errorf("planned month-end key %s", r.Key)
		}
	}
}
