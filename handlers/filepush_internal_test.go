package handlers

import (
	"fmt"
	"strings"
	"testing"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/cases"
)

func TestDownloadMessageSaysWhatWentWrong(t *testing.T) {
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
	var r refusedRows
	for i := 0; i < maxRefusedRows+5; i++ {
		r.add([]string{"姓名"}, i+2, []string{"张三"}, nil)
	}
	if r.Len() != maxRefusedRows || r.left != 5 {
		t.Fatalf("kept %d rows, left %d; want %d and 5", r.Len(), r.left, maxRefusedRows)
	}
	if s := PushSummary("a.xlsx", batchWith(maxRefusedRows+5), r.Len()); !strings.Contains(s, fmt.Sprintf("只收录了前 %d 行", maxRefusedRows)) {
		t.Errorf("summary does not say the workbook is cut: %s", s)
	}
}

func batchWith(rejected int) cases.Batch {
	return cases.Batch{ID: "B1", Department: "医保局", Category: cases.CatMedical, Period: "2026-11", Rows: rejected, Rejected: rejected}
}

func TestPushSummarySaysWhatWasReplaced(t *testing.T) {
	b := batchWith(0)
	if s := PushSummary("a.xlsx", b, 0); strings.Contains(s, "替换") {
		t.Errorf("nothing replaced, yet: %s", s)
	}
	b.Replaced = 3
	if s := PushSummary("a.xlsx", b, 0); !strings.Contains(s, "其中 3 行替换了本期此前推送") {
		t.Errorf("summary does not say 3 rows were replaced: %s", s)
	}
}
