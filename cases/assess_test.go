package cases

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestOnTimeIsJudgedByTheDateTyped(t *testing.T) {
	due := MustDate("2026-11-09")
	at := func(s string) *time.Time { t := MustDate(s).At(15, 0); return &t }
	day := func(s string) *Date { d := MustDate(s); return &d }
	cases := []struct {
		name string
		c    Case
		want string // "true", "false", "null"
	}{
		{"录入 dated 11-05, typed weeks later", Case{Status: StatusClosed, Result: ResultInclude, DueOn: due,
			VerifiedAt: at("2026-11-04"), EnteredOn: day("2026-11-05"), ClosedAt: at("2026-11-30")}, "true"},
		{"录入 dated the due day", Case{Status: StatusClosed, Result: ResultMonitored, DueOn: due,
			VerifiedAt: at("2026-11-04"), EnteredOn: day("2026-11-09"), ClosedAt: at("2026-11-09")}, "true"},
		{"录入 dated the day after", Case{Status: StatusClosed, Result: ResultInclude, DueOn: due,
			VerifiedAt: at("2026-11-04"), EnteredOn: day("2026-11-10"), ClosedAt: at("2026-11-10")}, "false"},
		{"不纳入 recorded on the due day", Case{Status: StatusClosed, Result: ResultExclude, DueOn: due,
			VerifiedAt: at("2026-11-09"), ClosedAt: at("2026-11-09")}, "true"},
		{"不纳入 recorded a day late", Case{Status: StatusClosed, Result: ResultExclude, DueOn: due,
			VerifiedAt: at("2026-11-10"), ClosedAt: at("2026-11-10")}, "false"},
		{"信息变更 closed by 录入 without a 核查", Case{Status: StatusClosed, DueOn: due,
			EnteredOn: day("2026-11-09"), ClosedAt: at("2026-11-20")}, "true"},
		{"verified, not yet entered", Case{Status: StatusVerified, Result: ResultInclude, DueOn: due, VerifiedAt: at("2026-11-01")}, "null"},
		{"open", Case{Status: StatusDispatched, DueOn: due}, "null"},
		{"returned: judged by the new due date", Case{Status: StatusReturned, DueOn: MustDate("2026-11-23"), OriginalDueOn: day("2026-11-09")}, "null"},
		{"returned then redone by the new due date", Case{Status: StatusClosed, Result: ResultExclude, DueOn: MustDate("2026-11-23"),
			OriginalDueOn: day("2026-11-09"), VerifiedAt: at("2026-11-20"), ClosedAt: at("2026-11-20")}, "true"},
	}
	for _, tc := range cases {
		got := "null"
		if ot := OnTime(tc.c); ot != nil {
			got = map[bool]string{true: "true", false: "false"}[*ot]
		}
		if got != tc.want {
			t.Errorf("%s: on time %s, want %s", tc.name, got, tc.want)
		}
	}
	open := Case{Status: StatusDispatched, DueOn: due}
	if Late(open, due) || !Late(open, due.AddDays(1)) {
		t.Error("an open case is late from the day after its due date")
	}
}

func TestExclusionReasonMustSaySomething(t *testing.T) {
	for _, r := range []string{"", "......", "。。。。。。。", "不符合", "啊啊啊啊啊啊啊", "无 无 无 无 无 无", "？！，。、；", "------"} {
		err := CheckExclusionReason("YJ202611-0001", r)
		if ErrorCode(err) != EInvalid {
			t.Errorf("%q accepted", r)
			continue
		}
		if msg := ErrorMessage(err); !strings.Contains(msg, "例如：核查 YJ202611-0001 不纳入 "+ReasonExample) {
			t.Errorf("%q: the refusal gives no example: %s", r, msg)
		}
	}
	for _, r := range []string{"家庭年人均收入高于监测标准", "收入稳定无风险", "已外出务工收入稳定"} {
		if err := CheckExclusionReason("YJ202611-0001", r); err != nil {
			t.Errorf("%q refused: %v", r, err)
		}
	}
	_, err := Apply(sampleCase(StatusDispatched), cadre, Command{Action: ActVerify, Result: ResultExclude, Reason: "......", Now: time.Now()}, NewCalendar())
	if ErrorCode(err) != EInvalid {
		t.Errorf("Apply takes ...... as a reason: %v", err)
	}
}

