package e2e

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// actionTimeout bounds each step a test takes in a tab.
const actionTimeout = 15 * time.Second

// tab is one browser tab of one person. It records what should never
// happen on a page (console errors, uncaught exceptions, CSP violations,
// failed loads) and fails the test at its end for each one the test did not
// expect. It also records the requests it makes, to check how the event
// stream resumes.
type tab struct {
	t    *testing.T
	name string
	srv  *server
	ctx  context.Context
	cfg  tabConfig

	mu       sync.Mutex
	problems []string
	allowed  []string
	requests []*request
	byID     map[network.RequestID]*request
}

// request is one request the page made, as the network events tell it.
type request struct {
	URL         string
	LastEventID string // the header, "" when absent
	Status      int64  // 0 while no answer came
}

// request returns the record of a request; the caller holds tb.mu. The
// network events of one request can come in any order.
func (tb *tab) request(id network.RequestID) *request {
	if r := tb.byID[id]; r != nil {
		return r
	}
	if tb.byID == nil {
		tb.byID = map[network.RequestID]*request{}
	}
	r := &request{}
	tb.byID[id] = r
	tb.requests = append(tb.requests, r)
	return r
}

type tabConfig struct {
	noJS          bool
	scheme        string // prefers-color-scheme: "light" or "dark"
	width, height int64
}

// tabOption sets up a tab.
type tabOption func(*tabConfig)

// withoutJS turns JavaScript off in the tab.
func withoutJS() tabOption { return func(c *tabConfig) { c.noJS = true } }

// withScheme emulates prefers-color-scheme.
func withScheme(scheme string) tabOption { return func(c *tabConfig) { c.scheme = scheme } }

// withViewport sets the size of the page in CSS pixels.
func withViewport(w, h int64) tabOption {
	return func(c *tabConfig) { c.width, c.height = w, h }
}

// pageWatch runs in every page before its own scripts. It turns every CSP
// violation into a console error, which the tab records (with JavaScript
// off, Chromium's own log still reports them), and it adds up the layout
// shifts that no input caused, as Cumulative Layout Shift does.
const pageWatch = `document.addEventListener("securitypolicyviolation", function (e) {
  console.error("CSP violation: " + e.violatedDirective + " blocked " + (e.blockedURI || "inline") + " at " + e.sourceFile + ":" + e.lineNumber);
});
window.__layoutShift = {total: 0, sources: []};
new PerformanceObserver(function (list) {
  list.getEntries().forEach(function (e) {
    if (e.hadRecentInput) return;
    window.__layoutShift.total += e.value;
    e.sources.forEach(function (s) {
      if (s.node && s.node.outerHTML) window.__layoutShift.sources.push(s.node.outerHTML.slice(0, 120));
    });
  });
}).observe({type: "layout-shift", buffered: true});`

// newPerson opens a tab in a browser context of its own: a person with
// their own cookies.
func newPerson(t *testing.T, srv *server, name string, opts ...tabOption) *tab {
	t.Helper()
	tb := &tab{t: t, name: name, srv: srv, cfg: tabConfig{scheme: "light", width: 1280, height: 800}}
	for _, o := range opts {
		o(&tb.cfg)
	}
	ctx, cancel := chromedp.NewContext(needBrowser(t),
		chromedp.WithNewBrowserContext(), chromedp.WithListener(tb.listen))
	tb.open(ctx, cancel)
	return tb
}

// newTab opens another tab of the same person (same cookies).
func (tb *tab) newTab(name string) *tab {
	tb.t.Helper()
	nt := &tab{t: tb.t, name: name, srv: tb.srv, cfg: tb.cfg}
	ctx, cancel := chromedp.NewContext(tb.ctx, chromedp.WithListener(nt.listen))
	nt.open(ctx, cancel)
	return nt
}

func (tb *tab) open(ctx context.Context, cancel context.CancelFunc) {
	tb.t.Helper()
	tb.ctx = ctx
	tb.t.Cleanup(func() {
		cancel()
		tb.checkProblems()
	})
	// The first run opens the tab and binds it to the context it gets, so
	// it must get the tab's own context, not one with a timeout.
	if err := chromedp.Do(ctx); err != nil {
		tb.t.Fatalf("%s: open tab: %v", tb.name, err)
	}
	tb.do(chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled,
			emulation.SetScriptExecutionDisabledParams{Value: tb.cfg.noJS}); err != nil {
			return err
		}
		if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: tb.cfg.scheme}},
		}); err != nil {
			return err
		}
		_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument,
			page.AddScriptToEvaluateOnNewDocumentParams{Source: pageWatch})
		return err
	}), chromedp.EmulateViewport(tb.cfg.width, tb.cfg.height))
}

