package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/chromedp"
)

// pausedText is what a tab says when its stream cannot have a connection.
const pausedText = "live updates paused: too many Parley tabs open over plain HTTP"

// pausedJS is true while the page shows the paused state.
const pausedJS = `document.getElementById("status").textContent === ` + "`" + pausedText + "`"

// streamJS is the page's stream as htmx's SSE extension holds it: the
// stand-in of assets/static/tabs.js, whose inner is the real EventSource.
const streamJS = `document.getElementById("app")["htmx-internal-data"].sseEventSource`

// liveJS is true while the page's real stream is open.
const liveJS = `(` + streamJS + `.inner || {}).readyState === 1`

// closeTab closes the tab as a person does; the test must not use it
// after. Closing a person's first tab closes the tabs opened from it too.
func (tb *tab) closeTab() {
	tb.t.Helper()
	if err := chromedp.Cancel(tb.ctx); err != nil {
		tb.t.Fatalf("%s: close: %v", tb.name, err)
	}
}

// setWindowState minimizes the tab's window (the page becomes hidden, as in
// a background tab) or shows it again.
func (tb *tab) setWindowState(state cdpbrowser.WindowState) {
	tb.t.Helper()
	tb.do(chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		id := chromedp.FromContext(ctx).Target.TargetID
		w, err := chromedp.Call(ctx, cdpbrowser.GetWindowForTarget, cdpbrowser.GetWindowForTargetParams{TargetID: id})
		if err != nil {
			return err
		}
		_, err = chromedp.Call(ctx, cdpbrowser.SetWindowBounds, cdpbrowser.SetWindowBoundsParams{
			WindowID: w.WindowID, Bounds: &cdpbrowser.Bounds{WindowState: state}})
		return err
	}))
}

// serverConns counts the open TCP connections the server accepted, from
// the kernel's table (Linux); -1 where that table cannot be read.
func serverConns(srv *server) int {
	_, port, err := net.SplitHostPort(srv.addr)
	if err != nil {
		return -1
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return -1
	}
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return -1
	}
	suffix := fmt.Sprintf(":%04X", p)
	n := 0
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		// f[1] is the local address, f[3] the state: 01 is ESTABLISHED.
		if len(f) > 3 && strings.HasSuffix(f[1], suffix) && f[3] == "01" {
			n++
		}
	}
	return n
}

// median returns the middle of durations.
func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// TestSeventhTab: one person opens seven tabs of a room over plain HTTP.
// The browser allows six connections to the site (the person's browser
// context has its own pool, so nothing else counts), and five tabs stream,
// keeping one connection for pages and posts: the sixth and seventh tabs
// load and say their live updates are paused. Closing a streaming tab lets
// the first waiting tab go live, then the next; the seventh then clears its
// state and shows new messages live.
func TestSeventhTab(t *testing.T) {
	srv := startServer(t)
	first := newPerson(t, srv, "tab-1")
	first.register("ann")
	tabs := []*tab{first}
	for i := 2; i <= 7; i++ {
		tb := first.newTab(fmt.Sprintf("tab-%d", i))
		start := time.Now()
		tb.goTo("/rooms/general")
		tabs = append(tabs, tb)
		if i <= 5 {
			tb.waitJS(5*time.Second, liveJS, "stream live")
			continue
		}
		tb.waitJS(5*time.Second, pausedJS, "show the paused state")
		t.Logf("%s showed the paused state %v after it began to load", tb.name, time.Since(start).Round(time.Millisecond))
	}
	seventh := tabs[6]
	// Opening the seventh tab anew shows the state again; the median of
	// three openings is the figure in the README.
	var took []time.Duration
	for range 3 {
		start := time.Now()
		seventh.goTo("/rooms/general")
		seventh.waitJS(5*time.Second, pausedJS, "show the paused state")
		took = append(took, time.Since(start))
	}
	t.Logf("opening the seventh tab to the paused state: %v, median %v", took, median(took).Round(time.Millisecond))
	for _, tb := range tabs[:5] {
		if !eval[bool](tb, liveJS) {
			t.Errorf("%s: its stream is not live", tb.name)
		}
	}
	if !eval[bool](seventh, `document.getElementById("status").getAttribute("role") === "status"`) {
		t.Error("the paused state is not in a role=status element")
	}
	seventh.checkLayoutShift("when the paused state appeared")
	t.Logf("connections to the server with 7 tabs open: %d", serverConns(srv))
	// A waiting tab still sends: a connection is left for it.
	seventh.send("sent from a waiting tab")
	tabs[0].waitMessage("sent from a waiting tab", deliveryLimit)
	seventh.checkAccessibility("room with the paused state")

	// A message posted while the tab waits is there once it goes live.
	cy := newClient(t, srv)
	cy.register("cy")
	cy.say("general", "while the seventh tab waited")

	// (The first tab's context holds the others: close later ones.)
	tabs[1].closeTab()
	tabs[5].waitJS(5*time.Second, liveJS+` && document.getElementById("status").textContent === ""`,
		"go live and clear the paused state when a streaming tab closed")
	time.Sleep(500 * time.Millisecond)
	if !eval[bool](seventh, pausedJS) {
		t.Error("the seventh tab left the paused state while five other tabs stream")
	}

	start := time.Now()
	tabs[2].closeTab()
	seventh.waitJS(5*time.Second, liveJS+` && document.getElementById("status").textContent === ""`,
		"go live and clear the paused state when another streaming tab closed")
	t.Logf("the seventh tab went live %v after a tab closed", time.Since(start).Round(time.Millisecond))
	seventh.waitMessage("while the seventh tab waited", deliveryLimit)
	start = time.Now()
	cy.say("general", "live in the seventh tab")
	seventh.waitMessage("live in the seventh tab", deliveryLimit)
	t.Logf("delivered to the seventh tab in %v", time.Since(start).Round(time.Millisecond))
	seventh.checkSameAsServed(cy, "general")
	seventh.checkLayoutShift("while the paused state came and went")
}

