package handlers

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/cases"
)

func TestDownloadMessageSaysWhatWentWrong(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("x: %w", bot.ErrDownloadTooLarge), "超过 50 MB 的上限"},
		{&bot.ForeignURLError{URL: "https://evil.example/f"}, "不是企业微信的地址"},
		{bot.ErrDownloadGone, "已经失效"},
		{bot.ErrFileCipher, "无法解密"},
		{fmt.Errorf("connection reset"), "下载文件时出了问题"},
	} {
		if got := downloadMessage(tc.err, 50<<20); !strings.Contains(got, tc.want) {
			t.Errorf("%v: %q, want it to say %q", tc.err, got, tc.want)
		}
	}
}

func TestRefusedRowsWorkbookIsBounded(t *testing.T) {
	t.Parallel()
	var r refusedRows
	for i := 0; i < maxRefusedRows+5; i++ {
		r.add([]string{"姓名"}, i+2, []string{"张三"}, nil)
	}
	if r.Len() != maxRefusedRows || r.left != 5 {
		t.Fatalf("kept %d rows, left %d; want %d and 5", r.Len(), r.left, maxRefusedRows)
	}
	if s := PushSummary("a.xlsx", batchWith(maxRefusedRows+5), r.Len(), WorkbookInChat); !strings.Contains(s, fmt.Sprintf("只收录了前 %d 行", maxRefusedRows)) {
		t.Errorf("summary does not say the workbook is cut: %s", s)
	}
}

func batchWith(rejected int) cases.Batch {
	return cases.Batch{ID: "B1", Department: "医保局", Category: cases.CatMedical, Period: "2026-11", Rows: rejected, Rejected: rejected}
}

func TestPushSummarySaysWhatWasReplaced(t *testing.T) {
	t.Parallel()
	b := batchWith(0)
	if s := PushSummary("a.xlsx", b, 0, WorkbookInChat); !strings.Contains(s, "同一人的数据 0 行") {
		t.Errorf("nothing replaced, and the summary does not say so: %s", s)
	}
	b.Replaced = 3
	if s := PushSummary("a.xlsx", b, 0, WorkbookInChat); !strings.Contains(s, "同一人的数据 3 行") {
		t.Errorf("summary does not say 3 rows were replaced: %s", s)
	}
}

// Every count of the import is in the answer, in chat and on the page alike.
func TestPushSummaryStatesEveryCount(t *testing.T) {
	t.Parallel()
	b := cases.Batch{ID: "B1", Department: "医保局", Category: cases.CatMedical, Period: "2026-11", Rows: 9, Accepted: 5,
		Rejected: 2, Skipped: 2, Warnings: 4, OutOfScope: 1, Replaced: 3, Late: true, Sheet: "明细", PassedOver: []string{"说明", "汇总"}}
	s := PushSummary("a.xlsx", b, 0, WorkbookInChat)
	for _, want := range []string{"共 9 行", "接收 5 行", "退回 2 行", "跳过 2 行", "产生预警 4 条", "不在筛查范围 1 行",
		"同一人的数据 3 行", "逾期", "读取的工作表：“明细”", "说明、汇总", "期间 2026-11", "期间 B1 YYYY-MM"} {
		if !strings.Contains(s, want) {
			t.Errorf("summary lacks %q:\n%s", want, s)
		}
	}
}

func TestOtherPeriodsOfferedForRefiling(t *testing.T) {
	t.Parallel()
	today := cases.NewDate(2026, time.December, 7)
	if got := fmt.Sprint(otherPeriods("2026-11", today)); got != "[2026-09 2026-10 2026-12]" {
		t.Errorf("around 2026-11: %s", got)
	}
	if got := fmt.Sprint(otherPeriods("2026-12", today)); got != "[2026-10 2026-11]" {
		t.Errorf("around this month: %s (no month to come)", got)
	}
	if got := fmt.Sprint(otherPeriods("2026-01", today)); got != "[2025-11 2025-12 2026-02]" {
		t.Errorf("across the year: %s", got)
	}
}