func TestScoresReweightAndAreNullWithNothingToMeasure(t *testing.T) {
	show := func(p *float64) string {
		if p == nil {
			return "null"
		}
		return strconv.FormatFloat(*p, 'f', -1, 64)
	}
	for _, tc := range []struct {
		name string
		got  *float64
		want string
	}{
		{"all parts", ScoreTownship(2, 3, 1, 1, 3, 5), "75.3"},      // 50×2/3 + 30×1 + 20×0.6
		{"no spot checks", ScoreTownship(1, 2, 0, 0, 1, 2), "50"},   // (50×0.5 + 20×0.5)/70
		{"only feedback", ScoreTownship(0, 0, 0, 0, 1, 4), "25"},    // 20×0.25/20
		{"nothing at all", ScoreTownship(0, 0, 0, 0, 0, 0), "null"}, // never 0
		{"measured and missed", ScoreTownship(0, 2, 0, 1, 0, 2), "0"},
		{"department pushes only", ScoreDepartment(1, 2, 0, 0), "50"},
		{"department both", ScoreDepartment(1, 1, 1, 4), "62.5"},
		{"department nothing due", ScoreDepartment(0, 0, 0, 0), "null"},
	} {
		if g := show(tc.got); g != tc.want {
			t.Errorf("%s: score %s, want %s", tc.name, g, tc.want)
		}
	}
	if Rate(0, 0) != nil || *Rate(1, 3) != 0.3333 {
		t.Error("Rate: nil with nothing to measure, four decimals otherwise")
	}
}

func TestRoundDueByTheTenth(t *testing.T) {
	nov := MustDate("2026-11-01")
	on := func(s string) *Date { d := MustDate(s); return &d }
	for _, tc := range []struct {
		dispatched *Date
		today      string
		due, ok    bool
	}{
		{on("2026-11-10"), "2026-11-30", true, true},
		{on("2026-11-12"), "2026-11-30", true, false}, // the office late on the 12th
		{nil, "2026-11-10", false, false},             // not yet due
		{nil, "2026-11-11", true, false},              // missed
		{on("2026-11-03"), "2026-11-03", true, true},  // early
	} {
		due, ok := RoundDue(nov, tc.dispatched, MustDate(tc.today))
		if due != tc.due || ok != tc.ok {
			t.Errorf("dispatched %v, today %s: due %v on time %v, want %v %v", tc.dispatched, tc.today, due, ok, tc.due, tc.ok)
		}
	}
}

// Feedback is judged once the month is over; before, the part is left out, not counted 0.
func TestFeedbackIsJudgedAfterTheMonth(t *testing.T) {
	during := TownshipScore{Dispatched: 4, OnTime: 1, Overdue: 1}
	during.Fill()
	if during.FeedbackRate != nil || during.Score == nil || *during.Score != 50 {
		t.Errorf("during the month: feedback %v, score %v; want null and the on-time part alone (50)", during.FeedbackRate, during.Score)
	}
	after := TownshipScore{Dispatched: 4, OnTime: 1, Overdue: 1, FedBack: 2, FeedbackDue: true}
	after.Fill()
	if after.FeedbackRate == nil || *after.FeedbackRate != 0.5 || after.Score == nil || *after.Score != 50 {
		t.Errorf("after the month: feedback %v, score %v; want 0.5 and 50", after.FeedbackRate, after.Score)
	}
}