// listen runs on the tab's event loop: it must be quick and send nothing.
func (tb *tab) listen(ev any) {
	var problem string
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
			problem = "console." + string(ev.Type) + ": " + consoleText(ev.Args)
		}
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		problem = "uncaught exception: " + d.Text
		if d.Exception != nil {
			problem += " " + d.Exception.Description
		}
	case *log.EventEntryAdded:
		if ev.Entry.Level == log.EntryLevelError {
			problem = fmt.Sprintf("browser log (%s): %s %s", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL)
		}
	case *network.EventResponseReceived:
		if ev.Response.Status >= 400 {
			problem = fmt.Sprintf("HTTP %d %s", ev.Response.Status, ev.Response.URL)
		}
		tb.mu.Lock()
		tb.request(ev.RequestID).Status = ev.Response.Status
		tb.mu.Unlock()
	case *network.EventRequestWillBeSent:
		tb.mu.Lock()
		r := tb.request(ev.RequestID)
		r.URL = ev.Request.URL
		if id, ok := ev.Request.Headers["Last-Event-ID"].(string); ok {
			r.LastEventID = id
		}
		tb.mu.Unlock()
	case *network.EventRequestWillBeSentExtraInfo:
		// The headers as sent, with the ones the network stack adds, such
		// as an EventSource's Last-Event-ID.
		if id, ok := ev.Headers["Last-Event-ID"].(string); ok {
			tb.mu.Lock()
			tb.request(ev.RequestID).LastEventID = id
			tb.mu.Unlock()
		}
	}
	if problem != "" {
		tb.mu.Lock()
		tb.problems = append(tb.problems, problem)
		tb.mu.Unlock()
	}
}

func consoleText(args []*runtime.RemoteObject) string {
	parts := make([]string, 0, len(args))
	for _, a := range args {
		switch {
		case a.Type == runtime.RemoteObjectTypeString:
			parts = append(parts, strings.Trim(string(a.Value), `"`))
		case a.Description != "":
			parts = append(parts, a.Description)
		default:
			parts = append(parts, string(a.Value))
		}
	}
	return strings.Join(parts, " ")
}

// layoutShift is what the page's layout shifted without input since it
// loaded: the total score and the elements that moved.
type layoutShift struct {
	Total   float64  `json:"total"`
	Sources []string `json:"sources"`
}

// checkLayoutShift fails the test when the page's layout shifted by itself.
func (tb *tab) checkLayoutShift(when string) {
	tb.t.Helper()
	ls := eval[layoutShift](tb, `window.__layoutShift`)
	if ls.Total > 0.001 {
		tb.t.Errorf("%s: layout shifted by %.4f %s; moved: %v", tb.name, ls.Total, when, ls.Sources)
	}
}

// allow marks problems that contain substr as expected, such as the 401
// of a failed sign-in.
func (tb *tab) allow(substr ...string) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	tb.allowed = append(tb.allowed, substr...)
}

// checkProblems fails the test for every problem the test did not allow.
func (tb *tab) checkProblems() {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	for _, p := range tb.problems {
		expected := false
		for _, a := range tb.allowed {
			if strings.Contains(p, a) {
				expected = true
				break
			}
		}
		if !expected {
			tb.t.Errorf("%s: %s", tb.name, p)
		}
	}
}

// streamRequests returns the event stream requests the tab made so far.
func (tb *tab) streamRequests() []request { return tb.requestsTo("/events") }

// requestsTo returns the requests the tab made so far to a path ending in
// suffix.
func (tb *tab) requestsTo(suffix string) []request {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	var rs []request
	for _, r := range tb.requests {
		if u, err := url.Parse(r.URL); err == nil && strings.HasSuffix(u.Path, suffix) {
			rs = append(rs, *r)
		}
	}
	return rs
}

