// Package browsertest starts Debian's headless Chromium for browser tests through chromedp.
// A test is skipped when no Chromium is installed, but only outside CI: in CI a missing
// browser is a failure (make test installs it with scripts/chromium.sh).
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"testing"

	"github.com/chromedp/chromedp"
)

// Path finds the browser, skipping or failing t when there is none.
func Path(t testing.TB) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	if os.Getenv("CI") == "" {
		t.Skip("chromium not found (make test installs it)")
	}
	t.Fatal("chromium not found; run scripts/chromium.sh")
	return ""
}

// New starts a phone-sized headless browser and returns its context, closed when t ends.
// The flags keep Chromium off the network this machine does not have. The first chromedp
// action on the context starts the browser and must not carry a timeout.
func New(t testing.TB) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(Path(t)), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.NoFirstRun, chromedp.WindowSize(390, 844),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	return ctx
}
