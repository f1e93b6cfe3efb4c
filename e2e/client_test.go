package e2e

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
)

// password is every test account's password.
const password = "correct horse battery"

// client is a person using Parley over plain HTTP, without a browser: it
// sets up accounts and messages, and fetches pages as served.
type client struct {
	t   *testing.T
	srv *server
	hc  *http.Client
}

func newClient(t *testing.T, srv *server) *client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &client{t: t, srv: srv, hc: &http.Client{
		Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}}
}

// do sends a request (a form POST when form is not nil) and returns the
// status and body.
func (c *client) do(method, path string, form url.Values) (int, string) {
	c.t.Helper()
	status, _, body := c.send(method, path, form)
	return status, body
}

// send sends a request (a form POST when form is not nil) and returns the
// status, the header and the body, whatever the status.
func (c *client) send(method, path string, form url.Values) (int, http.Header, string) {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.srv.URL+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

// postForm posts a form and fails unless the answer is want.
func (c *client) postForm(path string, form url.Values, want int) string {
	c.t.Helper()
	status, body := c.do(http.MethodPost, path, form)
	if status != want {
		c.t.Fatalf("POST %s: status = %d; want %d\n%s", path, status, want, tail(body, 20))
	}
	return body
}

// register creates an account and signs this client in.
func (c *client) register(handle string) {
	c.t.Helper()
	c.postForm("/register", url.Values{"handle": {handle}, "password": {password}}, http.StatusSeeOther)
}

// say posts a message to a room.
func (c *client) say(room, body string) {
	c.t.Helper()
	c.postForm("/rooms/"+room+"/messages", url.Values{"body": {body}}, http.StatusSeeOther)
}

// get fetches a page and fails unless the answer is want.
func (c *client) get(path string, want int) string {
	c.t.Helper()
	status, body := c.do(http.MethodGet, path, nil)
	if status != want {
		c.t.Fatalf("GET %s: status = %d; want %d", path, status, want)
	}
	return body
}

// redirect fetches path, which must answer 303, and returns where to.
func (c *client) redirect(path string) string {
	c.t.Helper()
	resp, err := c.hc.Get(c.srv.URL + path)
	if err != nil {
		c.t.Fatalf("GET %s: %v", path, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		c.t.Fatalf("GET %s: status = %d; want 303", path, resp.StatusCode)
	}
	return resp.Header.Get("Location")
}