// A township with nothing judged has no score, however many spot checks of open cases pass;
// the 合计 follows the lines' rule (a feedback rate the lines leave out is left out of it);
// 信息变更 cases never owe feedback.
func TestTownshipLinesAndTheirTotalFollowOneRule(t *testing.T) {
	open := TownshipScore{Name: "城关镇", Dispatched: 10, Open: 10, SpotChecked: 2}
	open.Fill()
	if open.Score != nil || open.OnTimeRate != nil || open.FeedbackRate != nil {
		t.Errorf("all open, not yet due, two spot checks passed: score %v, want none (—), never 100", open.Score)
	}
	// Still all open and none due once the month is over: no score either, though the
	// feedback rate is measured (every case verified, awaiting 录入, made it 100).
	verified := TownshipScore{Name: "城关镇", Dispatched: 3, Open: 3, Verified: 3, FedBack: 3, FeedbackDue: true}
	verified.Fill()
	if verified.Score != nil || verified.FeedbackRate == nil || *verified.FeedbackRate != 1 {
		t.Errorf("month over, all verified, none due: score %v, feedback %v; want no score, feedback 1", verified.Score, verified.FeedbackRate)
	}
	late := TownshipScore{Name: "河口乡", Dispatched: 4, Open: 4, Overdue: 1}
	late.Fill()
	if late.Score == nil || *late.Score != 0 || late.OnTimeRate == nil || *late.OnTimeRate != 0 {
		t.Errorf("an open case past due is late: score %v rate %v, want 0 and 0", late.Score, late.OnTimeRate)
	}
	closed := TownshipScore{Name: "青山镇", Dispatched: 3, Closed: 3, OnTime: 3, FedBack: 3}
	closed.Fill()
	total := SumTownships([]TownshipScore{open, late, closed})
	if total.FeedbackRate != nil || total.OnTimeRate == nil || *total.OnTimeRate != 0.75 || total.Open != 14 || total.Dispatched != 17 {
		t.Errorf("合计 during the month: %+v, want on time 3/4 and no feedback rate", total)
	}
	for _, x := range []*TownshipScore{&open, &late, &closed} {
		x.FeedbackDue = true
	}
	closed.InfoEntered, closed.Dispatched, closed.Closed, closed.OnTime = 1, 4, 4, 4
	closed.Fill()
	if closed.FeedbackRate == nil || *closed.FeedbackRate != 1 || closed.FeedbackOf() != 3 {
		t.Errorf("a 信息变更 case counted as owing feedback: rate %v of %d", closed.FeedbackRate, closed.FeedbackOf())
	}
	total = SumTownships([]TownshipScore{open, late, closed})
	if total.FeedbackRate == nil || *total.FeedbackRate != *Rate(3, 17) {
		t.Errorf("合计 after the month: feedback %v, want 3 of 17", total.FeedbackRate)
	}
	if c := (CaseFact{Kind: KindInfo, Status: StatusDispatched}).Conclusion(); c != "待录入" {
		t.Errorf("信息变更 conclusion %q, want 待录入", c)
	}
}

// The month-end reminder lists a 信息变更 case in its own section, never among the cases
// without a 核查结论.
func TestMonthEndListsInfoCasesApart(t *testing.T) {
	today := MustDate("2026-12-28")
	cs := []CarryOverCase{
		{No: "YJ202612-0001", Round: "2026-12", Township: "城关镇", Village: "东村", HeadName: "王建国", Kind: string(KindNew), Status: string(StatusDispatched), DueOn: MustDate("2027-01-08")},
		{No: "YJ202612-0002", Round: "2026-12", Township: "城关镇", HeadName: "李四", Kind: string(KindInfo), Status: string(StatusDispatched), DueOn: MustDate("2027-01-31")},
	}
	if cs[1].NoResult() || !cs[0].NoResult() {
		t.Errorf("NoResult: a 信息变更 case owes no 核查结论")
	}
	text := CarryOverText("城关镇", "2026-12", today.LastOfMonth(), today, NewCalendar(), cs)
	current, info, _ := strings.Cut(text, "人员变动待录入全国系统")
	if !strings.Contains(current, "YJ202612-0001") || strings.Contains(current, "YJ202612-0002") || !strings.Contains(info, "YJ202612-0002（城关镇，户主李*）") {
		t.Errorf("month-end reminder:\n%s", text)
	}
}
