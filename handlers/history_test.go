package handlers_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"parley/handlers"
)

// pageIDs returns the ids of the messages on a room page, in page order,
// leaving out notices.
func pageIDs(d *goquery.Document) []int64 {
	var ids []int64
	d.Find("#messages > [data-id]:not(.system)").Each(func(_ int, s *goquery.Selection) {
		id, _ := strconv.ParseInt(s.AttrOr("data-id", ""), 10, 64)
		ids = append(ids, id)
	})
	return ids
}

// postedIDs posts n messages to general as c and returns their ids, read
// from the room's event stream.
func postedIDs(t *testing.T, c *client, n int) []int64 {
	t.Helper()
	s := c.open("/rooms/general/events")
	var ids []int64
	for i := range n {
		c.say("general", fmt.Sprint("message ", i))
		ids = append(ids, s.nextText().id)
	}
	s.close()
	return ids
}

func TestHistoryPages(t *testing.T) {
	ts := newTestServer(t, handlers.Config{})
	c := ts.newClient().register("Ann")
	ids := postedIDs(t, c, 130)
	c.post("/rooms", url.Values{"name": {"other"}}).wantRedirect(t, "/rooms/other")
	c.say("other", "elsewhere")
	elsewhere := ts.lastMessageID()

	tests := []struct {
		name       string
		query      string
		want       []int64
		prev, next string // hrefs of rel=prev and rel=next, "" for none
		target     int64
	}{
		{"Latest", "", ids[80:], fmt.Sprint("/rooms/general?before=", ids[80]), "", 0},
		{"Before", fmt.Sprint("?before=", ids[80]), ids[30:80],
			fmt.Sprint("/rooms/general?before=", ids[30]), fmt.Sprint("/rooms/general?after=", ids[79]), 0},
		{"BeforeReachesStart", fmt.Sprint("?before=", ids[20]), ids[:20], "", fmt.Sprint("/rooms/general?after=", ids[19]), 0},
		{"After", fmt.Sprint("?after=", ids[9]), ids[10:60],
			fmt.Sprint("/rooms/general?before=", ids[10]), fmt.Sprint("/rooms/general?after=", ids[59]), 0},
		{"AfterReachesEnd", fmt.Sprint("?after=", ids[100]), ids[101:], fmt.Sprint("/rooms/general?before=", ids[101]), "", 0},
		{"Around", fmt.Sprint("?around=", ids[60]), ids[35:85],
			fmt.Sprint("/rooms/general?before=", ids[35]), fmt.Sprint("/rooms/general?after=", ids[84]), ids[60]},
		{"AfterAll", "?after=9223372036854775807", nil, "/rooms/general?before=9223372036854775807", "", 0},
		{"BeforeAll", "?before=1", nil, "", "/rooms/general", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := c.get("/rooms/general"+tt.query).wantStatus(t, http.StatusOK).doc(t)
			if got := pageIDs(d); fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("ids = %v; want %v", got, tt.want)
			}
			if got := d.Find(`a[rel="prev"]`).AttrOr("href", ""); got != tt.prev {
				t.Errorf(`a[rel="prev"] href = %q; want %q`, got, tt.prev)
			}
			if got := d.Find(`a[rel="next"]`).AttrOr("href", ""); got != tt.next {
				t.Errorf(`a[rel="next"] href = %q; want %q`, got, tt.next)
			}
			latest := tt.next == ""
			// The latest page is live; any other says so, links to the
			// latest and connects no stream that would add messages below.
			if _, live := d.Find("#app").Attr("data-sse-connect"); live != latest {
				t.Errorf("page has a stream: %v; want %v", live, latest)
			}
			if got := d.Find(`.history-end a[href="/rooms/general"]`).Length() > 0; got == latest {
				t.Errorf("link to the latest page: %v; want %v", got, !latest)
			}
			if _, htmx := d.Find("#composer").Attr("data-hx-post"); htmx != latest {
				t.Errorf("composer posts with htmx: %v; want %v", htmx, latest)
			}
			for _, href := range []string{tt.prev, tt.next} {
				if href != "" {
					c.get(href).wantStatus(t, http.StatusOK)
				}
			}
			targets := d.Find("#messages .target")
			if tt.target == 0 && targets.Length() != 0 || tt.target != 0 &&
				(targets.Length() != 1 || targets.AttrOr("id", "") != fmt.Sprint("msg-", tt.target)) {
				t.Errorf("%d elements with class target (id %q); want only msg-%d", targets.Length(), targets.AttrOr("id", ""), tt.target)
			}
		})
	}

	t.Run("BadCursor", func(t *testing.T) {
		for _, q := range []string{"before=0", "before=-1", "before=abc", "after=1.5", "around=", "before=%2B5",
			"before=99999999999999999999", "after=0x10", "before=1&before=2", fmt.Sprint("before=", ids[5], "&after=", ids[1])} {
			c.get("/rooms/general?"+q).wantStatus(t, http.StatusBadRequest)
		}
	})
	t.Run("AroundElsewhere", func(t *testing.T) {
		c.get(fmt.Sprint("/rooms/general?around=", elsewhere)).wantStatus(t, http.StatusNotFound)
		c.get(fmt.Sprint("/rooms/general?around=", elsewhere+1000)).wantStatus(t, http.StatusNotFound)
		c.get(fmt.Sprint("/rooms/other?around=", elsewhere)).wantStatus(t, http.StatusOK)
	})
	t.Run("UnknownRoom", func(t *testing.T) {
		c.get(fmt.Sprint("/rooms/nowhere?before=", ids[5])).wantStatus(t, http.StatusNotFound)
	})
	t.Run("SignedOut", func(t *testing.T) {
		ts.newClient().get(fmt.Sprint("/rooms/general?before=", ids[5])).wantRedirect(t, "/login")
	})
}

// lastMessageID returns the id of the newest stored message.
func (ts *testServer) lastMessageID() int64 {
	ts.t.Helper()
	var id int64
	if err := ts.st.DB.QueryRow(`SELECT max(id) FROM messages`).Scan(&id); err != nil {
		ts.t.Fatal(err)
	}
	return id
}