// TestStuckStream: over plain HTTP a stream that stays connecting (here the
// browser holds its request back, as it does when every connection to the
// site is taken) shows the paused state after a few seconds, and clears it
// when the stream opens.
func TestStuckStream(t *testing.T) {
	srv := startServer(t)
	ann := newPerson(t, srv, "ann")
	ann.register("ann")
	ann.waitJS(5*time.Second, liveJS, "stream live")

	held := make(chan fetch.RequestID, 4)
	ctx, cancel := context.WithCancel(ann.ctx)
	defer cancel()
	chromedp.Listen(ctx, func(ev any) {
		if ev, ok := ev.(*fetch.EventRequestPaused); ok {
			held <- ev.RequestID
		}
	})
	ann.do(chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{
			{URLPattern: "*/events*", RequestStage: fetch.RequestStageRequest}}})
		return err
	}))
	start := time.Now()
	ann.goTo("/rooms/general")
	var id fetch.RequestID
	select {
	case id = <-held:
	case <-time.After(5 * time.Second):
		t.Fatal("the page made no stream request")
	}
	if eval[bool](ann, pausedJS) {
		t.Error("the paused state shows at once; want it only after the stream stays connecting a while")
	}
	ann.waitJS(6*time.Second, pausedJS, "show the paused state for a stream stuck connecting")
	if waited := time.Since(start); waited < 3*time.Second {
		t.Errorf("the paused state showed %v after the page opened; want 3 s at least", waited)
	}
	ann.do(chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		if _, err := chromedp.Call(ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: id}); err != nil {
			return err
		}
		_, err := chromedp.Call(ctx, fetch.Disable, cdp.Empty{})
		return err
	}))
	ann.waitJS(5*time.Second, liveJS+` && document.getElementById("status").textContent === ""`,
		"clear the paused state when the stream opened")
}

// TestHiddenTab: a tab hidden for a while (here its window minimized, after
// the delay set short through data-hidden-after) closes its stream; shown
// again, it resumes from the last message it had, and the messages posted
// meanwhile appear once each, in order.
func TestHiddenTab(t *testing.T) {
	srv := startServer(t)
	ann := newPerson(t, srv, "ann")
	ann.register("ann")
	ann.waitJS(5*time.Second, liveJS, "stream live")
	cy := newClient(t, srv)
	cy.register("cy")
	cy.say("general", "before hiding")
	ann.waitMessage("before hiding", deliveryLimit)
	shown := ids(ann.messages())
	cursor := shown[len(shown)-1]
	streams := len(ann.streamRequests())
	conns := serverConns(srv)

	const delay = 500 * time.Millisecond
	eval[chromedp.Void](ann, fmt.Sprintf(`document.getElementById("app").dataset.hiddenAfter = "%d"`, delay.Milliseconds()))
	start := time.Now()
	ann.setWindowState(cdpbrowser.WindowStateMinimized)
	ann.waitJS(5*time.Second, `document.visibilityState === "hidden" && `+streamJS+`.inner === null`,
		"close the stream of the hidden tab")
	t.Logf("the hidden tab closed its stream %v after it was hidden (delay %v)", time.Since(start).Round(time.Millisecond), delay)
	time.Sleep(100 * time.Millisecond)
	t.Logf("connections to the server: %d while the tab streamed, %d while it slept", conns, serverConns(srv))

	missed := []string{"missed one", "missed two", "missed three"}
	for _, body := range missed {
		cy.say("general", body)
	}
	time.Sleep(300 * time.Millisecond)
	if n := ann.count(missed[0]); n != 0 {
		t.Fatalf("the hidden tab shows a message posted after its stream closed (%d times)", n)
	}

	start = time.Now()
	ann.setWindowState(cdpbrowser.WindowStateNormal)
	ann.waitJS(5*time.Second, countJS(missed[2])+" > 0", "show the missed messages")
	t.Logf("the shown tab caught up %v after it was shown", time.Since(start).Round(time.Millisecond))
	time.Sleep(300 * time.Millisecond)
	var bodies []string
	for _, m := range ann.messages() {
		if strings.HasPrefix(m.Body, "missed ") {
			bodies = append(bodies, m.Body)
		}
	}
	if !slices.Equal(bodies, missed) {
		t.Errorf("after showing the tab, its missed messages are %q; want %q once each, in order", bodies, missed)
	}
	ann.checkSameAsServed(cy, "general")
	reqs := ann.streamRequests()
	if len(reqs) != streams+1 {
		t.Fatalf("stream requests: %+v; want one more after the tab was shown", reqs)
	}
	if r := reqs[len(reqs)-1]; r.cursor() != cursor {
		t.Errorf("the shown tab resumed from %d (%s); want %d, the last message it had", r.cursor(), r.URL, cursor)
	}
	cy.say("general", "live again")
	ann.waitMessage("live again", deliveryLimit)
}
