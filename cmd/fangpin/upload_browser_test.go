package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/fangpin/fangpin/handlers"
	"github.com/fangpin/fangpin/internal/browsertest"
)

// The upload page in a phone-sized browser: pick a file, upload it with the page's own
// script (XHR with progress), see the summary and the refused rows' workbook to download.
func TestUploadPageInBrowser(t *testing.T) {
	ctx := browsertest.New(t)
	t.Setenv("FANGPIN_FORM_SECRET", "upload-browser")
	_, _, base, _ := startServer(t)
	link := (&handlers.FormLinks{Secret: []byte("upload-browser"), BaseURL: base}).UploadURL("wangwu")
	path := filepath.Join(t.TempDir(), "医保11月.xlsx")
	if err := os.WriteFile(path, medicalXLSX(t, "522631198001010021"), 0o644); err != nil {
		t.Fatal(err)
	}
	// the first Do starts the browser and must not carry a timeout; later steps do
	if err := chromedp.Do(ctx, chromedp.Navigate(link)); err != nil {
		t.Fatalf("browser: %v", err)
	}
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	err := chromedp.Do(tctx,
		chromedp.SetUploadFiles(css("#file"), []string{path}),
		chromedp.SetValue(css("#period"), "2026-10"),
		chromedp.Click(css("#submit")),
		chromedp.WaitVisible(css("#refused")),
	)
	if err != nil {
		t.Fatalf("upload on the page: %v", err)
	}
	summary, err := chromedp.Run(tctx, chromedp.Text(css("#summary")))
	if err != nil || !strings.Contains(summary, "共 3 行：接收 2 行，退回 1 行") || !strings.Contains(summary, "2026-10") {
		t.Errorf("summary on the page: %q %v", summary, err)
	}
	name, err := chromedp.Run(tctx, chromedp.Evaluate[string](`document.getElementById("refused").download`))
	if err != nil || name != "医保11月-退回的行.xlsx" {
		t.Errorf("workbook link named %q (%v)", name, err)
	}
	progress, err := chromedp.Run(tctx, chromedp.Evaluate[float64](`document.getElementById("progress").value`))
	if err != nil || progress != 100 {
		t.Errorf("progress bar at %v (%v), want 100", progress, err)
	}
}

// The page's form for columns it cannot place: the drop-downs appear, the liaison picks the
// file's column, the same file goes again with the answer and is imported.
func TestUploadPageAsksColumnsInBrowser(t *testing.T) {
	ctx := browsertest.New(t)
	t.Setenv("FANGPIN_FORM_SECRET", "upload-browser")
	_, _, base, _ := startServer(t)
	link := (&handlers.FormLinks{Secret: []byte("upload-browser"), BaseURL: base}).UploadURL("liaison_nyj")
	path := filepath.Join(t.TempDir(), "产业.csv")
	csv := "姓名,身份证号,所在乡镇,村,人员类别,产业项目,损失金额\n张一," + validID("52263119800101001") + ",城关镇,东村,一般农户,养猪,100\n"
	if err := os.WriteFile(path, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(link)); err != nil {
		t.Fatalf("browser: %v", err)
	}
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	err := chromedp.Do(tctx,
		chromedp.SetUploadFiles(css("#file"), []string{path}),
		chromedp.Click(css("#submit")),
		chromedp.WaitVisible(css("#map0")),
		chromedp.SetValue(css("#map0"), "所在乡镇"),
		chromedp.Click(css("#submit")),
		chromedp.WaitVisible(css("#summary")),
	)
	if err != nil {
		t.Fatalf("columns on the page: %v", err)
	}
	var summary string
	for i := 0; i < 50 && !strings.Contains(summary, "接收"); i++ {
		summary, err = chromedp.Run(tctx, chromedp.Text(css("#summary")))
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil || !strings.Contains(summary, "共 1 行：接收 1 行") {
		t.Errorf("summary after the columns: %q %v", summary, err)
	}
}
