package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/cdproto/security"
	"github.com/chromedp/chromedp"

	"parley/internal/testcert"
)

// TestTenTabsOverHTTP2: with a certificate, one person opens ten tabs of a
// room in one browser. The pages come over HTTP/2, all ten streams are
// live at once over the browser's one connection (over plain HTTP/1.1 the
// sixth would wait), and a message sent from one tab reaches all ten.
func TestTenTabsOverHTTP2(t *testing.T) {
	dir := t.TempDir()
	cert, key, _ := testcert.Write(t, dir)
	srv := startServerOn(t, filepath.Join(dir, "parley.db"), "-tls-cert", cert, "-tls-key", key)
	first := newPerson(t, srv, "https-1")
	// The browser is told to accept the self-signed certificate, as a
	// person clicks through its warning.
	first.do(chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, security.SetIgnoreCertificateErrors,
			security.SetIgnoreCertificateErrorsParams{Ignore: true})
		return err
	}))
	first.register("ann")
	tabs := []*tab{first}
	for i := 2; i <= 10; i++ {
		tb := first.newTab(fmt.Sprintf("https-%d", i))
		tb.goTo("/rooms/general")
		tabs = append(tabs, tb)
	}
	for _, tb := range tabs {
		tb.waitJS(5*time.Second, liveJS, "stream live")
		if p := eval[string](tb, `performance.getEntriesByType("navigation")[0].nextHopProtocol`); p != "h2" {
			t.Errorf("%s: the page came over %q; want h2", tb.name, p)
		}
		if eval[bool](tb, pausedJS) {
			t.Errorf("%s: says its live updates are paused over HTTPS", tb.name)
		}
	}
	if n := serverConns(srv); n != 1 {
		t.Errorf("%d connections to the server with ten live tabs; want their one", n)
	}
	first.send("to all ten tabs")
	for _, tb := range tabs {
		tb.waitMessage("to all ten tabs", deliveryLimit)
	}
}