// loseAnswers makes the tab lose the answers to its requests to paths
// ending in suffix, as a flaky network does: each request reaches the
// server, which answers, and the page sees the connection reset. The
// returned func ends it.
func (tb *tab) loseAnswers(suffix string) (stop func()) {
	tb.t.Helper()
	ctx, cancel := context.WithCancel(tb.ctx)
	paused := make(chan fetch.RequestID, 16)
	if err := chromedp.Listen(ctx, func(ev any) {
		if ev, ok := ev.(*fetch.EventRequestPaused); ok {
			paused <- ev.RequestID // a listener may not send commands
		}
	}); err != nil {
		tb.t.Fatalf("%s: listen: %v", tb.name, err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case id := <-paused:
				chromedp.Call(tb.ctx, fetch.FailRequest, fetch.FailRequestParams{
					RequestID: id, ErrorReason: network.ErrorReasonConnectionReset})
			case <-ctx.Done():
				return
			}
		}
	}()
	tb.do(chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{
			{URLPattern: "*" + suffix, RequestStage: fetch.RequestStageResponse}}})
		return err
	}))
	return func() {
		tb.t.Helper()
		tb.do(chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, fetch.Disable, cdp.Empty{})
			return err
		}))
		cancel()
		<-done
	}
}

// do runs actions in the tab and fails the test on error.
func (tb *tab) do(actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, actionTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tb.t.Fatalf("%s: %v", tb.name, err)
	}
}

// run runs one action in the tab and returns its value.
func run[T any](tb *tab, a chromedp.Action[T]) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, actionTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		tb.t.Fatalf("%s: %v", tb.name, err)
	}
	return v
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](tb *tab, expr string) T {
	tb.t.Helper()
	return run(tb, chromedp.Evaluate[T](expr))
}

// waitJS waits until a JavaScript expression is true, and fails the test
// with what after timeout.
func (tb *tab) waitJS(timeout time.Duration, expr, what string) {
	tb.t.Helper()
	// An element the expression reads may not be there yet: that is false,
	// not a failure. Each try evaluates in the page's current document, so
	// a swap or a load in between does not matter either.
	guarded := "(function () { try { return !!(" + expr + "); } catch (e) { return false; } })()"
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithDeadline(tb.ctx, deadline)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](guarded))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			tb.t.Fatalf("%s: %s within %v (last error: %v)", tb.name, what, timeout, err)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// goTo loads a page of the server.
func (tb *tab) goTo(path string) {
	tb.t.Helper()
	tb.do(chromedp.Navigate(tb.srv.URL + path))
}

// submit fills a form's fields and presses its submit button, then waits
// for the next page.
func (tb *tab) submit(form string, fields map[string]string) {
	tb.t.Helper()
	var steps []chromedp.Action[chromedp.Void]
	for name, value := range fields {
		sel := chromedp.CSS(form + ` [name="` + name + `"]`)
		steps = append(steps, chromedp.Clear(sel), chromedp.SendKeys(sel, value))
	}
	tb.do(steps...)
	tb.clickAndLoad(form + ` button[type="submit"]`)
}

// clickAndLoad clicks an element and waits for the page it loads.
func (tb *tab) clickAndLoad(sel string) {
	tb.t.Helper()
	run(tb, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS(sel))))
}

// location returns the path of the page shown.
func (tb *tab) location() string {
	tb.t.Helper()
	return strings.TrimPrefix(run(tb, chromedp.Location()), tb.srv.URL)
}

// text returns the text of the first element that matches sel.
func (tb *tab) text(sel string) string {
	tb.t.Helper()
	return strings.TrimSpace(run(tb, chromedp.TextContent(chromedp.CSS(sel))))
}

// has reports whether an element matches sel, without waiting.
func (tb *tab) has(sel string) bool {
	tb.t.Helper()
	ids := run(tb, chromedp.QueryNodeIDs(chromedp.CSS(sel), chromedp.AtLeast(0)))
	return len(ids) > 0
}

// pressEnter presses Enter as a keyboard does: keydown, then keyup. A
// page that cancels the keydown gets no text from it. (chromedp's key
// actions add a separate "char" event, which Chromium turns into a new
// line even after a cancelled keydown.)
func (tb *tab) pressEnter() {
	tb.t.Helper()
	tb.do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		for _, typ := range []input.DispatchKeyEventType{input.DispatchKeyEventTypeRawKeyDown, input.DispatchKeyEventTypeKeyUp} {
			if _, err := cdp.Call(ctx, t, input.DispatchKeyEvent, input.DispatchKeyEventParams{
				Type: typ, Key: "Enter", Code: "Enter", WindowsVirtualKeyCode: 13, NativeVirtualKeyCode: 13,
			}); err != nil {
				return err
			}
		}
		return nil
	}))
}

// key presses one key with modifiers in the focused element.
func (tb *tab) key(key string, mods ...chromedp.Modifier) {
	tb.t.Helper()
	tb.do(chromedp.KeyEvent(key, chromedp.KeyModifiers(mods...)))
}
