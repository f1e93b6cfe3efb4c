package e2e

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// viewportScreenshot captures the page's w×h viewport as a PNG.
func viewportScreenshot(w, h int64) chromedp.Action[[]byte] {
	return func(ctx context.Context, t *chromedp.Target) ([]byte, error) {
		r, err := cdp.Call(ctx, t, page.CaptureScreenshot, page.CaptureScreenshotParams{
			Format:                page.CaptureScreenshotFormatPng,
			Clip:                  &page.Viewport{Width: float64(w), Height: float64(h), Scale: 1},
			CaptureBeyondViewport: new(true),
		})
		return r.Data, err
	}
}

// TestScreenshots saves pictures of a lively room for the README, when
// PARLEY_SCREENSHOTS names the folder to save them in ("make screenshots").
func TestScreenshots(t *testing.T) {
	dir := os.Getenv("PARLEY_SCREENSHOTS")
	if dir == "" {
		t.Skip("set PARLEY_SCREENSHOTS to a folder to save screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t)
	seedConversation(t, srv)
	for _, shot := range []struct {
		name   string
		w, h   int64
		scheme string
	}{
		{"room-desktop-light", 1280, 800, "light"},
		{"room-desktop-dark", 1280, 800, "dark"},
		{"room-mobile-light", 390, 844, "light"},
		{"room-mobile-dark", 390, 844, "dark"},
	} {
		tb := newPerson(t, srv, shot.name, withViewport(shot.w, shot.h), withScheme(shot.scheme))
		tb.signIn("maya")
		tb.waitJS(actionTimeout, `document.querySelector("#online li[data-handle=maya]") !== null`, "maya online")
		tb.screenshot(dir, shot.name)
	}
	tb := newPerson(t, srv, "room-menu", withViewport(1280, 800))
	tb.signIn("maya")
	tb.do(chromedp.Click(chromedp.ID("account-toggle")), chromedp.WaitVisible(chromedp.ID("new-room-name")))
	tb.screenshot(dir, "room-menu")
	tb = newPerson(t, srv, "sign-in", withViewport(1280, 800))
	tb.goTo("/login")
	tb.screenshot(dir, "sign-in")
}

// screenshot saves the tab's viewport as dir/name.png.
func (tb *tab) screenshot(dir, name string) {
	tb.t.Helper()
	png := run(tb, viewportScreenshot(tb.cfg.width, tb.cfg.height))
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		tb.t.Fatal(err)
	}
}
